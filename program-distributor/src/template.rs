//! The guest-code template served by `GET /program/template`: the files `cairo_stark` embeds
//! (see [`cairo_stark::guest_template`]), so the binary is self-contained.

use cairo_stark::guest_template::FILES;

/// The template as a tar (one folder, `guest-template/`).
pub fn tar() -> std::io::Result<bytes::Bytes> {
    crate::domain::archive::build_tar(&FILES).map(bytes::Bytes::from)
}

/// The names of the files in the template tar.
pub fn file_names() -> Vec<&'static str> {
    FILES.iter().map(|(name, _)| *name).collect()
}
