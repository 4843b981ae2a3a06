//! Signalling: transport, message parsing, transactions (RFC 3261 §17),
//! dialogs, SDP offer/answer and the B2BUA core.

pub(crate) mod connect;
pub mod core;
pub mod dialog;
pub mod dtmf_info;
pub mod framing;
pub mod ids;
pub mod message;
pub mod mwi;
pub mod peer;
pub mod registrar;
pub mod response;
pub mod sdp;
pub(crate) mod stream;
pub mod tls;
pub mod transaction;
pub mod transport;
pub mod via;

pub use peer::{signalling_secure, Peer, Transport};
