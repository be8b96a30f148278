//! Rate limits: the port counting hits in sliding windows, shared by every instance.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

/// The verdict of a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// Sliding-window counters shared by every instance.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts a hit in `bucket` if fewer than `limit` happened in the `window` before `now`;
    /// atomic across concurrent callers and instances.
    async fn hit(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError>;

    /// Reserves an attempt in `bucket`, like `hit`: counted at once, so concurrent attempts
    /// cannot all pass. The reservation is then settled with [`RateLimiter::settle`]; one that
    /// never is (its request died with the database, say) stops counting after `lease`.
    async fn reserve(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateDecision, StoreError>;

    /// Settles one reservation made at `at` in `bucket`: `counted` keeps it for the whole
    /// window, otherwise it is removed.
    async fn settle(
        &self,
        bucket: &str,
        at: DateTime<Utc>,
        counted: bool,
    ) -> Result<(), StoreError>;

    /// Forgets every hit of `bucket`.
    async fn clear(&self, bucket: &str) -> Result<(), StoreError>;
}

/// A sliding-window limit checked and counted in the same transaction as the write it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteLimit {
    pub bucket: String,
    pub limit: u32,
    pub window: Duration,
}
