#![doc = include_str!("../README.md")]

mod attempt;
mod client;
mod prompt;
mod retry;
mod schema;
mod settings;
mod wire;

pub use client::LlmClient;
pub use settings::{LlmSettings, LlmSetupError};
