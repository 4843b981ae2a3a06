//! SDES-SRTP building blocks, sans-IO: crypto-suites (RFC 4568 §6.2,
//! RFC 7714), the SDP `a=crypto` attribute (RFC 4568), and per-leg
//! SRTP/SRTCP protection on top of `webrtc-srtp` (RFC 3711, RFC 7714).
//!
//! Nothing here touches a socket or the SDP offer/answer state: callers feed
//! attribute values and packets in and take results out.

pub mod context;
pub mod kdf;
pub mod negotiate;
mod replay;
pub mod sdes;
pub mod suite;

pub use context::{SrtpError, SrtpSession, REPLAY_WINDOW};
pub use negotiate::{choose_answer, match_answer, Negotiated};
pub use sdes::{CryptoAttribute, KeyParams, SdesError};
pub use suite::SrtpSuite;
