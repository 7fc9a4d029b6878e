//! Fiat–Shamir transcript: turns the interactive protocol into a proof by deriving every verifier
//! challenge from a hash of everything the prover has sent so far.
//!
//! State is one 32-byte digest. Absorbing `m` under a label sets
//! `state = H(state ‖ 0x01 ‖ len(label) ‖ label ‖ len(m) ‖ m)` (lengths as u64 little-endian,
//! so no two different message sequences share an encoding); squeezing sets
//! `state = H(state ‖ 0x02)` and returns the new state, so consecutive draws always differ.

use crate::hash::Digest;
use crate::options::HashFunction;
use crate::Felt;
use lambdaworks_math::unsigned_integer::element::UnsignedInteger;
use rayon::prelude::*;

pub(crate) struct Transcript {
    hash: HashFunction,
    state: Digest,
}

impl Transcript {
    pub(crate) fn new(hash: HashFunction, domain_separator: &[u8]) -> Self {
        let mut t = Transcript {
            hash,
            state: [0u8; 32],
        };
        t.absorb(b"protocol", domain_separator);
        t
    }

    pub(crate) fn absorb(&mut self, label: &[u8], message: &[u8]) {
        self.state = self.hash.hash_parts(&[
            &self.state,
            &[1u8],
            &(label.len() as u64).to_le_bytes(),
            label,
            &(message.len() as u64).to_le_bytes(),
            message,
        ]);
    }

    pub(crate) fn absorb_felts(&mut self, label: &[u8], felts: &[Felt]) {
        let mut bytes = Vec::with_capacity(felts.len() * 32);
        for f in felts {
            bytes.extend_from_slice(&f.to_bytes_be());
        }
        self.absorb(label, &bytes);
    }

    fn squeeze(&mut self) -> Digest {
        self.state = self.hash.hash_parts(&[&self.state, &[2u8]]);
        self.state
    }

    /// A uniformly random element of `[0, 2^251)`, which is all but a 2^-59 fraction of the field.
    pub(crate) fn draw_felt(&mut self) -> Felt {
        let mut bytes = self.squeeze();
        bytes[0] &= 0x07;
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(b);
        }
        Felt::new(UnsignedInteger::from_limbs(limbs))
    }

    pub(crate) fn draw_felts(&mut self, count: usize) -> Vec<Felt> {
        (0..count).map(|_| self.draw_felt()).collect()
    }

    /// A uniformly random integer below `bound`, a power of two.
    pub(crate) fn draw_index(&mut self, bound: usize) -> usize {
        debug_assert!(bound.is_power_of_two());
        let bytes = self.squeeze();
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        (u64::from_le_bytes(b) as usize) & (bound - 1)
    }

    /// Proof-of-work digest of `nonce` against the current state; grinding requires its leading
    /// `bits` bits to be zero.
    fn pow_digest(&self, nonce: u64) -> Digest {
        self.hash
            .hash_parts(&[&self.state, b"grinding", &nonce.to_le_bytes()])
    }

    pub(crate) fn pow_is_valid(&self, nonce: u64, bits: u32) -> bool {
        leading_zeros(&self.pow_digest(nonce)) >= bits
    }

    /// Finds the smallest nonce whose digest has `bits` leading zeros, searching blocks of
    /// nonces in parallel.
    pub(crate) fn grind(&self, bits: u32) -> u64 {
        if bits == 0 {
            return 0;
        }
        const BLOCK: u64 = 1 << 14;
        let mut start = 0u64;
        loop {
            let threads = rayon::current_num_threads().max(1) as u64;
            let found = (0..threads)
                .into_par_iter()
                .filter_map(|t| {
                    let lo = start + t * BLOCK;
                    (lo..lo + BLOCK).find(|&n| self.pow_is_valid(n, bits))
                })
                .min();
            if let Some(n) = found {
                return n;
            }
            start += threads * BLOCK;
        }
    }
}

fn leading_zeros(d: &Digest) -> u32 {
    let mut n = 0;
    for byte in d {
        if *byte == 0 {
            n += 8;
        } else {
            return n + byte.leading_zeros();
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_draws_differ_and_depend_on_absorbed_data() {
        let mut a = Transcript::new(HashFunction::Blake3, b"t");
        let x = a.draw_felt();
        let y = a.draw_felt();
        assert_ne!(x, y);
        let i = a.draw_index(1 << 20);
        let j = a.draw_index(1 << 20);
        assert_ne!(i, j);

        let mut b = Transcript::new(HashFunction::Blake3, b"t");
        b.absorb(b"m", b"hello");
        let mut c = Transcript::new(HashFunction::Blake3, b"t");
        c.absorb(b"m", b"hellp");
        assert_ne!(b.draw_felt(), c.draw_felt());
        // Label and message boundaries are unambiguous.
        let mut d = Transcript::new(HashFunction::Blake3, b"t");
        d.absorb(b"mh", b"ello");
        let mut e = Transcript::new(HashFunction::Blake3, b"t");
        e.absorb(b"m", b"hello");
        assert_ne!(d.draw_felt(), e.draw_felt());
    }

    #[test]
    fn grinding_finds_a_valid_nonce() {
        for h in [HashFunction::Blake3, HashFunction::Keccak256] {
            let t = Transcript::new(h, b"pow");
            let n = t.grind(10);
            assert!(t.pow_is_valid(n, 10));
            if n > 0 {
                assert!(!t.pow_is_valid(n - 1, 10) || n - 1 < n);
            }
        }
    }
}
