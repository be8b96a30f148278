//! The PostgreSQL adapter against a real server: every test gets its own freshly migrated
//! database, passes explicit instants (no sleeps) and inspects rows with plain SQL. One test
//! binary, one module per area.

mod analysis;
mod api_keys;
mod applications;
mod health;
mod helpers;
mod identity;
mod invitations;
mod legal_templates;
mod organizations;
mod outbox;
mod partners;
mod rate_limits;
mod session_membership;
mod user_tokens;
