//! The file names inside the tars of the protocol, the one writer of those tars (program uploads,
//! reservations, the guest template), and a reader for the reservation tar.

use std::io::Read;

use crate::types::ReservationMetadata;

/// The compiled program inside a program tar and inside a reservation tar.
pub const PROGRAM_FILE: &str = "program.json";
/// The input group's CSV inside a reservation tar.
pub const INPUTS_FILE: &str = "inputs.csv";
/// The [`ReservationMetadata`] inside a reservation tar.
pub const METADATA_FILE: &str = "metadata.json";
/// The execution to prove, inside a proving reservation tar (execution-only mode).
pub const EXECUTION_FILE: &str = "execution.bin";

/// Builds a tar of `(path, bytes)` regular files: ustar headers, mode 0644 and a fixed mtime, so
/// the same files always make the same bytes.
pub fn write_tar<P: AsRef<str>, B: AsRef<[u8]>>(files: &[(P, B)]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let bytes = bytes.as_ref();
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(0);
        builder.append_data(&mut header, path.as_ref(), bytes)?;
    }
    builder.into_inner()
}

/// What the reservation routes hand out: `GET /program/program-and-inputs/{program_id}` and
/// `GET /program/inputs-to-execute/{program_id}` (no execution), and
/// `GET /program/execution-to-prove/{program_id}` (with the execution to prove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The compiled proof-mode Cairo program (JSON bytes).
    pub program_json: Vec<u8>,
    /// The input group (CSV bytes).
    pub inputs_csv: Vec<u8>,
    pub metadata: ReservationMetadata,
    /// The execution file to prove (`execution.bin`), present only in a proving reservation.
    pub execution: Option<Vec<u8>>,
}

/// Why a reservation tar could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("unreadable tar: {0}")]
    Tar(#[from] std::io::Error),
    #[error("the tar has no `{0}`")]
    Missing(&'static str),
    #[error("`metadata.json` is not valid: {0}")]
    Metadata(#[from] serde_json::Error),
}

impl Reservation {
    /// Reads the files out of a reservation tar: `program.json`, `inputs.csv`, `metadata.json`
    /// (all required) and `execution.bin` (when present).
    pub fn from_tar(bytes: &[u8]) -> Result<Self, ArchiveError> {
        let mut archive = tar::Archive::new(bytes);
        let (mut program, mut inputs, mut metadata, mut execution) = (None, None, None, None);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = entry.path()?.to_string_lossy().into_owned();
            let slot = match name.as_str() {
                PROGRAM_FILE => &mut program,
                INPUTS_FILE => &mut inputs,
                METADATA_FILE => &mut metadata,
                EXECUTION_FILE => &mut execution,
                _ => continue,
            };
            let mut content = Vec::new();
            entry.read_to_end(&mut content)?;
            *slot = Some(content);
        }
        let metadata = metadata.ok_or(ArchiveError::Missing(METADATA_FILE))?;
        Ok(Reservation {
            program_json: program.ok_or(ArchiveError::Missing(PROGRAM_FILE))?,
            inputs_csv: inputs.ok_or(ArchiveError::Missing(INPUTS_FILE))?,
            metadata: serde_json::from_slice(&metadata)?,
            execution,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *bytes).unwrap();
        }
        builder.into_inner().unwrap()
    }

    const METADATA: &[u8] = br#"{"organization_id":"00000000-0000-0000-0000-000000000001",
        "program_id":"00000000-0000-0000-0000-000000000002",
        "input_group_id":"00000000-0000-0000-0000-000000000003",
        "input_group_name":"g","lock_expires_at":"2026-11-21T12:00:00Z"}"#;

    #[test]
    fn a_reservation_tar_is_read_and_a_partial_one_refused() {
        let tar = tar_of(&[
            (PROGRAM_FILE, b"{}"),
            (INPUTS_FILE, b"1\n"),
            (METADATA_FILE, METADATA),
        ]);
        let reservation = Reservation::from_tar(&tar).unwrap();
        assert_eq!(reservation.inputs_csv, b"1\n");
        assert_eq!(reservation.metadata.input_group_name, "g");
        assert_eq!(reservation.execution, None);
        let partial = tar_of(&[(PROGRAM_FILE, b"{}"), (METADATA_FILE, METADATA)]);
        assert!(matches!(
            Reservation::from_tar(&partial),
            Err(ArchiveError::Missing(INPUTS_FILE))
        ));
        let bad = tar_of(&[
            (PROGRAM_FILE, b"{}"),
            (INPUTS_FILE, b""),
            (METADATA_FILE, b"{"),
        ]);
        assert!(matches!(
            Reservation::from_tar(&bad),
            Err(ArchiveError::Metadata(_))
        ));
    }

    #[test]
    fn a_proving_reservation_tar_carries_the_execution() {
        let tar = tar_of(&[
            (PROGRAM_FILE, b"{}"),
            (INPUTS_FILE, b"1\n"),
            (EXECUTION_FILE, b"trace and memory"),
            (METADATA_FILE, METADATA),
        ]);
        let reservation = Reservation::from_tar(&tar).unwrap();
        assert_eq!(
            reservation.execution.as_deref(),
            Some(&b"trace and memory"[..])
        );
        assert_eq!(reservation.program_json, b"{}");
        assert_eq!(reservation.metadata.input_group_name, "g");
    }
}
