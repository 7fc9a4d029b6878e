// Pointer-heavy recursion: builds a linked list of (value, next) nodes in alloc()ed memory,
// newest first, then walks it recursively to output its length and the alternating sum
// x_n - x_(n-1) + ... ± x_1 (newest first).
%builtins output

from starkware.cairo.common.alloc import alloc
from starkware.cairo.common.registers import get_label_location

struct Node {
    value: felt,
    next: Node*,
}

func build(n: felt, xs: felt*, head: Node*) -> Node* {
    if (n == 0) {
        return head;
    }
    let (node: Node*) = alloc();
    assert node.value = [xs];
    assert node.next = head;
    return build(n - 1, xs + 1, node);
}

// The list is newest first: walk(head) = x_n - x_(n-1) + x_(n-2) - ... ± x_1.
func walk(node: Node*) -> (length: felt, total: felt) {
    if (node == 0) {
        return (length=0, total=0);
    }
    let (length, total) = walk(node.next);
    return (length=length + 1, total=node.value - total);
}

func main{output_ptr: felt*}() {
    alloc_locals;
    let (local inputs_ptr: felt*) = get_label_location(inputs);
    local n = [inputs_ptr];
    let head = build(n, inputs_ptr + 1, cast(0, Node*));
    let (length, total) = walk(head);
    assert [output_ptr] = length;
    assert [output_ptr + 1] = total;
    let output_ptr = output_ptr + 2;
    return ();

    inputs:
}
