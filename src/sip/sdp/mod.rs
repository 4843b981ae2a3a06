//! SDP (RFC 4566) parsing and building, and offer/answer (RFC 3264).
//!
//! [`SessionDescription::parse`] turns a body into the model of `model`,
//! `to_string()` writes it back; `negotiate` answers offers, makes offers and
//! reads answers, yielding the [`NegotiatedAudio`] the media plane needs.

mod build;
mod direction;
mod error;
mod fields;
mod model;
pub mod negotiate;
mod parse;

#[cfg(test)]
mod tests;

pub use direction::Direction;
pub use error::SdpError;
pub use model::{
    AddressType, Attribute, Bandwidth, Connection, MediaDescription, Origin, RtcpAddress, RtpMap,
    SessionDescription, Timing,
};
pub use negotiate::{
    accept_answer, answer, offer, offer_with_direction, offered_codecs, LocalMedia, LocalSrtp,
    Negotiated, NegotiatedAudio, NegotiationError, SdpOrigin, CRYPTO, NEEDS_TLS, SAVP, SRTP_OFF,
};
pub use parse::{MAX_MEDIA, MAX_SDP_BYTES};
