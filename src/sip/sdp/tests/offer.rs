use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::samples::*;
use crate::codec::CodecKind;
use crate::sip::sdp::*;

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).unwrap()
}

/// The far end: PCMA preferred, events, no rtcp-mux.
fn peer_media() -> LocalMedia {
    LocalMedia {
        address: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
        rtp_port: 40000,
        codecs: vec![CodecKind::Pcma, CodecKind::Pcmu, CodecKind::TelephoneEvent],
        ptime_ms: 30,
        rtcp_mux_supported: false,
        srtp: Default::default(),
    }
}

#[test]
fn offer_lists_every_codec_with_static_or_dynamic_types() {
    let sdp = offer(&local_media(), &mut new_origin());
    assert_eq!(
        sdp.to_string(),
        crlf(&[
            "v=0",
            "o=- 42 1 IN IP4 198.51.100.1",
            "s=-",
            "c=IN IP4 198.51.100.1",
            "t=0 0",
            "m=audio 20000 RTP/AVP 0 8 96",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:96 telephone-event/8000",
            "a=fmtp:96 0-15",
            "a=ptime:20",
            "a=rtcp-mux",
            "a=sendrecv",
        ])
    );
}

#[test]
fn offer_answer_loop() {
    let mut our_origin = new_origin();
    let mut their_origin = SdpOrigin::new(7, peer_media().address);
    let our_offer = offer(&local_media(), &mut our_origin);
    // The offer goes over the wire as text.
    let received = parse(&our_offer.to_string());
    let theirs = answer(&received, &peer_media(), &mut their_origin).unwrap();
    assert_eq!(
        (theirs.audio.codec, theirs.audio.payload_type),
        (CodecKind::Pcma, 8)
    );
    assert_eq!(theirs.audio.telephone_event_pt, Some(96));

    let ours = accept_answer(&our_offer, &parse(&theirs.answer.to_string())).unwrap();
    assert_eq!((ours.codec, ours.payload_type), (CodecKind::Pcma, 8));
    assert_eq!(ours.telephone_event_pt, Some(96));
    assert_eq!(
        ours.remote_rtp,
        Some(SocketAddr::new(peer_media().address, 40000))
    );
    assert_eq!(
        ours.remote_rtcp,
        Some(SocketAddr::new(peer_media().address, 40001))
    );
    assert!(!ours.rtcp_mux);
    assert_eq!(ours.direction, Direction::SendRecv);
    // The answerer followed our 20 ms ptime.
    assert_eq!(ours.ptime_ms, 20);
}

#[test]
fn answer_payload_types_are_the_ones_we_send() {
    let our_offer = offer(&local_media(), &mut new_origin());
    // Answer renumbers PCMU (allowed) and omits the rtpmap of the events.
    let answer = parse(&crlf(&[
        "v=0",
        "o=- 5 5 IN IP4 203.0.113.9",
        "s=-",
        "c=IN IP4 203.0.113.9",
        "t=0 0",
        "m=audio 40000 RTP/AVP 100 96",
        "a=rtpmap:100 PCMU/8000",
        "a=rtcp-mux",
    ]));
    let ours = accept_answer(&our_offer, &answer).unwrap();
    assert_eq!((ours.codec, ours.payload_type), (CodecKind::Pcmu, 100));
    assert_eq!(ours.telephone_event_pt, Some(96));
    assert!(ours.rtcp_mux);
    assert_eq!(ours.remote_rtcp, ours.remote_rtp);
}

#[test]
fn hold_offer_and_its_answer() {
    let mut origin = new_origin();
    let first = offer(&local_media(), &mut origin);
    let hold = offer_with_direction(&local_media(), &mut origin, Direction::SendOnly);
    assert_eq!(hold.media[0].direction, Some(Direction::SendOnly));
    // Our SDP changed, so its version moved on by one (RFC 3264 §8).
    assert_eq!(
        hold.origin.session_version,
        first.origin.session_version + 1
    );
    let again = offer_with_direction(&local_media(), &mut origin, Direction::SendOnly);
    assert_eq!(again.origin.session_version, hold.origin.session_version);

    let reply = answer(
        &parse(&hold.to_string()),
        &peer_media(),
        &mut SdpOrigin::new(7, peer_media().address),
    )
    .unwrap();
    assert_eq!(reply.audio.direction, Direction::RecvOnly);
    let ours = accept_answer(&hold, &reply.answer).unwrap();
    assert_eq!(ours.direction, Direction::SendOnly);

    // An answer that goes further than asked still limits us.
    let mut inactive = reply.answer.clone();
    inactive.media[0].direction = Some(Direction::Inactive);
    assert_eq!(
        accept_answer(&hold, &inactive).unwrap().direction,
        Direction::Inactive
    );
}

#[test]
fn answer_errors() {
    let our_offer = offer(&local_media(), &mut new_origin());
    let with = |m_line: &str, extra: &[&str]| {
        let mut lines = vec![
            "v=0",
            "o=- 5 5 IN IP4 203.0.113.9",
            "s=-",
            "c=IN IP4 203.0.113.9",
            "t=0 0",
        ];
        lines.extend(m_line.split('|'));
        lines.extend_from_slice(extra);
        parse(&crlf(&lines))
    };
    assert_eq!(
        accept_answer(
            &our_offer,
            &with("m=audio 40000 RTP/AVP 0|m=video 0 RTP/AVP 99", &[])
        ),
        Err(NegotiationError::MediaCountMismatch {
            offered: 1,
            answered: 2
        })
    );
    assert_eq!(
        accept_answer(&our_offer, &with("m=audio 0 RTP/AVP 0", &[])),
        Err(NegotiationError::NoAudioStream)
    );
    // G.722 was not offered.
    assert_eq!(
        accept_answer(
            &our_offer,
            &with("m=audio 40000 RTP/AVP 9", &["a=rtpmap:9 G722/8000"])
        ),
        Err(NegotiationError::NoCommonCodec)
    );
    let mut pcmu_only = local_media();
    pcmu_only.codecs = vec![CodecKind::Pcmu];
    let narrow_offer = offer(&pcmu_only, &mut new_origin());
    assert_eq!(
        accept_answer(&narrow_offer, &with("m=audio 40000 RTP/AVP 8", &[])),
        Err(NegotiationError::NoCommonCodec)
    );
    assert_eq!(
        accept_answer(&our_offer, &with("m=audio 40000 RTP/SAVP 0", &[])),
        Err(NegotiationError::UnsupportedTransport("RTP/SAVP".into()))
    );
}
