//! Stream identity: which packets belong to the stream being played, and
//! when a new one (SSRC change, sequence or timestamp jump) replaces it.

use std::time::Instant;

use super::Phase;
use super::{Continuity, PacketInfo, PlayoutBuffer, PushOutcome, EMPTY_SLOT, EXT_ORIGIN};

impl PlayoutBuffer {
    pub(super) fn continuity(&self, info: &PacketInfo) -> Continuity {
        let Some(ssrc) = self.ssrc else {
            return Continuity::First;
        };
        if info.ssrc != ssrc {
            return Continuity::Break;
        }
        // The 16-bit difference, read as signed, places the packet relative
        // to the newest one across the 65535 → 0 wrap (RFC 3550 A.1).
        let delta = info.sequence.wrapping_sub(self.highest as u16) as i16 as i64;
        let timestamp_delta = info.timestamp.wrapping_sub(self.highest_timestamp) as i32 as i64;
        if delta > self.config.max_dropout as i64
            || delta < -(self.config.max_misorder as i64)
            || timestamp_delta.abs() > self.max_timestamp_jump
        {
            return Continuity::Break;
        }
        Continuity::Same(self.highest.saturating_add_signed(delta))
    }

    pub(super) fn start_stream(&mut self, info: &PacketInfo) {
        self.ssrc = Some(info.ssrc);
        self.highest = EXT_ORIGIN + info.sequence as u64;
        self.highest_timestamp = info.timestamp;
    }

    /// Holds a packet that breaks continuity until a second one, adjacent in
    /// sequence and from the same SSRC, confirms the new stream; a lone stray
    /// (an old duplicate, a misrouted packet) then cannot flush good audio.
    pub(super) fn probation(
        &mut self,
        now: Instant,
        info: &PacketInfo,
        payload: &[u8],
    ) -> PushOutcome {
        if let Some((held, held_len)) = self.candidate.take() {
            if self.confirms(&held, info) {
                self.reset(&held);
                // Moved out for the duration of the copy into a slot.
                let held_payload = std::mem::take(&mut self.candidate_payload);
                let ext = EXT_ORIGIN + held.sequence as u64;
                self.store(now, ext, &held, &held_payload[..held_len]);
                self.candidate_payload = held_payload;
                return match self.continuity(info) {
                    Continuity::Same(ext) => self.store(now, ext, info, payload),
                    // `confirms` checked the same bounds.
                    Continuity::First | Continuity::Break => PushOutcome::Unconfirmed,
                };
            }
            self.stats.strays += 1;
        }
        self.candidate_payload[..payload.len()].copy_from_slice(payload);
        self.candidate = Some((*info, payload.len()));
        PushOutcome::Unconfirmed
    }

    pub(super) fn confirms(&self, held: &PacketInfo, info: &PacketInfo) -> bool {
        let delta = info.sequence.wrapping_sub(held.sequence) as i16 as i64;
        let timestamp_delta = info.timestamp.wrapping_sub(held.timestamp) as i32 as i64;
        info.ssrc == held.ssrc
            && delta != 0
            && delta.abs() < self.config.capacity_frames as i64
            && delta <= self.config.max_dropout as i64
            && delta >= -(self.config.max_misorder as i64)
            && timestamp_delta.abs() <= self.max_timestamp_jump
    }

    /// Drops the current stream for the one `first` starts.
    pub(super) fn reset(&mut self, first: &PacketInfo) {
        self.stats.resets += 1;
        self.stats.flushed += self.buffered as u64;
        self.slots.fill(EMPTY_SLOT);
        self.buffered = 0;
        self.phase = Phase::Idle;
        self.floor = 0;
        self.hold = false;
        self.last_played = None;
        self.delay.restart_stream();
        self.start_stream(first);
    }
}
