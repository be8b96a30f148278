#![doc = include_str!("../README.md")]

pub mod analysis;
pub mod applications;
pub mod banners;
pub mod identity;
pub mod legal;
pub mod organizations;
pub mod outbox;
pub mod partners;
pub mod shared;
pub mod webhooks;

pub use shared::error::{ErrorKind, FieldError, StoreError};
