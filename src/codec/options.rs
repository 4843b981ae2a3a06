//! Per-call codec parameters agreed in SDP (`a=fmtp`, RFC 4566 §6), as the
//! codec factory needs them.

use super::opus_fmtp::OpusParams;

/// What the peer's fmtp for the chosen codec says about how to code for it.
/// The default is what an SDP without fmtp means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecOptions {
    /// The peer's Opus receive parameters (RFC 7587 §6.1); unused by other
    /// codecs.
    pub opus: OpusParams,
}

impl CodecOptions {
    /// Options from the peer's fmtp value for the chosen Opus payload type.
    pub fn from_opus_fmtp(fmtp: &str) -> Self {
        CodecOptions {
            opus: OpusParams::parse(fmtp),
        }
    }
}
