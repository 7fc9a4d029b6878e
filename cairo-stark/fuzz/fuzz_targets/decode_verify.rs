//! Hostile proof files: decoding and verification must return errors, never panic, hang or
//! allocate beyond the input's size.
#![no_main]

use cairo_stark::{CompiledProgram, Felt, ProofFile};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn guest() -> &'static CompiledProgram {
    static GUEST: OnceLock<CompiledProgram> = OnceLock::new();
    GUEST.get_or_init(|| {
        CompiledProgram::parse(cairo_stark::guest_template::COMPILED)
            .expect("the guest template parses")
    })
}

fuzz_target!(|data: &[u8]| {
    // The decoder alone, then the whole verifier with the inputs the file names (so that
    // mutations reach the STARK verifier instead of stopping at the input comparison).
    if let Ok(file) = ProofFile::from_bytes(data) {
        let inputs: Vec<Felt> = file.inputs.clone();
        let _ = cairo_stark::verify(
            data,
            guest(),
            &inputs,
            &cairo_stark::SecurityPolicy::conjectured(0),
        );
    }
    let _ = cairo_stark::verify(
        data,
        guest(),
        &[Felt::from(1u64)],
        &cairo_stark::SecurityPolicy::conjectured(0),
    );
});
