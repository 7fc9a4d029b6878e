//! The guest-code template an organization starts from: the files of `guest-template/`,
//! embedded at build time so that whoever hands the template out (the server's
//! `GET /program/template`) ships exactly these files without reaching into this crate's tree.

/// The template's files, as (path inside the template tar, contents).
pub const FILES: [(&str, &[u8]); 3] = [
    (
        "guest-template/README.md",
        include_bytes!("../guest-template/README.md"),
    ),
    (
        "guest-template/guest.cairo",
        include_bytes!("../guest-template/guest.cairo"),
    ),
    (
        "guest-template/guest.json",
        include_bytes!("../guest-template/guest.json"),
    ),
];

/// The template's compiled program (`guest.json`), a valid proof-mode program.
pub const COMPILED: &[u8] = FILES[2].1;
