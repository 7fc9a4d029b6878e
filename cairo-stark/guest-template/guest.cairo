// A minimal guest program for the compute-donation platform.
//
// Input convention: the executor appends the input group to the program's bytecode as
// [n, x_1, ..., x_n], right after the last instruction. The label `inputs` below sits at the
// very end of the code (main is the last function of this file), so `get_label_location(inputs)`
// points at n. Inputs are therefore part of the public program memory: a proof covers them.
//
// Output convention: everything written to the output builtin is the job's result; the verifier
// returns these values.
%builtins output range_check

from starkware.cairo.common.math import assert_nn
from starkware.cairo.common.registers import get_label_location

// Returns x_1 + ... + x_n, checking each value is non-negative (below the range-check bound).
func sum_values{range_check_ptr}(n: felt, values: felt*) -> felt {
    if (n == 0) {
        return 0;
    }
    assert_nn([values]);
    let rest = sum_values(n - 1, values + 1);
    return [values] + rest;
}

func main{output_ptr: felt*, range_check_ptr}() {
    alloc_locals;
    let (local input_ptr: felt*) = get_label_location(inputs);
    let n = [input_ptr];
    let total = sum_values(n, input_ptr + 1);
    // Outputs: the number of values and their sum.
    assert [output_ptr] = n;
    assert [output_ptr + 1] = total;
    let output_ptr = output_ptr + 2;
    return ();

    // Must stay the last thing in the file: the input group is appended here.
    inputs:
}
