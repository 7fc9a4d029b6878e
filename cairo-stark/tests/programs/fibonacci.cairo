// Loop: outputs the n-th Fibonacci number (mod the Stark prime) for each input n.
%builtins output

from starkware.cairo.common.registers import get_label_location

func fib(n: felt) -> felt {
    if (n == 0) {
        return 0;
    }
    // Iterative loop with an explicit jump: a, b = b, a + b, n times.
    tempvar a = 0;
    tempvar b = 1;
    tempvar i = n;

    loop:
    tempvar a_next = b;
    tempvar b_next = a + b;
    tempvar i_next = i - 1;
    tempvar a = a_next;
    tempvar b = b_next;
    tempvar i = i_next;
    jmp loop if i != 0;

    return a;
}

func fib_all{output_ptr: felt*}(n: felt, xs: felt*) {
    if (n == 0) {
        return ();
    }
    let f = fib([xs]);
    assert [output_ptr] = f;
    let output_ptr = output_ptr + 1;
    return fib_all(n - 1, xs + 1);
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    fib_all([inputs_ptr], inputs_ptr + 1);
    return ();

    inputs:
}
