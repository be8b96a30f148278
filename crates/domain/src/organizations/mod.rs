//! Organizations, their members and invitations, and the invitation mail.

pub mod invitations;
pub mod mail;
pub mod model;
pub mod ports;
pub mod service;
