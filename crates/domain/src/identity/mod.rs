//! Who is calling: users, sessions, API keys, roles and passwords; sign-up and sign-in
//! ([`auth`]), email verification and password reset ([`account`], mailed by [`mail`] with the
//! single-use tokens of [`tokens`]), API key management ([`api_keys`]) and the role rules every
//! use case applies ([`access`]).

pub mod access;
pub mod account;
pub mod api_keys;
pub mod auth;
pub mod mail;
pub mod model;
pub mod password;
pub mod ports;
pub mod role;
pub mod tokens;
