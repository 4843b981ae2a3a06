//! Signalling: transport, message parsing, transactions (RFC 3261 §17),
//! dialogs, SDP offer/answer and the B2BUA core.

pub mod sdp;
pub mod transaction;
