#![doc = include_str!("../README.md")]

mod analysis;
mod api_keys;
mod applications;
mod connection;
mod deadline;
pub(crate) use deadline::Conn;
mod error;
mod fragments;
mod health;
mod identity;
mod legal_templates;
pub mod local_cluster;
mod models;
mod organizations;
mod outbox;
mod partners;
mod pool;
mod rate_limits;
pub mod schema;
mod user_tokens;
mod webhooks;

pub use analysis::JOB_ATTEMPTS;
pub use connection::{ConnectOptions, SslMode};
pub use error::map_error;
pub use pool::{Database, PoolConfig, connect, migrate, pending_migrations};
