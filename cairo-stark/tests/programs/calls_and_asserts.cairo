// Function calls and asserts: for inputs (a, b) pairs, checks a * b computed two ways and
// outputs the dot product of the first half with the second half.
%builtins output

from starkware.cairo.common.registers import get_label_location

func mul_by_add(a: felt, b: felt) -> felt {
    // b additions of a (b small).
    if (b == 0) {
        return 0;
    }
    let rest = mul_by_add(a, b - 1);
    return rest + a;
}

func dot(n: felt, xs: felt*, ys: felt*) -> felt {
    if (n == 0) {
        return 0;
    }
    let p = [xs] * [ys];
    let q = mul_by_add([xs], [ys]);
    assert p = q;
    let rest = dot(n - 1, xs + 1, ys + 1);
    return rest + p;
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    local n = [inputs_ptr];
    local half = n / 2;
    assert half * 2 = n;
    let d = dot(half, inputs_ptr + 1, inputs_ptr + 1 + half);
    assert [output_ptr] = half;
    assert [output_ptr + 1] = d;
    let output_ptr = output_ptr + 2;
    return ();

    inputs:
}
