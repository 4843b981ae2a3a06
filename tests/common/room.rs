//! Conference room members for the room tests: a caller on a plain UDP
//! socket that sends a tone of its own (so that what each one hears can be
//! told apart), presses keys as RFC 4733 events, and the room's member
//! listing from the API.

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::codec::CodecKind;
use mediaplane::loadgen::simple_sdp::{sdp_offer, OfferFormat, SdpAnswer};
use mediaplane::loadgen::ua::{Call, TestUserAgent};
use mediaplane::media::dtmf::rfc4733::{SenderConfig, TelephoneEventSender};
use mediaplane::media::dtmf::DtmfDigit;
use serde_json::Value;
use tokio::net::UdpSocket;

use super::callee::{exchange_tone_from, tone_purity};
use super::{http_get, TestServer};

pub struct Member {
    pub codec: CodecKind,
    pub tone_hz: f64,
    pub rtp: UdpSocket,
    pub call: Call,
    pub payload_type: u8,
    /// The telephone-event payload type, if the member offered it.
    pub event_payload_type: Option<u8>,
    pub remote: SocketAddr,
    /// Frames sent so far: the stream goes on from there.
    pub sent: Cell<u32>,
    _ua: TestUserAgent,
}

/// A caller of `user`, answered, offering `codecs` (the first one used);
/// it offers telephone-event if `codecs` holds it.
pub async fn dial(server: &TestServer, user: &str, codecs: &[CodecKind], tone_hz: f64) -> Member {
    let codec = codecs[0];
    let ua = TestUserAgent::bind_udp(server.sip_addr()).await.unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = sdp_offer(rtp.local_addr().unwrap(), codecs);
    let uri = format!("sip:{user}@{}", server.sip_addr());
    let call = ua.invite(&uri, &offer).await.expect("joined");
    let answer = SdpAnswer::parse(&call.final_response().unwrap().body_text()).unwrap();
    assert_eq!(answer.codec, Some(codec));
    // Keys go out on the number offered for telephone-event (the answer is
    // read for the audio codec only).
    let event_payload_type = codecs
        .contains(&CodecKind::TelephoneEvent)
        .then(|| OfferFormat::new(CodecKind::TelephoneEvent).payload_type);
    Member {
        codec,
        tone_hz,
        rtp,
        call,
        payload_type: answer.payload_type,
        event_payload_type,
        remote: answer.rtp_addr(),
        sent: Cell::new(0),
        _ua: ua,
    }
}

/// A member of room `room` in `codec`, without telephone-event.
pub async fn join(server: &TestServer, room: &str, codec: CodecKind, tone_hz: f64) -> Member {
    dial(server, &format!("conf-{room}"), &[codec], tone_hz).await
}

/// A PCMU member of room `room` that also offers telephone-event (for keys).
pub async fn join_with_events(server: &TestServer, room: &str, tone_hz: f64) -> Member {
    let codecs = [CodecKind::Pcmu, CodecKind::TelephoneEvent];
    dial(server, &format!("conf-{room}"), &codecs, tone_hz).await
}

/// Sends `frames` 20 ms frames of the member's tone; returns what it heard
/// meanwhile (and what was waiting in its socket).
pub async fn speak(m: &Member, frames: u32) -> Vec<i16> {
    let from = m.sent.get();
    m.sent.set(from + frames);
    let range = from..from + frames;
    exchange_tone_from(&m.rtp, m.codec, m.payload_type, m.remote, m.tone_hz, range).await
}

/// Keys as RFC 4733 events from a member that offered telephone-event:
/// each an 80 ms press (start, two updates, three ends).
pub async fn send_keys(m: &Member, keys: &str) {
    let pt = m.event_payload_type.expect("telephone-event offered");
    for key in keys.chars() {
        // A sender per key: a shared one would hold the next key back for
        // its inter-digit gap.
        let mut events = TelephoneEventSender::new(SenderConfig::new(m.codec.clock_rate()));
        let digit = DtmfDigit::from_char(key).expect("a key");
        events.start(digit, Duration::from_millis(80), 10).unwrap();
        let timestamp: u32 = rand::random();
        let mut sequence: u16 = 1000;
        // The ends go out back to back; the sender has nothing more for
        // this key once they are out.
        while let Some(event) = events.poll_packet(timestamp) {
            let mut packet = [0u8; 16];
            packet[0] = 0x80;
            packet[1] = (u8::from(event.marker) << 7) | pt;
            packet[2..4].copy_from_slice(&sequence.to_be_bytes());
            packet[4..8].copy_from_slice(&event.timestamp.to_be_bytes());
            packet[8..12].copy_from_slice(&0x6b65_7973u32.to_be_bytes());
            packet[12..16].copy_from_slice(&event.payload);
            m.rtp.send_to(&packet, m.remote).await.unwrap();
            sequence += 1;
            if !event.end {
                // RFC 4733 pacing: the sender's clock, not a wait for the server.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Enters each of `guesses` (wrong PINs, `#`-terminated) and waits for
/// the server to end the call, as it does after the third.
pub async fn guess_wrong_pins(m: &mut Member, guesses: &[&str], wait: Duration) {
    for guess in guesses {
        send_keys(m, guess).await;
    }
    m.call
        .wait_bye(wait)
        .await
        .expect("three wrong PINs end the call");
}

/// The room `room` from the API, or `None` if there is no such room.
pub async fn room_json(server: &TestServer, room: &str) -> Option<Value> {
    let (status, body) = http_get(server.http_addr(), &format!("/api/v1/conferences/{room}")).await;
    if status == 404 {
        return None;
    }
    assert_eq!(status, 200, "{body}");
    Some(serde_json::from_str(&body).unwrap())
}

/// The room's members from the API (none if there is no such room).
pub async fn members_json(server: &TestServer, room: &str) -> Vec<Value> {
    match room_json(server, room).await {
        Some(room) => room["members"].as_array().unwrap().clone(),
        None => Vec::new(),
    }
}

/// The ids of a room's members, from the API.
pub async fn member_ids(server: &TestServer, room: &str) -> Vec<u64> {
    let members = members_json(server, room).await;
    members.iter().map(|m| m["id"].as_u64().unwrap()).collect()
}

/// The share of `hz` in the last half second of what a member in `codec`
/// heard.
pub fn share(heard: &[i16], codec: CodecKind, hz: f64) -> f64 {
    let rate = codec.audio_rate();
    tone_purity(heard, rate, hz, rate as usize / 2)
}

/// The first 20 ms frame of `heard` (8 kHz) that is mostly `hz`.
pub fn first_frame_of(heard: &[i16], hz: f64) -> Option<usize> {
    heard
        .chunks(160)
        .position(|frame| tone_purity(frame, 8000, hz, 160) > 0.5)
}
