//! Speaker selection: who, among the members speaking, is mixed.

use super::{Mixer, MixerEvent};

impl Mixer {
    /// Keeps the speakers still active and unmuted, fills free places with
    /// the loudest waiting members, and lets one waiting member clearly
    /// louder than the quietest speaker take its place.
    pub(super) fn select_speakers(&mut self) {
        let mut pos = 0;
        while pos < self.speakers.len() {
            let m = &mut self.members[self.speakers[pos]];
            if m.vad.active() && !m.muted {
                pos += 1;
                continue;
            }
            m.speaker = false;
            let id = m.id;
            self.speakers.remove(pos);
            self.emit(MixerEvent::StoppedSpeaking(id));
        }

        let free = self.config.max_speakers - self.speakers.len();
        self.find_candidates(free + 1);
        let mut taken = 0;
        while taken < free && taken < self.candidates.len() {
            self.start_speaking(self.candidates[taken]);
            taken += 1;
        }
        let Some(&challenger) = self.candidates.get(taken) else {
            return;
        };
        if self.speakers.len() < self.config.max_speakers {
            return;
        }
        let level = |i: usize| self.members[i].vad.level_db();
        let Some((pos, &weakest)) = self
            .speakers
            .iter()
            .enumerate()
            .min_by(|a, b| level(*a.1).total_cmp(&level(*b.1)))
        else {
            return;
        };
        if level(challenger) > level(weakest) + self.config.switch_margin_db {
            self.speakers.remove(pos);
            self.members[weakest].speaker = false;
            let id = self.members[weakest].id;
            self.emit(MixerEvent::StoppedSpeaking(id));
            self.start_speaking(challenger);
        }
    }

    /// The `count` loudest active, unmuted non-speakers into `candidates`,
    /// loudest first (the earlier joined first among equals).
    fn find_candidates(&mut self, count: usize) {
        self.candidates.clear();
        for (i, m) in self.members.iter().enumerate() {
            if m.speaker || m.muted || !m.vad.active() {
                continue;
            }
            let level = m.vad.level_db();
            let at = self
                .candidates
                .iter()
                .position(|&c| self.members[c].vad.level_db() < level)
                .unwrap_or(self.candidates.len());
            if at < count {
                if self.candidates.len() == count {
                    self.candidates.pop();
                }
                self.candidates.insert(at, i);
            }
        }
    }

    fn start_speaking(&mut self, idx: usize) {
        let m = &mut self.members[idx];
        m.speaker = true;
        // Continue from the gain the member was hearing, so its switch from
        // the shared mix to its own is seamless.
        m.limiter.set_gain(self.variants[m.variant].limiter.gain());
        let id = m.id;
        self.speakers.push(idx);
        self.emit(MixerEvent::StartedSpeaking(id));
    }
}
