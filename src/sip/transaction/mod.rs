//! SIP transactions (RFC 3261 §17) as sans-IO state machines.
//!
//! Four machines, one per kind of transaction, each driven by messages and
//! by the current time passed in; `TransactionLayer` owns them all, matches
//! messages to them (§17.1.3, §17.2.3) and is what the SIP core drives.
//! 2xx handling follows RFC 6026: both INVITE machines have an Accepted
//! state, and the INVITE server transaction retransmits the 2xx itself.

mod ack;
mod error;
mod header_fields;
mod invite_client;
mod invite_server;
mod key;
mod layer;
mod non_invite_client;
mod non_invite_server;
mod output;
mod timer_queue;
mod timers;

#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod test_clock;
#[cfg(test)]
mod test_messages;

pub use ack::{build_non_2xx_ack, AckMatch};
pub use error::TransactionError;
pub use invite_client::{InviteClientState, InviteClientTransaction};
pub use invite_server::{AckDisposition, InviteServerState, InviteServerTransaction};
pub use key::{has_magic_cookie, new_branch, TransactionKey, TransactionRole, MAGIC_COOKIE};
pub use layer::TransactionLayer;
pub use non_invite_client::{NonInviteClientState, NonInviteClientTransaction};
pub use non_invite_server::{NonInviteServerState, NonInviteServerTransaction};
pub use output::{MachineOutput, TransactionEvent, TransactionOutput};
pub use timers::{Backoff, TimerConfig};
