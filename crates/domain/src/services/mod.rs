//! Use cases. Each service takes the caller's [`Principal`](crate::identity::Principal) and
//! enforces the role rules itself, so no transport can forget them.

pub mod access;
pub mod api_keys;
pub mod applications;
pub mod auth;
pub mod banners;
pub mod legal_templates;
pub mod organizations;
pub mod partners;

pub use access::AccessError;

#[cfg(test)]
pub(crate) mod fixtures;
