// Field elements far above 2^128: squares every input into an alloc()ed array, then outputs the
// array's sum and the product of the inputs (both reduced modulo the Stark prime).
%builtins output

from starkware.cairo.common.alloc import alloc
from starkware.cairo.common.registers import get_label_location

func squares(n: felt, xs: felt*, out: felt*) {
    if (n == 0) {
        return ();
    }
    assert [out] = [xs] * [xs];
    return squares(n - 1, xs + 1, out + 1);
}

func fold(n: felt, xs: felt*, sum: felt, product: felt, ys: felt*) -> (sum: felt, product: felt) {
    if (n == 0) {
        return (sum=sum, product=product);
    }
    return fold(n - 1, xs + 1, sum + [ys], product * [xs], ys + 1);
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    local n = [inputs_ptr];
    let (local sq: felt*) = alloc();
    squares(n, inputs_ptr + 1, sq);
    let (s, p) = fold(n, inputs_ptr + 1, 0, 1, sq);
    assert [output_ptr] = s;
    assert [output_ptr + 1] = p;
    let output_ptr = output_ptr + 2;
    return ();

    inputs:
}
