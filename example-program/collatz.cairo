// Collatz stopping times over a range of starting values.
//
// Inputs (the platform's convention: [n, x1..xn] placed at the `inputs` label):
//   n = 2, x1 = a, x2 = b with 1 <= a < b.
// Outputs (to the output builtin, in this order):
//   a, b, total, longest, longest_start
//   total:         sum over a <= k < b of the number of steps k takes to reach 1
//   longest:       the largest of those step counts
//   longest_start: the smallest k in [a, b) that takes `longest` steps
%builtins output range_check

from starkware.cairo.common.math import assert_le, assert_nn, unsigned_div_rem
from starkware.cairo.common.registers import get_label_location

// Steps for `value` to reach 1 under n -> n/2 (even), n -> 3n+1 (odd); `steps` counts so far.
func stopping_time{range_check_ptr}(value: felt, steps: felt) -> felt {
    if (value == 1) {
        return steps;
    }
    let (half, parity) = unsigned_div_rem(value, 2);
    if (parity == 0) {
        return stopping_time(half, steps + 1);
    }
    return stopping_time(3 * value + 1, steps + 1);
}

func stopping_time_of{range_check_ptr}(value: felt) -> (steps: felt) {
    let steps = stopping_time(value, 0);
    return (steps=steps);
}

// Scans [k, end) carrying the running total and the best chain so far.
func scan{range_check_ptr}(
    k: felt, end: felt, total: felt, longest: felt, longest_start: felt
) -> (total: felt, longest: felt, longest_start: felt) {
    alloc_locals;
    if (k == end) {
        return (total, longest, longest_start);
    }
    let (local steps) = stopping_time_of(k);
    // is_le would hide a hint; compare with a range check on the difference instead.
    let (longer) = is_longer(steps, longest);
    if (longer == 1) {
        return scan(k + 1, end, total + steps, steps, k);
    }
    return scan(k + 1, end, total + steps, longest, longest_start);
}

// Returns 1 if a > b, else 0, for values far below 2^64.
func is_longer{range_check_ptr}(a: felt, b: felt) -> (result: felt) {
    let (quotient, _) = unsigned_div_rem(a + 2 ** 64 - b - 1, 2 ** 64);
    return (result=quotient);
}

func main{output_ptr: felt*, range_check_ptr}() {
    alloc_locals;
    let (local inputs: felt*) = get_label_location(inputs_label);
    assert [inputs] = 2;
    local a = inputs[1];
    local b = inputs[2];
    assert_nn(a - 1);
    assert_le(a + 1, b);
    // Keep 3n+1 far from the field's size: starting values below 2^40.
    assert_le(b, 2 ** 40);

    let (total, longest, longest_start) = scan(a, b, 0, 0, a);

    assert output_ptr[0] = a;
    assert output_ptr[1] = b;
    assert output_ptr[2] = total;
    assert output_ptr[3] = longest;
    assert output_ptr[4] = longest_start;
    let output_ptr = output_ptr + 5;
    return ();

    // Must stay the last thing in the program: the executor appends the inputs right here.
    inputs_label:
}
