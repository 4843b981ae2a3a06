//! Moving the playout delay towards its target where no one hears it.

use std::time::Instant;

use super::{Adjust, Playout, PlayoutBuffer, Slot, FORCE_AFTER_TICKS};

impl PlayoutBuffer {
    /// The delay of the frame at the playout point, in frames: frames held
    /// up to the newest packet, plus how long ago that packet was due.
    pub(super) fn measure(&mut self, now: Instant) -> f64 {
        let depth = (self.highest + 1 - self.playout_point) as f64;
        let since_due = self
            .delay
            .frames_since_due(now, self.highest_timestamp)
            .unwrap_or(0.0);
        depth + since_due
    }

    /// True when the frame at the playout point starts a talkspurt: its
    /// marker bit is set, or its timestamp is further on from the last
    /// frame played than the frames between them account for (RFC 3551 §4.1).
    pub(super) fn talkspurt_starts(&self, slot: &Slot) -> bool {
        let gap = self.last_played.is_some_and(|(ext, timestamp)| {
            let frames = slot.ext.saturating_sub(ext) as i64;
            let elapsed = slot.info.timestamp.wrapping_sub(timestamp) as i32 as i64;
            elapsed > frames.saturating_mul(self.frame_units)
        });
        slot.info.marker || gap
    }

    /// What the delay calls for before playing the frame at the playout
    /// point: Some(stretch) to play silence instead, None to go on.
    pub(super) fn adapt(&mut self, now: Instant) -> Option<Playout<'static>> {
        let delay = self.measure(now);
        self.current_delay = delay;
        let target = self.delay.target();
        let index = (self.playout_point % self.config.capacity_frames as u64) as usize;
        let slot = self.slots[index];
        let present = slot.occupied && slot.ext == self.playout_point;
        // Growing is due below target, shrinking only past a frame and a
        // quarter above: one frame's change then lands inside the band, so
        // no change undoes the last.
        let grow = delay < target;
        if grow && present && self.talkspurt_starts(&slot) {
            // Silence before a talkspurt: stretch it, no one hears that.
            self.stats.stretched += 1;
            self.current_delay += 1.0;
            return Some(Playout::Stretch);
        }
        if delay >= self.config.max_delay_frames as f64 + 2.0 {
            self.over_max_ticks += 1;
            if self.over_max_ticks > FORCE_AFTER_TICKS && present {
                // The last resort against a fast sender clock when the
                // caller finds no quiet frame: one frame, once in a while.
                self.over_max_ticks = 0;
                self.slots[index].occupied = false;
                self.buffered -= 1;
                self.playout_point += 1;
                self.stats.forced_dropped += 1;
                self.current_delay -= 1.0;
            }
        } else {
            self.over_max_ticks = 0;
        }
        self.offered = if delay >= target + 1.25 {
            Adjust::MayDrop
        } else if grow {
            Adjust::MayStretch
        } else {
            Adjust::Keep
        };
        None
    }
}
