//! Objects as files under a directory.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::{validate_key, ObjectStore, StorageError};

/// Stores each object in a file at `root/key`, written to a temporary file and renamed into place
/// so that readers never see half an object.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Opens (creating it if needed) the directory.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(LocalStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

impl ObjectStore for LocalStore {
    fn put(&self, key: &str, bytes: Bytes) -> BoxFuture<'_, Result<(), StorageError>> {
        let path = self.path(key);
        async move {
            let path = path?;
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
            tokio::fs::write(&tmp, &bytes).await?;
            if let Err(e) = tokio::fs::rename(&tmp, &path).await {
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
