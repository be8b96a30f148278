#![doc = include_str!("../README.md")]

mod verifier;
mod wire;

pub use verifier::{
    CLOUDFLARE_SITEVERIFY_URL, ConfigError, DEFAULT_TIMEOUT, SiteverifyError, TurnstileSettings,
    TurnstileVerifier,
};
