//! The webhook sender: claims due deliveries, signs and sends them, records every attempt.

use crate::shared::clock::Clock;
use crate::shared::error::StoreError;
use crate::webhooks::model::{AttemptRecord, DeliveryPolicy, message_id};
use crate::webhooks::ports::{DueDelivery, EndpointHealth, NextStep, WebhookStore};
use crate::webhooks::sender::{AttemptOutcome, WebhookRequest, WebhookSender};
use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The message body: `{type, timestamp, data}` as Standard Webhooks recommends. It depends only
/// on the event, so every attempt sends the same bytes.
pub fn body(delivery: &DueDelivery) -> String {
    serde_json::json!({
        "type": delivery.event_type,
        "timestamp": delivery.event_created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": delivery.payload,
    })
    .to_string()
}

pub fn request(delivery: &DueDelivery, now: DateTime<Utc>) -> WebhookRequest {
    WebhookRequest {
        url: delivery.url.clone(),
        message_id: message_id(delivery.id),
        timestamp: now,
        body: body(delivery),
        secrets: delivery.secrets.clone(),
    }
}

pub fn record(
    delivery: &DueDelivery,
    outcome: &AttemptOutcome,
    manual: bool,
    at: DateTime<Utc>,
) -> AttemptRecord {
    AttemptRecord {
        attempt: delivery.attempt,
        manual,
        attempted_at: at,
        status_code: outcome.status,
        latency_ms: i32::try_from(outcome.latency.as_millis()).unwrap_or(i32::MAX),
        response_prefix: outcome.response_prefix.clone(),
        error: outcome
            .failure
            .as_ref()
            .map(super::sender::AttemptFailure::describe),
    }
}

/// The endpoint's health after an attempt.
pub fn health(
    policy: &DeliveryPolicy,
    delivery: &DueDelivery,
    succeeded: bool,
    now: DateTime<Utc>,
) -> EndpointHealth {
    if succeeded {
        return EndpointHealth::Healthy;
    }
    match delivery.failing_since {
        Some(since) if policy.disables(since, now) => EndpointHealth::Disable {
            reason: format!(
                "every delivery attempt has failed since {}",
                since.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        },
        _ => EndpointHealth::Failing,
    }
}

pub struct WebhookWorker {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    policy: DeliveryPolicy,
    batch: usize,
    lease: Duration,
}

impl WebhookWorker {
    /// `lease` must exceed the sender's total timeout.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        policy: DeliveryPolicy,
        batch: usize,
        lease: Duration,
    ) -> Self {
        Self {
            store,
            sender,
            clock,
            policy,
            batch,
            lease,
        }
    }

    /// Sends one batch of due deliveries concurrently; returns how many it claimed.
    ///
    /// # Errors
    /// The store's, when claiming failed.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let due = self.store.claim_due(self.batch, self.lease).await?;
        let n = due.len();
        futures::future::join_all(due.iter().map(|d| self.attempt(d))).await;
        Ok(n)
    }

    async fn attempt(&self, delivery: &DueDelivery) {
        let started = self.clock.now();
        let outcome = self.sender.deliver(&request(delivery, started)).await;
        let now = self.clock.now();
        let succeeded = outcome.succeeded();
        let next = if succeeded {
            NextStep::Succeeded
        } else {
            match self.policy.retry_after(delivery.attempt) {
                Some(delay) => NextStep::RetryAfter(delay),
                None => NextStep::Failed,
            }
        };
        let health = health(&self.policy, delivery, succeeded, now);
        let label = if succeeded { "succeeded" } else { "failed" };
        metrics::counter!("webhook_attempts_total", "outcome" => label).increment(1);
        metrics::histogram!("webhook_attempt_seconds").record(outcome.latency.as_secs_f64());
        if !succeeded {
            tracing::info!(delivery_id = %delivery.id, endpoint_id = %delivery.endpoint_id, attempt = delivery.attempt, error = ?outcome.failure, "a webhook delivery attempt failed");
        }
        if let EndpointHealth::Disable { reason } = &health {
            tracing::warn!(endpoint_id = %delivery.endpoint_id, reason, "disabling a webhook endpoint");
        }
        let record = record(delivery, &outcome, false, started);
        match self
            .store
            .record_attempt(delivery, &record, next, &health)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery_id = %delivery.id, "a webhook delivery's lease ran out before its attempt was recorded")
            }
            Err(e) => {
                tracing::warn!(delivery_id = %delivery.id, error = %e, "recording a webhook attempt failed; it will be retried")
            }
        }
    }
}
