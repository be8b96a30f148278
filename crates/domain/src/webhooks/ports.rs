//! What webhooks need from storage.

use crate::shared::error::StoreError;
use crate::shared::ids::{OrganizationId, UserId, WebhookDeliveryId, WebhookEndpointId};
use crate::webhooks::model::{
    AttemptRecord, Delivery, DeliveryStatus, EndpointPatch, NewEndpoint, WebhookEndpoint,
};
use crate::webhooks::sender::SigningSecret;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A delivery leased for an attempt, with everything the attempt needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: WebhookDeliveryId,
    pub organization_id: OrganizationId,
    pub endpoint_id: WebhookEndpointId,
    pub url: String,
    pub event_type: String,
    pub event_created_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    /// The secrets that sign now (the current one, and a rotated-out one until it expires).
    pub secrets: Vec<SigningSecret>,
    /// This attempt's number (1-based).
    pub attempt: i32,
    pub status: DeliveryStatus,
    pub failing_since: Option<DateTime<Utc>>,
}

/// What happens to the delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Succeeded,
    /// Due again this long from now (the database's clock).
    RetryAfter(Duration),
    Failed,
    /// A manual redelivery that failed: the delivery keeps its state and schedule.
    Unchanged,
}

/// What happens to the endpoint after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointHealth {
    /// Answered 2xx: its failure record is cleared.
    Healthy,
    /// Failed: failing since its first failure (this one, when it was healthy).
    Failing,
    /// Failed for too long: disabled, with a `webhook_endpoint.disabled` event in the same
    /// transaction.
    Disable { reason: String },
}

#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_endpoint(
        &self,
        organization: OrganizationId,
        endpoint: &NewEndpoint,
        secret: &SigningSecret,
        created_by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError>;

    async fn list_endpoints(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<WebhookEndpoint>, StoreError>;

    async fn find_endpoint(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    async fn update_endpoint(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
        patch: &EndpointPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    async fn delete_endpoint(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
    ) -> Result<bool, StoreError>;

    /// Adds `secret` as the signing secret; the current ones expire at `old_expires_at` (or
    /// sooner, if they already were to).
    async fn rotate_secret(
        &self,
        organization: OrganizationId,
        id: WebhookEndpointId,
        secret: &SigningSecret,
        old_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Newest first, `limit` of them, after the delivery `after` (a cursor) when given.
    async fn list_deliveries(
        &self,
        organization: OrganizationId,
        endpoint: WebhookEndpointId,
        limit: i64,
        after: Option<WebhookDeliveryId>,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// One delivery with its whole log.
    async fn find_delivery(
        &self,
        organization: OrganizationId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
    ) -> Result<Option<Delivery>, StoreError>;

    /// A delivery for a manual attempt, whatever its state; its attempt number is the next one.
    async fn delivery_for_redelivery(
        &self,
        organization: OrganizationId,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
    ) -> Result<Option<DueDelivery>, StoreError>;

    /// Leases up to `limit` due deliveries of enabled endpoints for `lease`, counting the
    /// attempt. Concurrent claimers never get the same delivery.
    async fn claim_due(
        &self,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Records an attempt in the log and applies its consequences in one transaction. `false`
    /// when an automatic attempt's lease was lost (another sender took the delivery).
    async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        record: &AttemptRecord,
        next: NextStep,
        health: &EndpointHealth,
    ) -> Result<bool, StoreError>;
}
