//! The Partners API domain: entities, validated value objects, ports (traits that adapters
//! implement) and the use-case services built on them.
//!
//! This crate knows nothing of HTTP, SQL or cloud SDKs; `cargo tree -p partneros-domain` is
//! checked in CI to stay free of them.

pub mod analysis;
pub mod application;
pub mod banner;
pub mod clock;
pub mod error;
pub mod external;
pub mod forms;
pub mod identity;
pub mod ids;
pub mod legal;
pub mod mail;
pub mod organization;
pub mod partner;
pub mod ports;
pub mod secret;
pub mod services;
pub mod time;
pub mod values;

pub use error::{ErrorKind, FieldError, StoreError};
