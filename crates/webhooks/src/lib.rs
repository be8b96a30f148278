#![doc = include_str!("../README.md")]

pub mod config;
pub mod sender;
pub mod signature;

pub use config::{MAX_RESPONSE_BYTES, USER_AGENT, WebhookSenderConfig};
pub use sender::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, HttpWebhookSender};
pub use signature::{sign, signature_header};
