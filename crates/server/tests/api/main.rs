//! API tests: the real application on port 0 with a fresh database, driven over HTTP.

mod analysis;
mod applications;
mod auth;
mod banners;
mod browser_security;
mod cases;
mod helpers;
mod legal_templates;
mod organizations;
mod partners;
mod requests;
mod trust;
