// Copies the inputs into an alloc()ed array, then sums the array back and outputs the sum and
// the last element. The array pointer comes from a hint, so a prover chooses it: this is the
// program the address-0 forgery attacks (tests/forgery.rs).
%builtins output

from starkware.cairo.common.alloc import alloc
from starkware.cairo.common.registers import get_label_location

func copy(n: felt, src: felt*, dst: felt*) {
    if (n == 0) {
        return ();
    }
    assert [dst] = [src];
    return copy(n - 1, src + 1, dst + 1);
}

func sum(n: felt, xs: felt*) -> felt {
    if (n == 0) {
        return 0;
    }
    let rest = sum(n - 1, xs + 1);
    return [xs] + rest;
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    local n = [inputs_ptr];
    let (local array: felt*) = alloc();
    copy(n, inputs_ptr + 1, array);
    let total = sum(n, array);
    assert [output_ptr] = total;
    assert [output_ptr + 1] = [array + n - 1];
    let output_ptr = output_ptr + 2;
    return ();

    inputs:
}
