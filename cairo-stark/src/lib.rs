//! Prove that a compiled Cairo 0 program, run on exactly these inputs, produced exactly these
//! outputs; and check such proofs.
//!
//! The crate has four rooms:
//! - [`program`] and [`inputs`]: validation of what organizations upload (a compiled proof-mode
//!   program, a CSV of field elements). Used by the server at its edge and by both CLIs.
//! - `vm`: runs the program in cairo-vm (proof mode) with the inputs appended to its bytecode.
//! - `air`: the Cairo AIR (Cairo paper, eprint 2021/1063, section 9).
//! The generic STARK machinery lives in the `stark` crate and knows nothing about Cairo.
//!
//! No I/O beyond the bytes the caller hands in.

pub mod inputs;
pub mod program;

pub use stark::Felt;
