//! Answering an offer (RFC 3264 §6), initial or re-offer alike.

use crate::codec::CodecKind;
use crate::sip::sdp::{Connection, MediaDescription, SessionDescription};

use super::error::NegotiationError;
use super::local::LocalMedia;
use super::origin::SdpOrigin;
use super::outcome::{Negotiated, NegotiatedAudio};
use super::params::{our_fmtp, peer_options, peer_ptime, respect_min_ptime};
use super::secure::{answer_keys, write_crypto};
use super::stream::{
    codec_of, format_of, is_live_audio, peer_direction, pick_events, remote_endpoints, rtpmap_at,
    rtpmap_for, TELEPHONE_EVENT_FMTP,
};

/// Answers `offer` with one audio stream: the first live audio m-line we can
/// use. Every other m-line is answered with port 0 (RFC 3264 §6), so the
/// answer has as many m-lines as the offer, in the same order.
///
/// When no stream is usable the error is that of the first live audio
/// m-line, the one the offerer most likely meant.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
    origin: &mut SdpOrigin,
) -> Result<Negotiated, NegotiationError> {
    let mut first_error = None;
    let mut chosen = None;
    for (index, media) in offer.media.iter().enumerate() {
        if !is_live_audio(media) {
            continue;
        }
        match negotiate_stream(offer, media, local) {
            Ok(audio) => {
                chosen = Some((index, audio));
                break;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some((chosen_index, audio)) = chosen else {
        return Err(first_error.unwrap_or(NegotiationError::NoAudioStream));
    };

    let mut sdp = SessionDescription::new(origin.origin(), "-");
    sdp.connection = Some(Connection::from_ip(local.address));
    sdp.media = offer
        .media
        .iter()
        .enumerate()
        .map(|(index, media)| {
            if index == chosen_index {
                accepted_media(media, local, &audio)
            } else {
                rejected_media(media)
            }
        })
        .collect();
    origin.stamp(&mut sdp);
    Ok(Negotiated { answer: sdp, audio })
}

/// Agrees on one offered audio stream, or says why it cannot be used.
fn negotiate_stream(
    offer: &SessionDescription,
    media: &MediaDescription,
    local: &LocalMedia,
) -> Result<NegotiatedAudio, NegotiationError> {
    // RFC 4568 §7.1.3: the profile and keys first; a refusal names why.
    let srtp = answer_keys(media, &local.srtp)?;
    let (codec, payload_type) =
        pick_codec(media, &local.codecs).ok_or(NegotiationError::NoCommonCodec)?;
    let telephone_event_pt = pick_events(
        media,
        codec,
        |pt| format_of(media, pt),
        |c, _| local.supports(c),
    );
    let codec_options = peer_options(media, codec, payload_type);
    let ptime_ms = respect_min_ptime(
        peer_ptime(media, &codec_options).unwrap_or(local.ptime_ms),
        &codec_options,
    );
    // RFC 5761 §5.1.1: mux only when offered and we can do it.
    let rtcp_mux = media.rtcp_mux && local.rtcp_mux_supported;
    let remote = remote_endpoints(offer, media, rtcp_mux)?;
    // RFC 3264 §6.1: we accept any direction, so we answer the mirror image.
    let direction = peer_direction(offer, media, &remote).reversed();
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

/// Our most preferred audio codec that the offer has, with the offer's
/// payload type for it (RFC 3264 §6.1: the answer keeps the offer's numbers).
fn pick_codec(media: &MediaDescription, preference: &[CodecKind]) -> Option<(CodecKind, u8)> {
    preference
        .iter()
        .filter(|codec| codec.is_audio())
        .find_map(|&wanted| {
            media
                .payload_types()
                .find(|&pt| codec_of(media, pt) == Some(wanted))
                .map(|pt| (wanted, pt))
        })
}

fn accepted_media(
    offered: &MediaDescription,
    local: &LocalMedia,
    audio: &NegotiatedAudio,
) -> MediaDescription {
    let mut media = MediaDescription::new(&offered.media, local.rtp_port, &offered.protocol);
    media.formats.push(audio.payload_type.to_string());
    media
        .rtpmaps
        .insert(audio.payload_type, rtpmap_for(audio.codec));
    if let Some(fmtp) = our_fmtp(audio.codec) {
        media.fmtps.insert(audio.payload_type, fmtp);
    }
    if let Some(pt) = audio.telephone_event_pt {
        media.formats.push(pt.to_string());
        // The events run on the audio codec's clock (RFC 4733 §2.1), which
        // is how they were picked.
        if let Some(events) = codec_of(offered, pt) {
            media
                .rtpmaps
                .insert(pt, rtpmap_at(events, audio.codec.clock_rate()));
        }
        media.fmtps.insert(pt, TELEPHONE_EVENT_FMTP.to_owned());
    }
    media.ptime_ms = Some(audio.ptime_ms);
    media.rtcp_mux = audio.rtcp_mux;
    media.direction = Some(audio.direction);
    if let Some(keys) = &audio.srtp {
        write_crypto(&mut media, [&keys.local]);
    }
    media
}

/// RFC 3264 §6: a declined stream keeps its m-line, with port 0 and the
/// offered formats (at least one format is required by RFC 4566 §5.14).
fn rejected_media(offered: &MediaDescription) -> MediaDescription {
    let mut media = MediaDescription::new(&offered.media, 0, &offered.protocol);
    media.formats = offered.formats.clone();
    media
}
