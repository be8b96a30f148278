//! Route handlers, one module per area of the API.

pub mod analysis;
pub mod api_keys;
pub mod applications;
pub mod auth;
pub mod hosted_form;
pub mod legal_templates;
pub mod ops;
pub mod organizations;
pub mod partners;

use crate::error::ErrorBody;

/// Responses every authenticated endpoint may give, for the OpenAPI document.
#[allow(dead_code)]
pub(crate) type Error = ErrorBody;
