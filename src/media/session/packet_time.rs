//! Following the peer's packet time. RFC 3551 §4.2: a receiver should
//! accept packets of any duration up to 200 ms, whatever ptime the SDP
//! asked for. The receive path works in frames of one packet time, so when
//! the peer keeps sending packets of another duration (sipp plays its
//! recordings as they are; some phones ignore `a=ptime`), the session
//! switches to that packet time, for receiving and sending alike, as a
//! re-INVITE would. A few packets in a row are needed, so one odd packet
//! changes nothing.

use std::time::Instant;

use super::MediaSession;
use crate::codec::CodecKind;

/// Packets in a row of one other duration before the session follows it.
const PACKETS_TO_FOLLOW: u8 = 3;
/// Longest packet time followed (RFC 3551 §4.2 allows up to 200 ms; the
/// codecs' frame buffers are sized for 120 ms).
const MAX_FOLLOWED_MS: u32 = 120;

#[derive(Debug, Default)]
pub(super) struct PacketTime {
    candidate_ms: u32,
    seen: u8,
    /// The session changed its packet time since the worker last asked.
    changed: bool,
}

/// The audio duration of a payload of `len` bytes, in whole milliseconds,
/// for codecs whose payload length gives it; `None` otherwise (Opus says
/// its duration in its own header and is left as negotiated).
fn payload_ms(codec: CodecKind, len: usize) -> Option<u32> {
    let len = u32::try_from(len).ok()?;
    let bytes_per_ms = match codec {
        // One byte per 8 kHz sample; G.722 packs two 16 kHz samples a byte.
        CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 8,
        CodecKind::L16At8000 => 16,
        CodecKind::L16At16000 => 32,
        CodecKind::Opus | CodecKind::TelephoneEvent => return None,
    };
    // Whole multiples of 10 ms only: anything else is not a packet time a
    // sender would choose, more likely a damaged packet.
    (len > 0 && len % (bytes_per_ms * 10) == 0)
        .then_some(len / bytes_per_ms)
        .filter(|ms| *ms <= MAX_FOLLOWED_MS)
}

impl MediaSession {
    /// Notes the duration of a received audio payload; after a few packets
    /// of one other duration, the session switches to it.
    pub(super) fn follow_packet_time(&mut self, now: Instant, payload_len: usize) {
        let Some(ms) = payload_ms(self.params.codec, payload_len) else {
            return;
        };
        let tracker = &mut self.packet_time;
        if ms == self.params.ptime_ms {
            tracker.seen = 0;
            return;
        }
        if ms == tracker.candidate_ms {
            tracker.seen += 1;
        } else {
            tracker.candidate_ms = ms;
            tracker.seen = 1;
        }
        if tracker.seen < PACKETS_TO_FOLLOW {
            return;
        }
        tracker.seen = 0;
        let mut params = self.params.clone();
        params.ptime_ms = ms;
        let before = self.params.ptime_ms;
        match self.update(params, now) {
            Ok(()) => {
                tracing::info!(
                    session = self.id,
                    from_ms = before,
                    to_ms = ms,
                    "following the peer's packet time"
                );
                self.packet_time.changed = true;
            }
            Err(e) => {
                tracing::warn!(session = self.id, error = %e, "cannot follow the peer's packet time")
            }
        }
    }

    /// Whether the session changed its packet time since the last call
    /// (its bridge or room must then be linked again).
    pub fn take_packet_time_change(&mut self) -> bool {
        std::mem::take(&mut self.packet_time.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::payload_ms;
    use crate::codec::CodecKind;

    #[test]
    fn payload_lengths_give_packet_times() {
        assert_eq!(payload_ms(CodecKind::Pcma, 240), Some(30));
        assert_eq!(payload_ms(CodecKind::Pcmu, 160), Some(20));
        assert_eq!(payload_ms(CodecKind::G722, 480), Some(60));
        assert_eq!(payload_ms(CodecKind::L16At16000, 640), Some(20));
        assert_eq!(payload_ms(CodecKind::Pcmu, 161), None);
        assert_eq!(payload_ms(CodecKind::Pcmu, 8000), None);
        assert_eq!(payload_ms(CodecKind::Opus, 80), None);
    }
}
