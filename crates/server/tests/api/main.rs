//! API tests: the real application on port 0 with a fresh database, driven over HTTP.

mod analysis;
mod applications;
mod auth;
mod banners;
mod browser_security;
mod helpers;
mod legal_templates;
mod matrix;
mod organizations;
mod partners;
mod trust;
