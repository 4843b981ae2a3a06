//! Errors of the codec layer.

use thiserror::Error;

use super::CodecKind;

/// Why a codec could not be created or could not process a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The payload format carries no audio samples (telephone-event, RFC 4733).
    #[error("{} is not an audio codec", .0.encoding_name())]
    NotAudio(CodecKind),
    /// The caller's output buffer cannot hold the result.
    #[error("output buffer too small: {needed} needed, {available} available")]
    OutputTooSmall { needed: usize, available: usize },
    /// A received payload carried nothing to decode.
    #[error("empty payload")]
    EmptyPayload,
    /// The frame length does not fit the codec's framing (G.722 codes
    /// samples in pairs, one octet per pair, RFC 3551 §4.5.2).
    #[error("{} cannot code a frame of {samples} samples", .kind.encoding_name())]
    BadFrameLength { kind: CodecKind, samples: usize },
    /// The codec has no in-band forward error correction.
    #[error("{} has no in-band FEC", .0.encoding_name())]
    FecUnsupported(CodecKind),
    /// The codec cannot code a frame of this many samples (Opus frames are
    /// 2.5, 5, 10, 20, 40 or 60 ms, RFC 6716 §2.1.4).
    #[error("{} cannot code a frame of {samples} samples", kind.encoding_name())]
    FrameSize { kind: CodecKind, samples: usize },
    /// A received payload is not a valid packet of the codec (for Opus,
    /// RFC 6716 §3.4 lists what a decoder must reject).
    #[error("malformed {} payload", .0.encoding_name())]
    InvalidPayload(CodecKind),
    /// The codec library refused a setting or failed internally.
    #[error("{} library error: {reason}", kind.encoding_name())]
    Library {
        kind: CodecKind,
        reason: &'static str,
    },
}
