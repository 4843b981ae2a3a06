//! telephone-event (RFC 4733) forwarding between legs whose outgoing
//! streams run on different timelines (and possibly different clocks).
//!
//! An event keeps one RTP timestamp for all its packets: its start
//! (RFC 4733 §2.3.5, the duration field grows from there). The retimer gives
//! each new incoming event the outgoing stream's current timestamp, keeps it
//! for the event's continuation and end packets (retransmitted ends
//! included), and scales the duration field by the ratio of the clocks.
//! A duration past 16 bits starts a new segment whose timestamp is the end
//! of the previous one (RFC 4733 §2.5.1.3, long-duration events).

/// Size of one event block (RFC 4733 §2.3).
pub const EVENT_BLOCK: usize = 4;

/// An incoming event's identity: its SSRC and its start timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Current {
    ssrc: u32,
    in_timestamp: u32,
    out_timestamp: u32,
    /// Scaled duration already covered by earlier segments.
    segment_base: u64,
}

/// Header and duration for the forwarded event packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetimedEvent {
    pub timestamp: u32,
    pub duration: u16,
    /// First packet of an event or of a new segment (RFC 4733 §2.5.1.3:
    /// the marker bit starts an event).
    pub marker: bool,
    /// The E bit was set.
    pub end: bool,
}

/// The parts of an event block the bridge reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBlock {
    pub event: u8,
    pub end: bool,
    pub duration: u16,
}

/// Reads the first event block of a payload; None when too short.
pub fn parse_block(payload: &[u8]) -> Option<EventBlock> {
    let block = payload.get(..EVENT_BLOCK)?;
    Some(EventBlock {
        event: block[0],
        end: block[1] & 0x80 != 0,
        duration: u16::from_be_bytes([block[2], block[3]]),
    })
}

/// Maps incoming events onto one outgoing stream.
#[derive(Debug, Default)]
pub struct EventRetimer {
    current: Option<Current>,
}

impl EventRetimer {
    /// Retimes one event packet.
    ///
    /// `out_now` is the outgoing stream's timestamp at this moment (the next
    /// audio frame's), already on the outgoing clock.
    pub fn retime(
        &mut self,
        ssrc: u32,
        in_timestamp: u32,
        block: EventBlock,
        in_clock: u32,
        out_clock: u32,
        out_now: u32,
    ) -> RetimedEvent {
        let mut marker = false;
        let current = match self.current {
            Some(c) if c.ssrc == ssrc && c.in_timestamp == in_timestamp => c,
            _ => {
                marker = true;
                Current {
                    ssrc,
                    in_timestamp,
                    out_timestamp: out_now,
                    segment_base: 0,
                }
            }
        };
        let mut current = current;
        let scaled = u64::from(block.duration) * u64::from(out_clock) / u64::from(in_clock.max(1));
        while scaled - current.segment_base.min(scaled) > u64::from(u16::MAX) {
            current.segment_base += u64::from(u16::MAX);
            current.out_timestamp = current.out_timestamp.wrapping_add(u32::from(u16::MAX));
            marker = true;
        }
        self.current = Some(current);
        RetimedEvent {
            timestamp: current.out_timestamp,
            duration: (scaled.saturating_sub(current.segment_base)) as u16,
            marker,
            end: block.end,
        }
    }

    /// Forgets the current event (the bridge was rebuilt).
    pub fn reset(&mut self) {
        self.current = None;
    }
}

/// Writes `duration` into the first event block of `payload`.
pub fn set_duration(payload: &mut [u8], duration: u16) {
    if let Some(field) = payload.get_mut(2..EVENT_BLOCK) {
        field.copy_from_slice(&duration.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(duration: u16, end: bool) -> EventBlock {
        EventBlock {
            event: 5,
            end,
            duration,
        }
    }

    #[test]
    fn parses_the_first_block() {
        assert_eq!(
            parse_block(&[9, 0x80 | 10, 0x03, 0x20, 7, 7]),
            Some(EventBlock {
                event: 9,
                end: true,
                duration: 800
            })
        );
        assert_eq!(parse_block(&[9, 0, 3]), None);
        let mut payload = [9, 10, 0, 0];
        set_duration(&mut payload, 0x1234);
        assert_eq!(payload, [9, 10, 0x12, 0x34]);
    }

    #[test]
    fn an_event_from_8k_keeps_one_start_on_the_48k_timeline() {
        let mut r = EventRetimer::default();
        // Start, continuation, end and two retransmitted ends: all share
        // the incoming start timestamp 16_000.
        let first = r.retime(7, 16_000, block(160, false), 8000, 48_000, 900_000);
        assert_eq!(
            first,
            RetimedEvent {
                timestamp: 900_000,
                duration: 960,
                marker: true,
                end: false
            }
        );
        // The outgoing timeline moved on; the event's start does not.
        let mid = r.retime(7, 16_000, block(800, false), 8000, 48_000, 904_800);
        assert_eq!(
            (mid.timestamp, mid.duration, mid.marker),
            (900_000, 4_800, false)
        );
        for _ in 0..3 {
            let end = r.retime(7, 16_000, block(1_280, true), 8000, 48_000, 910_000);
            assert_eq!(
                (end.timestamp, end.duration, end.end),
                (900_000, 7_680, true)
            );
            assert!(!end.marker);
        }
        // The next digit is a new event at the then-current position.
        let next = r.retime(7, 24_000, block(160, false), 8000, 48_000, 950_000);
        assert_eq!(
            (next.timestamp, next.duration, next.marker),
            (950_000, 960, true)
        );
    }

    #[test]
    fn equal_clocks_keep_the_duration_and_48k_to_8k_divides() {
        let mut r = EventRetimer::default();
        let e = r.retime(1, 5, block(400, false), 8000, 8000, 42);
        assert_eq!((e.timestamp, e.duration), (42, 400));
        let mut r = EventRetimer::default();
        let e = r.retime(1, 5, block(4_800, false), 48_000, 8000, 42);
        assert_eq!(e.duration, 800);
    }

    #[test]
    fn a_new_ssrc_is_a_new_event() {
        let mut r = EventRetimer::default();
        r.retime(1, 100, block(160, false), 8000, 8000, 1_000);
        let e = r.retime(2, 100, block(320, false), 8000, 8000, 2_000);
        assert!(e.marker);
        assert_eq!(e.timestamp, 2_000);
    }

    #[test]
    fn a_duration_past_16_bits_after_scaling_starts_a_new_segment() {
        let mut r = EventRetimer::default();
        // 12_000 at 8 kHz (1.5 s) is 72_000 at 48 kHz: one full segment
        // of 65_535 then 6_465 into the next, which starts where it ended.
        let a = r.retime(3, 0, block(10_000, false), 8000, 48_000, 1_000);
        assert_eq!((a.timestamp, a.duration), (1_000, 60_000));
        let b = r.retime(3, 0, block(12_000, false), 8000, 48_000, 1_000);
        assert_eq!((b.timestamp, b.duration), (1_000 + 65_535, 6_465));
        assert!(b.marker);
        let c = r.retime(3, 0, block(12_160, true), 8000, 48_000, 1_000);
        assert_eq!((c.timestamp, c.duration), (1_000 + 65_535, 7_425));
        assert!(!c.marker);
    }
}
