//! What leaves the service: the outbox relay and webhook deliveries.

use super::ConfigError;
use super::vars::{Vars, err};
use partneros_domain::outbox::RelaySettings;
use partneros_domain::webhooks::model::DeliveryPolicy;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Outbox relay loops in this process (`OUTBOX_RELAY_WORKERS`, 0 turns the relay off here;
    /// any number of instances may run it).
    pub relay_workers: usize,
    /// Webhook sender loops in this process (`WEBHOOK_WORKERS`, 0 turns them off here). Each
    /// sends a batch of deliveries at once.
    pub webhook_workers: usize,
    /// Deliveries one sender loop sends at once.
    pub webhook_batch: usize,
    /// How often an idle loop looks for work.
    pub poll: Duration,
    pub relay: RelaySettings,
    /// Retry schedule, disabling and secret rotation overlap. `WEBHOOK_ALLOW_HTTP` (default: on
    /// in development, off in production) lets endpoints be plain `http` URLs.
    pub webhooks: DeliveryPolicy,
}

impl OutboundConfig {
    pub(super) fn from_vars(vars: &Vars, development: bool) -> Result<Self, ConfigError> {
        let relay_workers: usize = vars.number("OUTBOX_RELAY_WORKERS", 1)?;
        if relay_workers > 16 {
            return Err(err("OUTBOX_RELAY_WORKERS", "must be between 0 and 16"));
        }
        let webhook_workers: usize = vars.number("WEBHOOK_WORKERS", 4)?;
        if webhook_workers > 64 {
            return Err(err("WEBHOOK_WORKERS", "must be between 0 and 64"));
        }
        Ok(Self {
            relay_workers,
            webhook_workers,
            webhook_batch: 8,
            poll: Duration::from_millis(500),
            relay: RelaySettings::default(),
            webhooks: DeliveryPolicy {
                allow_http: vars.bool("WEBHOOK_ALLOW_HTTP", development)?,
                ..DeliveryPolicy::default()
            },
        })
    }
}
