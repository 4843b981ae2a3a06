//! Making an offer and reading the answer to it (RFC 3264 §5, §7).

use crate::codec::CodecKind;
use crate::sip::sdp::{Connection, Direction, MediaDescription, SessionDescription};

use super::error::NegotiationError;
use super::local::LocalMedia;
use super::origin::SdpOrigin;
use super::outcome::NegotiatedAudio;
use super::stream::{
    check_transport, codec_of, is_live_audio, is_telephone_event, peer_direction, pick_events,
    remote_endpoints, rtpmap_for, sane_ptime, DEFAULT_PTIME_MS, FIRST_DYNAMIC_PT, LAST_DYNAMIC_PT,
    TELEPHONE_EVENT_FMTP,
};

/// Offers one sendrecv audio stream with every local codec.
pub fn offer(local: &LocalMedia, origin: &mut SdpOrigin) -> SessionDescription {
    offer_with_direction(local, origin, Direction::SendRecv)
}

/// Offers one audio stream in `direction` (sendonly to put the peer on
/// hold, RFC 3264 §8.4).
pub fn offer_with_direction(
    local: &LocalMedia,
    origin: &mut SdpOrigin,
    direction: Direction,
) -> SessionDescription {
    let mut media = MediaDescription::new("audio", local.rtp_port, "RTP/AVP");
    let mut next_dynamic = FIRST_DYNAMIC_PT;
    let mut offered: Vec<CodecKind> = Vec::new();
    for &codec in &local.codecs {
        if offered.contains(&codec) {
            continue;
        }
        // RFC 3551 §3: dynamic types run from 96 to 127; a list long
        // enough to run out simply offers fewer codecs.
        let pt = match codec.static_payload_type() {
            Some(pt) => pt,
            None if next_dynamic <= LAST_DYNAMIC_PT => {
                next_dynamic += 1;
                next_dynamic - 1
            }
            None => continue,
        };
        offered.push(codec);
        media.formats.push(pt.to_string());
        media.rtpmaps.insert(pt, rtpmap_for(codec));
        if is_telephone_event(codec) {
            media.fmtps.insert(pt, TELEPHONE_EVENT_FMTP.to_owned());
        }
    }
    media.ptime_ms = Some(local.ptime_ms);
    media.rtcp_mux = local.rtcp_mux_supported;
    media.direction = Some(direction);

    let mut sdp = SessionDescription::new(origin.origin(), "-");
    sdp.connection = Some(Connection::from_ip(local.address));
    sdp.media.push(media);
    origin.stamp(&mut sdp);
    sdp
}

/// Reads the answer to `our_offer` (RFC 3264 §7) and says what was agreed
/// for the first audio stream both sides kept.
pub fn accept_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedAudio, NegotiationError> {
    // RFC 3264 §6: the answer has exactly the offer's m-lines.
    if answer.media.len() != our_offer.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offered: our_offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let (offered, answered) = our_offer
        .media
        .iter()
        .zip(&answer.media)
        .find(|(offered, answered)| is_live_audio(offered) && is_live_audio(answered))
        .ok_or(NegotiationError::NoAudioStream)?;
    check_transport(answered)?;

    // RFC 3264 §6.1 lets the answer omit rtpmaps for payload types it
    // reuses from the offer; fall back on what we offered.
    let lookup = |pt: u8| codec_of(answered, pt).or_else(|| codec_of(offered, pt));
    let we_offered = |codec: CodecKind| {
        offered
            .payload_types()
            .any(|pt| codec_of(offered, pt) == Some(codec))
    };
    let (codec, payload_type) = answered
        .payload_types()
        .find_map(|pt| {
            lookup(pt)
                .filter(|&c| c.is_audio() && we_offered(c))
                .map(|c| (c, pt))
        })
        .ok_or(NegotiationError::NoCommonCodec)?;
    let telephone_event_pt = pick_events(answered, codec, lookup, we_offered);

    let rtcp_mux = offered.rtcp_mux && answered.rtcp_mux;
    let remote = remote_endpoints(answer, answered, rtcp_mux)?;
    let ours = our_offer.direction_for(offered);
    let direction = peer_direction(answer, answered, &remote)
        .reversed()
        .intersect(ours);
    let ptime_ms = sane_ptime(answered.ptime_ms)
        .or(sane_ptime(offered.ptime_ms))
        .unwrap_or(DEFAULT_PTIME_MS);
    Ok(NegotiatedAudio {
        codec,
        payload_type,
        telephone_event_pt,
        remote_rtp: remote.rtp,
        remote_rtcp: remote.rtcp,
        rtcp_mux,
        direction,
        ptime_ms,
    })
}
