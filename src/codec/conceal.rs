//! Packet loss concealment by repeating the last good frame while fading it out.
//!
//! A simple stand-in for codecs without their own concealment: replaying
//! recent audio masks a short gap far better than silence, and fading by 6 dB
//! per concealed frame keeps a long gap from turning into a buzzing loop
//! (the same "attenuate, then mute" shape as ITU-T G.711 Appendix I, without
//! its pitch search).

/// Q15 unity gain.
const UNITY_Q15: i32 = 1 << 15;

/// Concealed frames after which the output is silence.
pub const FADE_FRAMES: u32 = 5;

/// Remembers the last decoded frame and replays it, attenuated, for lost frames.
#[derive(Debug)]
pub struct RepeatFadeConcealer {
    /// The most recent good audio, allocated once at its largest size.
    history: Box<[i16]>,
    /// Valid samples in `history`.
    len: usize,
    /// Where the next concealed sample is read from, so that consecutive
    /// concealed frames continue the loop rather than restart it.
    phase: usize,
    /// Consecutive frames concealed since the last good one.
    concealed: u32,
}

impl RepeatFadeConcealer {
    /// A concealer that remembers up to `max_frame_samples` samples (a longer
    /// frame keeps only its tail).
    pub fn new(max_frame_samples: usize) -> Self {
        Self {
            history: vec![0; max_frame_samples.max(1)].into_boxed_slice(),
            len: 0,
            phase: 0,
            concealed: 0,
        }
    }

    /// Records a frame that was decoded from a real packet.
    pub fn remember(&mut self, frame: &[i16]) {
        let keep = frame.len().min(self.history.len());
        self.history[..keep].copy_from_slice(&frame[frame.len() - keep..]);
        self.len = keep;
        self.phase = 0;
        self.concealed = 0;
    }

    /// Fills `out` with the concealment for one missing frame; returns `out.len()`.
    pub fn conceal(&mut self, out: &mut [i16]) -> usize {
        if self.len == 0 || self.concealed >= FADE_FRAMES {
            out.fill(0);
            self.concealed = self.concealed.saturating_add(1);
            return out.len();
        }
        let start = gain_q15(self.concealed);
        self.concealed += 1;
        let end = gain_q15(self.concealed);
        // A ramp across the frame rather than a step at its start avoids a
        // click where the gain changes.
        // Gain in Q30 stepped per sample, which keeps divisions out of the loop.
        let n = out.len().max(1) as i64;
        let step = (((end - start) as i64) << 15) / n;
        let mut gain = (start as i64) << 15;
        for sample in out.iter_mut() {
            gain += step;
            let source = self.history[self.phase] as i64;
            *sample = ((source * (gain >> 15)) >> 15) as i16;
            self.phase += 1;
            if self.phase == self.len {
                self.phase = 0;
            }
        }
        out.len()
    }

    /// Forgets the remembered audio.
    pub fn reset(&mut self) {
        self.len = 0;
        self.phase = 0;
        self.concealed = 0;
    }
}

/// Gain after `frames` concealed frames: −6 dB each, then silence.
fn gain_q15(frames: u32) -> i32 {
    if frames >= FADE_FRAMES {
        0
    } else {
        UNITY_Q15 >> frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(frame: &[i16]) -> i64 {
        frame.iter().map(|&s| s as i64 * s as i64).sum()
    }

    fn tone() -> Vec<i16> {
        (0..160)
            .map(|i| ((i as f64 * 0.3).sin() * 16_000.0) as i16)
            .collect()
    }

    #[test]
    fn silence_before_any_good_frame() {
        let mut concealer = RepeatFadeConcealer::new(160);
        let mut out = [7i16; 160];
        assert_eq!(concealer.conceal(&mut out), 160);
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn fades_by_about_6_db_per_frame_then_silence() {
        let good = tone();
        let mut concealer = RepeatFadeConcealer::new(160);
        concealer.remember(&good);
        let mut previous = energy(&good);
        let mut out = [0i16; 160];
        for frame in 1..FADE_FRAMES {
            concealer.conceal(&mut out);
            let e = energy(&out);
            assert!(e > 0, "frame {frame} is already silent");
            assert!(e < previous, "frame {frame} did not get quieter");
            previous = e;
        }
        // The last faded frame ramps down to zero.
        concealer.conceal(&mut out);
        assert_eq!(out[159], 0);
        for _ in 0..3 {
            out.fill(1);
            concealer.conceal(&mut out);
            assert!(out.iter().all(|&s| s == 0));
        }
    }

    #[test]
    fn first_concealed_frame_replays_the_last_good_one() {
        let good = tone();
        let mut concealer = RepeatFadeConcealer::new(160);
        concealer.remember(&good);
        let mut out = [0i16; 160];
        concealer.conceal(&mut out);
        // Same waveform, scaled by a gain between 1 and 1/2.
        for (i, (&o, &g)) in out.iter().zip(&good).enumerate() {
            let lo = (g as i32 / 2).min(g as i32) - 1;
            let hi = (g as i32 / 2).max(g as i32) + 1;
            assert!((lo..=hi).contains(&(o as i32)), "sample {i}: {o} vs {g}");
        }
        // The end of the frame sits at about half the amplitude (−6 dB).
        assert!((out[159] as i32 - good[159] as i32 / 2).abs() <= 1);
    }

    #[test]
    fn a_good_frame_restores_full_level_concealment() {
        let good = tone();
        let mut concealer = RepeatFadeConcealer::new(160);
        concealer.remember(&good);
        let mut out = [0i16; 160];
        for _ in 0..FADE_FRAMES + 2 {
            concealer.conceal(&mut out);
        }
        concealer.remember(&good);
        concealer.conceal(&mut out);
        assert!(energy(&out) > energy(&good) / 4);
    }

    #[test]
    fn frames_longer_than_the_history_keep_their_tail_and_loop() {
        let mut concealer = RepeatFadeConcealer::new(4);
        concealer.remember(&[1000, 2000, 3000, 4000, 5000, 6000]);
        let mut out = [0i16; 8];
        concealer.conceal(&mut out);
        // Tail 3000..6000 replayed twice under a falling gain.
        assert!(out[0] > 2500 && out[0] <= 3000);
        assert!(out[3] > out[4], "loop did not wrap to the tail's start");
        assert!(out[4] >= 1500 && out[4] < 3000);
    }

    #[test]
    fn reset_forgets_the_audio() {
        let mut concealer = RepeatFadeConcealer::new(160);
        concealer.remember(&tone());
        concealer.reset();
        let mut out = [1i16; 160];
        concealer.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
    }
}
