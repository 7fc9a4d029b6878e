//! Proof-system parameters and the security they are conjectured to give.
//!
//! Soundness of a STARK with these parameters is dominated by the FRI query phase: under the
//! usual conjecture (ethSTARK, eprint 2021/582, section 5.10.2) each query against a
//! blowup-`b` Reed–Solomon code lets a cheater through with probability about `1/b`, so `q`
//! queries give `q · log2(b)` bits, and a proof-of-work of `g` bits adds `g` more. That is capped
//! by the field (random challenges collide with the few bad points of an `N`-element domain with
//! probability about `N / |F|`) and by the collision resistance of the 256-bit hash (128 bits).
//! Proven theorems give about half as many bits per query: see [`crate::SecurityLevel`].

use thiserror::Error;

/// Hash function of the Merkle commitments, the transcript and the proof-of-work.
///
/// BLAKE3 is the default: measured on this project's 2-core machines (`benches/hash.rs`),
/// it hashes a 60-element LDE row in 2.5 µs against 3.5 µs for Keccak-256, a Merkle node in 90 ns
/// against 280 ns, and a proof-of-work attempt in 90 ns against 440 ns; a whole 2^16-row,
/// 60-column proof takes about 12% less CPU time. Keccak-256 stays available for verifiers that
/// need it (e.g. on Ethereum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// BLAKE3 with 32-byte output.
    Blake3,
    /// Keccak-256 (the original Keccak padding, as in Ethereum and Stone).
    Keccak256,
}

impl HashFunction {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            HashFunction::Blake3 => 1,
            HashFunction::Keccak256 => 2,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(HashFunction::Blake3),
            2 => Some(HashFunction::Keccak256),
            _ => None,
        }
    }
}

/// Every parameter of the proof system; both sides must use the same value (it is absorbed into
/// the transcript and carried by the proof).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofOptions {
    /// Ratio between the low-degree-extension domain and the trace domain (power of two, 2..=256).
    pub blowup_factor: usize,
    /// Number of FRI queries (1..=255), each at a different position of the evaluation domain
    /// (every position, when the domain is smaller).
    pub num_queries: usize,
    /// Leading zero bits the proof-of-work nonce must produce (0..=32).
    pub grinding_bits: u32,
    /// How many evaluations one FRI layer folds into one (2, 4, 8 or 16).
    pub fri_folding_factor: usize,
    /// FRI stops folding once the degree bound is at most this plus one; the remaining polynomial
    /// is sent as coefficients (a power of two minus one, at most 255).
    pub fri_remainder_max_degree: usize,
    pub hash: HashFunction,
}

/// Options that cannot be used: they would make the protocol ill-defined or unbounded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InvalidOptions {
    #[error("blowup factor {0} must be a power of two between 2 and 256")]
    BlowupFactor(usize),
    #[error("number of queries {0} must be between 1 and 255")]
    NumQueries(usize),
    #[error("grinding bits {0} must be at most 32")]
    GrindingBits(u32),
    #[error("FRI folding factor {0} must be 2, 4, 8 or 16")]
    FoldingFactor(usize),
    #[error("FRI remainder max degree {0} must be a power of two minus one, at most 255")]
    RemainderDegree(usize),
}

/// Bits of security a 256-bit hash gives against collisions (birthday bound).
pub(crate) const HASH_COLLISION_BITS: u32 = 128;
/// floor(log2(p)) for the Stark-252 prime p = 2^251 + 17·2^192 + 1.
pub(crate) const FIELD_BITS: u32 = 251;

/// Largest values accepted for each option; they also bound what a decoder may allocate.
pub(crate) const MAX_BLOWUP: usize = 256;
pub(crate) const MAX_QUERIES: usize = 255;
pub(crate) const MAX_GRINDING_BITS: u32 = 32;
pub(crate) const MAX_REMAINDER_DEGREE: usize = 255;

impl Default for ProofOptions {
    /// Blowup 4, 41 queries, 20 bits of grinding: 41·2 + 20 = 102 conjectured bits, the same
    /// soundness budget as the lambdaworks Cairo prover this crate replaces. Folding by 8 and a
    /// remainder of degree < 64 keep proofs short: against folding by 4, each query opens about
    /// two thirds as many FRI layers (eight values each instead of four, but fewer Merkle
    /// siblings): proofs 4.7% smaller at 2^18 rows (`cairo-stark/BENCHMARKS.md`), for the same
    /// prover work and a verifier that folds as much.
    /// Provably they give only 60 bits; [`ProofOptions::conservative`] gives 80 and more.
    fn default() -> Self {
        ProofOptions {
            blowup_factor: 4,
            num_queries: 41,
            grinding_bits: 20,
            fri_folding_factor: 8,
            fri_remainder_max_degree: 63,
            hash: HashFunction::Blake3,
        }
    }
}

impl ProofOptions {
    /// Options whose security is proven, not only conjectured: blowup 4, 64 queries, 20 bits of
    /// grinding give 83 provable bits (and the 128-bit conjectured cap) for the Cairo AIR's
    /// shape at every trace length from 2^8 to 2^22 rows; see [`crate::SecurityLevel`].
    ///
    /// The blowup stays that of [`ProofOptions::default`], so proving costs the same work up to
    /// the query phase; the price is the proof size, about 64/41 of the default's. Blowup 8 with
    /// 43 queries would give 84 provable bits with default-sized proofs, but doubles the
    /// extension the prover computes, hashes and folds, and donors' prover time is the scarcer
    /// resource here.
    pub fn conservative() -> Self {
        ProofOptions {
            num_queries: 64,
            ..ProofOptions::default()
        }
    }

    /// Fast, insecure options for tests and experiments (about 20 bits).
    pub fn insecure_for_tests() -> Self {
        ProofOptions {
            blowup_factor: 4,
            num_queries: 8,
            grinding_bits: 4,
            fri_folding_factor: 4,
            fri_remainder_max_degree: 7,
            hash: HashFunction::Blake3,
        }
    }

    /// Checks every option is within the range the protocol is defined for.
    pub fn validate(&self) -> Result<(), InvalidOptions> {
        if !self.blowup_factor.is_power_of_two() || !(2..=MAX_BLOWUP).contains(&self.blowup_factor)
        {
            return Err(InvalidOptions::BlowupFactor(self.blowup_factor));
        }
        if !(1..=MAX_QUERIES).contains(&self.num_queries) {
            return Err(InvalidOptions::NumQueries(self.num_queries));
        }
        if self.grinding_bits > MAX_GRINDING_BITS {
            return Err(InvalidOptions::GrindingBits(self.grinding_bits));
        }
        if ![2, 4, 8, 16].contains(&self.fri_folding_factor) {
            return Err(InvalidOptions::FoldingFactor(self.fri_folding_factor));
        }
        let r = self.fri_remainder_max_degree;
        if r > MAX_REMAINDER_DEGREE || !(r + 1).is_power_of_two() {
            return Err(InvalidOptions::RemainderDegree(r));
        }
        Ok(())
    }

    /// Conjectured bits of security of a proof of a trace of `trace_length` rows:
    /// `min(queries · log2(blowup) + grinding, 251 − log2(lde domain size), 128)`.
    ///
    /// The middle term is the field bound: out-of-domain and FRI challenges must avoid a set of
    /// bad points about as large as the evaluation domain.
    pub fn conjectured_security_bits(&self, trace_length: usize) -> u32 {
        let query_bits = (self.num_queries as u32)
            .saturating_mul(self.blowup_factor.max(1).ilog2())
            .saturating_add(self.grinding_bits);
        let lde_log = trace_length
            .max(1)
            .saturating_mul(self.blowup_factor.max(1))
            .ilog2();
        let field_bits = FIELD_BITS.saturating_sub(lde_log);
        query_bits.min(field_bits).min(HASH_COLLISION_BITS)
    }

    /// Canonical byte encoding (6 bytes plus a format tag), absorbed into the transcript and
    /// written in proofs.
    pub fn to_bytes(&self) -> [u8; 7] {
        [
            1, // encoding version of the options themselves
            self.blowup_factor.trailing_zeros() as u8,
            self.num_queries as u8,
            self.grinding_bits as u8,
            self.fri_folding_factor.trailing_zeros() as u8,
            (self.fri_remainder_max_degree + 1).trailing_zeros() as u8,
            self.hash.to_byte(),
        ]
    }

    /// Inverse of [`ProofOptions::to_bytes`]; rejects anything `validate` rejects.
    pub fn from_bytes(b: &[u8; 7]) -> Option<Self> {
        if b[0] != 1 || b[1] > 8 || b[4] > 4 || b[5] > 8 {
            return None;
        }
        let opts = ProofOptions {
            blowup_factor: 1usize << b[1],
            num_queries: b[2] as usize,
            grinding_bits: b[3] as u32,
            fri_folding_factor: 1usize << b[4],
            fri_remainder_max_degree: (1usize << b[5]) - 1,
            hash: HashFunction::from_byte(b[6])?,
        };
        opts.validate().ok().map(|_| opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AirShape, SecurityLevel};

    #[test]
    fn default_options_give_at_least_100_bits_for_realistic_traces() {
        let o = ProofOptions::default();
        o.validate().unwrap();
        for log_n in 4..=26 {
            assert_eq!(o.conjectured_security_bits(1 << log_n), 102);
        }
    }

    #[test]
    fn security_is_queries_times_log_blowup_plus_grinding() {
        let o = ProofOptions {
            blowup_factor: 8,
            num_queries: 30,
            grinding_bits: 10,
            ..ProofOptions::default()
        };
        assert_eq!(o.conjectured_security_bits(1 << 16), 30 * 3 + 10);
    }

    #[test]
    fn security_is_capped_by_hash_collisions_and_field_size() {
        let many = ProofOptions {
            blowup_factor: 256,
            num_queries: 255,
            grinding_bits: 32,
            ..ProofOptions::default()
        };
        assert_eq!(many.conjectured_security_bits(1 << 20), 128);
        // The field bound (251 - log2 of the domain) only binds beyond any domain a usize holds.
        assert_eq!(many.conjectured_security_bits(1 << 54), 128);
    }

    #[test]
    fn conservative_options_prove_80_bits_for_cairo_sized_airs() {
        let o = ProofOptions::conservative();
        o.validate().unwrap();
        // The Cairo AIR (59 columns, degree 3) and room for it to grow.
        for (columns, max_constraint_degree) in [(59, 3), (256, 8)] {
            for log_n in 8..=22 {
                let air = AirShape {
                    trace_length: 1 << log_n,
                    columns,
                    max_constraint_degree,
                };
                let level = SecurityLevel::of(&o, &air);
                assert!(level.provable >= 80, "2^{log_n} rows: {level:?}");
                assert!(level.conjectured >= 100, "2^{log_n} rows: {level:?}");
            }
        }
    }

    #[test]
    fn insecure_test_options_are_weak() {
        assert!(ProofOptions::insecure_for_tests().conjectured_security_bits(1024) < 100);
    }

    #[test]
    fn options_round_trip_through_bytes() {
        for o in [
            ProofOptions::default(),
            ProofOptions::conservative(),
            ProofOptions::insecure_for_tests(),
        ] {
            assert_eq!(ProofOptions::from_bytes(&o.to_bytes()), Some(o));
        }
        let keccak = ProofOptions {
            hash: HashFunction::Keccak256,
            ..ProofOptions::default()
        };
        assert_eq!(ProofOptions::from_bytes(&keccak.to_bytes()), Some(keccak));
    }

    #[test]
    fn invalid_options_are_rejected() {
        let bad = [
            ProofOptions {
                blowup_factor: 3,
                ..Default::default()
            },
            ProofOptions {
                blowup_factor: 1,
                ..Default::default()
            },
            ProofOptions {
                num_queries: 0,
                ..Default::default()
            },
            ProofOptions {
                grinding_bits: 33,
                ..Default::default()
            },
            ProofOptions {
                fri_folding_factor: 32,
                ..Default::default()
            },
            ProofOptions {
                fri_remainder_max_degree: 10,
                ..Default::default()
            },
        ];
        for o in bad {
            assert!(o.validate().is_err(), "{o:?}");
        }
        assert_eq!(ProofOptions::from_bytes(&[1, 2, 41, 20, 2, 6, 9]), None);
        assert_eq!(ProofOptions::from_bytes(&[2, 2, 41, 20, 2, 6, 1]), None);
        assert_eq!(ProofOptions::from_bytes(&[1, 2, 0, 20, 2, 6, 1]), None);
    }
}
