//! Peak limiter of one output stream: a smooth gain, falling fast ahead of
//! peaks and recovering slowly, so a loud room never clips or clicks.
//!
//! The whole frame is known before any of it is sent, so the gain starts
//! falling before each peak within the frame (a lookahead without delay);
//! only a peak in the first samples of a frame, after a quieter one, makes
//! the gain drop at once.

/// Largest sample magnitude sent.
const FULL_SCALE: f32 = 32767.0;
/// Fastest fall of the gain: 20 dB takes about 3 ms.
const ATTACK_DB_PER_MS: f32 = 6.0;
/// Time constant of the recovery towards unity gain.
const RELEASE_MS: f32 = 60.0;
/// A gain this close to 1 is 1: at full scale the difference is under four
/// units, and exact unity lets a quiet room pass bit-exact.
const UNITY_SNAP: f32 = 0.9999;

/// Attack and release per sample at the room's rate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LimiterParams {
    /// Ratio by which the gain may fall per sample (> 1).
    attack: f32,
    /// Share of the distance to unity recovered per sample.
    release: f32,
}

impl LimiterParams {
    pub fn new(sample_rate: u32) -> Self {
        let per_ms = sample_rate as f32 / 1000.0;
        Self {
            attack: 10f32.powf(ATTACK_DB_PER_MS / per_ms / 20.0),
            release: 1.0 - (-1.0 / (RELEASE_MS * per_ms)).exp(),
        }
    }
}

/// The limiter's state: the gain at the end of the last frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limiter {
    gain: f32,
}

impl Default for Limiter {
    fn default() -> Self {
        Self { gain: 1.0 }
    }
}

impl Limiter {
    pub fn gain(&self) -> f32 {
        self.gain
    }

    pub fn set_gain(&mut self, gain: f32) {
        self.gain = gain;
    }

    /// `sum` scaled by `volume`, limited, into `out`; `scratch` holds the
    /// per-sample gain ceiling. All three have the frame's length.
    pub fn process(
        &mut self,
        params: &LimiterParams,
        sum: &[i32],
        volume: f32,
        scratch: &mut [f32],
        out: &mut [i16],
    ) {
        let peak = sum.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        let loud = peak as f32 * volume > FULL_SCALE;
        if !loud && self.gain == 1.0 {
            if volume == 1.0 {
                // Nothing to limit: the sum fits, so it passes unchanged.
                for (o, &s) in out.iter_mut().zip(sum) {
                    *o = s as i16;
                }
            } else {
                for (o, &s) in out.iter_mut().zip(sum) {
                    *o = clamp(s as f32 * volume);
                }
            }
            return;
        }
        if loud {
            // Ceiling per sample, then spread backwards at the attack rate so
            // the gain is already down when a peak arrives.
            for (c, &s) in scratch.iter_mut().zip(sum) {
                let v = (s as f32 * volume).abs();
                *c = if v > FULL_SCALE { FULL_SCALE / v } else { 1.0 };
            }
            for n in (0..scratch.len().saturating_sub(1)).rev() {
                scratch[n] = scratch[n].min(scratch[n + 1] * params.attack);
            }
        } else {
            scratch.fill(1.0);
        }
        let mut gain = self.gain;
        for ((o, &s), &ceiling) in out.iter_mut().zip(sum).zip(scratch.iter()) {
            let recovered = gain + (1.0 - gain) * params.release;
            gain = if recovered > UNITY_SNAP {
                1.0
            } else {
                recovered
            };
            gain = gain.min(ceiling);
            *o = clamp(s as f32 * volume * gain);
        }
        self.gain = gain;
    }
}

/// Rounds to the nearest sample, never past full scale (so nothing wraps).
fn clamp(v: f32) -> i16 {
    v.round().clamp(-FULL_SCALE, FULL_SCALE) as i16
}
