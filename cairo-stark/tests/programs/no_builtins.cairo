// No builtins at all: checks that the inputs sum to 100 (the statement is "this run reached
// its end", no outputs).
from starkware.cairo.common.registers import get_label_location

func sum(n: felt, xs: felt*) -> felt {
    if (n == 0) {
        return 0;
    }
    let rest = sum(n - 1, xs + 1);
    return [xs] + rest;
}

func main() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    let s = sum([inputs_ptr], inputs_ptr + 1);
    assert s = 100;
    return ();

    inputs:
}
