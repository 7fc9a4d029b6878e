//! Objects as files under a directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{validate_key, ObjectInfo, ObjectStore, StorageError};

/// Stores each object in a file at `root/key`, written to a temporary file (`*.tmp-<id>`) and
/// renamed into place so that readers never see half an object. A temporary file whose write
/// failed (a full disk) is removed at once; one left by a crash is swept when the store is opened
/// (and by the sweeper, [`ObjectStore::sweep_temporary`]).
///
/// A write that would leave less than the reserve free on the directory's file system is refused
/// as a full disk before anything is written, so that the space left lets deletions go through
/// (SQLite needs room in its journal to delete a row) and reads keep working.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    reserve_bytes: u64,
}

impl LocalStore {
    /// Opens (creating it if needed) the directory, and removes the temporary files that writes
    /// interrupted by a crash left behind (those older than [`STALE_TMP`], so that a write in
    /// progress in another process sharing the directory is left alone).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let swept = sweep_tmp(&root, STALE_TMP)?;
        if swept > 0 {
            tracing::info!(swept, root = %root.display(), "removed leftover temporary files");
        }
        Ok(LocalStore {
            root,
            reserve_bytes: 0,
        })
    }

    /// Keeps `bytes` free: a write that would leave less is refused as a full disk.
    pub fn with_reserve(mut self, bytes: u64) -> Self {
        self.reserve_bytes = bytes;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// What marks a temporary file: its extension starts with it.
const TMP_MARK: &str = "tmp-";
/// A temporary file older than this is a crash's leftover, not a write in progress.
pub const STALE_TMP: Duration = Duration::from_secs(600);

/// Removes the temporary files under `dir` (recursively) last modified more than `age` ago;
/// returns how many.
fn sweep_tmp(dir: &Path, age: Duration) -> std::io::Result<usize> {
    let mut swept = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            swept += sweep_tmp(&path, age)?;
            continue;
        }
        let is_tmp = path
            .extension()
            .is_some_and(|e| e.to_string_lossy().starts_with(TMP_MARK));
        let stale = entry
            .metadata()?
            .modified()?
            .elapsed()
            .is_ok_and(|elapsed| elapsed >= age);
        if kind.is_file() && is_tmp && stale {
            std::fs::remove_file(&path)?;
            swept += 1;
        }
    }
    Ok(swept)
}

/// Refuses a write of `incoming` bytes under `root` that would leave less than `reserve` free.
fn check_room(root: &Path, incoming: u64, reserve: u64) -> std::io::Result<()> {
    if reserve == 0 {
        return Ok(());
    }
    let stats = rustix::fs::statvfs(root).map_err(std::io::Error::from)?;
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    if free < incoming.saturating_add(reserve) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!(
                "{free} bytes free in {}, and {reserve} are kept in reserve",
                root.display()
            ),
        ));
    }
    Ok(())
}

/// The complete objects under `dir` (recursively), keyed relative to `root`.
fn list_files(root: &Path, dir: &Path, found: &mut Vec<ObjectInfo>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_files(root, &path, found)?;
            continue;
        }
        let is_tmp = path
            .extension()
            .is_some_and(|e| e.to_string_lossy().starts_with(TMP_MARK));
        let key = path.strip_prefix(root).ok().and_then(|relative| {
            let parts: Option<Vec<&str>> = relative.iter().map(|p| p.to_str()).collect();
            parts.map(|parts| parts.join("/"))
        });
        if let (true, false, Some(key)) = (kind.is_file(), is_tmp, key) {
            if validate_key(&key).is_ok() {
                let modified = entry.metadata()?.modified()?;
                found.push(ObjectInfo { key, modified });
            }
        }
    }
    Ok(())
}

impl ObjectStore for LocalStore {
    fn put(&self, key: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), StorageError>> {
        let path = self.path(key);
        async move {
            let path = path?;
            check_room(&self.root, bytes.len() as u64, self.reserve_bytes)?;
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let tmp = path.with_extension(format!("{TMP_MARK}{}", uuid::Uuid::new_v4().simple()));
            let written = match tokio::fs::write(&tmp, &bytes).await {
                Ok(()) => tokio::fs::rename(&tmp, &path).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e.into());
            }
            Ok(())
        }
        .boxed()
    }

    fn get(&self, key: &str) -> BoxFuture<'_, Result<Bytes, StorageError>> {
        let path = self.path(key);
        let key = key.to_string();
        async move {
            match tokio::fs::read(path?).await {
                Ok(bytes) => Ok(Bytes::from(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(StorageError::NotFound(key))
                }
                Err(e) => Err(e.into()),
            }
        }
        .boxed()
    }

    fn delete(&self, key: &str) -> BoxFuture<'_, Result<(), StorageError>> {
        let path = self.path(key);
        async move {
            match tokio::fs::remove_file(path?).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        .boxed()
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<ObjectInfo>, StorageError>> {
        let (root, prefix) = (self.root.clone(), prefix.to_string());
        async move {
            let found = tokio::task::spawn_blocking(move || {
                let mut found = Vec::new();
                list_files(&root, &root, &mut found)?;
                found.retain(|o| o.key.starts_with(&prefix));
                Ok::<_, std::io::Error>(found)
            })
            .await
            .map_err(|e| StorageError::Io(std::io::Error::other(e)))??;
            Ok(found)
        }
        .boxed()
    }

    fn sweep_temporary(&self, age: Duration) -> BoxFuture<'_, Result<usize, StorageError>> {
        let root = self.root.clone();
        async move {
            let swept = tokio::task::spawn_blocking(move || sweep_tmp(&root, age))
                .await
                .map_err(|e| StorageError::Io(std::io::Error::other(e)))??;
            Ok(swept)
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        async move {
            tokio::fs::metadata(&self.root).await?;
            Ok(())
        }
        .boxed()
    }

    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_temporary_files_are_swept_and_objects_kept() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("programs/abc");
        std::fs::create_dir_all(&nested).unwrap();
        let leftover = nested.join("program.tmp-0123abcd");
        let object = nested.join("program.json");
        std::fs::write(&leftover, b"half").unwrap();
        std::fs::write(&object, b"{}").unwrap();
        // A fresh temporary file may be a write in progress: kept.
        assert_eq!(sweep_tmp(dir.path(), STALE_TMP).unwrap(), 0);
        assert!(leftover.exists());
        assert_eq!(sweep_tmp(dir.path(), Duration::ZERO).unwrap(), 1);
        assert!(!leftover.exists());
        assert!(object.exists());
    }

    #[tokio::test]
    async fn listing_shows_complete_objects_only_and_a_reserve_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store
            .put("programs/a/x.bin", Bytes::from_static(b"1"))
            .await
            .unwrap();
        store
            .put("other/y.bin", Bytes::from_static(b"2"))
            .await
            .unwrap();
        std::fs::write(dir.path().join("programs/a/z.tmp-0123"), b"half").unwrap();
        let listed = store.list("programs/").await.unwrap();
        let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["programs/a/x.bin"]);

        let full = LocalStore::open(dir.path())
            .unwrap()
            .with_reserve(u64::MAX / 2);
        let refused = full.put("programs/b.bin", Bytes::from_static(b"3")).await;
        match refused {
            Err(StorageError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::StorageFull),
            other => panic!("expected a full disk, got {other:?}"),
        }
        assert!(!dir.path().join("programs/b.bin").exists());
        full.delete("programs/a/x.bin").await.unwrap();
        assert_eq!(full.sweep_temporary(Duration::ZERO).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store
            .put("a/b.bin", Bytes::from_static(b"hi"))
            .await
            .unwrap();
        assert_eq!(
            store.get("a/b.bin").await.unwrap(),
            Bytes::from_static(b"hi")
        );
        store.delete("a/b.bin").await.unwrap();
        store.delete("a/b.bin").await.unwrap();
        assert!(matches!(
            store.get("a/b.bin").await,
            Err(StorageError::NotFound(_))
        ));
        assert!(matches!(
            store.get("../x").await,
            Err(StorageError::InvalidKey(_))
        ));
    }
}
