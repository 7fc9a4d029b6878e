//! The ledger: this organization's own record of what it uploaded, so that proofs are verified
//! against the program and inputs as the organization knows them, never as the server or a donor
//! describes them.
//!
//! `ledger.jsonl` holds one JSON object per line, appended and fsynced:
//! - `{"kind":"program", program_id, name, hash, server, at}`
//! - `{"kind":"inputs", program_id, input_group_id, name, hash, server, at}`
//! - `{"kind":"program_deleted", program_id, at}` / `{"kind":"inputs_deleted", program_id, input_group_id, at}`
//!
//! `hash` is the BLAKE3 of the exact bytes uploaded (the program JSON; the canonical CSV of the
//! input group), and those bytes are kept under `store/` named by that hash, written *before* the
//! upload. A stored copy is checked against its hash every time it is read back.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CliError, CliResult};
use crate::state::{append_line, hash_hex, read_lines, write_atomic, StateDir};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Program {
        program_id: Uuid,
        name: String,
        hash: String,
        server: String,
        at: String,
    },
    Inputs {
        program_id: Uuid,
        input_group_id: Uuid,
        name: String,
        hash: String,
        server: String,
        at: String,
    },
    ProgramDeleted {
        program_id: Uuid,
        at: String,
    },
    InputsDeleted {
        program_id: Uuid,
        input_group_id: Uuid,
        at: String,
    },
}

#[derive(Debug, Clone)]
pub struct ProgramRecord {
    pub program_id: Uuid,
    pub name: String,
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct InputsRecord {
    pub input_group_id: Uuid,
    pub name: String,
    pub hash: String,
}

/// The ledger as replayed from its file.
pub struct Ledger {
    state: StateDir,
    server: String,
    programs: HashMap<Uuid, ProgramRecord>,
    inputs: HashMap<Uuid, HashMap<Uuid, InputsRecord>>,
    /// Lines that could not be read (a torn write).
    pub broken_lines: usize,
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Ledger {
    /// Replays the ledger. Ids are UUIDs, unique across servers, so entries are not filtered by
    /// server (the same server may be reached under several URLs); `server` is what new entries
    /// record.
    pub fn load(state: &StateDir, server: &str) -> CliResult<Self> {
        let (entries, broken_lines) = read_lines::<Entry>(&state.ledger_file())?;
        let mut ledger = Ledger {
            state: state.clone(),
            server: server.to_string(),
            programs: HashMap::new(),
            inputs: HashMap::new(),
            broken_lines,
        };
        for entry in entries {
            ledger.apply(entry);
        }
        Ok(ledger)
    }

    fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Program {
                program_id,
                name,
                hash,
                ..
            } => {
                self.programs.insert(
                    program_id,
                    ProgramRecord {
                        program_id,
                        name,
                        hash,
                    },
                );
            }
            Entry::Inputs {
                program_id,
                input_group_id,
                name,
                hash,
                ..
            } => {
                self.inputs.entry(program_id).or_default().insert(
                    input_group_id,
                    InputsRecord {
                        input_group_id,
                        name,
                        hash,
                    },
                );
            }
            Entry::ProgramDeleted { program_id, .. } => {
                self.programs.remove(&program_id);
                self.inputs.remove(&program_id);
            }
            Entry::InputsDeleted {
                program_id,
                input_group_id,
                ..
            } => {
                if let Some(groups) = self.inputs.get_mut(&program_id) {
                    groups.remove(&input_group_id);
                }
            }
        }
    }

    /// Appends (durably) and applies an entry.
    pub fn record(&mut self, entry: Entry) -> CliResult<()> {
        let line = serde_json::to_string(&entry)
            .map_err(|e| CliError::new(format!("cannot encode a ledger entry: {e}")))?;
        append_line(&self.state.ledger_file(), &line)?;
        self.apply(entry);
        Ok(())
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn program(&self, id: Uuid) -> Option<&ProgramRecord> {
        self.programs.get(&id)
    }

    /// Programs recorded under that name, newest entries last.
    pub fn programs_named(&self, name: &str) -> Vec<&ProgramRecord> {
        self.programs.values().filter(|p| p.name == name).collect()
    }

    pub fn input_group(&self, program_id: Uuid, group: Uuid) -> Option<&InputsRecord> {
        self.inputs.get(&program_id).and_then(|g| g.get(&group))
    }

    /// An input group of the program already uploaded with this name and content.
    pub fn find_inputs(&self, program_id: Uuid, name: &str, hash: &str) -> Option<&InputsRecord> {
        self.inputs
            .get(&program_id)?
            .values()
            .find(|r| r.name == name && r.hash == hash)
    }

    fn stored_path(&self, kind: &str, hash: &str) -> PathBuf {
        self.state.store_dir().join(kind).join(hash)
    }

    /// Keeps `bytes` under their hash (before they are uploaded) and returns the hash.
    pub fn store(&self, kind: Kind, bytes: &[u8]) -> CliResult<String> {
        let hash = hash_hex(bytes);
        let path = self.stored_path(kind.dir(), &hash);
        let intact = std::fs::read(&path).is_ok_and(|b| hash_hex(&b) == hash);
        if !intact {
            write_atomic(&path, bytes, false)?;
        }
        Ok(hash)
    }

    /// Reads back a stored copy, refusing it if its content no longer matches its hash.
    pub fn load_stored(&self, kind: Kind, hash: &str) -> CliResult<Vec<u8>> {
        let path = self.stored_path(kind.dir(), hash);
        let bytes = std::fs::read(&path).map_err(|e| {
            CliError::io("read the local copy", &path, e)
                .with_hint("the state directory is incomplete; restore it from a backup")
        })?;
        if hash_hex(&bytes) != hash {
            return Err(CliError::new(format!(
                "the local copy {} was modified since it was uploaded (hash mismatch)",
                path.display()
            ))
            .with_hint("restore the state directory from a backup"));
        }
        Ok(bytes)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Program,
    Inputs,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Program => "programs",
            Kind::Inputs => "inputs",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_applies_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::locate(Some(dir.path())).unwrap();
        let (p, g) = (Uuid::new_v4(), Uuid::new_v4());
        let mut ledger = Ledger::load(&state, "http://a").unwrap();
        let hash = ledger.store(Kind::Inputs, b"1\n3\n").unwrap();
        ledger
            .record(Entry::Program {
                program_id: p,
                name: "x".into(),
                hash: "h".into(),
                server: "http://a".into(),
                at: now(),
            })
            .unwrap();
        ledger
            .record(Entry::Inputs {
                program_id: p,
                input_group_id: g,
                name: "g".into(),
                hash: hash.clone(),
                server: "http://a".into(),
                at: now(),
            })
            .unwrap();
        let again = Ledger::load(&state, "http://a").unwrap();
        assert_eq!(again.input_group(p, g).unwrap().hash, hash);
        assert_eq!(again.load_stored(Kind::Inputs, &hash).unwrap(), b"1\n3\n");

        let mut ledger = again;
        ledger
            .record(Entry::InputsDeleted {
                program_id: p,
                input_group_id: g,
                at: now(),
            })
            .unwrap();
        assert!(Ledger::load(&state, "http://a")
            .unwrap()
            .input_group(p, g)
            .is_none());
    }

    #[test]
    fn a_modified_stored_copy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::locate(Some(dir.path())).unwrap();
        let ledger = Ledger::load(&state, "http://a").unwrap();
        let hash = ledger.store(Kind::Program, b"{}").unwrap();
        std::fs::write(state.store_dir().join("programs").join(&hash), b"{ }").unwrap();
        let error = ledger.load_stored(Kind::Program, &hash).unwrap_err();
        assert!(error.message.contains("modified"), "{}", error.message);
    }
}
