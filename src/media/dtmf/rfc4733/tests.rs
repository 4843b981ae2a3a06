//! Payload codec tests, and the trace builders and drivers the receive and send tests share.

mod receive;
mod send;

use std::time::{Duration, Instant};

use super::*;
use crate::media::dtmf::DtmfDigit;

pub(super) fn digit(c: char) -> DtmfDigit {
    DtmfDigit::from_char(c).expect("a DTMF character")
}

/// One packet of a trace, `at_ms` after the trace's start.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packet {
    pub at_ms: u64,
    pub timestamp: u32,
    pub sequence: u16,
    pub marker: bool,
    pub payload: [u8; PAYLOAD_LEN],
}

pub(super) fn block(c: char, end: bool, duration: u16) -> [u8; PAYLOAD_LEN] {
    let payload = EventPayload {
        event: digit(c).event_code(),
        end,
        reserved: false,
        volume: 10,
        duration,
    };
    payload.encode().expect("volume in range")
}

/// Feeds a trace the way the session would: due timeouts first, then the
/// packet; a second after the last packet, the final timeout. Returns
/// every event, in order.
pub(super) fn run(rx: &mut TelephoneEventReceiver, trace: &[Packet]) -> Vec<DigitEvent> {
    let origin = Instant::now();
    let mut events = Vec::new();
    let mut drain = |rx: &mut TelephoneEventReceiver| {
        while let Some(e) = rx.poll_event() {
            events.push(e);
        }
    };
    let mut last = 0;
    for p in trace {
        let at = origin + Duration::from_millis(p.at_ms);
        while let Some(due) = rx.poll_timeout().filter(|due| *due <= at) {
            rx.handle_timeout(due);
            drain(rx);
        }
        rx.handle_packet(at, p.timestamp, p.sequence, p.marker, &p.payload);
        drain(rx);
        last = last.max(p.at_ms);
    }
    rx.handle_timeout(origin + Duration::from_millis(last + 1000));
    drain(rx);
    events
}

pub(super) fn started(c: char, timestamp: u32) -> DigitEvent {
    DigitEvent::Started {
        digit: digit(c),
        timestamp,
    }
}

pub(super) fn ended(c: char, ms: u64) -> DigitEvent {
    DigitEvent::Ended {
        digit: digit(c),
        duration: Duration::from_millis(ms),
    }
}

#[test]
fn payload_decodes_every_field() {
    let p = EventPayload::decode(&[11, 0x80 | 0x40 | 63, 0x03, 0x20]).unwrap();
    assert_eq!(
        p,
        EventPayload {
            event: 11,
            end: true,
            reserved: true,
            volume: 63,
            duration: 800
        }
    );
    // Further blocks (RFC 4733 §2.5.1.5) are left alone.
    let p = EventPayload::decode(&[5, 7, 0, 160, 1, 2, 3, 4]).unwrap();
    assert_eq!((p.event, p.end, p.volume, p.duration), (5, false, 7, 160));
}

#[test]
fn payload_errors_are_typed() {
    for len in 0..PAYLOAD_LEN {
        assert_eq!(
            EventPayload::decode(&[1, 2, 3][..len.min(3)]),
            Err(PayloadError::TooShort(len.min(3)))
        );
    }
    let p = EventPayload {
        event: 1,
        end: false,
        reserved: false,
        volume: 64,
        duration: 160,
    };
    assert_eq!(p.encode(), Err(PayloadError::VolumeOutOfRange(64)));
}

#[test]
fn payload_encodes_without_the_reserved_bit() {
    let p = EventPayload {
        event: 10,
        end: true,
        reserved: true,
        volume: 12,
        duration: 0x1234,
    };
    assert_eq!(p.encode(), Ok([10, 0x80 | 12, 0x12, 0x34]));
    let back = EventPayload::decode(&p.encode().unwrap()).unwrap();
    assert_eq!(
        back,
        EventPayload {
            reserved: false,
            ..p
        }
    );
}
