//! What the relay needs from storage.

use crate::shared::error::StoreError;
use crate::shared::ids::{EventId, OrganizationId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// An unpublished event, leased to the relay that claimed it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    pub id: EventId,
    pub organization_id: Option<OrganizationId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// This claim's attempt number (1 for the first). A later claim of the same event by
    /// another relay, after this lease ran out, has a higher one; only the current claim may
    /// complete or reschedule it.
    pub attempt: i32,
}

/// How far behind the relay is.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OutboxLag {
    /// Unpublished events.
    pub pending: i64,
    /// Age of the oldest unpublished event, zero when there is none.
    pub oldest: Duration,
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Leases up to `limit` due events for `lease`: unpublished, due, not leased by another
    /// relay, and the oldest unpublished of their aggregate (so an aggregate's events go out in
    /// order). Instances claiming at once never get the same event.
    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<PendingEvent>, StoreError>;

    /// Marks the event published and, in the same transaction, creates one webhook delivery
    /// for each enabled endpoint of its organization subscribed to `webhook_type`. `false` when
    /// this claim no longer holds the event (its lease ran out and another relay took it).
    async fn complete(
        &self,
        event: &PendingEvent,
        webhook_type: Option<&'static str>,
    ) -> Result<bool, StoreError>;

    /// Releases the event to be tried again `after` from now (the database's clock), recording
    /// why.
    async fn reschedule(
        &self,
        event: &PendingEvent,
        after: Duration,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Stops trying: the event is marked published and failed, so its aggregate moves on.
    async fn give_up(&self, event: &PendingEvent, error: &str) -> Result<(), StoreError>;

    async fn lag(&self) -> Result<OutboxLag, StoreError>;
}
