//! The relay: claims due events, runs each one's side effect, publishes it.

use crate::outbox::event::EventType;
use crate::outbox::ports::{OutboxStore, PendingEvent};
use crate::shared::error::StoreError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// Why a side effect failed; the event is tried again later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

/// The side effect of some kinds of event (sending a mail). At most one handler per kind: a
/// retried event runs it again, so it must be safe to repeat (a mail may arrive twice, never
/// zero times).
#[async_trait]
pub trait EventHandler: Send + Sync {
    fn handles(&self, event: EventType) -> bool;

    /// # Errors
    /// `HandlerError` when the effect did not happen and should be tried again.
    async fn handle(&self, event: &PendingEvent) -> Result<(), HandlerError>;
}

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Events claimed per round.
    pub batch: usize,
    /// How long a claim holds its events; longer than any side effect may take.
    pub lease: Duration,
    /// The first retry's delay; each later one doubles, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts before an event is given up (logged, counted, marked failed).
    pub max_attempts: i32,
}

impl Default for RelaySettings {
    /// Back-off 5 s doubling to 1 h; 60 attempts is about two and a half days of retries.
    fn default() -> Self {
        Self {
            batch: 32,
            lease: Duration::from_secs(60),
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            max_attempts: 60,
        }
    }
}

impl RelaySettings {
    /// The delay before the attempt after `attempt` (1-based).
    pub fn delay_after(&self, attempt: i32) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.max_backoff)
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: usize,
    pub published: usize,
    pub rescheduled: usize,
    pub given_up: usize,
}

pub struct Relay {
    store: Arc<dyn OutboxStore>,
    handlers: Vec<Arc<dyn EventHandler>>,
    settings: RelaySettings,
}

impl Relay {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        handlers: Vec<Arc<dyn EventHandler>>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            store,
            handlers,
            settings,
        }
    }

    /// Claims one batch and publishes it. Events of one aggregate are never in one batch
    /// together (the claim takes only the oldest pending one of each).
    ///
    /// # Errors
    /// The store's, when claiming failed; a failure on one event is recorded on that event.
    pub async fn run_once(&self) -> Result<RoundReport, StoreError> {
        let events = self
            .store
            .claim(self.settings.batch, self.settings.lease)
            .await?;
        let mut report = RoundReport {
            claimed: events.len(),
            ..RoundReport::default()
        };
        for event in &events {
            match self.publish(event).await {
                Ok(Outcome::Published) => report.published += 1,
                Ok(Outcome::Rescheduled) => report.rescheduled += 1,
                Ok(Outcome::GivenUp) => report.given_up += 1,
                Ok(Outcome::Lost) => {}
                Err(e) => {
                    // The lease runs out and another round takes the event again.
                    tracing::warn!(event_id = %event.id, error = %e, "recording an event's publication failed");
                }
            }
        }
        Ok(report)
    }

    /// Lag metrics: `outbox_pending_events` and `outbox_lag_seconds` (oldest pending event's
    /// age).
    ///
    /// # Errors
    /// The store's.
    pub async fn observe_lag(&self) -> Result<(), StoreError> {
        let lag = self.store.lag().await?;
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("outbox_pending_events").set(lag.pending as f64);
        metrics::gauge!("outbox_lag_seconds").set(lag.oldest.as_secs_f64());
        Ok(())
    }

    async fn publish(&self, event: &PendingEvent) -> Result<Outcome, StoreError> {
        let kind = EventType::from_kind(&event.kind);
        let handler = kind.and_then(|k| self.handlers.iter().find(|h| h.handles(k)));
        if let Some(handler) = handler
            && let Err(e) = handler.handle(event).await
        {
            metrics::counter!("outbox_failures_total", "kind" => event.kind.clone()).increment(1);
            if event.attempt >= self.settings.max_attempts {
                tracing::error!(event_id = %event.id, kind = %event.kind, attempts = event.attempt, error = %e, "gave up publishing an event");
                metrics::counter!("outbox_given_up_total", "kind" => event.kind.clone())
                    .increment(1);
                self.store.give_up(event, &e.0).await?;
                return Ok(Outcome::GivenUp);
            }
            let delay = self.settings.delay_after(event.attempt);
            tracing::warn!(event_id = %event.id, kind = %event.kind, attempt = event.attempt, retry_in_s = delay.as_secs(), error = %e, "publishing an event failed; it will be retried");
            self.store.reschedule(event, delay, &e.0).await?;
            return Ok(Outcome::Rescheduled);
        }
        if kind.is_none() {
            tracing::warn!(event_id = %event.id, kind = %event.kind, "an event of an unknown kind is published without effect");
        }
        let webhook_type = kind.and_then(EventType::webhook_type);
        if self.store.complete(event, webhook_type).await? {
            metrics::counter!("outbox_published_total", "kind" => event.kind.clone()).increment(1);
            Ok(Outcome::Published)
        } else {
            tracing::warn!(event_id = %event.id, "an event's lease ran out before it was published; another relay has it");
            Ok(Outcome::Lost)
        }
    }
}

enum Outcome {
    Published,
    Rescheduled,
    GivenUp,
    Lost,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::ports::MockOutboxStore;
    use crate::shared::ids::EventId;
    use chrono::Utc;
    use std::sync::Mutex;

    fn event(kind: &str, attempt: i32) -> PendingEvent {
        PendingEvent {
            id: EventId::generate(),
            organization_id: None,
            kind: kind.into(),
            payload: serde_json::json!({}),
            created_at: Utc::now(),
            attempt,
        }
    }

    struct Flaky(Mutex<Vec<bool>>);

    #[async_trait]
    impl EventHandler for Flaky {
        fn handles(&self, event: EventType) -> bool {
            event == EventType::InvitationCreated
        }
        async fn handle(&self, _: &PendingEvent) -> Result<(), HandlerError> {
            if self.0.lock().unwrap().remove(0) {
                Ok(())
            } else {
                Err(HandlerError("smtp down".into()))
            }
        }
    }

    fn relay(store: MockOutboxStore, outcomes: Vec<bool>, settings: RelaySettings) -> Relay {
        Relay::new(
            Arc::new(store),
            vec![Arc::new(Flaky(Mutex::new(outcomes)))],
            settings,
        )
    }

    #[test]
    fn back_off_doubles_up_to_its_cap() {
        let s = RelaySettings::default();
        assert_eq!(s.delay_after(1), Duration::from_secs(5));
        assert_eq!(s.delay_after(2), Duration::from_secs(10));
        assert_eq!(s.delay_after(5), Duration::from_secs(80));
        assert_eq!(s.delay_after(20), Duration::from_secs(3600));
        assert_eq!(s.delay_after(i32::MAX), Duration::from_secs(3600));
    }

    #[tokio::test]
    async fn a_failed_effect_is_rescheduled_and_not_published() {
        let mut store = MockOutboxStore::new();
        store
            .expect_claim()
            .returning(|_, _| Ok(vec![event("invitation_created", 3)]));
        store.expect_complete().never();
        store
            .expect_reschedule()
            .withf(|e, after, why| {
                e.attempt == 3 && *after == Duration::from_secs(20) && why == "smtp down"
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let report = relay(store, vec![false], RelaySettings::default())
            .run_once()
            .await
            .unwrap();
        assert_eq!(report.rescheduled, 1);
        assert_eq!(report.published, 0);
    }

    #[tokio::test]
    async fn the_last_attempt_gives_up_and_the_others_publish_with_their_webhook_type() {
        let mut store = MockOutboxStore::new();
        store.expect_claim().returning(|_, _| {
            Ok(vec![
                event("invitation_created", 4),
                event("partner_created", 1),
                event("something_old", 1),
            ])
        });
        store.expect_give_up().times(1).returning(|_, _| Ok(()));
        let types = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&types);
        store.expect_complete().times(2).returning(move |_, t| {
            seen.lock().unwrap().push(t);
            Ok(true)
        });
        let settings = RelaySettings {
            max_attempts: 4,
            ..RelaySettings::default()
        };
        let report = relay(store, vec![false], settings)
            .run_once()
            .await
            .unwrap();
        assert_eq!(report.given_up, 1);
        assert_eq!(report.published, 2);
        assert_eq!(*types.lock().unwrap(), vec![Some("partner.created"), None]);
    }
}
