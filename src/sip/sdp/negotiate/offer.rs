//! Making an offer and reading the answer to it (RFC 3264 §5, §7).

use crate::codec::CodecKind;
use crate::sip::sdp::{Connection, Direction, MediaDescription, SessionDescription};

use super::error::NegotiationError;
use super::local::LocalMedia;
use super::origin::SdpOrigin;
use super::outcome::NegotiatedAudio;
use super::params::{our_fmtp, peer_options, peer_ptime, respect_min_ptime};
use super::secure::{accepted_keys, write_crypto, SAVP};
use super::stream::{
    format_of, is_live_audio, is_telephone_event, peer_direction, pick_events, remote_endpoints,
    rtpmap_at, sane_ptime, DEFAULT_PTIME_MS, FIRST_DYNAMIC_PT, LAST_DYNAMIC_PT,
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
    let crypto = local.srtp.offer_lines();
    // RFC 4568 §7.1.1: keys are offered in RTP/SAVP only; without them the
    // offer is plain (no best-effort SRTP in RTP/AVP).
    let profile = if crypto.is_empty() { "RTP/AVP" } else { SAVP };
    let mut media = MediaDescription::new("audio", local.rtp_port, profile);
    let mut next_dynamic = FIRST_DYNAMIC_PT;
    let mut offered: Vec<CodecKind> = Vec::new();
    // RFC 4733 §2.1: events share the clock of the audio they go with, so
    // telephone-event is offered once per audio clock rate (/48000 beside
    // Opus, /8000 beside G.711), most preferred first.
    let mut audio_rates: Vec<u32> = Vec::new();
    for rate in local
        .codecs
        .iter()
        .filter(|c| c.is_audio())
        .map(|c| c.clock_rate())
    {
        if !audio_rates.contains(&rate) {
            audio_rates.push(rate);
        }
    }
    for &codec in &local.codecs {
        if offered.contains(&codec) {
            continue;
        }
        offered.push(codec);
        let rates = if is_telephone_event(codec) && !audio_rates.is_empty() {
            audio_rates.clone()
        } else {
            vec![codec.clock_rate()]
        };
        for rate in rates {
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
            media.formats.push(pt.to_string());
            media.rtpmaps.insert(pt, rtpmap_at(codec, rate));
            if is_telephone_event(codec) {
                media.fmtps.insert(pt, TELEPHONE_EVENT_FMTP.to_owned());
            } else if let Some(fmtp) = our_fmtp(codec) {
                media.fmtps.insert(pt, fmtp);
            }
        }
    }
    media.ptime_ms = Some(local.ptime_ms);
    media.rtcp_mux = local.rtcp_mux_supported;
    media.direction = Some(direction);
    write_crypto(&mut media, crypto);

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
    let srtp = accepted_keys(offered, answered)?;

    // RFC 3264 §6.1 lets the answer omit rtpmaps for payload types it
    // reuses from the offer; fall back on what we offered.
    let lookup = |pt: u8| format_of(answered, pt).or_else(|| format_of(offered, pt));
    let we_offered = |codec: CodecKind, rate: u32| {
        offered
            .payload_types()
            .any(|pt| format_of(offered, pt) == Some((codec, rate)))
    };
    let (codec, payload_type) = answered
        .payload_types()
        .find_map(|pt| {
            lookup(pt)
                .filter(|&(c, rate)| c.is_audio() && we_offered(c, rate))
                .map(|(c, _)| (c, pt))
        })
        .ok_or(NegotiationError::NoCommonCodec)?;
    let telephone_event_pt = pick_events(answered, codec, lookup, we_offered);
    // The answerer's fmtp says how it wants to receive; RFC 3264 §6.1 lets
    // it omit one, which means the defaults.
    let codec_options = peer_options(answered, codec, payload_type);

    let rtcp_mux = offered.rtcp_mux && answered.rtcp_mux;
    let remote = remote_endpoints(answer, answered, rtcp_mux)?;
    let ours = our_offer.direction_for(offered);
    let direction = peer_direction(answer, answered, &remote)
        .reversed()
        .intersect(ours);
    let ptime_ms = respect_min_ptime(
        peer_ptime(answered, &codec_options)
            .or(sane_ptime(offered.ptime_ms))
            .unwrap_or(DEFAULT_PTIME_MS),
        &codec_options,
    );
    Ok(NegotiatedAudio {
        codec,
        payload_type,
        telephone_event_pt,
        remote_rtp: remote.rtp,
        remote_rtcp: remote.rtcp,
        rtcp_mux,
        direction,
        ptime_ms,
        codec_options,
        srtp,
    })
}
