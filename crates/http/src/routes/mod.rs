//! Route handlers, one module per area of the API. Their request and response bodies are in
//! [`crate::dto`], the error responses they share in [`crate::openapi`].

pub mod analysis;
pub mod api_keys;
pub mod applications;
pub mod auth;
pub mod embed;
pub mod hosted_form;
pub mod legal_templates;
pub mod ops;
pub mod organizations;
pub mod partners;
pub mod webhooks;
