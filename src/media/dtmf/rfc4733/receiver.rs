//! Turns telephone-event packets into key presses, sans-IO: packets and
//! time in, [`DigitEvent`]s out.
//!
//! An event is identified by its RTP timestamp (RFC 4733 §2.5.1): every
//! packet of one key press carries the press's start. One `Started` is
//! emitted for the first packet seen of it, whichever that is (the marked
//! start may be lost), and one `Ended` for the first end packet; the
//! retransmitted ends (RFC 4733 §2.5.1.4) and late or duplicated packets
//! change nothing. When every end packet is lost, the next event or a
//! silence of `end_timeout` ends the press (RFC 4733 §2.5.2.2).

use std::time::{Duration, Instant};

use super::{EventPayload, MAX_SEGMENT};
use crate::media::dtmf::DtmfDigit;

/// No packet for this long ends an event whose end packets were lost.
/// Senders update once per packet interval, typically 20 to 50 ms
/// (RFC 4733 §2.5.1.2), so 200 ms is several lost updates in a row, yet
/// short enough for an IVR not to feel slow.
pub const DEFAULT_END_TIMEOUT: Duration = Duration::from_millis(200);

/// A new segment of a long event starts where the previous one reached
/// `MAX_SEGMENT` (RFC 4733 §2.5.1.3). Some senders cut a little earlier
/// (at a whole number of packets), so a timestamp this close below counts.
const SEGMENT_SLACK: u32 = 0x2000;

/// Events remembered after they end, to recognise their late packets.
const RECENT: usize = 4;

/// Room for the events of one call: at most three per packet.
const QUEUE: usize = 8;

/// A packet this far behind the current event, in seconds of RTP clock,
/// is a jump of the sender's timeline rather than a late packet.
const STALE_WINDOW_S: u32 = 10;

/// What a key press did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitEvent {
    /// A key went down; `timestamp` is the event's RTP timestamp.
    Started { digit: DtmfDigit, timestamp: u32 },
    /// The key went up after `duration` (from the end packet, or the
    /// last duration heard when the end packets were lost).
    Ended {
        digit: DtmfDigit,
        duration: Duration,
    },
}

/// How the receiver reads the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The telephone-event clock rate (that of the audio codec).
    pub clock_rate: u32,
    pub end_timeout: Duration,
}

impl ReceiverConfig {
    pub fn new(clock_rate: u32) -> Self {
        ReceiverConfig {
            clock_rate,
            end_timeout: DEFAULT_END_TIMEOUT,
        }
    }
}

/// Counters of what arrived and what was made of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Packets that moved an event on (start, continuation, first end).
    pub accepted: u64,
    /// Payloads shorter than one event block.
    pub too_short: u64,
    /// Event codes that are not DTMF digits (RFC 4733 §3.2: 16 and up).
    pub not_a_digit: u64,
    /// Packets stating a zero duration, which carry nothing to act on.
    pub zero_duration: u64,
    /// Packets with the reserved bit set (still used, RFC 4733 §2.3.3).
    pub reserved_bit: u64,
    /// A repeat of the sequence number just seen.
    pub duplicates: u64,
    /// End packets after the first of an event (RFC 4733 §2.5.1.4).
    pub redundant_ends: u64,
    /// Packets of an event already ended, or of an earlier segment.
    pub late: u64,
    /// Packets older than the current event and of no event known.
    pub stale: u64,
    /// Packets with the current event's timestamp and another code.
    pub conflicting: u64,
    /// Events first heard through a packet without the marker bit.
    pub started_without_marker: u64,
    /// New segments of long events (RFC 4733 §2.5.2.3).
    pub segments: u64,
    pub ended_by_timeout: u64,
    pub ended_by_next_event: u64,
    /// Events not queued because nobody polled.
    pub dropped_events: u64,
}

/// The event being heard, or the last one.
#[derive(Debug, Clone, Copy)]
struct Current {
    digit: DtmfDigit,
    /// The event's RTP timestamp.
    start: u32,
    /// The current segment's timestamp (`start` until the first wrap of
    /// the duration field).
    segment: u32,
    /// Units covered by earlier segments.
    base: u64,
    /// Largest duration heard in the current segment.
    heard: u16,
    last_sequence: u16,
    last_arrival: Instant,
    ended: bool,
    end_heard: bool,
}

impl Current {
    /// Whether `timestamp` is one of this event's segments.
    fn holds(&self, timestamp: u32) -> bool {
        timestamp.wrapping_sub(self.start) <= self.segment.wrapping_sub(self.start)
    }

    /// Whether `timestamp` starts the next segment (RFC 4733 §2.5.2.3).
    fn next_segment(&self, timestamp: u32, digit: DtmfDigit) -> bool {
        let delta = timestamp.wrapping_sub(self.segment);
        !self.ended
            && digit == self.digit
            && delta >= u32::from(self.heard)
            && delta <= u32::from(MAX_SEGMENT)
            && delta > u32::from(MAX_SEGMENT) - SEGMENT_SLACK
    }

    fn total(&self, duration: u16) -> u64 {
        self.base + u64::from(duration)
    }
}

/// Start and last segment of an ended event.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    segment: u32,
}

pub struct TelephoneEventReceiver {
    config: ReceiverConfig,
    current: Option<Current>,
    recent: [Option<Span>; RECENT],
    recent_next: usize,
    queue: [Option<DigitEvent>; QUEUE],
    queue_head: usize,
    queue_len: usize,
    stats: ReceiverStats,
}

impl TelephoneEventReceiver {
    pub fn new(config: ReceiverConfig) -> Self {
        TelephoneEventReceiver {
            config,
            current: None,
            recent: [None; RECENT],
            recent_next: 0,
            queue: [None; QUEUE],
            queue_head: 0,
            queue_len: 0,
            stats: ReceiverStats::default(),
        }
    }

    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// One telephone-event packet: its RTP header fields and payload.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        timestamp: u32,
        sequence: u16,
        marker: bool,
        payload: &[u8],
    ) {
        // A silence that already ended the event must not be undone by
        // this packet being looked at first.
        self.handle_timeout(now);
        let Ok(block) = EventPayload::decode(payload) else {
            self.stats.too_short += 1;
            return;
        };
        let Some(digit) = DtmfDigit::from_event_code(block.event) else {
            self.stats.not_a_digit += 1;
            return;
        };
        if block.duration == 0 {
            self.stats.zero_duration += 1;
            return;
        }
        if block.reserved {
            self.stats.reserved_bit += 1;
        }
        if let Some(mut current) = self.current {
            if current.holds(timestamp) {
                self.same_event(&mut current, now, timestamp, sequence, digit, block);
                self.current = Some(current);
                return;
            }
            if current.next_segment(timestamp, digit) {
                self.stats.segments += 1;
                current.base += u64::from(timestamp.wrapping_sub(current.segment));
                current.segment = timestamp;
                current.heard = 0;
                self.same_event(&mut current, now, timestamp, sequence, digit, block);
                self.current = Some(current);
                return;
            }
            if self.is_recent(timestamp) {
                self.stats.late += 1;
                return;
            }
            let behind = current.start.wrapping_sub(timestamp);
            let window = self.config.clock_rate.saturating_mul(STALE_WINDOW_S);
            if behind != 0 && behind < window.min(i32::MAX as u32) {
                self.stats.stale += 1;
                return;
            }
            if !current.ended {
                self.stats.ended_by_next_event += 1;
                self.end_as_heard(&mut current);
            }
            self.remember(current);
        }
        if !marker {
            self.stats.started_without_marker += 1;
        }
        self.push(DigitEvent::Started { digit, timestamp });
        let mut current = Current {
            digit,
            start: timestamp,
            segment: timestamp,
            base: 0,
            heard: 0,
            // Differs from `sequence`, so this packet is not a duplicate.
            last_sequence: sequence.wrapping_sub(1),
            last_arrival: now,
            ended: false,
            end_heard: false,
        };
        self.same_event(&mut current, now, timestamp, sequence, digit, block);
        self.current = Some(current);
    }

    /// A packet of the current event (`holds` it or starts its segment).
    fn same_event(
        &mut self,
        current: &mut Current,
        now: Instant,
        timestamp: u32,
        sequence: u16,
        digit: DtmfDigit,
        block: EventPayload,
    ) {
        if timestamp != current.segment {
            self.stats.late += 1;
            return;
        }
        if digit != current.digit {
            self.stats.conflicting += 1;
            return;
        }
        if current.ended {
            if block.end && current.end_heard {
                self.stats.redundant_ends += 1;
            } else {
                self.stats.late += 1;
            }
            return;
        }
        if sequence == current.last_sequence {
            self.stats.duplicates += 1;
            return;
        }
        self.stats.accepted += 1;
        current.last_sequence = sequence;
        current.last_arrival = now;
        current.heard = current.heard.max(block.duration);
        if block.end {
            current.end_heard = true;
            // The first end packet states the final duration.
            self.end(current, block.duration);
        }
    }

    fn end(&mut self, current: &mut Current, duration: u16) {
        current.ended = true;
        let units = current.total(duration);
        let nanos = units.saturating_mul(1_000_000_000) / u64::from(self.config.clock_rate.max(1));
        self.push(DigitEvent::Ended {
            digit: current.digit,
            duration: Duration::from_nanos(nanos),
        });
    }

    /// Ends with the last duration heard: the end packets were lost.
    fn end_as_heard(&mut self, current: &mut Current) {
        let heard = current.heard;
        self.end(current, heard);
    }

    fn remember(&mut self, current: Current) {
        self.recent[self.recent_next] = Some(Span {
            start: current.start,
            segment: current.segment,
        });
        self.recent_next = (self.recent_next + 1) % RECENT;
    }

    fn is_recent(&self, timestamp: u32) -> bool {
        self.recent
            .iter()
            .flatten()
            .any(|span| timestamp.wrapping_sub(span.start) <= span.segment.wrapping_sub(span.start))
    }

    /// Ends an event whose end packets were all lost.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(mut current) = self.current {
            if !current.ended && now >= current.last_arrival + self.config.end_timeout {
                self.stats.ended_by_timeout += 1;
                self.end_as_heard(&mut current);
                self.current = Some(current);
            }
        }
    }

    /// When [`Self::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .filter(|c| !c.ended)
            .map(|c| c.last_arrival + self.config.end_timeout)
    }

    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        if self.queue_len == 0 {
            return None;
        }
        let event = self.queue[self.queue_head].take();
        self.queue_head = (self.queue_head + 1) % QUEUE;
        self.queue_len -= 1;
        event
    }

    /// The stream restarted (new SSRC, re-INVITE): a key still down is
    /// released with what was heard of it, and the history is dropped.
    pub fn reset(&mut self) {
        if let Some(mut current) = self.current.take() {
            if !current.ended {
                self.end_as_heard(&mut current);
            }
        }
        self.recent = [None; RECENT];
    }

    fn push(&mut self, event: DigitEvent) {
        if self.queue_len == QUEUE {
            self.stats.dropped_events += 1;
            return;
        }
        self.queue[(self.queue_head + self.queue_len) % QUEUE] = Some(event);
        self.queue_len += 1;
    }
}
