// Many outputs: writes x^2 + 1 for every input, then the count.
%builtins output

from starkware.cairo.common.registers import get_label_location

func squares{output_ptr: felt*}(n: felt, xs: felt*) {
    if (n == 0) {
        return ();
    }
    assert [output_ptr] = [xs] * [xs] + 1;
    let output_ptr = output_ptr + 1;
    return squares(n - 1, xs + 1);
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    squares([inputs_ptr], inputs_ptr + 1);
    assert [output_ptr] = [inputs_ptr];
    let output_ptr = output_ptr + 1;
    return ();

    inputs:
}
