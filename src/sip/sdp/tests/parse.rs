use super::samples::*;
use crate::sip::sdp::*;

fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).unwrap()
}

/// Parses text that must fail and returns the error.
fn fail(text: &str) -> SdpError {
    SessionDescription::parse(text).unwrap_err()
}

fn reason(e: &SdpError) -> &str {
    match e {
        SdpError::Malformed { reason, .. } => reason,
        other => panic!("expected a malformed line, got {other:?}"),
    }
}

#[test]
fn softphone_offer_fields() {
    let sdp = parse(&softphone_offer());
    assert_eq!(sdp.origin.username, "-");
    assert_eq!(sdp.origin.session_id, 3863779226);
    assert_eq!(sdp.origin.address, "10.0.0.5");
    assert_eq!(sdp.session_name, "pjmedia");
    assert_eq!(sdp.connection, None);
    assert_eq!(sdp.bandwidths[0].modifier, "AS");
    assert_eq!(sdp.bandwidths[0].kbps, 84);
    assert_eq!(sdp.attribute("X-nat").unwrap().value.as_deref(), Some("0"));
    assert_eq!(sdp.media.len(), 1);

    let m = &sdp.media[0];
    assert_eq!(m.media, "audio");
    assert_eq!(m.port, 4000);
    assert_eq!(m.protocol, "RTP/AVP");
    assert_eq!(m.formats, ["8", "0", "3", "101"]);
    assert_eq!(m.payload_types().collect::<Vec<_>>(), [8, 0, 3, 101]);
    assert_eq!(m.connection.as_ref().unwrap().address, "10.0.0.5");
    assert_eq!(m.rtpmaps[&8].encoding_name, "PCMA");
    assert_eq!(m.rtpmaps[&101].encoding_name, "telephone-event");
    assert_eq!(m.rtpmaps[&101].clock_rate, 8000);
    assert_eq!(m.fmtps[&101], "0-16");
    assert_eq!(m.ptime_ms, Some(20));
    assert_eq!(m.direction, Some(Direction::SendRecv));
    let rtcp = m.rtcp.as_ref().unwrap();
    assert_eq!(rtcp.port, 4001);
    assert_eq!(rtcp.connection.as_ref().unwrap().address, "10.0.0.5");
    assert!(!m.rtcp_mux);
    assert_eq!(
        m.attribute("ssrc").unwrap().value.as_deref(),
        Some("1918238521 cname:42c9a2d51ee1c6a9")
    );
    // Interpreted attributes are not duplicated among the kept ones.
    assert!(m.attribute("rtpmap").is_none() && m.attribute("sendrecv").is_none());
}

#[test]
fn sipp_offer_static_type_without_rtpmap() {
    let sdp = parse(&sipp_offer());
    let m = &sdp.media[0];
    assert_eq!(m.formats, ["0"]);
    assert!(m.rtpmaps.is_empty());
    assert_eq!(
        sdp.connection.as_ref().unwrap().ip(),
        Some("127.0.0.1".parse().unwrap())
    );
    assert_eq!(sdp.direction_for(m), Direction::SendRecv);
}

#[test]
fn webrtc_offer_fields() {
    let sdp = parse(&webrtc_offer("UDP/TLS/RTP/SAVPF"));
    let m = &sdp.media[0];
    assert!(m.is_rtp());
    assert!(m.rtcp_mux);
    assert_eq!(m.rtpmaps[&111].channels, Some(2));
    assert_eq!(m.fmtps[&111], "minptime=10;useinbandfec=1");
    assert_eq!(m.attribute("mid").unwrap().value.as_deref(), Some("0"));
    assert_eq!(
        sdp.attribute("msid-semantic").unwrap().value.as_deref(),
        Some(" WMS stream")
    );
    assert_eq!(m.rtcp.as_ref().unwrap().port, 9);
}

#[test]
fn crypto_attribute_is_kept() {
    let sdp = parse(&srtp_offer());
    let crypto = sdp.media[0].attribute("crypto").unwrap();
    assert!(crypto
        .value
        .as_deref()
        .unwrap()
        .starts_with("1 AES_CM_128_HMAC_SHA1_80 inline:"));
}

#[test]
fn non_rtp_formats_are_tokens() {
    let sdp = parse(&audio_offer("m=image 4002 udptl t38", &[]));
    assert_eq!(sdp.media[0].formats, ["t38"]);
    assert!(!sdp.media[0].is_rtp());
}

#[test]
fn bare_lf_and_trailing_blank_lines_are_accepted() {
    let text = sipp_offer().replace("\r\n", "\n") + "\n  \n";
    assert_eq!(parse(&text), parse(&sipp_offer()));
}

#[test]
fn missing_t_line_means_a_permanent_session() {
    let sdp = parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n");
    assert_eq!(sdp.timings, [Timing::permanent()]);
}

#[test]
fn session_level_direction_is_the_media_default() {
    let sdp = parse(&crlf(&[
        "v=0",
        "o=- 1 1 IN IP4 10.0.0.1",
        "s=-",
        "t=0 0",
        "a=sendonly",
        "m=audio 5000 RTP/AVP 0",
        "m=audio 5002 RTP/AVP 0",
        "a=inactive",
    ]));
    assert_eq!(sdp.direction, Some(Direction::SendOnly));
    assert_eq!(sdp.direction_for(&sdp.media[0]), Direction::SendOnly);
    assert_eq!(sdp.direction_for(&sdp.media[1]), Direction::Inactive);
}

#[test]
fn port_count_is_read() {
    let sdp = parse(&audio_offer("m=audio 49170/2 RTP/AVP 0", &[]));
    assert_eq!(sdp.media[0].port, 49170);
    assert_eq!(sdp.media[0].port_count, Some(2));
}

#[test]
fn bad_port_names_the_line() {
    let e = fail(&audio_offer("m=audio 70000 RTP/AVP 0", &[]));
    assert_eq!(e.line(), Some(6));
    assert!(reason(&e).contains("bad port"), "{e}");
    assert!(reason(&fail(&audio_offer("m=audio -1 RTP/AVP 0", &[]))).contains("bad port"));
    assert!(reason(&fail(&audio_offer("m=audio 5000/0 RTP/AVP 0", &[]))).contains("port count"));
    let e = fail(&audio_offer("m=audio 5000 RTP/AVP 0", &["a=rtcp:99999"]));
    assert!(reason(&e).contains("RTCP port"), "{e}");
}

#[test]
fn fmtp_garbage_is_kept_but_not_read() {
    // Format parameters all have defaults; an unreadable fmtp line must not
    // cost the call. It survives a round trip as a plain attribute.
    for garbage in [
        "a=fmtp:xyz foo=1",
        "a=fmtp:200 0-15",
        "a=fmtp:",
        "a=fmtp",
        "a=fmtp: useinbandfec=1",
    ] {
        let text = audio_offer("m=audio 5000 RTP/AVP 0 101", &[garbage]);
        let sdp = SessionDescription::parse(&text).unwrap_or_else(|e| panic!("{garbage}: {e}"));
        let m = &sdp.media[0];
        assert!(m.fmtps.is_empty(), "{garbage}");
        assert_eq!(m.attributes.len(), 1, "{garbage}");
        assert_eq!(sdp.to_string(), text, "{garbage}");
    }
    // A second fmtp for one payload type: the first counts.
    let text = audio_offer(
        "m=audio 5000 RTP/AVP 101",
        &["a=fmtp:101 0-15", "a=fmtp:101 0-16"],
    );
    let sdp = SessionDescription::parse(&text).unwrap();
    assert_eq!(sdp.media[0].fmtps[&101], "0-15");
    assert_eq!(
        sdp.media[0]
            .attribute("fmtp")
            .and_then(|a| a.value.as_deref()),
        Some("101 0-16")
    );
}

#[test]
fn rtpmap_garbage_is_refused() {
    for garbage in [
        "a=rtpmap:0 PCMU",
        "a=rtpmap:0 PCMU/fast",
        "a=rtpmap:0 PCMU/0",
        "a=rtpmap:0 PCMU/8000/0",
        "a=rtpmap:0 PCMU/8000/1/1",
        "a=rtpmap:0",
        "a=rtpmap:x PCMU/8000",
        "a=rtpmap:0 /8000",
    ] {
        let e = fail(&audio_offer("m=audio 5000 RTP/AVP 0", &[garbage]));
        assert_eq!(e.line(), Some(7), "{garbage}: {e}");
    }
}

#[test]
fn duplicates_are_refused() {
    let e = fail(&audio_offer(
        "m=audio 5000 RTP/AVP 0",
        &["a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMA/8000"],
    ));
    assert!(reason(&e).contains("second rtpmap"), "{e}");
    let e = fail(&audio_offer(
        "m=audio 5000 RTP/AVP 0",
        &["a=sendonly", "a=recvonly"],
    ));
    assert!(reason(&e).contains("direction"), "{e}");
    let e = fail(&audio_offer(
        "m=audio 5000 RTP/AVP 0",
        &["a=ptime:20", "a=ptime:30"],
    ));
    assert_eq!(e.line(), Some(8));
    let e = fail("v=0\r\no=- 1 1 IN IP4 a\r\no=- 1 1 IN IP4 a\r\ns=-\r\n");
    assert_eq!(e.line(), Some(3));
}

#[test]
fn bad_payload_type_in_m_line() {
    let e = fail(&audio_offer("m=audio 5000 RTP/AVP 0 128", &[]));
    assert!(reason(&e).contains("\"128\""), "{e}");
    let e = fail(&audio_offer("m=audio 5000 RTP/AVP PCMU", &[]));
    assert!(reason(&e).contains("payload type"), "{e}");
}

#[test]
fn too_many_m_lines() {
    let mut text = sipp_offer();
    for i in 0..300 {
        text.push_str(&format!("m=audio {} RTP/AVP 0\r\n", 10000 + 2 * i));
    }
    // The sample has one m-line on line 6; the 64th added one is the 65th.
    assert_eq!(
        fail(&text),
        SdpError::TooManyMedia {
            line: 6 + MAX_MEDIA,
            max: MAX_MEDIA
        }
    );
}

#[test]
fn size_cap() {
    let mut text = sipp_offer();
    while text.len() <= MAX_SDP_BYTES {
        text.push_str("a=x-padding:0123456789012345678901234567890123456789\r\n");
    }
    assert!(matches!(
        fail(&text),
        SdpError::TooLarge {
            max: MAX_SDP_BYTES,
            ..
        }
    ));
    assert!(matches!(
        SessionDescription::parse_bytes(text.as_bytes()),
        Err(SdpError::TooLarge { .. })
    ));
}

#[test]
fn non_utf8_names_the_line() {
    let mut bytes = sipp_offer().into_bytes();
    let s_line = bytes.windows(3).position(|w| w == b"s=-").unwrap();
    bytes[s_line + 2] = 0xFF;
    assert_eq!(
        SessionDescription::parse_bytes(&bytes),
        Err(SdpError::NotUtf8 { line: 3 })
    );
    let sdp = SessionDescription::parse_bytes(sipp_offer().as_bytes()).unwrap();
    assert_eq!(sdp, parse(&sipp_offer()));
}

#[test]
fn truncated_text() {
    let full = softphone_offer();
    // Cut inside the o= line.
    let e = fail(&full[..full.find(" IN IP4").unwrap()]);
    assert_eq!(e.line(), Some(2));
    assert!(reason(&e).contains("6 fields"), "{e}");
    // Cut just after the type letter of s=.
    let e = fail(&full[..full.find("s=").unwrap() + 1]);
    assert_eq!(e.line(), Some(3));
    // Cut at a line boundary before s=.
    assert_eq!(
        fail(&full[..full.find("s=").unwrap()]),
        SdpError::MissingLine("s=")
    );
    // Cut inside the m= line.
    let e = fail(&full[..full.find("m=audio 4000").unwrap() + 8]);
    assert_eq!(e.line(), Some(7));
    // Cut inside an rtpmap.
    let e = fail(&full[..full.find("PCMU/").unwrap() + 4]);
    assert_eq!(e.line(), Some(13));
}

#[test]
fn structural_errors() {
    assert_eq!(fail(""), SdpError::Empty);
    assert_eq!(fail("\r\n\r\n"), SdpError::Empty);
    assert_eq!(fail("hello").line(), Some(1));
    assert!(reason(&fail("v=1\r\n")).contains("v=0"));
    assert_eq!(fail("v=0\r\ns=-\r\n"), SdpError::MissingLine("o="));
    let base = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n";
    let e = fail(&format!("{base}x=unknown\r\n"));
    assert!(reason(&e).contains("unknown line type"), "{e}");
    let e = fail(&format!("{base}\r\nt=0 0\r\n"));
    assert_eq!((e.line(), reason(&e)), (Some(4), "empty line"));
    let e = fail(&format!(
        "{base}m=audio 1 RTP/AVP 0\r\no=- 1 1 IN IP4 a\r\n"
    ));
    assert!(
        reason(&e).contains("not allowed in a media description"),
        "{e}"
    );
    let e = fail(&format!("{base}a=tool:x\0y\r\n"));
    assert!(reason(&e).contains("control character"), "{e}");
    let e = fail(&format!("{base}c=IN IP9 10.0.0.1\r\n"));
    assert!(reason(&e).contains("address type"), "{e}");
    let e = fail(&format!("{base}c=ATM NSAP 47.0005\r\n"));
    assert!(reason(&e).contains("network type"), "{e}");
    let e = fail(&format!("{base}r=7d 1h 0 25h\r\n"));
    assert!(reason(&e).contains("t="), "{e}");
    let e = fail(&format!("{base}a=:value\r\n"));
    assert!(reason(&e).contains("attribute name"), "{e}");
    let e = fail(&format!("{base}m=audio 1 RTP/AVP 0\r\na=sendonly:now\r\n"));
    assert!(reason(&e).contains("takes no value"), "{e}");
    let e = fail(&format!("{base}m=audio 1 RTP/AVP 0\r\na=ptime:twenty\r\n"));
    assert!(reason(&e).contains("ms"), "{e}");
    let e = fail(&format!("{base}m=audio 1\r\n"));
    assert!(reason(&e).contains("m= needs"), "{e}");
}

#[test]
fn error_text_names_line_quote_and_reason() {
    let e = fail(&audio_offer("m=audio 70000 RTP/AVP 0", &[]));
    assert_eq!(
        e.to_string(),
        "line 6 \"m=audio 70000 RTP/AVP 0\": bad port \"70000\""
    );
    // Long lines are quoted shortened and escaped.
    let long = format!("a=x:\u{1}{}", "y".repeat(500));
    let text = format!("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n{long}\r\n");
    let shown = fail(&text).to_string();
    assert!(shown.len() < 200, "{shown}");
    assert!(shown.contains("...") && !shown.contains('\u{1}'), "{shown}");
}

#[test]
fn same_origin_version_means_same_description() {
    let first = SessionDescription::parse(&softphone_offer()).unwrap();
    let refresh = SessionDescription::parse(&softphone_offer()).unwrap();
    assert!(refresh.is_same_version_as(&first));
    let changed = SessionDescription::parse(
        &softphone_offer().replace("3863779226 3863779226", "3863779226 3863779227"),
    )
    .unwrap();
    assert!(!changed.is_same_version_as(&first));
    let other_session = SessionDescription::parse(
        &softphone_offer().replace("3863779226 3863779226", "1 3863779226"),
    )
    .unwrap();
    assert!(!other_session.is_same_version_as(&first));
}
