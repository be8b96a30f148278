//! Banner images of application forms: checked here, kept in the object store.

pub mod model;
pub mod ports;
pub mod service;
