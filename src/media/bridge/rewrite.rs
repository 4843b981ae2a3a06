//! Header rewrite for pass-through forwarding (RFC 7667 §3.2.1.2: a media
//! translator that changes no payload still owns the outgoing stream).
//!
//! Packets from one leg go out on the other under that leg's SSRC, with
//! sequence numbers and timestamps shifted by offsets fixed at the first
//! packet: gaps (loss, silence suppression) stay visible to the far end,
//! reordering is kept. The offsets are re-based when the incoming stream
//! changes SSRC or jumps, so the outgoing stream stays one continuous RTP
//! stream (RFC 3550 §5.1: sequence +1 per packet, timestamps monotonic) and
//! the first packet after a re-base carries the marker bit.

use crate::media::rtp_header::RtpHeader;

/// A sequence jump forward beyond this is a restart (RFC 3550 A.1 MAX_DROPOUT).
pub const MAX_DROPOUT: u16 = 3000;
/// A packet this far behind the newest is a restart too (RFC 3550 A.1 MAX_MISORDER).
pub const MAX_MISORDER: u16 = 100;
/// A timestamp jump beyond this many seconds of clock is a restart even
/// when the sequence numbers look continuous.
pub const MAX_TIMESTAMP_JUMP_S: u32 = 60;

/// Header fields for the forwarded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    /// Packets missing between the previous newest and this one (RFC 3550
    /// §6.4.1 loss as seen on the way through; reordered packets arriving
    /// later are not subtracted).
    pub gap: u16,
}

/// Where the outgoing stream is when a re-base happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingPosition {
    /// The sequence number the next packet of the outgoing stream would carry.
    pub next_sequence: u16,
    /// The outgoing stream's timestamp for "now" (the sending leg's clock).
    pub timestamp: u32,
    /// Timestamp units of one of the sending leg's frames.
    pub frame_ticks: u32,
    /// RTP clock of the stream, Hz.
    pub clock_rate: u32,
}

#[derive(Debug, Clone, Copy)]
struct Base {
    ssrc: u32,
    newest_sequence: u16,
    newest_timestamp: u32,
    sequence_offset: u16,
    timestamp_offset: u32,
}

/// Maps one incoming RTP stream (possibly changing SSRC) into one outgoing one.
#[derive(Debug, Default)]
pub struct HeaderRewriter {
    base: Option<Base>,
    /// Newest sequence number and timestamp sent, for continuity across re-bases.
    last_out: Option<(u16, u32)>,
}

/// True when `a` is after `b` in 16-bit serial number arithmetic (RFC 1982).
fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// True when `a` is after `b` as 32-bit RTP timestamps.
fn ts_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

impl HeaderRewriter {
    /// Rewrites the header of one incoming packet.
    pub fn rewrite(&mut self, incoming: &RtpHeader, out: OutgoingPosition) -> Rewritten {
        let mut gap = 0;
        let mut rebase = true;
        if let Some(base) = &mut self.base {
            let ahead = incoming.sequence.wrapping_sub(base.newest_sequence);
            let behind = base.newest_sequence.wrapping_sub(incoming.sequence);
            let ts_jump = incoming
                .timestamp
                .wrapping_sub(base.newest_timestamp)
                .min(base.newest_timestamp.wrapping_sub(incoming.timestamp));
            let ts_ok = ts_jump <= MAX_TIMESTAMP_JUMP_S.saturating_mul(out.clock_rate);
            if base.ssrc == incoming.ssrc && ts_ok {
                if (1..=MAX_DROPOUT).contains(&ahead) {
                    gap = ahead - 1;
                    base.newest_sequence = incoming.sequence;
                    base.newest_timestamp = incoming.timestamp;
                    rebase = false;
                } else if behind <= MAX_MISORDER {
                    // A duplicate or a late packet: it keeps its place.
                    rebase = false;
                }
            }
        }
        let marker = if rebase {
            self.rebase(incoming, out);
            true
        } else {
            incoming.marker
        };
        let Some(base) = self.base else {
            unreachable!("rebase always sets a base");
        };
        let sequence = incoming.sequence.wrapping_add(base.sequence_offset);
        let timestamp = incoming.timestamp.wrapping_add(base.timestamp_offset);
        self.last_out = Some(match self.last_out {
            Some((s, t)) if !seq_after(sequence, s) => (s, t),
            _ => (sequence, timestamp),
        });
        Rewritten {
            sequence,
            timestamp,
            marker,
            gap,
        }
    }

    fn rebase(&mut self, incoming: &RtpHeader, out: OutgoingPosition) {
        let mut timestamp = out.timestamp;
        let mut next_sequence = out.next_sequence;
        if let Some((s, t)) = self.last_out {
            // Never step back behind what the far end already has.
            if !ts_after(timestamp, t) {
                timestamp = t.wrapping_add(out.frame_ticks);
            }
            if !seq_after(next_sequence, s) {
                next_sequence = s.wrapping_add(1);
            }
        }
        self.base = Some(Base {
            ssrc: incoming.ssrc,
            newest_sequence: incoming.sequence,
            newest_timestamp: incoming.timestamp,
            sequence_offset: next_sequence.wrapping_sub(incoming.sequence),
            timestamp_offset: timestamp.wrapping_sub(incoming.timestamp),
        });
    }

    /// The next packet re-bases (e.g. the sending leg sent frames of its own
    /// in between); continuity with what was sent is kept.
    pub fn forget_base(&mut self) {
        self.base = None;
    }

    /// Newest (sequence, timestamp) sent through this rewriter.
    pub fn last_out(&self) -> Option<(u16, u32)> {
        self.last_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence,
            timestamp,
            ssrc,
        }
    }

    fn position(next_sequence: u16, timestamp: u32) -> OutgoingPosition {
        OutgoingPosition {
            next_sequence,
            timestamp,
            frame_ticks: 160,
            clock_rate: 8000,
        }
    }

    #[test]
    fn first_packet_takes_the_outgoing_position_and_the_marker() {
        let mut r = HeaderRewriter::default();
        let out = r.rewrite(&header(1, 500, 9_000), position(70, 123_456));
        assert_eq!(
            (out.sequence, out.timestamp, out.marker),
            (70, 123_456, true)
        );
        let out = r.rewrite(&header(1, 501, 9_160), position(0, 0));
        assert_eq!(
            (out.sequence, out.timestamp, out.marker),
            (71, 123_616, false)
        );
    }

    #[test]
    fn loss_gaps_and_reordering_are_preserved() {
        let mut r = HeaderRewriter::default();
        r.rewrite(&header(1, 10, 1_600), position(1000, 50_000));
        let out = r.rewrite(&header(1, 13, 2_080), position(0, 0));
        assert_eq!((out.sequence, out.timestamp, out.gap), (1003, 50_480, 2));
        // The late packet 12 keeps its slot.
        let out = r.rewrite(&header(1, 12, 1_920), position(0, 0));
        assert_eq!((out.sequence, out.timestamp, out.gap), (1002, 50_320, 0));
        assert_eq!(r.last_out(), Some((1003, 50_480)));
        // Silence suppression: consecutive sequence, timestamp jump of 2 s.
        let out = r.rewrite(&header(1, 14, 2_080 + 16_000), position(0, 0));
        assert_eq!((out.sequence, out.timestamp), (1004, 50_480 + 16_000));
    }

    #[test]
    fn sequence_and_timestamp_wrap_through() {
        let mut r = HeaderRewriter::default();
        r.rewrite(&header(1, 65_534, u32::MAX - 159), position(10, 1_000));
        let out = r.rewrite(&header(1, 65_535, u32::MAX.wrapping_add(1)), position(0, 0));
        assert_eq!((out.sequence, out.timestamp), (11, 1_160));
        let out = r.rewrite(&header(1, 0, 160), position(0, 0));
        assert_eq!(
            (out.sequence, out.timestamp, out.marker),
            (12, 1_320, false)
        );
        // And the outgoing side wraps too.
        let mut r = HeaderRewriter::default();
        r.rewrite(&header(1, 100, 0), position(65_535, u32::MAX));
        let out = r.rewrite(&header(1, 101, 160), position(0, 0));
        assert_eq!((out.sequence, out.timestamp), (0, 159));
    }

    #[test]
    fn a_new_ssrc_rebases_without_breaking_the_outgoing_stream() {
        let mut r = HeaderRewriter::default();
        for i in 0..5u16 {
            r.rewrite(
                &header(1, 40_000 + i, 777 + 160 * i as u32),
                position(200, 10_000),
            );
        }
        assert_eq!(r.last_out(), Some((204, 10_640)));
        // The far end restarted: new SSRC, unrelated numbers. The outgoing
        // position the session reports (its tick clock) is ahead.
        let out = r.rewrite(&header(2, 3, 5), position(205, 10_800));
        assert_eq!(
            (out.sequence, out.timestamp, out.marker),
            (205, 10_800, true)
        );
        let out = r.rewrite(&header(2, 4, 165), position(0, 0));
        assert_eq!(
            (out.sequence, out.timestamp, out.marker),
            (206, 10_960, false)
        );
    }

    #[test]
    fn a_rebase_never_steps_back() {
        let mut r = HeaderRewriter::default();
        r.rewrite(&header(1, 0, 0), position(100, 5_000));
        r.rewrite(&header(1, 1, 160), position(0, 0));
        // A stale outgoing position (behind what was forwarded).
        let out = r.rewrite(&header(9, 50, 50), position(90, 4_000));
        assert_eq!((out.sequence, out.timestamp), (102, 5_320));
    }

    #[test]
    fn big_jumps_rebase() {
        let mut r = HeaderRewriter::default();
        r.rewrite(&header(1, 0, 0), position(100, 5_000));
        let out = r.rewrite(&header(1, 10_000, 160), position(101, 5_160));
        assert!(out.marker, "sequence jump past MAX_DROPOUT");
        assert_eq!((out.sequence, out.timestamp), (101, 5_160));
        let out = r.rewrite(&header(1, 10_001, 160 + 8000 * 3600), position(102, 5_320));
        assert!(out.marker, "timestamp jump of an hour");
        assert_eq!((out.sequence, out.timestamp), (102, 5_320));
        let out = r.rewrite(&header(1, 9_000, 0), position(103, 5_480));
        assert!(out.marker, "far behind the newest");
        r.forget_base();
        let out = r.rewrite(&header(1, 9_001, 160), position(104, 5_640));
        assert!(out.marker);
        assert_eq!((out.sequence, out.timestamp), (104, 5_640));
    }
}
