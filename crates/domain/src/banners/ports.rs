//! The object store that holds banner images.

use async_trait::async_trait;
use std::path::Path;

/// Which kind of store holds the files (reported to clients as `provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageProvider {
    Supabase,
    S3,
    Local,
}

impl StorageProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supabase => "supabase",
            Self::S3 => "s3",
            Self::Local => "local",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the object store did not answer in time")]
    Timeout,
    #[error("the object store failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An object store with public URLs (S3-compatible, Supabase Storage, or the local disk).
///
/// # Errors
/// `Timeout` when the store does not answer within the adapter's timeout; `Failed` for every
/// other failure (refused connection, error status, local I/O error).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync {
    fn provider(&self) -> StorageProvider;
    /// The public URL of `key`.
    fn public_url(&self, key: &str) -> String;
    /// Stores the file at `path` (streamed, not read into memory) under `key`.
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StorageError>;
    /// Removes `key`; removing a missing key is `Ok`.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
}
