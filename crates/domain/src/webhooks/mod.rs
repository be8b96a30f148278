//! Webhooks: endpoints an organization registers, the signed deliveries of its events to them,
//! and the port that makes one HTTP attempt.

pub mod sender;
