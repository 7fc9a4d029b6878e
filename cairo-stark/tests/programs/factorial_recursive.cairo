// Recursion: outputs n! for the single input n.
%builtins output

from starkware.cairo.common.registers import get_label_location

func factorial(n: felt) -> felt {
    if (n == 0) {
        return 1;
    }
    let rest = factorial(n - 1);
    return n * rest;
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    assert [inputs_ptr] = 1;  // exactly one input
    let f = factorial([inputs_ptr + 1]);
    assert [output_ptr] = f;
    let output_ptr = output_ptr + 1;
    return ();

    inputs:
}
