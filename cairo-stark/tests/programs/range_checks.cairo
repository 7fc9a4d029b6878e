// range_check builtin: asserts every input is in [0, 2^64) and that the inputs are sorted
// (assert_le), then outputs the maximum and the quotient/remainder of the sum by 7.
%builtins output range_check

from starkware.cairo.common.math import assert_le, assert_nn_le, unsigned_div_rem
from starkware.cairo.common.registers import get_label_location

func check_sorted{range_check_ptr}(n: felt, xs: felt*) -> felt {
    assert_nn_le([xs], 2 ** 64 - 1);
    if (n == 1) {
        return [xs];
    }
    assert_le([xs], [xs + 1]);
    let rest = check_sorted(n - 1, xs + 1);
    return [xs] + rest;
}

func main{output_ptr: felt*, range_check_ptr}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    local n = [inputs_ptr];
    let sum = check_sorted(n, inputs_ptr + 1);
    let (q, r) = unsigned_div_rem(sum, 7);
    assert [output_ptr] = [inputs_ptr + n];
    assert [output_ptr + 1] = q;
    assert [output_ptr + 2] = r;
    let output_ptr = output_ptr + 3;
    return ();

    inputs:
}
