//! Why an offer or answer could not be used. The texts are short enough to
//! serve as the reason phrase of a 488 Not Acceptable Here.

use thiserror::Error;

/// Values copied from the SDP into a reason are cut to this many characters.
const QUOTE_CHARS: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NegotiationError {
    #[error("No audio stream")]
    NoAudioStream,
    #[error("No common codec")]
    NoCommonCodec,
    #[error("Unsupported transport {0}")]
    UnsupportedTransport(String),
    #[error("No connection address for audio")]
    MissingConnection,
    #[error("Connection address {0} is not an IP address")]
    UnusableAddress(String),
    #[error("Bad port {port}: {reason}")]
    BadPort { port: u16, reason: &'static str },
    #[error("Answer has {answered} m-lines, offer had {offered}")]
    MediaCountMismatch { offered: usize, answered: usize },
}

impl NegotiationError {
    pub(crate) fn unsupported_transport(protocol: &str) -> Self {
        NegotiationError::UnsupportedTransport(phrase_safe(protocol))
    }

    pub(crate) fn unusable_address(address: &str) -> Self {
        NegotiationError::UnusableAddress(phrase_safe(address))
    }
}

/// A reason phrase is one line (RFC 3261 §25.1): no control characters, and
/// kept short.
fn phrase_safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(QUOTE_CHARS)
        .collect()
}
