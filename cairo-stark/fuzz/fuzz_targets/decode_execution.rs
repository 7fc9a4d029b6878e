//! Hostile execution files: decoding, the binding checks and the replay must return errors,
//! never panic, hang or allocate beyond what the body holds.
#![no_main]

use std::io::Write;
use std::sync::OnceLock;

use cairo_stark::{CompiledProgram, Felt};
use libfuzzer_sys::fuzz_target;

fn guest() -> &'static CompiledProgram {
    static GUEST: OnceLock<CompiledProgram> = OnceLock::new();
    GUEST.get_or_init(|| {
        CompiledProgram::parse(cairo_stark::guest_template::COMPILED)
            .expect("the guest template parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let inputs = [Felt::from(3u64), Felt::from(4u64), Felt::from(5u64)];
    // The bytes as a whole file (most stop at the DEFLATE layer)...
    let _ = cairo_stark::check_execution(data, guest(), &inputs);
    // ...and as the body of a file compressed here, after the guest's hash, so that mutations
    // reach the decoder, the binding checks and the replay.
    let mut encoder = flate2::write::DeflateEncoder::new(
        b"CAIROEXE\x01\x00".to_vec(),
        flate2::Compression::fast(),
    );
    let written = encoder
        .write_all(&guest().hash())
        .and_then(|()| encoder.write_all(data));
    if let (Ok(()), Ok(file)) = (written, encoder.finish()) {
        let _ = cairo_stark::check_execution(&file, guest(), &inputs);
    }
});
