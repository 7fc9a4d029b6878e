//! The guest-code template served by `GET /program/template`: the files of
//! `cairo-stark/guest-template/`, embedded at build time so the binary is self-contained.

const FILES: [(&str, &[u8]); 3] = [
    (
        "guest-template/README.md",
        include_bytes!("../../cairo-stark/guest-template/README.md"),
    ),
    (
        "guest-template/guest.cairo",
        include_bytes!("../../cairo-stark/guest-template/guest.cairo"),
    ),
    (
        "guest-template/guest.json",
        include_bytes!("../../cairo-stark/guest-template/guest.json"),
    ),
];

/// The template as a tar (one folder, `guest-template/`).
pub fn tar() -> std::io::Result<bytes::Bytes> {
    crate::domain::archive::build_tar(&FILES).map(bytes::Bytes::from)
}

/// The names of the files in the template tar.
pub fn file_names() -> Vec<&'static str> {
    FILES.iter().map(|(name, _)| *name).collect()
}
