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
    /// RFC 4568 §7.1.3: `RTP/SAVP` with keys this leg may not use.
    #[error("RTP/SAVP refused: {0}")]
    SrtpRefused(&'static str),
    #[error("SRTP required: offer RTP/SAVP with a=crypto")]
    SrtpRequired,
    /// No `a=crypto` line could be used; the text says why (no key material).
    #[error("{0}")]
    Crypto(crate::media::srtp::SdesError),
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
