//! Offers as real endpoints write them, and local settings for tests.

use std::net::{IpAddr, Ipv4Addr};

use crate::codec::CodecKind;
use crate::sip::sdp::{LocalMedia, SdpOrigin};

/// Lines joined with CRLF, as on the wire.
pub fn crlf(lines: &[&str]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

/// A desktop softphone (pjsip family): PCMA listed before PCMU, events with
/// fmtp, RTCP port given explicitly, attributes we do not interpret.
pub fn softphone_offer() -> String {
    crlf(&[
        "v=0",
        "o=- 3863779226 3863779226 IN IP4 10.0.0.5",
        "s=pjmedia",
        "b=AS:84",
        "t=0 0",
        "a=X-nat:0",
        "m=audio 4000 RTP/AVP 8 0 3 101",
        "c=IN IP4 10.0.0.5",
        "b=TIAS:64000",
        "a=rtcp:4001 IN IP4 10.0.0.5",
        "a=sendrecv",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:3 GSM/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=ssrc:1918238521 cname:42c9a2d51ee1c6a9",
    ])
}

/// A softphone (linphone family) offering wideband codecs first, static
/// G.711 types without rtpmap and one telephone-event per clock rate.
pub fn wideband_softphone_offer() -> String {
    crlf(&[
        "v=0",
        "o=alice 3724394400 3724394401 IN IP4 192.168.1.20",
        "s=Talk",
        "c=IN IP4 192.168.1.20",
        "t=0 0",
        "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
        "m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100",
        "a=rtpmap:96 opus/48000/2",
        "a=fmtp:96 useinbandfec=1",
        "a=rtpmap:97 speex/16000",
        "a=fmtp:97 vbr=on",
        "a=rtpmap:98 speex/8000",
        "a=fmtp:98 vbr=on",
        "a=rtpmap:101 telephone-event/48000",
        "a=rtpmap:99 telephone-event/16000",
        "a=rtpmap:100 telephone-event/8000",
        "a=rtcp-fb:* trr-int 1000",
        "a=rtcp-fb:* ccm tmmbr",
    ])
}

/// What a sipp scenario sends: static payload type 0 and nothing else.
pub fn sipp_offer() -> String {
    crlf(&[
        "v=0",
        "o=user1 53655765 2353687637 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=audio 6000 RTP/AVP 0",
    ])
}

/// A browser-style offer: Opus first with RED and events at two rates,
/// rtcp-mux, mid, ssrc and header extensions; G.711 further down.
pub fn webrtc_offer(protocol: &str) -> String {
    let m_line = format!("m=audio 50000 {protocol} 111 63 9 0 8 13 110 126");
    crlf(&[
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS stream",
        &m_line,
        "c=IN IP4 203.0.113.7",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:gydc",
        "a=ice-pwd:qEA+KCGezaoGknNYbpAADXBK",
        "a=fingerprint:sha-256 03:63:4B:E0:AA:51:4E:82:82:EE:A6:A9:4F:6E:4E:95",
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=sendrecv",
        "a=msid:stream track",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:1001 cname:abcd",
    ])
}

/// An SDES-SRTP offer, whose crypto line must survive for the SRTP layer.
pub fn srtp_offer() -> String {
    crlf(&[
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.10",
        "s=-",
        "c=IN IP4 192.0.2.10",
        "t=0 0",
        "m=audio 30000 RTP/SAVP 0 101",
        "a=rtpmap:101 telephone-event/8000",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
    ])
}

/// Audio offer from 192.0.2.10:30000 with the given extra lines after m=.
pub fn audio_offer(m_line: &str, extra: &[&str]) -> String {
    let mut lines = vec![
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.10",
        "s=-",
        "c=IN IP4 192.0.2.10",
        "t=0 0",
        m_line,
    ];
    lines.extend_from_slice(extra);
    crlf(&lines)
}

pub fn local_ip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))
}

/// Our side: PCMU before PCMA, events supported, 20 ms, rtcp-mux capable.
pub fn local_media() -> LocalMedia {
    LocalMedia {
        address: local_ip(),
        rtp_port: 20000,
        codecs: vec![CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent],
        ptime_ms: 20,
        rtcp_mux_supported: true,
        srtp: Default::default(),
    }
}

pub fn new_origin() -> SdpOrigin {
    SdpOrigin::new(42, local_ip())
}
