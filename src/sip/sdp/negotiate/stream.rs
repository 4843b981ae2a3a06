//! Rules shared by answering and by reading an answer: which formats are
//! which codecs, which streams we can use, where the peer wants media.

use std::net::SocketAddr;

use crate::codec::CodecKind;
use crate::sip::sdp::{Direction, MediaDescription, RtpMap, SessionDescription};

use super::error::NegotiationError;

/// Payload types from here up are dynamic and need an rtpmap (RFC 3551 §3).
pub(crate) const FIRST_DYNAMIC_PT: u8 = 96;
pub(crate) const LAST_DYNAMIC_PT: u8 = 127;

/// The ptime used when neither side gives a sane one (RFC 3551 §4.5: 20 ms
/// is the default packetisation of the sample-based codecs).
pub(crate) const DEFAULT_PTIME_MS: u32 = 20;

/// DTMF events 0-15 (RFC 4733 §3.2), what our event handling understands.
pub(crate) const TELEPHONE_EVENT_FMTP: &str = "0-15";

/// The codec a format stands for: by its rtpmap, else by the static table
/// of RFC 3551 §6 for payload types below the dynamic range.
pub(crate) fn codec_of(media: &MediaDescription, pt: u8) -> Option<CodecKind> {
    match media.rtpmaps.get(&pt) {
        Some(map) => codec_of_rtpmap(map),
        None if pt < FIRST_DYNAMIC_PT => CodecKind::from_static_payload_type(pt),
        None => None,
    }
}

/// A format's codec with the clock rate its SDP gives it; the two differ
/// only for telephone-event, which takes the audio codec's clock.
pub(crate) fn format_of(media: &MediaDescription, pt: u8) -> Option<(CodecKind, u32)> {
    match media.rtpmaps.get(&pt) {
        Some(map) => codec_of_rtpmap(map).map(|codec| (codec, map.clock_rate)),
        None => codec_of(media, pt).map(|codec| (codec, codec.clock_rate())),
    }
}

fn codec_of_rtpmap(map: &RtpMap) -> Option<CodecKind> {
    CodecKind::from_rtpmap(&map.encoding_name, map.clock_rate)
        .filter(|codec| codec.channels() == map.channel_count())
}

/// The rtpmap we write for a codec.
pub(crate) fn rtpmap_for(codec: CodecKind) -> RtpMap {
    rtpmap_at(codec, codec.clock_rate())
}

/// The rtpmap we write for a codec at `clock_rate` (telephone-event takes
/// the rate of the audio beside it, RFC 4733 §2.1).
pub(crate) fn rtpmap_at(codec: CodecKind, clock_rate: u32) -> RtpMap {
    let channels = codec.channels();
    RtpMap {
        encoding_name: codec.encoding_name().to_owned(),
        clock_rate,
        // RFC 4566 §6: the channel count may be left out when it is one.
        channels: (channels != 1).then_some(channels),
    }
}

/// A stream that may carry our audio: an audio m-line that is not disabled
/// (RFC 3264 §5.1: port 0 means the stream is off).
pub(crate) fn is_live_audio(media: &MediaDescription) -> bool {
    media.media.eq_ignore_ascii_case("audio") && media.port != 0
}

/// A packet time we follow: whole 10 ms steps from 10 to 60 ms, which every
/// frame-based codec we carry can produce.
pub(crate) fn sane_ptime(ptime_ms: Option<u32>) -> Option<u32> {
    ptime_ms.filter(|ms| (10..=60).contains(ms) && ms % 10 == 0)
}

/// RFC 4733 named events, at whatever clock rate.
pub(crate) fn is_telephone_event(codec: CodecKind) -> bool {
    codec
        .encoding_name()
        .eq_ignore_ascii_case("telephone-event")
}

/// The first telephone-event format in `media` that `accepts` and whose
/// clock matches the audio codec's, as RFC 4733 §2.1 requires: beside
/// Opus that is telephone-event/48000, beside G.711 /8000.
pub(crate) fn pick_events(
    media: &MediaDescription,
    audio: CodecKind,
    format_lookup: impl Fn(u8) -> Option<(CodecKind, u32)>,
    accepts: impl Fn(CodecKind, u32) -> bool,
) -> Option<u8> {
    media.payload_types().find(|&pt| {
        format_lookup(pt).is_some_and(|(c, rate)| {
            is_telephone_event(c) && rate == audio.clock_rate() && accepts(c, rate)
        })
    })
}

/// Where a peer wants to receive, from its SDP.
pub(crate) struct RemoteEndpoints {
    pub rtp: Option<SocketAddr>,
    pub rtcp: Option<SocketAddr>,
    /// The old hold of RFC 2543: `c=0.0.0.0` (RFC 3264 §8.4).
    pub on_hold: bool,
}

pub(crate) fn remote_endpoints(
    sdp: &SessionDescription,
    media: &MediaDescription,
    rtcp_mux: bool,
) -> Result<RemoteEndpoints, NegotiationError> {
    let connection = sdp
        .connection_for(media)
        .ok_or(NegotiationError::MissingConnection)?;
    let ip = connection
        .ip()
        .ok_or_else(|| NegotiationError::unusable_address(&connection.address))?;
    if ip.is_unspecified() {
        return Ok(RemoteEndpoints {
            rtp: None,
            rtcp: None,
            on_hold: true,
        });
    }
    let rtp = SocketAddr::new(ip, media.port);
    let rtcp = if rtcp_mux {
        rtp
    } else if let Some(rtcp) = &media.rtcp {
        if rtcp.port == 0 {
            return Err(NegotiationError::BadPort {
                port: 0,
                reason: "RTCP port 0",
            });
        }
        // RFC 3605 §2.1: the address defaults to the media's connection.
        // ICE implementations write 0.0.0.0 as a placeholder, which must not become
        // a destination (it would reach our own host).
        let rtcp_ip = match &rtcp.connection {
            Some(c) => c
                .ip()
                .ok_or_else(|| NegotiationError::unusable_address(&c.address))?,
            None => ip,
        };
        let rtcp_ip = if rtcp_ip.is_unspecified() {
            ip
        } else {
            rtcp_ip
        };
        SocketAddr::new(rtcp_ip, rtcp.port)
    } else {
        // RFC 3550 §11: RTCP on the next port up.
        let port = media.port.checked_add(1).ok_or(NegotiationError::BadPort {
            port: media.port,
            reason: "no port left for RTCP",
        })?;
        SocketAddr::new(ip, port)
    };
    Ok(RemoteEndpoints {
        rtp: Some(rtp),
        rtcp: Some(rtcp),
        on_hold: false,
    })
}

/// The direction the peer asks for, with the hold of `c=0.0.0.0` read as
/// "I will not receive" (RFC 3264 §8.4).
pub(crate) fn peer_direction(
    sdp: &SessionDescription,
    media: &MediaDescription,
    remote: &RemoteEndpoints,
) -> Direction {
    let written = sdp.direction_for(media);
    if remote.on_hold {
        written.intersect(Direction::SendOnly)
    } else {
        written
    }
}
