//! Partner records: the companies an organization works with, their primary contact and the
//! contact's invitation to the partner portal.

pub mod input;
pub mod model;
pub mod ports;
pub mod service;
pub mod web_domain;
