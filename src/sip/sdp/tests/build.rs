use std::net::IpAddr;

use super::samples::*;
use crate::sip::sdp::*;

fn round_trip(text: &str) {
    let first = SessionDescription::parse(text).unwrap();
    let built = first.to_string();
    let second = SessionDescription::parse(&built).unwrap();
    assert_eq!(first, second, "built:\n{built}");
    // Building is stable too.
    assert_eq!(built, second.to_string());
}

#[test]
fn samples_round_trip() {
    round_trip(&softphone_offer());
    round_trip(&wideband_softphone_offer());
    round_trip(&sipp_offer());
    round_trip(&webrtc_offer("UDP/TLS/RTP/SAVPF"));
    round_trip(&srtp_offer());
    round_trip(&crlf(&[
        "v=0",
        "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5",
        "s=SDP Seminar",
        "i=A Seminar on the session description protocol",
        "u=http://www.example.com/seminars/sdp.pdf",
        "e=j.doe@example.com (Jane Doe)",
        "p=+1 617 555-6011",
        "c=IN IP4 224.2.17.12/127",
        "b=CT:128",
        "t=2873397496 2873404696",
        "r=7d 1h 0 25h",
        "z=2882844526 -1h 2898848070 0",
        "k=prompt",
        "a=recvonly",
        "m=audio 49170/2 RTP/AVP 0",
        "i=the audio",
        "b=AS:64",
        "k=prompt",
        "a=maxptime:40",
        "m=video 51372 RTP/AVP 99",
        "a=rtpmap:99 h263-1998/90000",
        "m=application 0 udp wb",
    ]));
}

#[test]
fn builds_lines_in_rfc_4566_order_with_crlf() {
    let origin = Origin {
        username: "-".into(),
        session_id: 7,
        session_version: 8,
        address_type: AddressType::Ip4,
        address: "192.0.2.1".into(),
    };
    let mut sdp = SessionDescription::new(origin, "");
    sdp.attributes
        .push(Attribute::new("tool", Some("mediaplane".into())));
    sdp.connection = Some(Connection::from_ip("192.0.2.1".parse::<IpAddr>().unwrap()));
    sdp.direction = Some(Direction::SendRecv);
    let mut m = MediaDescription::new("audio", 4000, "RTP/AVP");
    m.formats = vec!["8".into(), "101".into()];
    m.attributes
        .push(Attribute::new("crypto", Some("1 X".into())));
    m.fmtps.insert(101, "0-15".into());
    m.rtpmaps.insert(
        101,
        RtpMap {
            encoding_name: "telephone-event".into(),
            clock_rate: 8000,
            channels: None,
        },
    );
    m.rtpmaps.insert(
        8,
        RtpMap {
            encoding_name: "PCMA".into(),
            clock_rate: 8000,
            channels: None,
        },
    );
    m.ptime_ms = Some(20);
    m.rtcp = Some(RtcpAddress {
        port: 4001,
        connection: None,
    });
    m.rtcp_mux = true;
    m.direction = Some(Direction::RecvOnly);
    sdp.media.push(m);
    assert_eq!(
        sdp.to_string(),
        crlf(&[
            "v=0",
            "o=- 7 8 IN IP4 192.0.2.1",
            "s= ",
            "c=IN IP4 192.0.2.1",
            "t=0 0",
            "a=sendrecv",
            "a=tool:mediaplane",
            "m=audio 4000 RTP/AVP 8 101",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=ptime:20",
            "a=rtcp:4001",
            "a=rtcp-mux",
            "a=recvonly",
            "a=crypto:1 X",
        ])
    );
}

#[test]
fn maps_for_unlisted_payload_types_are_kept() {
    let text = audio_offer(
        "m=audio 5000 RTP/AVP 0",
        &["a=fmtp:101 0-15", "a=rtpmap:101 telephone-event/8000"],
    );
    let built = SessionDescription::parse(&text).unwrap().to_string();
    assert!(built.ends_with(
        "m=audio 5000 RTP/AVP 0\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
    ));
    round_trip(&text);
}
