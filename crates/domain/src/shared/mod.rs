//! The shared kernel: what every feature uses. Error classification, typed ids, time and the
//! clock port, secrets and tokens, the validated values no single feature owns (text, email,
//! https URL, slug), and the cross-cutting ports (rate limits, readiness).

pub mod clock;
pub mod error;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod health;
pub mod ids;
pub(crate) mod page;
pub mod rate_limit;
pub mod secret;
pub mod slug;
pub mod time;
pub mod values;
