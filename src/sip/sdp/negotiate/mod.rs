//! SDP offer/answer (RFC 3264) for mediaplane's audio legs.
//!
//! Pure functions of their inputs: the caller keeps the [`SdpOrigin`] of each
//! leg and passes what it received; nothing here reads clocks or sockets.

mod answer;
mod error;
mod local;
mod offer;
mod offered;
mod origin;
mod outcome;
mod params;
mod secure;
mod stream;

pub use answer::answer;
pub use error::NegotiationError;
pub use local::LocalMedia;
pub use offer::{accept_answer, offer, offer_with_direction};
pub use offered::offered_codecs;
pub use origin::SdpOrigin;
pub use outcome::{Negotiated, NegotiatedAudio};
pub use secure::{LocalSrtp, CRYPTO, NEEDS_TLS, SAVP, SRTP_OFF};
