use std::net::SocketAddr;

use super::samples::*;
use crate::codec::CodecKind;
use crate::sip::sdp::*;

fn answer_text(text: &str, local: &LocalMedia) -> Result<Negotiated, NegotiationError> {
    let offer = SessionDescription::parse(text).unwrap();
    answer(&offer, local, &mut new_origin())
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn softphone_offer_gets_our_first_choice_with_its_payload_type() {
    let n = answer_text(&softphone_offer(), &local_media()).unwrap();
    let a = &n.audio;
    assert_eq!((a.codec, a.payload_type), (CodecKind::Pcmu, 0));
    assert_eq!(a.telephone_event_pt, Some(101));
    assert_eq!(a.remote_rtp, Some(addr("10.0.0.5:4000")));
    assert_eq!(a.remote_rtcp, Some(addr("10.0.0.5:4001")));
    assert!(!a.rtcp_mux);
    assert_eq!(a.direction, Direction::SendRecv);
    assert_eq!(a.ptime_ms, 20);

    let m = &n.answer.media[0];
    assert_eq!(m.port, 20000);
    assert_eq!(m.protocol, "RTP/AVP");
    assert_eq!(m.formats, ["0", "101"]);
    assert_eq!(m.rtpmaps[&0].encoding_name, "PCMU");
    assert_eq!(m.rtpmaps[&101].encoding_name, "telephone-event");
    assert_eq!(m.fmtps[&101], "0-15");
    assert!(!m.rtcp_mux);
    assert_eq!(m.direction, Some(Direction::SendRecv));
    let c = n.answer.connection.as_ref().unwrap();
    assert_eq!(c.ip(), Some(local_ip()));
    assert_eq!(n.answer.origin.session_id, 42);
}

#[test]
fn our_preference_order_decides() {
    let mut local = local_media();
    local.codecs = vec![CodecKind::Pcma, CodecKind::Pcmu];
    let n = answer_text(&softphone_offer(), &local).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcma, 8));
    // Events are not answered when we do not list them.
    assert_eq!(n.audio.telephone_event_pt, None);
    assert_eq!(n.answer.media[0].formats, ["8"]);
}

#[test]
fn dynamic_payload_types_of_the_offer_are_kept() {
    let text = audio_offer(
        "m=audio 30000 RTP/AVP 112 113",
        &[
            "a=rtpmap:112 pcma/8000",
            "a=rtpmap:113 telephone-event/8000",
        ],
    );
    let n = answer_text(&text, &local_media()).unwrap();
    assert_eq!(
        (n.audio.codec, n.audio.payload_type),
        (CodecKind::Pcma, 112)
    );
    assert_eq!(n.audio.telephone_event_pt, Some(113));
    assert_eq!(n.answer.media[0].formats, ["112", "113"]);
    assert_eq!(n.answer.media[0].rtpmaps[&112].encoding_name, "PCMA");
}

#[test]
fn rtpmap_overrides_the_static_table() {
    // Payload type 0 remapped to A-law by rtpmap is A-law.
    let text = audio_offer("m=audio 30000 RTP/AVP 0", &["a=rtpmap:0 PCMA/8000"]);
    let n = answer_text(&text, &local_media()).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcma, 0));
}

#[test]
fn sipp_minimal_offer() {
    let n = answer_text(&sipp_offer(), &local_media()).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcmu, 0));
    assert_eq!(n.audio.telephone_event_pt, None);
    assert_eq!(n.audio.remote_rtp, Some(addr("127.0.0.1:6000")));
    assert_eq!(n.audio.remote_rtcp, Some(addr("127.0.0.1:6001")));
    let text = n.answer.to_string();
    assert!(
        text.contains("\r\nm=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"),
        "{text}"
    );
}

#[test]
fn wideband_offer_yields_g711_and_the_matching_event_clock() {
    let n = answer_text(&wideband_softphone_offer(), &local_media()).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcmu, 0));
    // telephone-event/48000 and /16000 are listed first; only /8000 fits PCMU.
    assert_eq!(n.audio.telephone_event_pt, Some(100));
    assert_eq!(n.answer.media[0].formats, ["0", "100"]);
}

#[test]
fn opus_first_offer_still_yields_pcmu() {
    let n = answer_text(&webrtc_offer("RTP/AVPF"), &local_media()).unwrap();
    let a = &n.audio;
    assert_eq!((a.codec, a.payload_type), (CodecKind::Pcmu, 0));
    assert_eq!(a.telephone_event_pt, Some(126));
    assert!(a.rtcp_mux);
    assert_eq!(a.remote_rtp, Some(addr("203.0.113.7:50000")));
    assert_eq!(a.remote_rtcp, a.remote_rtp);
    let m = &n.answer.media[0];
    assert_eq!(m.protocol, "RTP/AVPF");
    assert!(m.rtcp_mux);

    let mut local = local_media();
    local.rtcp_mux_supported = false;
    let n = answer_text(&webrtc_offer("RTP/AVPF"), &local).unwrap();
    assert!(!n.audio.rtcp_mux && !n.answer.media[0].rtcp_mux);
    // The 0.0.0.0 placeholder of a=rtcp falls back to the media address.
    assert_eq!(n.audio.remote_rtcp, Some(addr("203.0.113.7:9")));
}

#[test]
fn dtls_srtp_offer_is_refused_as_transport() {
    assert_eq!(
        answer_text(&webrtc_offer("UDP/TLS/RTP/SAVPF"), &local_media()).unwrap_err(),
        NegotiationError::UnsupportedTransport("UDP/TLS/RTP/SAVPF".into())
    );
    // SDES-SRTP on a leg whose policy is off (tests/srtp.rs has the rest).
    assert_eq!(
        answer_text(&srtp_offer(), &local_media()).unwrap_err(),
        NegotiationError::SrtpRefused(crate::sip::sdp::SRTP_OFF)
    );
}

#[test]
fn direction_table() {
    // RFC 3264 §6.1, offered → answered.
    let table = [
        (None, Direction::SendRecv),
        (Some("a=sendrecv"), Direction::SendRecv),
        (Some("a=sendonly"), Direction::RecvOnly),
        (Some("a=recvonly"), Direction::SendOnly),
        (Some("a=inactive"), Direction::Inactive),
    ];
    for (attribute, expected) in table {
        let extra: Vec<&str> = attribute.into_iter().collect();
        let text = audio_offer("m=audio 30000 RTP/AVP 0", &extra);
        let n = answer_text(&text, &local_media()).unwrap();
        assert_eq!(n.audio.direction, expected, "{attribute:?}");
        assert_eq!(n.answer.media[0].direction, Some(expected), "{attribute:?}");
        assert_eq!(n.audio.remote_rtp, Some(addr("192.0.2.10:30000")));
    }
}

#[test]
fn hold_with_zero_address() {
    // RFC 2543 hold: no address to send to, so we only receive.
    let table = [
        ("a=sendrecv", Direction::RecvOnly),
        ("a=sendonly", Direction::RecvOnly),
        ("a=recvonly", Direction::Inactive),
        ("a=inactive", Direction::Inactive),
    ];
    for (attribute, expected) in table {
        let text = audio_offer("m=audio 30000 RTP/AVP 0", &[attribute])
            .replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0");
        let n = answer_text(&text, &local_media()).unwrap();
        assert_eq!(n.audio.direction, expected, "{attribute}");
        assert_eq!(n.audio.remote_rtp, None);
        assert_eq!(n.audio.remote_rtcp, None);
    }
}

#[test]
fn re_offers_move_direction_and_version() {
    let local = local_media();
    let mut origin = new_origin();
    let offer_with = |extra: &[&str]| {
        SessionDescription::parse(&audio_offer("m=audio 30000 RTP/AVP 0 8", extra)).unwrap()
    };
    let first = answer(&offer_with(&[]), &local, &mut origin).unwrap();
    assert_eq!(first.audio.direction, Direction::SendRecv);
    let v1 = first.answer.origin.session_version;

    // A session refresh that changes nothing keeps the version (RFC 3264 §8).
    let refresh = answer(&offer_with(&[]), &local, &mut origin).unwrap();
    assert_eq!(refresh.answer, first.answer);

    let hold = answer(&offer_with(&["a=sendonly"]), &local, &mut origin).unwrap();
    assert_eq!(hold.audio.direction, Direction::RecvOnly);
    assert_eq!(hold.answer.origin.session_version, v1 + 1);
    assert_eq!(
        hold.answer.origin.session_id,
        first.answer.origin.session_id
    );

    let resume = answer(&offer_with(&["a=sendrecv"]), &local, &mut origin).unwrap();
    assert_eq!(resume.audio.direction, Direction::SendRecv);
    assert_eq!(resume.answer.origin.session_version, v1 + 2);
    assert_eq!(origin.version(), v1 + 2);
}

#[test]
fn ptime_from_offer_only_when_sane() {
    for (offered, expected) in [
        ("a=ptime:30", 30),
        ("a=ptime:10", 10),
        ("a=ptime:60", 60),
        ("a=ptime:25", 20),
        ("a=ptime:0", 20),
        ("a=ptime:120", 20),
    ] {
        let text = audio_offer("m=audio 30000 RTP/AVP 0", &[offered]);
        let n = answer_text(&text, &local_media()).unwrap();
        assert_eq!(n.audio.ptime_ms, expected, "{offered}");
        assert_eq!(n.answer.media[0].ptime_ms, Some(expected), "{offered}");
    }
}

#[test]
fn other_streams_are_rejected_in_place() {
    let text = crlf(&[
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.10",
        "s=-",
        "c=IN IP4 192.0.2.10",
        "t=0 0",
        "m=video 30002 RTP/AVP 99",
        "a=rtpmap:99 H264/90000",
        "m=audio 30004 RTP/SAVP 0",
        "m=audio 30000 RTP/AVP 0",
        "m=image 30006 udptl t38",
        "m=audio 30008 RTP/AVP 8",
    ]);
    let n = answer_text(&text, &local_media()).unwrap();
    assert_eq!(n.audio.remote_rtp, Some(addr("192.0.2.10:30000")));
    let ports: Vec<u16> = n.answer.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, [0, 0, 20000, 0, 0]);
    let kinds: Vec<&str> = n.answer.media.iter().map(|m| m.media.as_str()).collect();
    assert_eq!(kinds, ["video", "audio", "audio", "image", "audio"]);
    assert_eq!(n.answer.media[0].formats, ["99"]);
    assert_eq!(n.answer.media[3].protocol, "udptl");
    assert_eq!(n.answer.media[3].formats, ["t38"]);
    // The answer itself parses.
    let reparsed = SessionDescription::parse(&n.answer.to_string()).unwrap();
    assert_eq!(reparsed, n.answer);
}

#[test]
fn unusable_first_audio_falls_through_to_the_next() {
    let text = crlf(&[
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.10",
        "s=-",
        "c=IN IP4 192.0.2.10",
        "t=0 0",
        "m=audio 30000 RTP/AVP 18",
        "m=audio 30002 RTP/AVP 8",
    ]);
    let n = answer_text(&text, &local_media()).unwrap();
    assert_eq!(n.audio.codec, CodecKind::Pcma);
    assert_eq!(n.answer.media[0].port, 0);
    assert_eq!(n.answer.media[1].port, 20000);
}

#[test]
fn rejections() {
    let local = local_media();
    let cases: Vec<(String, NegotiationError)> = vec![
        (
            // G.729 and iLBC only.
            audio_offer("m=audio 30000 RTP/AVP 18 97", &["a=rtpmap:97 iLBC/8000"]),
            NegotiationError::NoCommonCodec,
        ),
        (
            audio_offer(
                "m=audio 30000 RTP/AVP 101",
                &["a=rtpmap:101 telephone-event/8000"],
            ),
            NegotiationError::NoCommonCodec,
        ),
        (
            // A dynamic type without rtpmap is nothing we can name.
            audio_offer("m=audio 30000 RTP/AVP 96", &[]),
            NegotiationError::NoCommonCodec,
        ),
        (
            // Stereo PCMU is not the mono PCMU we speak.
            audio_offer("m=audio 30000 RTP/AVP 0", &["a=rtpmap:0 PCMU/8000/2"]),
            NegotiationError::NoCommonCodec,
        ),
        (
            audio_offer("m=video 30000 RTP/AVP 99", &["a=rtpmap:99 H264/90000"]),
            NegotiationError::NoAudioStream,
        ),
        (
            audio_offer("m=audio 0 RTP/AVP 0", &[]),
            NegotiationError::NoAudioStream,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\n".into(),
            NegotiationError::NoAudioStream,
        ),
        (
            sipp_offer().replace("c=IN IP4 127.0.0.1\r\n", ""),
            NegotiationError::MissingConnection,
        ),
        (
            sipp_offer().replace("127.0.0.1\r\nt=", "pbx.example.com\r\nt="),
            NegotiationError::UnusableAddress("pbx.example.com".into()),
        ),
        (
            audio_offer("m=audio 65535 RTP/AVP 0", &[]),
            NegotiationError::BadPort {
                port: 65535,
                reason: "no port left for RTCP",
            },
        ),
        (
            audio_offer("m=audio 30000 RTP/AVP 0", &["a=rtcp:0"]),
            NegotiationError::BadPort {
                port: 0,
                reason: "RTCP port 0",
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(answer_text(&text, &local), Err(expected), "{text}");
    }
    // With rtcp-mux, the last port is fine.
    let text = audio_offer("m=audio 65535 RTP/AVP 0", &["a=rtcp-mux"]);
    assert!(answer_text(&text, &local).is_ok());
}

#[test]
fn reasons_fit_a_reason_phrase() {
    assert_eq!(
        NegotiationError::NoCommonCodec.to_string(),
        "No common codec"
    );
    let e = answer_text(
        &audio_offer("m=audio 30000 RTP/SAVP 0", &[]),
        &local_media(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "RTP/SAVP refused: SRTP is off");
    let long = format!("m=audio 30000 RTP/{} 0", "X".repeat(300));
    let e = answer_text(&audio_offer(&long, &[]), &local_media()).unwrap_err();
    assert!(e.to_string().len() < 80, "{e}");
}

#[test]
fn ipv6_offer() {
    let text = sipp_offer().replace("c=IN IP4 127.0.0.1", "c=IN IP6 2001:db8::5");
    let n = answer_text(&text, &local_media()).unwrap();
    assert_eq!(n.audio.remote_rtp, Some(addr("[2001:db8::5]:6000")));
}

#[test]
fn g722_by_static_payload_type_alone_is_chosen_when_preferred() {
    // RFC 3551 Table 4 assigns PT 9 to G722, so no rtpmap is needed.
    let mut local = local_media();
    local.codecs = vec![CodecKind::G722, CodecKind::Pcmu];
    let text = audio_offer("m=audio 30000 RTP/AVP 0 9", &[]);
    let n = answer_text(&text, &local).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::G722, 9));
    let m = &n.answer.media[0];
    assert_eq!(m.formats, ["9"]);
    // The rtpmap rate is the 8000 Hz RTP clock, not the 16 kHz audio rate
    // (RFC 3551 §4.5.2).
    assert_eq!(m.rtpmaps[&9].encoding_name, "G722");
    assert_eq!(m.rtpmaps[&9].clock_rate, 8000);
}

#[test]
fn g722_by_rtpmap_at_8000_is_chosen_when_preferred() {
    let mut local = local_media();
    local.codecs = vec![CodecKind::G722, CodecKind::Pcma];
    let text = audio_offer(
        "m=audio 30000 RTP/AVP 8 9",
        &["a=rtpmap:8 PCMA/8000", "a=rtpmap:9 G722/8000"],
    );
    let n = answer_text(&text, &local).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::G722, 9));
}

#[test]
fn g722_at_16000_in_the_rtpmap_is_not_g722() {
    // A peer that writes the audio rate has misread RFC 3551 §4.5.2; its
    // timestamps would run at twice our clock, so the format is skipped.
    let mut local = local_media();
    local.codecs = vec![CodecKind::G722, CodecKind::Pcmu];
    let text = audio_offer(
        "m=audio 30000 RTP/AVP 9 0",
        &["a=rtpmap:9 G722/16000", "a=rtpmap:0 PCMU/8000"],
    );
    let n = answer_text(&text, &local).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcmu, 0));
}

#[test]
fn g722_is_not_chosen_when_we_do_not_list_it() {
    let text = audio_offer("m=audio 30000 RTP/AVP 9 8", &[]);
    let mut local = local_media();
    local.codecs = vec![CodecKind::Pcmu, CodecKind::Pcma];
    let n = answer_text(&text, &local).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcma, 8));
}

#[test]
fn opus_offer_negotiates_opus_with_its_dynamic_payload_type() {
    // A WebRTC-style offer: Opus first on PT 111, rtpmap always opus/48000/2
    // (RFC 7587 §7), PCMU as fallback.
    let text = audio_offer(
        "m=audio 30000 RTP/AVP 111 0 101",
        &[
            "a=rtpmap:111 opus/48000/2",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=rtpmap:101 telephone-event/8000",
        ],
    );
    let mut local = local_media();
    local.codecs = vec![CodecKind::Opus, CodecKind::Pcmu, CodecKind::TelephoneEvent];
    let n = answer_text(&text, &local).unwrap();
    assert_eq!(
        (n.audio.codec, n.audio.payload_type),
        (CodecKind::Opus, 111)
    );
    // RFC 4733 §2.1: events share the audio's RTP clock, so
    // telephone-event/8000 does not go with Opus (it would need /48000).
    assert_eq!(n.audio.telephone_event_pt, None);
    let m = &n.answer.media[0];
    assert_eq!(m.formats, ["111"]);
    let map = &m.rtpmaps[&111];
    assert_eq!(
        (map.encoding_name.as_str(), map.clock_rate, map.channels),
        ("opus", 48_000, Some(2))
    );
    assert!(n
        .answer
        .to_string()
        .contains("a=rtpmap:111 opus/48000/2\r\n"));

    // With PCMU preferred, the same offer gets PCMU.
    let n = answer_text(&text, &local_media()).unwrap();
    assert_eq!((n.audio.codec, n.audio.payload_type), (CodecKind::Pcmu, 0));

    // opus/48000 with one channel is not the RFC 7587 format.
    let mono = audio_offer("m=audio 30000 RTP/AVP 111", &["a=rtpmap:111 opus/48000"]);
    assert!(answer_text(&mono, &local).is_err());
}
