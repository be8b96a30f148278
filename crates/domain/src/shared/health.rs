//! Readiness of the storage behind the service.

use crate::StoreError;
use async_trait::async_trait;

/// Readiness of the storage behind the service.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the database answers and every migration is applied.
    async fn ready(&self) -> Result<(), StoreError>;
}
