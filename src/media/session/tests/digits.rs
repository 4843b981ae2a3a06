//! Key presses on a session: heard as telephone-events or inband tones,
//! sent as telephone-events or tones.

use super::*;
use crate::media::dtmf::rfc4733::{EventPayload, ReceiverConfig, TelephoneEventReceiver};
use crate::media::dtmf::{DtmfDetector, DtmfEventKind, DtmfGenerator, DtmfToneConfig};

const CALLER: &str = "127.0.0.1:5000";

fn session_with(events: Option<u8>, now: Instant) -> MediaSession {
    let mut setup = setup("127.0.0.1:4000".parse().ok());
    setup.params.telephone_event_pt = events;
    MediaSession::new(setup, now, Arc::new(MediaMetrics::default())).unwrap()
}

fn event_packet(seq: u16, ts: u32, marker: bool, code: u8, end: bool, duration: u16) -> Vec<u8> {
    let header = Header {
        version: 2,
        payload_type: 101,
        marker,
        sequence_number: seq,
        timestamp: ts,
        ssrc: 0x1234,
        ..Default::default()
    };
    let payload = EventPayload {
        event: code,
        end,
        reserved: false,
        volume: 10,
        duration,
    }
    .encode()
    .unwrap();
    let mut buf = vec![0u8; 16];
    let n = header.marshal_to(&mut buf).unwrap();
    buf[n..].copy_from_slice(&payload);
    buf
}

fn digits_of(session: &mut MediaSession) -> String {
    let mut digits = String::new();
    while let Some(event) = session.poll_event() {
        if let SessionEvent::Digit(d) = event {
            digits.push(d.to_char());
        }
    }
    digits
}

#[test]
fn telephone_events_become_one_digit_per_press() {
    let mut now = Instant::now();
    let mut s = session_with(Some(101), now);
    s.set_source(Source::Silence);
    let from = CALLER.parse().unwrap();
    let mut seq = 1;
    let mut heard = String::new();
    for (i, code) in [1u8, 2, 11].into_iter().enumerate() {
        let ts = 1000 + i as u32 * 4000;
        for step in 1..=5u16 {
            s.handle_rtp(
                now,
                from,
                &event_packet(seq, ts, step == 1, code, false, step * 160),
            );
            seq += 1;
            now += Duration::from_millis(20);
        }
        // Three end packets: one press.
        for _ in 0..3 {
            s.handle_rtp(now, from, &event_packet(seq, ts, false, code, true, 960));
            seq += 1;
        }
        heard += &digits_of(&mut s);
    }
    assert_eq!(heard, "12#");
    assert_eq!(s.stats.snapshot().digits_rfc4733, 3);
    assert_eq!(s.stats.snapshot().rx_wrong_payload_type, 0);
}

/// G.711 packets carrying `pcm` in 20 ms frames.
fn audio_packets(pcm: &[i16], first_seq: u16) -> Vec<Vec<u8>> {
    pcm.chunks(160)
        .enumerate()
        .map(|(i, frame)| {
            let payload: Vec<u8> = frame.iter().map(|&x| ulaw_encode(x)).collect();
            rtp(first_seq + i as u16, i as u32 * 160, &payload)
        })
        .collect()
}

fn tones(keys: &str, rate: u32) -> Vec<i16> {
    let mut generator = DtmfGenerator::new(
        rate,
        DtmfToneConfig {
            on_ms: 80,
            off_ms: 80,
            ..DtmfToneConfig::default()
        },
    )
    .unwrap();
    let mut pcm = vec![0i16; 1600];
    for key in keys.chars() {
        generator.start(DtmfDigit::from_char(key).unwrap());
        let mut frame = vec![0i16; 160];
        while !generator.is_idle() {
            generator.fill(&mut frame);
            pcm.extend_from_slice(&frame);
        }
    }
    pcm.extend(std::iter::repeat_n(0, 1600));
    pcm
}

/// Feeds audio packets to the session in real time and returns the
/// digits it reported.
fn listen_to(s: &mut MediaSession, pcm: &[i16], now: &mut Instant) -> String {
    let from = CALLER.parse().unwrap();
    let mut heard = String::new();
    for packet in audio_packets(pcm, 1) {
        s.handle_rtp(*now, from, &packet);
        let until = *now + Duration::from_millis(20);
        run(s, now, until);
        heard += &digits_of(s);
    }
    heard
}

#[test]
fn inband_tones_are_heard_only_when_listening_and_without_telephone_events() {
    let pcm = tones("4*7D", 8000);
    let mut now = Instant::now();
    let mut deaf = session_with(None, now);
    assert_eq!(listen_to(&mut deaf, &pcm, &mut now), "", "not listening");

    let mut s = session_with(None, now);
    s.listen_for_digits(true);
    assert_eq!(listen_to(&mut s, &pcm, &mut now), "4*7D");
    assert_eq!(s.stats.snapshot().digits_inband, 4);

    // With telephone-event negotiated, tones in the audio are not keys:
    // the phone sends its keys as events.
    let mut events = session_with(Some(101), now);
    events.listen_for_digits(true);
    assert_eq!(listen_to(&mut events, &pcm, &mut now), "");
}

#[test]
fn sent_digits_go_out_as_telephone_events_with_marker_durations_and_three_ends() {
    let mut now = Instant::now();
    let start = now;
    let mut s = session_with(Some(101), now);
    s.set_source(Source::Silence);
    assert_eq!(s.send_digits("9#x").unwrap(), 2, "x is not a key");
    let out = run(&mut s, &mut now, start + Duration::from_millis(600));
    let events: Vec<&Vec<u8>> = out
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p[1] & 0x7f == 101)
        .collect();
    let mut receiver = TelephoneEventReceiver::new(ReceiverConfig::new(8000));
    let mut ends = 0;
    let mut markers = 0;
    for p in &events {
        let (marker, _, seq, ts, _) = header(p);
        markers += usize::from(marker);
        ends += usize::from(p[13] & 0x80 != 0);
        receiver.handle_packet(now, ts, seq, marker, &p[12..]);
    }
    assert_eq!(markers, 2, "one marker per key");
    assert_eq!(ends, 6, "three end packets per key");
    let mut got = Vec::new();
    while let Some(event) = receiver.poll_event() {
        got.push(event);
    }
    use crate::media::dtmf::rfc4733::DigitEvent::*;
    let keys: Vec<(char, Option<Duration>)> = got
        .iter()
        .map(|e| match *e {
            Started { digit, .. } => (digit.to_char(), None),
            Ended { digit, duration } => (digit.to_char(), Some(duration)),
        })
        .collect();
    assert_eq!(
        keys,
        [
            ('9', None),
            ('9', Some(SENT_KEY_DURATION)),
            ('#', None),
            ('#', Some(SENT_KEY_DURATION))
        ]
    );
    assert_eq!(s.stats.snapshot().digits_sent, 2);
}

fn header(p: &[u8]) -> (bool, u8, u16, u32, u32) {
    (
        p[1] & 0x80 != 0,
        p[1] & 0x7f,
        u16::from_be_bytes([p[2], p[3]]),
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
    )
}

#[test]
fn sent_digits_go_out_as_tones_without_telephone_events() {
    let mut now = Instant::now();
    let start = now;
    let mut s = session_with(None, now);
    s.set_source(Source::Silence);
    s.send_digits("307").unwrap();
    let out = run(&mut s, &mut now, start + Duration::from_millis(1000));
    let pcm: Vec<i16> = out
        .iter()
        .flat_map(|(p, _)| p[12..].iter().map(|&b| ulaw_decode(b)))
        .collect();
    let mut detector = DtmfDetector::new(8000).unwrap();
    let mut heard = String::new();
    for frame in pcm.chunks(160) {
        detector.push(frame);
        while let Some(event) = detector.poll_event() {
            if event.kind == DtmfEventKind::Begin {
                heard.push(event.digit.to_char());
            }
        }
    }
    assert_eq!(heard, "307");
    // Once the tones are out the leg is silent again (no packets).
    let later = run(&mut s, &mut now, start + Duration::from_millis(1400));
    assert!(later.is_empty());
}

#[test]
fn a_key_whose_packets_stall_midway_stays_one_key() {
    // "5" then "5": two presses must stay two, one press must stay one
    // even when the sender stalls for 200 ms in the middle of it.
    let pcm = tones("5", 8000);
    let packets = audio_packets(&pcm, 1);
    let mut now = Instant::now();
    let mut s = session_with(None, now);
    s.listen_for_digits(true);
    let from = CALLER.parse().unwrap();
    let mut heard = String::new();
    // The tone starts at packet 10 (200 ms of lead-in silence).
    for (i, packet) in packets.iter().enumerate() {
        if i == 12 {
            // The sender stalls; its packets then arrive late, in order.
            let until = now + Duration::from_millis(200);
            run(&mut s, &mut now, until);
            heard += &digits_of(&mut s);
        }
        s.handle_rtp(now, from, packet);
        let until = now + Duration::from_millis(20);
        run(&mut s, &mut now, until);
        heard += &digits_of(&mut s);
    }
    assert_eq!(heard, "5");

    let mut again = session_with(None, now);
    again.listen_for_digits(true);
    assert_eq!(listen_to(&mut again, &tones("55", 8000), &mut now), "55");
}

#[test]
fn time_the_sender_skipped_between_two_presses_separates_them() {
    // "55" from a phone that sends nothing while silent (DTX): the pause
    // of 280 ms between the presses exists only as a jump of the RTP
    // timestamps.
    let pcm = [tones("5", 8000), tones("5", 8000)].concat();
    let mut now = Instant::now();
    let mut s = session_with(None, now);
    s.listen_for_digits(true);
    let from = CALLER.parse().unwrap();
    let mut heard = String::new();
    for (packet, frame) in audio_packets(&pcm, 1).iter().zip(pcm.chunks(160)) {
        if frame.iter().any(|&x| x != 0) {
            s.handle_rtp(now, from, packet);
        }
        let until = now + Duration::from_millis(20);
        run(&mut s, &mut now, until);
        heard += &digits_of(&mut s);
    }
    assert_eq!(heard, "55");
}

#[test]
fn listening_starting_in_the_middle_of_a_press_keeps_it_one_key() {
    let now = Instant::now();
    let mut s = session_with(Some(101), now);
    let from = CALLER.parse().unwrap();
    // The first packet of a "9" arrives before the application asks for
    // keys (it was answered a moment ago), the rest after.
    s.handle_rtp(now, from, &event_packet(1, 800, true, 9, false, 160));
    s.listen_for_digits(true);
    for (i, duration) in [320u16, 480, 640].into_iter().enumerate() {
        s.handle_rtp(
            now,
            from,
            &event_packet(2 + i as u16, 800, false, 9, false, duration),
        );
    }
    for seq in 5..8 {
        s.handle_rtp(now, from, &event_packet(seq, 800, false, 9, true, 800));
    }
    assert_eq!(digits_of(&mut s), "9");
}
