//! API tests: the real application on port 0 with a fresh database, driven over HTTP.

mod accounts;
mod analysis;
mod analysis_cache;
mod analysis_limits;
mod applications;
mod auth;
mod banners;
mod browser_security;
mod cases;
mod embed;
mod helpers;
mod legal_templates;
mod mail_delivery;
mod notices;
mod organizations;
mod partner_access;
mod partner_validation;
mod partners;
mod requests;
mod submissions;
mod trust;
mod webhooks;
