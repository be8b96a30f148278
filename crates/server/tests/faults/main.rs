//! Fault tests: the real application with its peers taken away under it.
//!
//! PostgreSQL is reached through a [`TcpProxy`](partneros_test_support::TcpProxy) the test
//! controls (the shared server is never stopped); the external services (language model,
//! Docuseal, Turnstile, the S3 store) are fakes behind the same kind of proxy, made slow (the
//! proxy accepts and forwards nothing) or resetting (the proxy resets once the request arrived).
//! Each test asserts the documented answer, a bound on how long it takes, and that nothing was
//! recorded; and, with the link restored, that the same process serves again.

mod database;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod upstreams;
