//! The 256-bit hash behind commitments, the transcript and the proof-of-work.
//!
//! Field elements are hashed as their 32-byte internal (Montgomery) limbs: that representation
//! is unique for every element (arithmetic keeps it fully reduced) and costs no conversion, which
//! matters because the prover hashes every cell of the low-degree extension.
//!
//! Merkle leaves and internal nodes are hashed in separate domains, so no leaf digest is ever the
//! digest of a node and no node can be opened as a leaf (or back): a 64-byte leaf, such as a FRI
//! leaf of two field elements, would otherwise hash exactly like the node over two children.
//! BLAKE3 gets one key for leaves and another for nodes, which costs nothing (a node stays one
//! 64-byte block); Keccak-256 gets a leading tag byte, which also costs nothing (65 bytes still
//! fit one 136-byte block).

use crate::options::HashFunction;
use crate::Felt;
use sha3::Digest as _;

pub type Digest = [u8; 32];

/// BLAKE3 keys of the two Merkle domains. Any two distinct keys separate them; these spell their
/// purpose and differ from the unkeyed mode the transcript uses.
const BLAKE3_LEAF_KEY: &[u8; 32] = b"stark-252/merkle-leaf/blake3/v2.";
const BLAKE3_NODE_KEY: &[u8; 32] = b"stark-252/merkle-node/blake3/v2.";
/// Keccak-256 tag bytes of the two Merkle domains.
const KECCAK_LEAF_TAG: u8 = 0x00;
const KECCAK_NODE_TAG: u8 = 0x01;

impl HashFunction {
    /// Hashes a sequence of byte strings as if concatenated.
    pub(crate) fn hash_parts(self, parts: &[&[u8]]) -> Digest {
        match self {
            HashFunction::Blake3 => {
                let mut h = blake3::Hasher::new();
                for p in parts {
                    h.update(p);
                }
                *h.finalize().as_bytes()
            }
            HashFunction::Keccak256 => keccak_parts(parts),
        }
    }

    /// Merkle leaf digest of `data` (the encoding of one committed row).
    #[inline]
    pub(crate) fn hash_leaf(self, data: &[u8]) -> Digest {
        match self {
            HashFunction::Blake3 => *blake3::keyed_hash(BLAKE3_LEAF_KEY, data).as_bytes(),
            HashFunction::Keccak256 => keccak_parts(&[&[KECCAK_LEAF_TAG], data]),
        }
    }

    /// Parent of two Merkle nodes.
    #[inline]
    pub(crate) fn merge(self, left: &Digest, right: &Digest) -> Digest {
        match self {
            HashFunction::Blake3 => {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(left);
                buf[32..].copy_from_slice(right);
                *blake3::keyed_hash(BLAKE3_NODE_KEY, &buf).as_bytes()
            }
            HashFunction::Keccak256 => {
                let mut buf = [0u8; 65];
                buf[0] = KECCAK_NODE_TAG;
                buf[1..33].copy_from_slice(left);
                buf[33..].copy_from_slice(right);
                sha3::Keccak256::digest(buf).into()
            }
        }
    }

    /// Leaf digest of a row of field elements; `scratch` is reused to avoid allocations.
    #[inline]
    pub(crate) fn hash_felts(self, felts: &[Felt], scratch: &mut Vec<u8>) -> Digest {
        scratch.clear();
        for f in felts {
            push_felt_internal(f, scratch);
        }
        self.hash_leaf(scratch)
    }
}

fn keccak_parts(parts: &[&[u8]]) -> Digest {
    let mut h = sha3::Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[inline]
pub(crate) fn push_felt_internal(f: &Felt, out: &mut Vec<u8>) {
    for limb in f.value().limbs {
        out.extend_from_slice(&limb.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_holding_two_child_digests_does_not_hash_like_their_node() {
        for h in [HashFunction::Blake3, HashFunction::Keccak256] {
            let left = h.hash_leaf(b"left");
            let right = h.hash_leaf(b"right");
            let mut concatenated = left.to_vec();
            concatenated.extend_from_slice(&right);
            assert_ne!(h.hash_leaf(&concatenated), h.merge(&left, &right), "{h:?}");
        }
    }
}
