//! The program tar an organization uploads, checked before anything is stored.
//!
//! The tar must hold the compiled program as `program.json`, at its root or inside one top-level
//! folder; other regular files (the Cairo source, a README) may come along and are kept in the
//! stored tar. Nothing in it is ever written to disk under its own name, but the server refuses
//! what would be dangerous for the clients that unpack it again: absolute paths, `..`, links,
//! devices, FIFOs, sparse files, too many entries, too large a content.

use std::io::Read;
use std::path::{Component, Path};

use distributor_api::archive::PROGRAM_FILE;

use super::text;

/// Most entries a program tar may have.
pub const MAX_ENTRIES: usize = 1000;
/// Longest path inside a program tar, in bytes.
pub const MAX_PATH_BYTES: usize = 512;

/// Why a program tar was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("the file is not a readable tar archive: {0}")]
    Unreadable(String),
    #[error("entry {0:?} has an absolute path")]
    AbsolutePath(String),
    #[error("entry {0:?} leaves the archive's folder (`..`)")]
    ParentDir(String),
    #[error("entry {0:?} has a path longer than {MAX_PATH_BYTES} bytes")]
    PathTooLong(String),
    #[error("entry {path:?} is a {kind}; only regular files and folders are allowed")]
    ForbiddenType { path: String, kind: String },
    #[error("entry {path:?}: a name {problem}")]
    UnsafeName { path: String, problem: &'static str },
    #[error("entry {0:?} appears twice")]
    Duplicate(String),
    #[error("the archive has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    #[error("the archive's content is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the archive has no `program.json` at its root or in a single top-level folder")]
    NoProgram,
    #[error("the archive has more than one `program.json` ({0} and {1})")]
    AmbiguousProgram(String, String),
}

/// A program tar that passed the checks.
#[derive(Debug, Clone)]
pub struct ProgramArchive {
    /// The bytes of `program.json` (not yet checked to be a Cairo program).
    pub program_json: Vec<u8>,
    /// Where `program.json` was inside the tar.
    pub program_path: String,
}

impl ProgramArchive {
    /// Checks `bytes` as a program tar whose total content may not exceed `max_content` bytes.
    pub fn parse(bytes: &[u8], max_content: u64) -> Result<Self, ArchiveError> {
        let unreadable = |e: std::io::Error| ArchiveError::Unreadable(e.to_string());
        let mut archive = tar::Archive::new(bytes);
        let mut seen = std::collections::HashSet::new();
        let mut program: Option<(String, Vec<u8>)> = None;
        let mut content = 0u64;
        for (index, entry) in archive.entries().map_err(unreadable)?.enumerate() {
            if index >= MAX_ENTRIES {
                return Err(ArchiveError::TooManyEntries);
            }
            let mut entry = entry.map_err(unreadable)?;
            let raw_path = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw_path).into_owned();
            let entry_type = entry.header().entry_type();
            if entry_type.is_pax_global_extensions() || entry_type.is_pax_local_extensions() {
                if declares_sparse(&mut entry)? {
                    return Err(ArchiveError::ForbiddenType {
                        path: shown,
                        kind: "sparse file (declared by a PAX header)".to_string(),
                    });
                }
                continue;
            }
            if raw_path.len() > MAX_PATH_BYTES {
                return Err(ArchiveError::PathTooLong(shown.chars().take(80).collect()));
            }
            let is_dir = entry_type.is_dir();
            if !(entry_type.is_file() || is_dir) {
                return Err(ArchiveError::ForbiddenType {
                    path: shown,
                    kind: kind_name(entry_type).to_string(),
                });
            }
            let parts = normalized(&shown)?;
            if let Some(problem) = parts.iter().find_map(|part| text::name_problem(part)) {
                return Err(ArchiveError::UnsafeName {
                    path: shown,
                    problem,
                });
            }
            if parts.is_empty() {
                continue; // the archive's own root folder ("./")
            }
            let key = parts.join("/");
            if !seen.insert(key.clone()) {
                return Err(ArchiveError::Duplicate(shown));
            }
            if is_dir {
                continue;
            }
            content = content.saturating_add(entry.size());
            if content > max_content {
                return Err(ArchiveError::TooLarge(max_content));
            }
            let is_program =
                parts.last().is_some_and(|name| name == PROGRAM_FILE) && parts.len() <= 2;
            if is_program {
                let mut data = Vec::with_capacity(entry.size().min(max_content) as usize);
                (&mut entry)
                    .take(max_content + 1)
                    .read_to_end(&mut data)
                    .map_err(unreadable)?;
                if let Some((first, _)) = &program {
                    return Err(ArchiveError::AmbiguousProgram(first.clone(), key));
                }
                program = Some((key, data));
            }
        }
        let (program_path, program_json) = program.ok_or(ArchiveError::NoProgram)?;
        Ok(ProgramArchive {
            program_json,
            program_path,
        })
    }
}

/// Whether a PAX header entry declares the entry after it a sparse file (GNU's `GNU.sparse.*`
/// records): a regular entry whose unpacked size and layout are not what its own header says.
fn declares_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<bool, ArchiveError> {
    let Some(extensions) = entry
        .pax_extensions()
        .map_err(|e| ArchiveError::Unreadable(e.to_string()))?
    else {
        return Ok(false);
    };
    for extension in extensions {
        let extension = extension.map_err(|e| ArchiveError::Unreadable(e.to_string()))?;
        if extension.key_bytes().starts_with(b"GNU.sparse.") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The path's components without `.`; refuses absolute paths and `..`.
fn normalized(path: &str) -> Result<Vec<String>, ArchiveError> {
    // Also refuse what is absolute or `..` for a Windows client unpacking the tar again.
    if path.starts_with('/') || path.starts_with('\\') || path.as_bytes().get(1) == Some(&b':') {
        return Err(ArchiveError::AbsolutePath(path.to_string()));
    }
    let mut parts = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(ArchiveError::ParentDir(path.to_string())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::AbsolutePath(path.to_string()))
            }
        }
    }
    if path.split(['/', '\\']).any(|p| p == "..") {
        return Err(ArchiveError::ParentDir(path.to_string()));
    }
    Ok(parts)
}

fn kind_name(entry_type: tar::EntryType) -> &'static str {
    use tar::EntryType::*;
    match entry_type {
        Symlink => "symbolic link",
        Link => "hard link",
        Char => "character device",
        Block => "block device",
        Fifo => "FIFO",
        GNUSparse => "sparse file",
        Continuous => "contiguous file",
        _ => "special entry",
    }
}

/// Builds a tar of `(path, bytes)` regular files ([`distributor_api::archive::write_tar`]).
pub fn build_tar(files: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    distributor_api::archive::write_tar(files)
}

/// Tars written by hand, so that hostile paths and entry types that a tar library refuses to
/// write can be tested (here and in the HTTP tests).
#[cfg(any(test, feature = "test-support"))]
pub mod hostile {
    /// One entry: a 512-byte header and its data padded to the block size.
    pub fn entry(path: &str, kind: tar::EntryType, data: &[u8], link: Option<&str>) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.as_mut_bytes()[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(kind);
        if let Some(link) = link {
            header.set_link_name(link).expect("a short link name");
        }
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    /// The entries followed by the two zero blocks that end a tar.
    pub fn finished(mut entries: Vec<u8>) -> Vec<u8> {
        entries.extend_from_slice(&[0u8; 1024]);
        entries
    }

    /// A PAX record `key=value`, prefixed by its own length.
    pub fn pax_record(key: &str, value: &str) -> Vec<u8> {
        let body = format!(" {key}={value}\n");
        let mut length = body.len();
        while (length.to_string().len() + body.len()) != length {
            length = length.to_string().len() + body.len();
        }
        format!("{length}{body}").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::hostile::{entry, finished, pax_record};
    use super::*;

    const LIMIT: u64 = 1 << 20;

    #[test]
    fn program_at_the_root_or_in_one_folder_is_found() {
        let tar = build_tar(&[("program.json", b"{}"), ("guest.cairo", b"x")]).unwrap();
        assert_eq!(
            ProgramArchive::parse(&tar, LIMIT).unwrap().program_json,
            b"{}"
        );
        let tar = build_tar(&[("job/program.json", b"{1}"), ("job/src/a.cairo", b"")]).unwrap();
        let archive = ProgramArchive::parse(&tar, LIMIT).unwrap();
        assert_eq!(archive.program_json, b"{1}");
        assert_eq!(archive.program_path, "job/program.json");
        let tar = finished(entry(
            "./program.json",
            tar::EntryType::Regular,
            b"{2}",
            None,
        ));
        assert_eq!(
            ProgramArchive::parse(&tar, LIMIT).unwrap().program_json,
            b"{2}"
        );
    }

    #[test]
    fn missing_deep_or_duplicate_programs_are_refused() {
        let tar = build_tar(&[("a.json", b"{}")]).unwrap();
        assert_eq!(
            ProgramArchive::parse(&tar, LIMIT).unwrap_err(),
            ArchiveError::NoProgram
        );
        let tar = build_tar(&[("a/b/program.json", b"{}")]).unwrap();
        assert_eq!(
            ProgramArchive::parse(&tar, LIMIT).unwrap_err(),
            ArchiveError::NoProgram
        );
        let tar = build_tar(&[("a/program.json", b"{}"), ("b/program.json", b"{}")]).unwrap();
        assert!(matches!(
            ProgramArchive::parse(&tar, LIMIT),
            Err(ArchiveError::AmbiguousProgram(..))
        ));
        let mut entries = entry("program.json", tar::EntryType::Regular, b"{}", None);
        entries.extend(entry(
            "./program.json",
            tar::EntryType::Regular,
            b"{}",
            None,
        ));
        assert!(matches!(
            ProgramArchive::parse(&finished(entries), LIMIT),
            Err(ArchiveError::Duplicate(_))
        ));
    }

    #[test]
    fn traversal_and_absolute_paths_are_refused() {
        let tar = finished(entry(
            "../program.json",
            tar::EntryType::Regular,
            b"{}",
            None,
        ));
        assert!(matches!(
            ProgramArchive::parse(&tar, LIMIT),
            Err(ArchiveError::ParentDir(_))
        ));
        let tar = finished(entry("a/../../x", tar::EntryType::Regular, b"{}", None));
        assert!(matches!(
            ProgramArchive::parse(&tar, LIMIT),
            Err(ArchiveError::ParentDir(_))
        ));
        let tar = finished(entry(
            "/etc/program.json",
            tar::EntryType::Regular,
            b"{}",
            None,
        ));
        assert!(matches!(
            ProgramArchive::parse(&tar, LIMIT),
            Err(ArchiveError::AbsolutePath(_))
        ));
    }

    #[test]
    fn links_and_devices_are_refused() {
        for kind in [
            tar::EntryType::Symlink,
            tar::EntryType::Link,
            tar::EntryType::Char,
            tar::EntryType::Block,
            tar::EntryType::Fifo,
        ] {
            let tar = finished(entry("program.json", kind, b"", Some("/etc/passwd")));
            assert!(
                matches!(
                    ProgramArchive::parse(&tar, LIMIT),
                    Err(ArchiveError::ForbiddenType { .. })
                ),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn size_and_entry_limits_hold() {
        let big = vec![b'x'; 2000];
        let tar = build_tar(&[("program.json", &big)]).unwrap();
        assert_eq!(
            ProgramArchive::parse(&tar, 1000).unwrap_err(),
            ArchiveError::TooLarge(1000)
        );
        let names: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!("f{i}")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let tar = build_tar(&files).unwrap();
        assert_eq!(
            ProgramArchive::parse(&tar, LIMIT).unwrap_err(),
            ArchiveError::TooManyEntries
        );
    }

    #[test]
    fn a_regular_entry_declared_sparse_by_pax_is_refused() {
        let pax = |records: Vec<u8>| {
            let mut entries = entry(
                "PaxHeaders/program.json",
                tar::EntryType::XHeader,
                &records,
                None,
            );
            entries.extend(entry("program.json", tar::EntryType::Regular, b"{}", None));
            finished(entries)
        };
        let mut sparse = pax_record("GNU.sparse.major", "1");
        sparse.extend(pax_record("GNU.sparse.realsize", "1099511627776"));
        let refused = ProgramArchive::parse(&pax(sparse), LIMIT);
        assert!(
            matches!(&refused, Err(ArchiveError::ForbiddenType { kind, .. }) if kind.contains("sparse")),
            "{refused:?}"
        );
        // Other PAX records (a long mtime) are fine.
        let plain = pax_record("mtime", "1700000000.5");
        assert_eq!(
            ProgramArchive::parse(&pax(plain), LIMIT)
                .unwrap()
                .program_json,
            b"{}"
        );
    }

    #[test]
    fn entry_names_with_hostile_characters_are_refused() {
        for name in [
            "notes\u{7}.txt",
            "src/\u{202E}fdp.cairo",
            "\u{200B}/program.json",
            "a/\u{1b}[31m.cairo",
        ] {
            let tar = build_tar(&[("program.json", b"{}"), (name, b"")]).unwrap();
            assert!(
                matches!(
                    ProgramArchive::parse(&tar, LIMIT),
                    Err(ArchiveError::UnsafeName { .. })
                ),
                "{name:?}"
            );
        }
        let tar = build_tar(&[("program.json", b"{}"), ("Zürich/a\u{200D}b.cairo", b"")]).unwrap();
        ProgramArchive::parse(&tar, LIMIT).unwrap();
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let garbage = vec![0x5a; 3000];
        assert!(ProgramArchive::parse(&garbage, LIMIT).is_err());
        assert_eq!(
            ProgramArchive::parse(&[], LIMIT).unwrap_err(),
            ArchiveError::NoProgram
        );
    }
}
