//! Sends key presses as telephone-event packets, sans-IO: one call per
//! ptime tick, at most one packet out.
//!
//! An event's packets all carry its start timestamp (RFC 4733 §2.5.1.2):
//! the first with the marker bit, then one per ptime with the duration so
//! far, then the end packet three times with the final duration
//! (RFC 4733 §2.5.1.4). Digits queue up and are separated by a gap.

use std::time::Duration;

use super::{EventPayload, PayloadError, MAX_SEGMENT, MAX_VOLUME, PAYLOAD_LEN};
use crate::media::dtmf::DtmfDigit;

/// Digits that can wait to be sent.
pub const QUEUE_CAPACITY: usize = 32;

/// The end packet is sent this many times in all (RFC 4733 §2.5.1.4).
const END_PACKETS: u8 = 3;

/// How the sender paces its packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// The telephone-event clock rate (that of the audio codec).
    pub clock_rate: u32,
    /// Time between two calls of `poll_packet`.
    pub ptime: Duration,
    /// Silence between one key going up and the next going down.
    pub inter_digit_gap: Duration,
}

impl SenderConfig {
    /// 20 ms packets and an 80 ms gap: well above the 40 ms pause that
    /// tone receivers are built to resolve.
    pub fn new(clock_rate: u32) -> Self {
        SenderConfig {
            clock_rate,
            ptime: Duration::from_millis(20),
            inter_digit_gap: Duration::from_millis(80),
        }
    }
}

/// Why a digit cannot be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("a key press must last at least one RTP clock tick")]
    ZeroDuration,
    #[error("{QUEUE_CAPACITY} digits are already waiting")]
    QueueFull,
}

/// One packet to send on the telephone-event payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    pub payload: [u8; PAYLOAD_LEN],
    pub marker: bool,
    pub timestamp: u32,
    /// The E bit is set (the first end packet or a retransmission).
    pub end: bool,
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    digit: DtmfDigit,
    units: u64,
    volume: u8,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    key: Queued,
    /// Timestamp of the current segment (the event's until it wraps).
    segment: u32,
    /// Units in earlier segments.
    base: u64,
    /// Units covered by the packets so far.
    elapsed: u64,
    first: bool,
    ends_sent: u8,
    /// Ticks left, after the first end packet, before the next digit.
    gap_left: u32,
}

pub struct TelephoneEventSender {
    /// Timestamp units per ptime.
    step: u64,
    clock_rate: u32,
    gap_ticks: u32,
    queue: [Option<Queued>; QUEUE_CAPACITY],
    head: usize,
    len: usize,
    active: Option<Active>,
}

impl TelephoneEventSender {
    /// A zero clock rate or ptime is taken as the smallest usable one.
    pub fn new(config: SenderConfig) -> Self {
        let clock_rate = config.clock_rate.max(1);
        let ptime_ns = config.ptime.as_nanos().max(1);
        let step = (u128::from(clock_rate) * config.ptime.as_nanos() / 1_000_000_000).max(1);
        let gap_ticks = config.inter_digit_gap.as_nanos().div_ceil(ptime_ns);
        TelephoneEventSender {
            step: u64::try_from(step).unwrap_or(u64::MAX),
            clock_rate,
            gap_ticks: u32::try_from(gap_ticks).unwrap_or(u32::MAX),
            queue: [None; QUEUE_CAPACITY],
            head: 0,
            len: 0,
            active: None,
        }
    }

    /// Queues a key press of `duration` at `volume` (-dBm0, 0..=63).
    pub fn start(
        &mut self,
        digit: DtmfDigit,
        duration: Duration,
        volume: u8,
    ) -> Result<(), SendError> {
        if volume > MAX_VOLUME {
            return Err(PayloadError::VolumeOutOfRange(volume).into());
        }
        let units = u128::from(self.clock_rate) * duration.as_nanos() / 1_000_000_000;
        let units = u64::try_from(units).unwrap_or(u64::MAX);
        if units == 0 {
            return Err(SendError::ZeroDuration);
        }
        if self.len == QUEUE_CAPACITY {
            return Err(SendError::QueueFull);
        }
        self.queue[(self.head + self.len) % QUEUE_CAPACITY] = Some(Queued {
            digit,
            units,
            volume,
        });
        self.len += 1;
        Ok(())
    }

    /// Nothing is being sent or waiting.
    pub fn is_idle(&self) -> bool {
        self.active.is_none() && self.len == 0
    }

    /// Digits waiting behind the one being sent.
    pub fn queued(&self) -> usize {
        self.len
    }

    /// Called once per ptime tick with the outgoing stream's timestamp for
    /// this tick; a new event takes it as its own.
    pub fn poll_packet(&mut self, stream_timestamp: u32) -> Option<EventPacket> {
        if let Some(mut active) = self.active {
            if active.ends_sent == 0 {
                let packet = self.running(&mut active);
                self.active = Some(active);
                return Some(packet);
            }
            if active.gap_left > 0 {
                let packet = self.after_end(&mut active);
                self.active = Some(active);
                return packet;
            }
            self.active = None;
        }
        let key = self.pop()?;
        let mut active = Active {
            key,
            segment: stream_timestamp,
            base: 0,
            elapsed: 0,
            first: true,
            ends_sent: 0,
            gap_left: 0,
        };
        let packet = self.running(&mut active);
        self.active = Some(active);
        Some(packet)
    }

    /// A tick while the key is down.
    fn running(&self, active: &mut Active) -> EventPacket {
        let marker = std::mem::take(&mut active.first);
        let target = active
            .elapsed
            .saturating_add(self.step)
            .min(active.key.units);
        if target - active.base > u64::from(MAX_SEGMENT) {
            // RFC 4733 §2.5.1.3: the segment ends at the largest duration
            // and the next one starts where it ended, same event, no E bit.
            let packet = self.packet(active, MAX_SEGMENT, marker, false);
            active.base += u64::from(MAX_SEGMENT);
            active.segment = active.segment.wrapping_add(u32::from(MAX_SEGMENT));
            active.elapsed = target;
            return packet;
        }
        active.elapsed = target;
        // Fits: the check above bounds it by MAX_SEGMENT.
        let duration = (target - active.base) as u16;
        let end = target == active.key.units;
        if end {
            active.ends_sent = 1;
            active.gap_left = self.gap_ticks.max(u32::from(END_PACKETS - 1));
        }
        self.packet(active, duration, marker, end)
    }

    /// A tick after the first end packet: the retransmissions, then the gap.
    fn after_end(&self, active: &mut Active) -> Option<EventPacket> {
        active.gap_left = active.gap_left.saturating_sub(1);
        if active.ends_sent >= END_PACKETS {
            return None;
        }
        active.ends_sent += 1;
        let duration = (active.elapsed - active.base) as u16;
        Some(self.packet(active, duration, false, true))
    }

    fn packet(&self, active: &Active, duration: u16, marker: bool, end: bool) -> EventPacket {
        let block = EventPayload {
            event: active.key.digit.event_code(),
            end,
            reserved: false,
            volume: active.key.volume,
            duration,
        };
        EventPacket {
            // The volume was checked when the digit was queued.
            payload: block.encode().unwrap_or([0; PAYLOAD_LEN]),
            marker,
            timestamp: active.segment,
            end,
        }
    }

    fn pop(&mut self) -> Option<Queued> {
        if self.len == 0 {
            return None;
        }
        let key = self.queue[self.head].take();
        self.head = (self.head + 1) % QUEUE_CAPACITY;
        self.len -= 1;
        key
    }
}
