// A dict-like pattern written with plain memory: inputs are (key, value) pairs with keys below
// n_keys (the first input); each write appends an entry (key, previous value, value) to an
// alloc()ed log, and the current value of a key is found by scanning the log backwards. Outputs
// the final value of every key.
%builtins output

from starkware.cairo.common.alloc import alloc
from starkware.cairo.common.registers import get_label_location

struct Entry {
    key: felt,
    prev: felt,
    value: felt,
}

// The latest value written to `key` in the first `len` entries (0 if never written).
func lookup(log: Entry*, len: felt, key: felt) -> felt {
    if (len == 0) {
        return 0;
    }
    let entry = log + (len - 1) * Entry.SIZE;
    if (entry.key == key) {
        return entry.value;
    }
    return lookup(log, len - 1, key);
}

func apply(pairs: felt*, n_pairs: felt, log: Entry*, len: felt) -> felt {
    if (n_pairs == 0) {
        return len;
    }
    let key = [pairs];
    let prev = lookup(log, len, key);
    let entry = log + len * Entry.SIZE;
    assert entry.key = key;
    assert entry.prev = prev;
    assert entry.value = [pairs + 1];
    return apply(pairs + 2, n_pairs - 1, log, len + 1);
}

func emit{output_ptr: felt*}(log: Entry*, len: felt, key: felt, n_keys: felt) {
    if (key == n_keys) {
        return ();
    }
    let value = lookup(log, len, key);
    assert [output_ptr] = value;
    let output_ptr = output_ptr + 1;
    return emit(log, len, key + 1, n_keys);
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    local n = [inputs_ptr];
    local n_keys = [inputs_ptr + 1];
    let (local log: Entry*) = alloc();
    let len = apply(inputs_ptr + 2, (n - 1) / 2, log, 0);
    emit(log, len, 0, n_keys);
    return ();

    inputs:
}
