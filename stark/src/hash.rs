//! The 256-bit hash behind commitments, the transcript and the proof-of-work.
//!
//! Field elements are hashed as their 32-byte internal (Montgomery) limbs: that representation
//! is unique for every element (arithmetic keeps it fully reduced) and costs no conversion, which
//! matters because the prover hashes every cell of the low-degree extension.

use crate::options::HashFunction;
use crate::Felt;
use sha3::Digest as _;

pub type Digest = [u8; 32];

impl HashFunction {
    pub(crate) fn hash_bytes(self, data: &[u8]) -> Digest {
        match self {
            HashFunction::Blake3 => *blake3::hash(data).as_bytes(),
            HashFunction::Keccak256 => sha3::Keccak256::digest(data).into(),
        }
    }

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
            HashFunction::Keccak256 => {
                let mut h = sha3::Keccak256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }

    /// Parent of two Merkle nodes.
    #[inline]
    pub(crate) fn merge(self, left: &Digest, right: &Digest) -> Digest {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(left);
        buf[32..].copy_from_slice(right);
        self.hash_bytes(&buf)
    }

    /// Leaf digest of a row of field elements; `scratch` is reused to avoid allocations.
    #[inline]
    pub(crate) fn hash_felts(self, felts: &[Felt], scratch: &mut Vec<u8>) -> Digest {
        scratch.clear();
        for f in felts {
            push_felt_internal(f, scratch);
        }
        self.hash_bytes(scratch)
    }
}

#[inline]
pub(crate) fn push_felt_internal(f: &Felt, out: &mut Vec<u8>) {
    for limb in f.value().limbs {
        out.extend_from_slice(&limb.to_le_bytes());
    }
}
