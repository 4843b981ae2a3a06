//! Codec parameters in offer/answer: Opus fmtp (RFC 7587 §6, §7),
//! telephone-event at the audio clock (RFC 4733 §2.1), L16 (RFC 3551 §4.5.11).

use super::samples::*;
use crate::codec::{CodecKind, CodecOptions, OpusParams};
use crate::sip::sdp::*;

fn answer_text(text: &str, local: &LocalMedia) -> Result<Negotiated, NegotiationError> {
    let offer = SessionDescription::parse(text).unwrap();
    answer(&offer, local, &mut new_origin())
}

fn opus_first() -> LocalMedia {
    let mut local = local_media();
    local.codecs = vec![CodecKind::Opus, CodecKind::Pcmu, CodecKind::TelephoneEvent];
    local
}

/// An Opus + PCMU offer with events at both clocks and the given Opus fmtp.
fn opus_offer(opus_fmtp: &str) -> String {
    let mut extra = vec![
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:101 telephone-event/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=fmtp:101 0-15",
        "a=fmtp:110 0-15",
    ];
    if !opus_fmtp.is_empty() {
        extra.push(opus_fmtp);
    }
    audio_offer("m=audio 30000 RTP/AVP 111 0 101 110", &extra)
}

#[test]
fn opus_answer_takes_the_48000_hz_events_and_the_peer_fmtp() {
    let n = answer_text(
        &opus_offer("a=fmtp:111 useinbandfec=1; maxplaybackrate=16000; stereo=1"),
        &opus_first(),
    )
    .unwrap();
    let a = &n.audio;
    assert_eq!((a.codec, a.payload_type), (CodecKind::Opus, 111));
    // RFC 4733 §2.1: the events on Opus's 48 kHz clock, not the /8000 ones.
    assert_eq!(a.telephone_event_pt, Some(110));
    let peer = a.codec_options.opus;
    assert!(peer.use_inband_fec);
    assert_eq!(peer.max_playback_rate, 16_000);
    assert!(peer.stereo);

    let m = &n.answer.media[0];
    assert_eq!(m.formats, ["111", "110"]);
    let events = &m.rtpmaps[&110];
    assert_eq!(
        (events.encoding_name.as_str(), events.clock_rate),
        ("telephone-event", 48_000)
    );
    // Our own receive wishes: FEC, full band, mono (RFC 7587 §7).
    assert_eq!(
        m.fmtps[&111],
        "useinbandfec=1; maxplaybackrate=48000; stereo=0; sprop-stereo=0"
    );
    let text = n.answer.to_string();
    assert!(
        text.contains("a=rtpmap:110 telephone-event/48000\r\n"),
        "{text}"
    );
    assert!(
        text.contains("a=fmtp:111 useinbandfec=1; maxplaybackrate=48000"),
        "{text}"
    );
}

#[test]
fn g711_answer_takes_the_8000_hz_events() {
    let n = answer_text(&opus_offer(""), &local_media()).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcmu, 0));
    assert_eq!(n.audio.telephone_event_pt, Some(101));
    assert_eq!(n.audio.codec_options, CodecOptions::default());
    let m = &n.answer.media[0];
    assert_eq!(m.formats, ["0", "101"]);
    assert_eq!(m.rtpmaps[&101].clock_rate, 8000);
    // No fmtp for a codec without parameters.
    assert!(!m.fmtps.contains_key(&0));
}

#[test]
fn an_opus_offer_without_fmtp_means_the_defaults() {
    let n = answer_text(&opus_offer(""), &opus_first()).unwrap();
    assert_eq!(n.audio.codec, CodecKind::Opus);
    assert_eq!(n.audio.codec_options.opus, OpusParams::default());
    assert!(!n.audio.codec_options.opus.use_inband_fec);
}

#[test]
fn opus_fmtp_garbage_negotiates_with_defaults() {
    for garbage in [
        "a=fmtp:111 useinbandfec=maybe; maxplaybackrate=-1; stereo=2",
        // Control characters make the parser refuse the line (400), so
        // junk here is printable.
        "a=fmtp:111 \u{ff}\u{fe}\u{a7};;==;",
        "a=fmtp:111",
        "a=fmtp:xyz useinbandfec=1",
        "a=fmtp:99 useinbandfec=1",
    ] {
        let n = answer_text(&opus_offer(garbage), &opus_first())
            .unwrap_or_else(|e| panic!("{garbage:?}: {e}"));
        assert_eq!(n.audio.codec, CodecKind::Opus, "{garbage:?}");
        assert_eq!(
            n.audio.codec_options.opus,
            OpusParams::default(),
            "{garbage:?}"
        );
    }
    let long = format!("a=fmtp:111 {}", "x".repeat(10_000));
    let n = answer_text(&opus_offer(&long), &opus_first()).unwrap();
    assert_eq!(n.audio.codec_options.opus, OpusParams::default());
}

#[test]
fn opus_fmtp_ptime_applies_when_a_ptime_is_absent() {
    let local = opus_first();
    let n = answer_text(&opus_offer("a=fmtp:111 ptime=40"), &local).unwrap();
    assert_eq!(n.audio.ptime_ms, 40);
    // a=ptime, the SDP attribute proper, wins.
    let mut text = opus_offer("a=fmtp:111 ptime=40");
    text.push_str("a=ptime:60\r\n");
    assert_eq!(answer_text(&text, &local).unwrap().audio.ptime_ms, 60);
    // minptime raises our 20 ms to what the peer accepts.
    let n = answer_text(&opus_offer("a=fmtp:111 minptime=30"), &local).unwrap();
    assert_eq!(n.audio.ptime_ms, 30);
    // A minptime we cannot meet keeps our own.
    let n = answer_text(&opus_offer("a=fmtp:111 minptime=100"), &local).unwrap();
    assert_eq!(n.audio.ptime_ms, 20);
}

#[test]
fn opus_offer_carries_our_fmtp_and_events_at_each_clock() {
    let sdp = offer(&opus_first(), &mut new_origin());
    let m = &sdp.media[0];
    // Opus 96, PCMU 0, then telephone-event per audio clock, Opus's first.
    assert_eq!(m.formats, ["96", "0", "97", "98"]);
    assert_eq!(m.rtpmaps[&97].clock_rate, 48_000);
    assert_eq!(m.rtpmaps[&98].clock_rate, 8000);
    assert_eq!(m.rtpmaps[&97].encoding_name, "telephone-event");
    assert_eq!(m.fmtps[&97], "0-15");
    assert_eq!(m.fmtps[&98], "0-15");
    assert_eq!(m.fmtps[&96], OpusParams::ours().to_fmtp());

    // A G.711-only list keeps the single telephone-event/8000.
    let sdp = offer(&local_media(), &mut new_origin());
    assert_eq!(sdp.media[0].formats, ["0", "8", "96"]);
}

#[test]
fn answers_to_our_opus_offer_pick_the_matching_events() {
    let our_offer = offer(&opus_first(), &mut new_origin());
    let received = SessionDescription::parse(&our_offer.to_string()).unwrap();

    // A peer that prefers Opus answers with the /48000 events.
    let mut peer = opus_first();
    peer.address = "203.0.113.9".parse().unwrap();
    let theirs = answer(&received, &peer, &mut SdpOrigin::new(7, peer.address)).unwrap();
    assert_eq!(theirs.audio.telephone_event_pt, Some(97));
    let ours = accept_answer(
        &our_offer,
        &SessionDescription::parse(&theirs.answer.to_string()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (ours.codec, ours.telephone_event_pt),
        (CodecKind::Opus, Some(97))
    );
    // The answerer wrote useinbandfec=1, so we send FEC.
    assert!(ours.codec_options.opus.use_inband_fec);

    // A G.711 peer answers with the /8000 events.
    let mut peer = local_media();
    peer.address = "203.0.113.9".parse().unwrap();
    let theirs = answer(&received, &peer, &mut SdpOrigin::new(7, peer.address)).unwrap();
    assert_eq!(theirs.audio.telephone_event_pt, Some(98));
    let ours = accept_answer(
        &our_offer,
        &SessionDescription::parse(&theirs.answer.to_string()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (ours.codec, ours.telephone_event_pt),
        (CodecKind::Pcmu, Some(98))
    );
    assert_eq!(ours.codec_options, CodecOptions::default());
}

#[test]
fn an_answer_pairing_opus_with_8000_hz_events_gets_no_events() {
    let our_offer = offer(&opus_first(), &mut new_origin());
    let answer_text = crlf(&[
        "v=0",
        "o=- 7 1 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 40000 RTP/AVP 96 98",
        "a=rtpmap:96 opus/48000/2",
        "a=rtpmap:98 telephone-event/8000",
    ]);
    let ours = accept_answer(
        &our_offer,
        &SessionDescription::parse(&answer_text).unwrap(),
    )
    .unwrap();
    assert_eq!(ours.codec, CodecKind::Opus);
    assert_eq!(ours.telephone_event_pt, None);
}

#[test]
fn l16_is_negotiated_at_its_rate_on_a_dynamic_type() {
    let text = audio_offer(
        "m=audio 30000 RTP/AVP 11 100 102 103",
        &[
            "a=rtpmap:100 L16/8000",
            "a=rtpmap:102 L16/16000",
            "a=rtpmap:103 telephone-event/16000",
        ],
    );
    let mut local = local_media();
    local.codecs = vec![
        CodecKind::L16At16000,
        CodecKind::L16At8000,
        CodecKind::TelephoneEvent,
    ];
    let n = answer_text(&text, &local).unwrap();
    assert_eq!(
        (n.audio.codec, n.audio.payload_type),
        (CodecKind::L16At16000, 102)
    );
    assert_eq!(n.audio.telephone_event_pt, Some(103));
    let answer = n.answer.to_string();
    assert!(answer.contains("a=rtpmap:102 L16/16000\r\n"), "{answer}");
    assert!(
        answer.contains("a=rtpmap:103 telephone-event/16000\r\n"),
        "{answer}"
    );

    local.codecs = vec![CodecKind::L16At8000];
    let n = answer_text(&text, &local).unwrap();
    assert_eq!(
        (n.audio.codec, n.audio.payload_type),
        (CodecKind::L16At8000, 100)
    );

    // PT 11 alone is L16/44100 stereo-less (RFC 3551 Table 4): not ours.
    let only_11 = audio_offer("m=audio 30000 RTP/AVP 11", &[]);
    assert_eq!(
        answer_text(&only_11, &local).unwrap_err(),
        NegotiationError::NoCommonCodec
    );
}
