//! Object storage for blobs (program tars, compiled programs, input CSVs, proofs).
//!
//! One trait, two implementations: [`s3::S3Store`] (production; any S3-compatible server) and
//! [`local::LocalStore`] (a directory; the embedded default). Keys are `/`-separated paths built
//! by [`keys`] from ids the server generated, never from user input.

pub mod local;
pub mod s3;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::BoxFuture;

/// One stored object, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    /// When it was written (the sweeper leaves young objects alone: an upload may be in flight).
    pub modified: SystemTime,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object `{0}` not found")]
    NotFound(String),
    #[error("invalid object key `{0}`")]
    InvalidKey(String),
    #[error("local storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("S3: {0}")]
    S3(String),
}

/// A flat key -> bytes store.
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there. The object is complete when the
    /// future resolves: readers never see a partial object.
    fn put(&self, key: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), StorageError>>;
    /// The object's bytes; [`StorageError::NotFound`] when absent.
    fn get(&self, key: &str) -> BoxFuture<'_, Result<Bytes, StorageError>>;
    /// Deletes the object; deleting an absent object is not an error.
    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StorageError>>;
    /// The objects whose keys start with `prefix` (complete objects only, never a write in
    /// progress), in no particular order.
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<ObjectInfo>, StorageError>>;
    /// Removes what interrupted writes left behind (temporary files) older than `age`; returns
    /// how many. Stores whose writes are atomic have nothing to remove.
    fn sweep_temporary(&self, age: Duration) -> BoxFuture<'_, Result<usize, StorageError>> {
        let _ = age;
        Box::pin(async { Ok(0) })
    }
    /// Checks that the store answers (for `/health` and start-up).
    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>>;
    /// A short description for logs (no secrets).
    fn describe(&self) -> String;
}

/// Checks a key: non-empty `/`-separated segments of `[A-Za-z0-9._-]`, no `.`/`..` segment.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let ok = !key.is_empty()
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidKey(key.to_string()))
    }
}

/// Where each blob lives. Ids appear without hyphens: some S3-compatible servers keep
/// per-object metadata in a file named after the (encoded) bucket and key, so keys stay short.
pub mod keys {
    /// Where every object lives: the sweeper looks under it only.
    pub const ROOT: &str = "programs/";

    fn compact(id: &str) -> String {
        id.replace('-', "")
    }

    /// The program's tar as uploaded.
    pub fn program_archive(program_id: &str) -> String {
        format!("programs/{}/program.tar", compact(program_id))
    }

    /// The compiled program extracted from the tar.
    pub fn program_json(program_id: &str) -> String {
        format!("programs/{}/program.json", compact(program_id))
    }

    pub fn inputs(program_id: &str, input_group_id: &str) -> String {
        format!(
            "programs/{}/inputs/{}.csv",
            compact(program_id),
            compact(input_group_id)
        )
    }

    /// A proof; its own id keeps two racing uploads from overwriting each other's object.
    pub fn proof(program_id: &str, input_group_id: &str, proof_id: &str) -> String {
        format!(
            "programs/{}/proofs/{}.{}.bin",
            compact(program_id),
            compact(input_group_id),
            compact(proof_id)
        )
    }

    /// An execution file (execution-only mode); its own id, like a proof's.
    pub fn execution(program_id: &str, input_group_id: &str, execution_id: &str) -> String {
        format!(
            "programs/{}/executions/{}.{}.bin",
            compact(program_id),
            compact(input_group_id),
            compact(execution_id)
        )
    }

    /// The objects of an input group: its inputs, and its proof and execution if it has them.
    pub fn of_group(
        program_id: &str,
        group_id: &str,
        proof_id: Option<&str>,
        execution_id: Option<&str>,
    ) -> Vec<String> {
        let mut objects = vec![inputs(program_id, group_id)];
        if let Some(proof_id) = proof_id {
            objects.push(proof(program_id, group_id, proof_id));
        }
        if let Some(execution_id) = execution_id {
            objects.push(execution(program_id, group_id, execution_id));
        }
        objects
    }

    /// A fresh id for an object that racing uploads could both write (a proof, an execution):
    /// 16 random hex digits.
    pub fn new_object_id() -> String {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // Uniqueness among racing uploads is all that matters; fall back on a UUID.
            return uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        }
        hex::encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_the_server_builds_are_valid_and_escapes_are_not() {
        let id = "0b7f6c1e-8a2d-4c3b-9e1f-2a3b4c5d6e7f";
        for key in [
            keys::program_archive(id),
            keys::program_json(id),
            keys::inputs(id, id),
            keys::proof(id, id, &keys::new_object_id()),
            keys::execution(id, id, &keys::new_object_id()),
        ] {
            validate_key(&key).unwrap();
        }
        for bad in [
            "", "/a", "a//b", "a/../b", "..", "a/./b", "a b", "a\\b", "a/",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }
}
