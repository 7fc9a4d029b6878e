//! A generic STARK (Ben-Sasson et al., eprint 2018/046) over the Stark-252 field.
//!
//! A computation is described once, by implementing [`Air`]; the prover and verifier here never
//! know which computation they serve.

mod air;

pub use air::{Air, AuxTraceBuilder, BoundaryConstraint, Frame, TraceTable, TransitionConstraint};

/// The Stark-252 prime field element every part of the crate computes with.
pub type Felt = lambdaworks_math::field::element::FieldElement<
    lambdaworks_math::field::fields::fft_friendly::stark_252_prime_field::Stark252PrimeField,
>;
