#![doc = include_str!("../README.md")]

mod verifier;
mod wire;

pub use verifier::{ConfigError, SiteverifyError, TurnstileVerifier};
