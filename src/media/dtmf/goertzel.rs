//! Goertzel filter bank for the eight DTMF frequencies (ITU-T Q.23).
//!
//! Two lanes run the bank over Hann-windowed blocks that overlap by half, so
//! a block completes every half block. The window keeps one group's tone
//! from leaking into the other group's filters (a rectangular block of this
//! length lets a tone 10 dB stronger shift the other by ±3 dB, too much to
//! judge twist); the block is long enough that a tone still sits ≥ 6 dB
//! lower in the adjacent row's filter, 73 Hz away. The complex outputs of
//! consecutive blocks give each tone's frequency from its phase advance
//! over one hop, finer than the filters' bandwidth, which ITU-T Q.24's
//! ±1.5 % accept / ±3.5 % reject tolerance needs.

use std::f32::consts::PI;

use super::{COLUMN_FREQUENCIES, ROW_FREQUENCIES};

/// Block length at 8 kHz: 17 ms. Scaled with the sample rate.
pub(crate) const BLOCK_AT_8K: usize = 136;

/// The eight tones, rows then columns.
pub(crate) const TONES: usize = 8;

pub(crate) fn tone_frequency(k: usize) -> f32 {
    if k < 4 {
        f32::from(ROW_FREQUENCIES[k])
    } else {
        f32::from(COLUMN_FREQUENCIES[k - 4])
    }
}

/// What one block holds: each tone's complex Goertzel output (real,
/// imaginary), its windowed energy, and the unwindowed energy of each half.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BlockSpectrum {
    pub tone: [(f32, f32); TONES],
    pub windowed_energy: f32,
    pub half_energy: [f32; 2],
    /// Index of the block's first sample since the stream began; the first
    /// block starts before it (the time before is taken as silence).
    pub start: i64,
}

#[derive(Clone, Debug, Default)]
struct Lane {
    s1: [f32; TONES],
    s2: [f32; TONES],
    windowed_energy: f32,
    half_energy: [f32; 2],
    pos: usize,
}

/// The filter bank and its two lanes. Buffers are sized at construction.
#[derive(Clone, Debug)]
pub(crate) struct GoertzelBank {
    block: usize,
    hop: usize,
    window: Vec<f32>,
    coeff: [f32; TONES],
    cos: [f32; TONES],
    sin: [f32; TONES],
    lanes: [Lane; 2],
    /// Samples seen so far.
    seen: u64,
}

impl GoertzelBank {
    pub fn new(sample_rate: u32) -> Self {
        let scaled = (BLOCK_AT_8K as u64 * u64::from(sample_rate) + 4000) / 8000;
        let block = (scaled as usize).max(2) & !1;
        let hop = block / 2;
        let window = (0..block)
            .map(|n| 0.5 - 0.5 * (2.0 * PI * (n as f32 + 0.5) / block as f32).cos())
            .collect();
        let mut coeff = [0.0; TONES];
        let mut cos = [0.0; TONES];
        let mut sin = [0.0; TONES];
        for k in 0..TONES {
            let omega = 2.0 * PI * tone_frequency(k) / sample_rate as f32;
            cos[k] = omega.cos();
            sin[k] = omega.sin();
            coeff[k] = 2.0 * cos[k];
        }
        // The second lane starts half a block early, on silence.
        let lanes = [
            Lane::default(),
            Lane {
                pos: hop,
                ..Lane::default()
            },
        ];
        Self {
            block,
            hop,
            window,
            coeff,
            cos,
            sin,
            lanes,
            seen: 0,
        }
    }

    pub fn block(&self) -> usize {
        self.block
    }

    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Σw and Σw² of the window, to turn outputs into amplitudes and energies.
    pub fn window_sums(&self) -> (f32, f32) {
        let sum = self.window.iter().sum();
        let sum_sq = self.window.iter().map(|w| w * w).sum();
        (sum, sum_sq)
    }

    pub fn reset(&mut self) {
        self.lanes = [
            Lane::default(),
            Lane {
                pos: self.hop,
                ..Lane::default()
            },
        ];
        self.seen = 0;
    }

    /// Feeds samples until a block completes. Returns how many samples were
    /// taken and the completed block, if any.
    pub fn feed(&mut self, samples: &[i16]) -> (usize, Option<BlockSpectrum>) {
        for (i, &sample) in samples.iter().enumerate() {
            let x = f32::from(sample);
            self.seen += 1;
            for lane in &mut self.lanes {
                let xw = x * self.window[lane.pos];
                for k in 0..TONES {
                    let s0 = xw + self.coeff[k] * lane.s1[k] - lane.s2[k];
                    lane.s2[k] = lane.s1[k];
                    lane.s1[k] = s0;
                }
                lane.windowed_energy += xw * xw;
                lane.half_energy[usize::from(lane.pos >= self.hop)] += x * x;
                lane.pos += 1;
            }
            for lane in &mut self.lanes {
                if lane.pos == self.block {
                    let mut tone = [(0.0, 0.0); TONES];
                    for (k, out) in tone.iter_mut().enumerate() {
                        // y = s1 − e^{−jω}·s2; the common phase factor of
                        // both lanes cancels when blocks are compared.
                        *out = (
                            lane.s1[k] - self.cos[k] * lane.s2[k],
                            self.sin[k] * lane.s2[k],
                        );
                    }
                    let spectrum = BlockSpectrum {
                        tone,
                        windowed_energy: lane.windowed_energy,
                        half_energy: lane.half_energy,
                        start: self.seen as i64 - self.block as i64,
                    };
                    *lane = Lane::default();
                    return (i + 1, Some(spectrum));
                }
            }
        }
        (samples.len(), None)
    }
}
