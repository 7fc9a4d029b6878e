//! Shared helpers: the corpus and fast proof options.
#![allow(dead_code)]

pub mod forge;

use cairo_stark::{CompiledProgram, Felt, ProofOptions};

pub fn program(name: &str) -> CompiledProgram {
    let path = format!("{}/tests/programs/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    CompiledProgram::parse(&json).unwrap()
}

pub fn guest() -> CompiledProgram {
    CompiledProgram::parse(cairo_stark::guest_template::COMPILED).unwrap()
}

pub fn felts(xs: &[u64]) -> Vec<Felt> {
    xs.iter().map(|&x| Felt::from(x)).collect()
}

/// Small, insecure options so the suite stays fast; verified with a matching minimum.
pub fn fast_options() -> ProofOptions {
    ProofOptions::insecure_for_tests()
}

pub fn fast_security(rows: usize) -> u32 {
    fast_options().conjectured_security_bits(rows)
}
