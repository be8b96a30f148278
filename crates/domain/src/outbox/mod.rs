//! The transactional outbox and its relay.
//!
//! Every change writes its event to the outbox in the change's own transaction. The relay
//! publishes them: at least once, in order per aggregate, from any number of instances at once.
//! Publishing an event runs its one side effect (a mail, for the kinds that send one) and then,
//! in one transaction, marks it published and fans it out into one webhook delivery per
//! subscribed endpoint, which the webhook worker sends on its own retry schedule.

pub mod event;
pub mod ports;
pub mod relay;

pub use event::EventType;
pub use ports::{OutboxLag, OutboxStore, PendingEvent};
pub use relay::{EventHandler, HandlerError, Relay, RelaySettings};
