//! Webhooks: endpoints an organization registers, the signed deliveries of its events to them,
//! and the port that makes one HTTP attempt.
//!
//! The relay fans each published event out into one delivery per subscribed endpoint; the
//! [`worker::WebhookWorker`] sends due deliveries, retries them on [`model::DeliveryPolicy`]'s
//! schedule, and disables an endpoint that has failed for too long.

pub mod model;
pub mod notice;
pub mod ports;
pub mod sender;
pub mod service;
pub mod worker;
