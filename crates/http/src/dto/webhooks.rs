//! Webhook endpoints, deliveries and the event catalogue.

use super::{Timestamp, ts};
use partneros_domain::webhooks::model::{
    AttemptRecord, Delivery, DeliveryStatus, EndpointInput, WebhookEndpoint,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointDto {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The event types it receives (see `GET /api/webhooks/event-types`).
    #[schema(example = json!(["partner.created", "application.submitted"]))]
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the service disabled it (after failing for days); `null` otherwise.
    pub disabled_reason: Option<String>,
    /// Since when every attempt to it has failed; `null` while healthy.
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<WebhookEndpoint> for WebhookEndpointDto {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.as_uuid(),
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(ts),
            created_at: ts(e.created_at),
            updated_at: ts(e.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateWebhookEndpointRequest {
    /// `https://` (port 443); plain `http://` only where `WEBHOOK_ALLOW_HTTP` allows it.
    #[schema(example = "https://hooks.example.com/partners")]
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// At least one type of the catalogue.
    pub event_types: Vec<String>,
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl From<CreateWebhookEndpointRequest> for EndpointInput {
    fn from(r: CreateWebhookEndpointRequest) -> Self {
        Self {
            url: Some(r.url),
            description: r.description,
            event_types: Some(r.event_types),
            enabled: r.enabled,
        }
    }
}

/// Absent fields are left as they are. Enabling an endpoint clears its failure record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateWebhookEndpointRequest {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl From<UpdateWebhookEndpointRequest> for EndpointInput {
    fn from(r: UpdateWebhookEndpointRequest) -> Self {
        Self {
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            enabled: r.enabled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointResponse {
    pub endpoint: WebhookEndpointDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointsResponse {
    pub endpoints: Vec<WebhookEndpointDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointWithSecretResponse {
    pub endpoint: WebhookEndpointDto,
    /// The signing secret (`whsec_…`), shown only now. Verify deliveries with it as the
    /// Standard Webhooks libraries do.
    pub secret: String,
}

redacted_debug!(WebhookEndpointWithSecretResponse { endpoint; secret });

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatusName {
    Pending,
    Succeeded,
    Failed,
}

mirror_enum!(DeliveryStatusName <=> DeliveryStatus { Pending, Succeeded, Failed });

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttemptDto {
    /// 1 for the first attempt.
    pub attempt: i32,
    /// A redelivery asked for by a user.
    pub manual: bool,
    pub attempted_at: Timestamp,
    /// The answer's status; `null` when none came.
    pub status_code: Option<u16>,
    pub latency_ms: i32,
    /// The first bytes (at most 1 KiB) of the answer.
    pub response: String,
    /// Why it failed (`HTTP 500`, `timed out`, `blocked: …`); `null` on success.
    pub error: Option<String>,
}

impl From<AttemptRecord> for DeliveryAttemptDto {
    fn from(a: AttemptRecord) -> Self {
        Self {
            attempt: a.attempt,
            manual: a.manual,
            attempted_at: ts(a.attempted_at),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response: a.response_prefix,
            error: a.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    pub id: Uuid,
    /// The `webhook-id` header of its messages (the same on every attempt).
    pub message_id: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatusName,
    pub attempts: i32,
    /// When the next automatic attempt is due; `null` unless pending.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Attempts, newest first (in a list: only the latest).
    pub log: Vec<DeliveryAttemptDto>,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        Self {
            message_id: d.message_id(),
            id: d.id.as_uuid(),
            event_id: d.event_id.as_uuid(),
            event_type: d.event_type,
            status: d.status.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(ts),
            created_at: ts(d.created_at),
            updated_at: ts(d.updated_at),
            log: d.log.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveriesResponse {
    pub deliveries: Vec<DeliveryDto>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    pub delivery: DeliveryDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    pub attempt: DeliveryAttemptDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeDto {
    #[serde(rename = "type")]
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypesResponse {
    pub event_types: Vec<EventTypeDto>,
}
