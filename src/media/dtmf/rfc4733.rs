//! DTMF as RTP telephone-events (RFC 4733): the 4-octet event payload, and
//! sans-IO receive ([`receiver`]) and send ([`sender`]) state machines.
//!
//! `crate::media::bridge::events` reads the same payload for its relay
//! (first block only, no checks beyond length); this module is the full
//! codec. The bridge keeps its own copy for now; it can move to
//! [`EventPayload`] in a later change.

mod receiver;
mod sender;

#[cfg(test)]
mod tests;

pub use receiver::{
    DigitEvent, ReceiverConfig, ReceiverStats, TelephoneEventReceiver, DEFAULT_END_TIMEOUT,
};
pub use sender::{EventPacket, SendError, SenderConfig, TelephoneEventSender, QUEUE_CAPACITY};

/// Size of one event payload (RFC 4733 §2.3).
pub const PAYLOAD_LEN: usize = 4;

/// Largest volume: the field is 6 bits, 0 to -63 dBm0 (RFC 4733 §2.3.4).
pub const MAX_VOLUME: u8 = 63;

/// Longest duration one packet can state; longer events are sent in
/// segments (RFC 4733 §2.5.1.3).
pub const MAX_SEGMENT: u16 = u16::MAX;

/// One telephone-event payload (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// Event code (RFC 4733 §3.2: 0-9, 10 `*`, 11 `#`, 12-15 A-D).
    pub event: u8,
    /// E bit: the event has ended (RFC 4733 §2.3.2).
    pub end: bool,
    /// R bit: reserved, sent as zero, ignored on receipt (RFC 4733 §2.3.3).
    pub reserved: bool,
    /// Power level as a positive number of -dBm0, 0..=63 (RFC 4733 §2.3.4).
    pub volume: u8,
    /// Duration so far in RTP timestamp units, from the event's (or
    /// segment's) timestamp (RFC 4733 §2.3.5).
    pub duration: u16,
}

/// Why a payload cannot be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("telephone-event payload of {0} octets, need {PAYLOAD_LEN}")]
    TooShort(usize),
    #[error("volume {0} is outside 0..=63")]
    VolumeOutOfRange(u8),
}

impl EventPayload {
    /// Reads the first event block. Longer payloads carry further blocks
    /// (RFC 4733 §2.5.1.5); only the first is read.
    pub fn decode(payload: &[u8]) -> Result<Self, PayloadError> {
        let Some(&[event, flags, hi, lo]) = payload.first_chunk::<PAYLOAD_LEN>() else {
            return Err(PayloadError::TooShort(payload.len()));
        };
        Ok(EventPayload {
            event,
            end: flags & 0x80 != 0,
            reserved: flags & 0x40 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([hi, lo]),
        })
    }

    /// Writes the block. The R bit is always sent as zero (RFC 4733 §2.3.3).
    pub fn encode(&self) -> Result<[u8; PAYLOAD_LEN], PayloadError> {
        if self.volume > MAX_VOLUME {
            return Err(PayloadError::VolumeOutOfRange(self.volume));
        }
        let flags = if self.end { 0x80 } else { 0 } | self.volume;
        let [hi, lo] = self.duration.to_be_bytes();
        Ok([self.event, flags, hi, lo])
    }
}
