//! Legal agreement templates: PDFs with signature fields, held by the e-signature service.

pub mod model;
pub mod ports;
pub mod service;
