// Empty input group: ignores its inputs (and has no input label) and outputs 2^10 computed by
// repeated doubling.
%builtins output

func power_of_two(k: felt) -> felt {
    if (k == 0) {
        return 1;
    }
    let half = power_of_two(k - 1);
    return half * 2;
}

func main{output_ptr: felt*}() {
    let p = power_of_two(10);
    assert [output_ptr] = p;
    let output_ptr = output_ptr + 1;
    return ();
}
