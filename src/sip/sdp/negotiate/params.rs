//! Codec parameters in offer/answer: reading the peer's `a=fmtp` for the
//! chosen codec, writing ours, and the packet time they imply.

use crate::codec::{CodecKind, CodecOptions, OpusParams};
use crate::sip::sdp::MediaDescription;

use super::stream::sane_ptime;

/// What the peer's fmtp for payload type `pt` asks of our encoder. Only
/// Opus has parameters we act on; a missing or garbled fmtp means the
/// defaults (RFC 7587 §6.1), never a failed negotiation.
pub(crate) fn peer_options(media: &MediaDescription, codec: CodecKind, pt: u8) -> CodecOptions {
    match (codec, media.fmtps.get(&pt)) {
        (CodecKind::Opus, Some(fmtp)) => CodecOptions::from_opus_fmtp(fmtp),
        _ => CodecOptions::default(),
    }
}

/// The fmtp we write for a codec we offer or accept: for Opus, that we
/// take FEC, any bandwidth, and mono (RFC 7587 §7), so the peer sends FEC.
pub(crate) fn our_fmtp(codec: CodecKind) -> Option<String> {
    match codec {
        CodecKind::Opus => Some(OpusParams::ours().to_fmtp()),
        _ => None,
    }
}

/// The packet time the peer asks for: its `a=ptime`, else the `ptime` of
/// an Opus fmtp (RFC 7587 §6.1 lets it travel there), each only if sane.
pub(crate) fn peer_ptime(media: &MediaDescription, options: &CodecOptions) -> Option<u32> {
    sane_ptime(media.ptime_ms).or(sane_ptime(options.opus.ptime_ms))
}

/// Raises `ptime_ms` to the peer's Opus `minptime` (RFC 7587 §6.1) when
/// that is a packet time we can send; otherwise keeps it.
pub(crate) fn respect_min_ptime(ptime_ms: u32, options: &CodecOptions) -> u32 {
    match options.opus.min_ptime_ms {
        Some(min) if min > ptime_ms => sane_ptime(Some(min.div_ceil(10) * 10)).unwrap_or(ptime_ms),
        _ => ptime_ms,
    }
}
