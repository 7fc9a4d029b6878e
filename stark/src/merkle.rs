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
/// the leaves sit at `nodes[L..2L]`. A tree may keep only its upper levels (see
/// [`MerkleTree::drop_lower_levels`]); its openings then take the leaves below from the caller.
pub(crate) struct MerkleTree {
    nodes: Vec<Digest>,
    hash: HashFunction,
    num_leaves: usize,
    /// Levels above the leaves that are not stored (0: all are).
    dropped: u32,
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
        MerkleTree {
            nodes,
            hash,
            num_leaves: n,
            dropped: 0,
        }
    }

    pub(crate) fn root(&self) -> Digest {
        self.nodes[1]
    }

    /// Frees the leaves and the `levels − 1` levels above them (keeping at least the root):
    /// a quarter of the memory for `levels = 2`. Openings then need every leaf of each block of
    /// `2^levels` leaves holding an opened one ([`MerkleTree::prove_batch_from_leaves`]).
    pub(crate) fn drop_lower_levels(&mut self, levels: u32) {
        let levels = levels.min(self.num_leaves.trailing_zeros());
        self.nodes.truncate(2 * (self.num_leaves >> levels));
        self.nodes.shrink_to_fit();
        self.dropped = levels;
    }

    /// How many levels [`MerkleTree::drop_lower_levels`] dropped: openings need whole blocks of
    /// `2^levels` leaves.
    pub(crate) fn dropped_levels(&self) -> u32 {
        self.dropped
    }

    /// Sibling digests needed to authenticate the leaves at `indices` (sorted, distinct, in
    /// range), bottom level first, left to right within a level. Only for a tree that keeps
    /// all its levels.
    pub(crate) fn prove_batch(&self, indices: &[usize]) -> Vec<Digest> {
        debug_assert_eq!(self.dropped, 0);
        self.prove_batch_from_leaves(indices, &[])
    }

    /// Like [`MerkleTree::prove_batch`], for a tree that dropped its lower levels: `blocks`
    /// holds, for each block of `2^dropped` leaves that holds an index (in order), the digests
    /// of all its leaves.
    pub(crate) fn prove_batch_from_leaves(
        &self,
        indices: &[usize],
        blocks: &[Digest],
    ) -> Vec<Digest> {
        // The dropped levels' nodes, rebuilt from the blocks: node index -> digest.
        let mut rebuilt = std::collections::HashMap::new();
        let block = 1usize << self.dropped;
        let mut starts: Vec<usize> = indices.iter().map(|i| i / block).collect();
        starts.dedup();
        for (b, leaves) in starts.iter().zip(blocks.chunks_exact(block)) {
            let mut level: Vec<Digest> = leaves.to_vec();
            let mut first = self.num_leaves + b * block;
            while level.len() > 1 {
                for (k, d) in level.iter().enumerate() {
                    rebuilt.insert(first + k, *d);
                }
                level = level
                    .chunks_exact(2)
                    .map(|c| self.hash.merge(&c[0], &c[1]))
                    .collect();
                first /= 2;
            }
        }
        let node = |i: usize| {
            if i < self.nodes.len() {
                self.nodes[i]
            } else {
                rebuilt[&i]
            }
        };
        let mut proof = Vec::new();
        let mut current: Vec<usize> = indices.iter().map(|i| i + self.num_leaves).collect();
        while current.first().is_some_and(|&i| i > 1) {
            let mut next = Vec::with_capacity(current.len());
            let mut k = 0;
            while k < current.len() {
                let i = current[k];
                if i & 1 == 0 && current.get(k + 1) == Some(&(i + 1)) {
                    k += 2;
                } else {
                    proof.push(node(i ^ 1));
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
    fn a_tree_without_its_lower_levels_gives_the_same_openings() {
        let h = HashFunction::Blake3;
        let l = leaves(64);
        let full = MerkleTree::build(h, l.clone());
        for levels in [1u32, 2, 3] {
            let mut upper = MerkleTree::build(h, l.clone());
            upper.drop_lower_levels(levels);
            assert_eq!(upper.nodes.len(), 128 >> levels);
            let block = 1usize << levels;
            for idx in [
                vec![0],
                vec![63],
                vec![3, 17, 18, 40, 63],
                (0..64).collect(),
            ] {
                let mut starts: Vec<usize> = idx.iter().map(|i| i / block).collect();
                starts.dedup();
                let blocks: Vec<Digest> = starts
                    .iter()
                    .flat_map(|b| l[b * block..(b + 1) * block].iter().copied())
                    .collect();
                assert_eq!(
                    upper.prove_batch_from_leaves(&idx, &blocks),
                    full.prove_batch(&idx),
                    "levels {levels}, indices {idx:?}"
                );
            }
        }
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
