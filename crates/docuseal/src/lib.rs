#![doc = include_str!("../README.md")]

mod client;
mod status;
mod unconfigured;
mod wire;

pub use client::{DocusealClient, DocusealSettings, DocusealSetupError};
pub use unconfigured::UnconfiguredESignature;
