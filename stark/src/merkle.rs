//! Binary Merkle trees over 32-byte digests, with batched openings.
//!
//! A batched opening of a set of leaves sends each sibling node once, and only the siblings the
//! verifier cannot recompute from the opened leaves themselves; queries that share a subtree
//! share its path. With `q` random queries in a tree of `2^d` leaves this costs about
//! `q · (d − log2 q)` digests instead of `q · d`.
//!
//! Leaves and internal nodes are hashed in separate domains (see `hash`), so the bytes of a leaf
//! can never stand for two children, nor a subtree for a leaf.

use crate::hash::Digest;
use crate::options::HashFunction;
use rayon::prelude::*;

/// Nodes stored heap-style: `nodes[1]` is the root, node `i` has children `2i` and `2i + 1`, and
/// the leaves sit at `nodes[L..2L]`.
pub(crate) struct MerkleTree {
    nodes: Vec<Digest>,
}

/// Levels below this many nodes are hashed on one thread: splitting them costs more than it saves.
const PARALLEL_LEVEL_MIN: usize = 1 << 10;

impl MerkleTree {
    /// `leaves.len()` must be a power of two.
    pub(crate) fn build(hash: HashFunction, leaves: Vec<Digest>) -> Self {
        let n = leaves.len();
        debug_assert!(n.is_power_of_two());
        // Sized once: growing from `n` to `2n` would copy the tree while the leaves are alive.
        let mut nodes = Vec::with_capacity(2 * n);
        nodes.resize(n, [0u8; 32]);
        nodes.extend(leaves);
        let mut level = n / 2;
        while level >= 1 {
            // Parents of level `level..2*level` live right below their children in memory.
            let (parents, children) = nodes.split_at_mut(2 * level);
            let parents = &mut parents[level..];
            let children = &children[..2 * level];
            if level >= PARALLEL_LEVEL_MIN {
                parents
                    .par_iter_mut()
                    .zip(children.par_chunks_exact(2))
                    .for_each(|(p, c)| *p = hash.merge(&c[0], &c[1]));
            } else {
                for (p, c) in parents.iter_mut().zip(children.chunks_exact(2)) {
                    *p = hash.merge(&c[0], &c[1]);
                }
            }
            level /= 2;
        }
        MerkleTree { nodes }
    }

    pub(crate) fn root(&self) -> Digest {
        self.nodes[1]
    }

    fn num_leaves(&self) -> usize {
        self.nodes.len() / 2
    }

    /// Sibling digests needed to authenticate the leaves at `indices` (sorted, distinct, in
    /// range), bottom level first, left to right within a level.
    pub(crate) fn prove_batch(&self, indices: &[usize]) -> Vec<Digest> {
        let mut proof = Vec::new();
        let mut current: Vec<usize> = indices.iter().map(|i| i + self.num_leaves()).collect();
        while current.first().is_some_and(|&i| i > 1) {
            let mut next = Vec::with_capacity(current.len());
            let mut k = 0;
            while k < current.len() {
                let i = current[k];
                if i & 1 == 0 && current.get(k + 1) == Some(&(i + 1)) {
                    k += 2;
                } else {
                    proof.push(self.nodes[i ^ 1]);
                    k += 1;
                }
                next.push(i / 2);
            }
            current = next;
        }
        proof
    }
}

/// Checks that `leaves[k]` is the digest of leaf `indices[k]` in the tree of `2^depth` leaves with
/// root `root`. `indices` must be sorted and distinct; anything else, a wrong number of siblings,
/// or an index out of range makes it return `false`, never panic.
pub(crate) fn verify_batch(
    hash: HashFunction,
    root: &Digest,
    depth: u32,
    indices: &[usize],
    leaves: &[Digest],
    proof: &[Digest],
) -> bool {
    if indices.is_empty() || indices.len() != leaves.len() || depth >= usize::BITS - 1 {
        return false;
    }
    let num_leaves = 1usize << depth;
    if indices.windows(2).any(|w| w[0] >= w[1]) || indices[indices.len() - 1] >= num_leaves {
        return false;
    }
    let mut current: Vec<(usize, Digest)> = indices
        .iter()
        .map(|i| i + num_leaves)
        .zip(leaves.iter().copied())
        .collect();
    let mut siblings = proof.iter();
    for _ in 0..depth {
        let mut next = Vec::with_capacity(current.len());
        let mut k = 0;
        while k < current.len() {
            let (i, d) = current[k];
            let parent = if i & 1 == 0 {
                match current.get(k + 1) {
                    Some(&(j, right)) if j == i + 1 => {
                        k += 1;
                        hash.merge(&d, &right)
                    }
                    _ => match siblings.next() {
                        Some(s) => hash.merge(&d, s),
                        None => return false,
                    },
                }
            } else {
                match siblings.next() {
                    Some(s) => hash.merge(s, &d),
                    None => return false,
                }
            };
            next.push((i / 2, parent));
            k += 1;
        }
        current = next;
    }
    siblings.next().is_none() && current.len() == 1 && current[0].0 == 1 && current[0].1 == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Digest> {
        (0..n)
            .map(|i| HashFunction::Blake3.hash_leaf(&(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn batch_openings_verify_and_share_siblings() {
        let h = HashFunction::Blake3;
        let l = leaves(64);
        let t = MerkleTree::build(h, l.clone());
        for idx in [
            vec![0],
            vec![63],
            vec![0, 1],
            vec![3, 17, 18, 40, 63],
            (0..64).collect(),
        ] {
            let proof = t.prove_batch(&idx);
            let opened: Vec<Digest> = idx.iter().map(|&i| l[i]).collect();
            assert!(verify_batch(h, &t.root(), 6, &idx, &opened, &proof));
            assert!(proof.len() <= idx.len() * 6);
        }
        assert!(t.prove_batch(&(0..64).collect::<Vec<_>>()).is_empty());
    }

    #[test]
    fn tampered_openings_are_rejected() {
        let h = HashFunction::Keccak256;
        let l = leaves(32);
        let t = MerkleTree::build(h, l.clone());
        let idx = vec![2, 9, 30];
        let proof = t.prove_batch(&idx);
        let opened: Vec<Digest> = idx.iter().map(|&i| l[i]).collect();
        assert!(verify_batch(h, &t.root(), 5, &idx, &opened, &proof));
        let mut bad = opened.clone();
        bad[1][0] ^= 1;
        assert!(!verify_batch(h, &t.root(), 5, &idx, &bad, &proof));
        assert!(!verify_batch(
            h,
            &t.root(),
            5,
            &[2, 10, 30],
            &opened,
            &proof
        ));
        assert!(!verify_batch(h, &t.root(), 5, &idx, &opened, &proof[1..]));
        let mut longer = proof.clone();
        longer.push([0; 32]);
        assert!(!verify_batch(h, &t.root(), 5, &idx, &opened, &longer));
        assert!(!verify_batch(h, &t.root(), 5, &[9, 2, 30], &opened, &proof));
        assert!(!verify_batch(h, &t.root(), 5, &[2, 9, 32], &opened, &proof));
        assert!(!verify_batch(h, &t.root(), 4, &idx, &opened, &proof));
    }

    #[test]
    fn a_subtree_cannot_be_opened_as_one_leaf_holding_its_children() {
        for h in [HashFunction::Blake3, HashFunction::Keccak256] {
            let l = leaves(2);
            let t = MerkleTree::build(h, l.clone());
            let forged = h.hash_leaf(&[l[0], l[1]].concat());
            assert!(
                !verify_batch(h, &t.root(), 0, &[0], &[forged], &[]),
                "{h:?}"
            );
        }
    }

    #[test]
    fn single_leaf_tree_has_leaf_as_root() {
        let h = HashFunction::Blake3;
        let l = leaves(1);
        let t = MerkleTree::build(h, l.clone());
        assert_eq!(t.root(), l[0]);
        assert!(t.prove_batch(&[0]).is_empty());
        assert!(verify_batch(h, &t.root(), 0, &[0], &l, &[]));
    }
}
