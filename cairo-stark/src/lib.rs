//! Prove that a compiled Cairo 0 program, run on exactly these inputs, produced exactly these
//! outputs; and check such proofs.
//!
//! The crate has four rooms:
//! - [`program`] and [`inputs`]: validation of what organizations upload (a compiled proof-mode
//!   program, a CSV of field elements). Used by the server at its edge and by both CLIs.
//! - `vm`: runs the program in cairo-vm (proof mode) with the inputs appended to its bytecode.
//! - `air`: the Cairo AIR (Cairo paper, eprint 2021/1063, section 9).
//! - [`stark`]: a generic STARK prover and verifier that know nothing about Cairo.
//!
//! No I/O beyond the bytes the caller hands in.

pub mod inputs;
pub mod program;
pub mod stark;

/// The Stark-252 prime field element every part of the crate computes with.
pub type Felt = lambdaworks_math::field::element::FieldElement<
    lambdaworks_math::field::fields::fft_friendly::stark_252_prime_field::Stark252PrimeField,
>;
