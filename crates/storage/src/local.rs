//! The local filesystem store, the development default.

use crate::key::{is_safe_relative_key, join_url};
use async_trait::async_trait;
use partneros_domain::banners::ports::{ObjectStore, StorageError, StorageProvider};
use std::io;
use std::path::{Path, PathBuf};

/// Files under a root directory, served by the HTTP layer under a public base URL.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    public_base_url: String,
}

impl LocalStore {
    /// A store writing below `root` (created on first write) whose files are served at
    /// `public_base_url` (e.g. `http://127.0.0.1:8080/files`).
    pub fn new(root: impl Into<PathBuf>, public_base_url: impl Into<String>) -> Self {
        let public_base_url = public_base_url.into().trim_end_matches('/').to_owned();
        Self {
            root: root.into(),
            public_base_url,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `key` lives on disk, or `None` when the key could escape the root.
    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        is_safe_relative_key(key).then(|| self.root.join(key))
    }

    fn checked_path(&self, key: &str) -> Result<PathBuf, StorageError> {
        self.path_of(key).ok_or_else(|| {
            StorageError::Failed(Box::new(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unsafe object key {key:?}"),
            )))
        })
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    fn provider(&self) -> StorageProvider {
        StorageProvider::Local
    }

    fn public_url(&self, key: &str) -> String {
        join_url(&self.public_base_url, key)
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let destination = self.checked_path(key)?;
        let source = path.to_owned();
        // Blocking std::fs in one task: copy (streams in the kernel), sync, rename.
        tokio::task::spawn_blocking(move || copy_atomically(&source, &destination))
            .await
            .map_err(|join| StorageError::Failed(Box::new(join)))?
            .map_err(|err| StorageError::Failed(Box::new(err)))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.checked_path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(StorageError::Failed(Box::new(err))),
        }
    }
}

/// Copies `source` to `destination` so that readers see either no file or the whole file:
/// the bytes go to a temporary name in the destination's directory (same filesystem), are
/// synced, then renamed over the destination.
fn copy_atomically(source: &Path, destination: &Path) -> io::Result<()> {
    let directory = destination
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "destination has no parent"))?;
    std::fs::create_dir_all(directory)?;
    let file_name = destination.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "destination has no file name")
    })?;
    let temporary = directory.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = std::fs::copy(source, &temporary)
        .and_then(|_| std::fs::File::open(&temporary)?.sync_all())
        .and_then(|()| std::fs::rename(&temporary, destination));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> LocalStore {
        LocalStore::new(dir.join("files"), "http://127.0.0.1:8080/files/")
    }

    fn source_file(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join("upload.tmp");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[tokio::test]
    async fn put_writes_the_same_bytes_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let source = source_file(dir.path(), &bytes);

        store
            .put_file("org-1/banner.png", &source, "image/png")
            .await
            .unwrap();

        let stored = store.path_of("org-1/banner.png").unwrap();
        assert_eq!(stored, dir.path().join("files/org-1/banner.png"));
        assert_eq!(std::fs::read(&stored).unwrap(), bytes);
        assert!(source.exists(), "the caller's file is left alone");
        let leftovers: Vec<_> = std::fs::read_dir(stored.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    }

    #[tokio::test]
    async fn put_replaces_an_existing_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        store
            .put_file("a.png", &source_file(dir.path(), b"old"), "image/png")
            .await
            .unwrap();
        store
            .put_file("a.png", &source_file(dir.path(), b"new"), "image/png")
            .await
            .unwrap();
        assert_eq!(
            std::fs::read(store.path_of("a.png").unwrap()).unwrap(),
            b"new"
        );
    }

    #[test]
    fn public_url_joins_the_base_and_encoded_key() {
        let store = LocalStore::new("/srv/files", "http://127.0.0.1:8080/files/");
        assert_eq!(store.provider(), StorageProvider::Local);
        assert_eq!(store.root(), Path::new("/srv/files"));
        assert_eq!(
            store.public_url("org-1/x y.png"),
            "http://127.0.0.1:8080/files/org-1/x%20y.png"
        );
    }

    #[tokio::test]
    async fn unsafe_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let source = source_file(dir.path(), b"x");
        for key in [
            "../escape.png",
            "a/../../b.png",
            "/etc/passwd",
            "a\\b.png",
            "",
        ] {
            assert!(store.path_of(key).is_none(), "{key:?}");
            let put = store.put_file(key, &source, "image/png").await;
            assert!(matches!(put, Err(StorageError::Failed(_))), "{key:?}");
            let delete = store.delete(key).await;
            assert!(matches!(delete, Err(StorageError::Failed(_))), "{key:?}");
        }
        assert!(!dir.path().join("escape.png").exists());
    }

    #[tokio::test]
    async fn delete_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        store
            .put_file("o/a.png", &source_file(dir.path(), b"x"), "image/png")
            .await
            .unwrap();
        store.delete("o/a.png").await.unwrap();
        assert!(!store.path_of("o/a.png").unwrap().exists());
        store.delete("o/a.png").await.unwrap();
        store.delete("never/existed.png").await.unwrap();
    }

    #[tokio::test]
    async fn a_missing_source_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let put = store
            .put_file("a.png", &dir.path().join("nope"), "image/png")
            .await;
        assert!(matches!(put, Err(StorageError::Failed(_))));
        assert!(!store.path_of("a.png").unwrap().exists());
    }
}
