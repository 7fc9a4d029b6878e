//! A generic STARK prover and verifier over the Stark-252 field.
//!
//! A computation is described once, by implementing [`Air`] (and [`AuxTraceBuilder`] for the
//! prover); [`prove`] and [`verify`] never know which computation they serve.
//!
//! # Protocol
//!
//! The construction follows the STARK paper (Ben-Sasson et al., <https://eprint.iacr.org/2018/046>)
//! in the DEEP-ALI form of ethSTARK (<https://eprint.iacr.org/2021/582>), made non-interactive with
//! a Fiat–Shamir transcript that first absorbs the statement: the AIR's public input, the trace
//! shape and the [`ProofOptions`].
//!
//! 1. The main trace columns (rows indexed by the subgroup `⟨g⟩` of size `n`) are interpolated and
//!    evaluated on the coset `3·⟨ω⟩` of size `N = blowup·n` (the low-degree extension); the rows of
//!    that extension are committed in a Merkle tree.
//! 2. Challenges drawn from the transcript let the prover build the auxiliary columns
//!    (permutation or lookup arguments), which are extended and committed the same way.
//! 3. Random coefficients combine every transition constraint divided by its zerofier
//!    `(x^n − 1) / Π_{exempt rows}(x − g^k)` and every boundary constraint divided by
//!    `x − g^row` into the composition polynomial `H`; it is split into parts `H_p` of degree
//!    `< n` (`H = Σ x^(p·n) H_p`), extended and committed.
//! 4. At an out-of-domain point `z` the prover sends every column at `z` and `g·z` and every `H_p`
//!    at `z`; the verifier checks the constraints reproduce `H(z)`.
//! 5. The DEEP composition `Σ γ (t(x) − t(z))/(x − z) + …` is low-degree exactly when those
//!    values are right; FRI (<https://eccc.weizmann.ac.il/report/2017/134/>) proves it, folding by
//!    the options' factor, sending the last layer as coefficients, then a proof-of-work nonce
//!    (grinding) before the query positions are drawn.
//! 6. At each of `num_queries` distinct query positions the prover opens the trace, auxiliary and
//!    composition rows and the FRI leaves (batched Merkle proofs, leaves and nodes hashed in
//!    separate domains); the verifier recomputes DEEP there and follows the folds.
//!
//! Security: every parameter set has two figures, a [`SecurityLevel`]: the conjectured one
//! ([`ProofOptions::conjectured_security_bits`]) and a provable one that follows from published
//! theorems ([`SecurityLevel::of`]) and counts about half as many bits per query. The verifier
//! rejects proofs weaker than its [`VerificationPolicy`] (100 conjectured bits by default; a
//! minimum of provable bits on request) and returns the level of those it accepts.
//! [`ProofOptions::conservative`] gives at least 80 provable bits for Cairo-sized AIRs.
//!
//! # Use
//!
//! ```text
//! let proof = stark::prove(&air, main_trace, &ProofOptions::default())?;
//! let bytes = proof.to_bytes(); // compact, self-delimiting; embed it in an outer format
//! let proof = StarkProof::from_bytes(&bytes)?; // never panics, allocates at most bytes.len()
//! let level = stark::verify(&air, &proof, &VerificationPolicy::default())?; // SecurityLevel
//! ```
//!
//! [`check_constraints`] evaluates an AIR directly on a trace and names the first constraint and
//! row that fail: the tool for debugging a new AIR.
//!
//! # Code map
//!
//! `air` the contract with computations · `options` parameters and the conjectured security ·
//! `security` both security figures · `shape` every length a proof must have, derived from
//! AIR + options · `protocol` steps both sides replay · `constraints` the composition
//! polynomial · `fri` the low-degree test, both sides · `prover` / `verifier` · `proof` encoding
//! · `fft`, `merkle`, `transcript`, `hash` the primitives.

// Hot loops use lambdaworks' reference operators (`&a * &b`) on purpose: its by-value operators
// are wrappers that the compiler does not always inline (measured: 11% slower FFT butterflies).
#![allow(clippy::op_ref)]

mod air;
#[cfg(test)]
extern crate self as stark;
mod constraints;
mod fft;
mod fri;
mod hash;
#[cfg(test)]
mod hostile_tests;
mod merkle;
mod options;
pub mod peak_memory;
mod progress;
mod proof;
mod protocol;
mod prover;
mod security;
mod shape;
mod transcript;
mod verifier;

pub use air::{Air, AuxTraceBuilder, BoundaryConstraint, Frame, TraceTable, TransitionConstraint};
pub use constraints::{check_constraints, ConstraintViolation};
pub use hash::Digest;
pub use options::{HashFunction, InvalidOptions, ProofOptions};
pub use progress::{Progress, Stage};
pub use proof::{DecodeError, StarkProof};
#[doc(hidden)]
pub use prover::prove_unchecked;
pub use prover::{prove, prove_with_progress, MemoryMode, ProvingError};
pub use security::{AirShape, SecurityLevel};
pub use shape::{AirShapeError, MAX_COLUMNS, MAX_CONSTRAINT_DEGREE};
pub use verifier::{
    verify, SecurityKind, VerificationError, VerificationPolicy, DEFAULT_MIN_CONJECTURED_BITS,
};

/// The Stark-252 prime field element every part of the crate computes with.
pub type Felt = lambdaworks_math::field::element::FieldElement<
    lambdaworks_math::field::fields::fft_friendly::stark_252_prime_field::Stark252PrimeField,
>;
