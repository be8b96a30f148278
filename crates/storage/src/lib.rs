#![doc = include_str!("../README.md")]

mod key;
mod local;
mod s3;

pub use local::LocalStore;
pub use s3::{InvalidS3Settings, S3Settings, S3Store};
