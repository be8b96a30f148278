//! Deliveries to real HTTP servers on 127.0.0.1 started by each test; signatures checked with the
//! Standard Webhooks reference library (`standardwebhooks`), an implementation independent of the
//! sender's own.

mod answers;
mod guard;
mod signing;
mod support;
