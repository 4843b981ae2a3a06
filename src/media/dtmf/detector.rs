//! Inband DTMF detector: decoded samples in, digit begin/end events out.
//!
//! Each half-block (8.5 ms) the Goertzel bank yields a block, judged alone
//! (see [`DtmfDetector::classify`]) and then over time: a digit begins after
//! [`CONFIRM_BLOCKS`] consecutive blocks agree and ends after
//! [`END_BLOCKS`] consecutive blocks do not. A block counts only when the
//! tone fills at least three quarters of it, so a tone under 23 ms never
//! gathers enough blocks and one of 40 ms always does. ITU-T Q.24 leaves
//! the exact limits to each administration; the ones below are typical of
//! its tables.

use super::error::{check_rate, DtmfError};
use super::goertzel::{tone_frequency, BlockSpectrum, GoertzelBank, TONES};
use super::{dbm0_to_amplitude, DtmfDigit};

/// Weakest tone accepted, per tone. Receivers must work down to about
/// −25 dBm0 per tone (ITU-T Q.24) and stay silent well below; −30 leaves
/// room for frequency offset and codec loss while −35 and under is refused.
pub const MIN_LEVEL_DBM0: f32 = -30.0;
/// High group over low group, most accepted (ITU-T Q.24 twist: 4 dB must
/// pass; 10 dB must not).
pub const MAX_TWIST_DB: f32 = 7.0;
/// Low group over high group, most accepted (8 dB must pass; 10 must not).
pub const MAX_REVERSE_TWIST_DB: f32 = 9.0;
/// Each tone must stand this far above the others of its group, so two
/// tones of one group (speech, chords) are no digit. In the windowed
/// filters a tone 1.5 % off leaves the adjacent row, 73 Hz away, about
/// 6–7 dB down.
pub const GROUP_DOMINANCE_DB: f32 = 5.0;
/// Share of the block's energy the two tones must hold: talk-off guard, as
/// speech and music spread energy over harmonics (used instead of second
/// harmonic filters: it counts every harmonic). A dual tone 1.5 % off, in
/// 15 dB noise, keeps roughly 0.85.
pub const MIN_TONE_ENERGY_SHARE: f32 = 0.8;
/// Frequency tolerance: ITU-T Q.24 wants ±1.5 % accepted and ±3.5 %
/// refused; the limit sits between.
pub const MAX_FREQUENCY_DEVIATION: f32 = 0.025;
/// The halves of a block may differ in energy by at most this (3 dB): a block
/// the tone only partly fills is no evidence of it.
const MIN_HALF_ENERGY_RATIO: f32 = 0.5;
/// Agreeing blocks that confirm a digit (3 blocks: 25.5–34 ms of tone).
pub const CONFIRM_BLOCKS: u32 = 3;
/// Failing blocks that end a digit (4 blocks: a gap of ~30 ms or more). A
/// dropout of 10 ms fails at most three, so it does not split a key press.
pub const END_BLOCKS: u32 = 4;

/// Events held for the caller; each block adds at most two.
const QUEUE: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfEventKind {
    /// The digit was confirmed; `duration` is how long it has lasted so far.
    Begin,
    /// The digit ended; `duration` is its whole length.
    End,
}

/// A digit's start or end. Times are in samples at the detector's rate,
/// counted from the first sample pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtmfEvent {
    pub kind: DtmfEventKind,
    pub digit: DtmfDigit,
    pub start: u64,
    pub duration: u64,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    digit: DtmfDigit,
    blocks: u32,
    start: i64,
}

#[derive(Clone, Copy, Debug)]
struct Active {
    digit: DtmfDigit,
    start: u64,
    last_end: u64,
    misses: u32,
}

/// Goertzel DTMF detector for one stream of decoded audio.
#[derive(Clone, Debug)]
pub struct DtmfDetector {
    sample_rate: u32,
    bank: GoertzelBank,
    /// 2·Σw²/(Σw)²: squared output to windowed energy.
    energy_scale: f32,
    min_power: f32,
    /// e^{−jω·hop} per tone: the phase advance of a tone on frequency.
    hop_rotation: [(f32, f32); TONES],
    /// Largest phase error per hop accepted, per tone, in radians.
    max_phase_error: [f32; TONES],
    previous: [(f32, f32); TONES],
    previous_steady: bool,
    run: Option<Run>,
    active: Option<Active>,
    events: [Option<DtmfEvent>; QUEUE],
    head: usize,
    len: usize,
    dropped: u64,
}

impl DtmfDetector {
    /// A detector for audio at `sample_rate` (8000–48000 Hz).
    pub fn new(sample_rate: u32) -> Result<Self, DtmfError> {
        check_rate(sample_rate)?;
        let bank = GoertzelBank::new(sample_rate);
        let (sum, sum_sq) = bank.window_sums();
        // Goertzel output to amplitude: 2/Σw.
        let amplitude_scale = 2.0 / sum;
        let min_amplitude = dbm0_to_amplitude(MIN_LEVEL_DBM0);
        let min_power = (min_amplitude / amplitude_scale).powi(2);
        let hop = bank.hop() as f32;
        let mut hop_rotation = [(0.0, 0.0); TONES];
        let mut max_phase_error = [0.0; TONES];
        for k in 0..TONES {
            let f = tone_frequency(k);
            let omega = 2.0 * std::f32::consts::PI * f / sample_rate as f32;
            hop_rotation[k] = ((omega * hop).cos(), -(omega * hop).sin());
            max_phase_error[k] = omega * MAX_FREQUENCY_DEVIATION * hop;
        }
        Ok(Self {
            sample_rate,
            bank,
            energy_scale: 2.0 * sum_sq / (sum * sum),
            min_power,
            hop_rotation,
            max_phase_error,
            previous: [(0.0, 0.0); TONES],
            previous_steady: false,
            run: None,
            active: None,
            events: [None; QUEUE],
            head: 0,
            len: 0,
            dropped: 0,
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Events lost because the caller did not poll (the oldest go first).
    pub fn dropped_events(&self) -> u64 {
        self.dropped
    }

    /// The digit currently held, if one has begun and not ended.
    pub fn current_digit(&self) -> Option<DtmfDigit> {
        self.active.map(|a| a.digit)
    }

    /// Forgets all state, as for a new stream.
    pub fn reset(&mut self) {
        self.bank.reset();
        self.previous = [(0.0, 0.0); TONES];
        self.previous_steady = false;
        self.run = None;
        self.active = None;
        self.events = [None; QUEUE];
        self.head = 0;
        self.len = 0;
    }

    /// Feeds the next samples of the stream, any number at a time.
    pub fn push(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() {
            let (taken, block) = self.bank.feed(samples);
            samples = &samples[taken..];
            if let Some(block) = block {
                self.on_block(&block);
            }
        }
    }

    /// The oldest event not yet taken.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        if self.len == 0 {
            return None;
        }
        let event = self.events[self.head].take();
        self.head = (self.head + 1) % QUEUE;
        self.len -= 1;
        event
    }

    fn emit(&mut self, event: DtmfEvent) {
        if self.len == QUEUE {
            self.head = (self.head + 1) % QUEUE;
            self.len -= 1;
            self.dropped += 1;
        }
        self.events[(self.head + self.len) % QUEUE] = Some(event);
        self.len += 1;
    }

    fn on_block(&mut self, block: &BlockSpectrum) {
        let digit = self.classify(block);
        let end = (block.start + self.bank.block() as i64).max(0) as u64;
        match digit {
            Some(d) => match self.run {
                Some(ref mut run) if run.digit == d => run.blocks += 1,
                _ => {
                    self.run = Some(Run {
                        digit: d,
                        blocks: 1,
                        start: block.start,
                    })
                }
            },
            None => self.run = None,
        }
        if let Some(active) = self.active.as_mut() {
            if digit == Some(active.digit) {
                active.misses = 0;
                active.last_end = end;
            } else {
                active.misses += 1;
                if active.misses >= END_BLOCKS {
                    let ended = *active;
                    self.active = None;
                    self.emit(DtmfEvent {
                        kind: DtmfEventKind::End,
                        digit: ended.digit,
                        start: ended.start,
                        duration: ended.last_end.saturating_sub(ended.start),
                    });
                }
            }
        }
        if self.active.is_none() {
            if let Some(run) = self.run {
                if run.blocks >= CONFIRM_BLOCKS {
                    let start = run.start.max(0) as u64;
                    self.active = Some(Active {
                        digit: run.digit,
                        start,
                        last_end: end,
                        misses: 0,
                    });
                    self.emit(DtmfEvent {
                        kind: DtmfEventKind::Begin,
                        digit: run.digit,
                        start,
                        duration: end.saturating_sub(start),
                    });
                }
            }
        }
    }

    /// The digit one block holds, if every test passes.
    fn classify(&mut self, block: &BlockSpectrum) -> Option<DtmfDigit> {
        let [first, second] = block.half_energy;
        let steady = first.min(second) >= MIN_HALF_ENERGY_RATIO * first.max(second)
            && first.max(second) > 0.0;
        let previous = self.previous;
        let previous_steady = self.previous_steady;
        self.previous = block.tone;
        self.previous_steady = steady;
        if !steady {
            return None;
        }
        let mut power = [0.0f32; TONES];
        for (p, &(re, im)) in power.iter_mut().zip(&block.tone) {
            *p = re * re + im * im;
        }
        let row = strongest(&power[..4]);
        let column = 4 + strongest(&power[4..]);
        let (row_power, column_power) = (power[row], power[column]);
        // Level, per tone (ITU-T Q.24).
        if row_power < self.min_power || column_power < self.min_power {
            return None;
        }
        // Twist, both ways (ITU-T Q.24).
        if column_power > row_power * db_to_power(MAX_TWIST_DB)
            || row_power > column_power * db_to_power(MAX_REVERSE_TWIST_DB)
        {
            return None;
        }
        // Each tone dominates its group.
        let dominance = db_to_power(GROUP_DOMINANCE_DB);
        let dominates = |chosen: usize, range: std::ops::Range<usize>| {
            range
                .filter(|&k| k != chosen)
                .all(|k| power[chosen] >= power[k] * dominance)
        };
        if !dominates(row, 0..4) || !dominates(column, 4..8) {
            return None;
        }
        // The pair holds most of the energy: talk-off guard.
        let pair_energy = (row_power + column_power) * self.energy_scale;
        if pair_energy < MIN_TONE_ENERGY_SHARE * block.windowed_energy {
            return None;
        }
        // Frequency, from the phase advance since the previous block; a
        // block after one the tone did not fill has no clean reference and
        // is checked by the blocks that follow it.
        if previous_steady {
            for k in [row, column] {
                if self.phase_error(k, block.tone[k], previous[k]).abs() > self.max_phase_error[k] {
                    return None;
                }
            }
        }
        DtmfDigit::from_row_column(row, column - 4)
    }

    /// Phase advance of tone `k` over one hop, less that of its nominal
    /// frequency: proportional to the frequency error.
    fn phase_error(&self, k: usize, now: (f32, f32), before: (f32, f32)) -> f32 {
        // now · conj(before) · e^{−jω·hop}
        let (a, b) = now;
        let (c, d) = before;
        let (re, im) = (a * c + b * d, b * c - a * d);
        let (rc, rs) = self.hop_rotation[k];
        let (re, im) = (re * rc - im * rs, re * rs + im * rc);
        im.atan2(re)
    }
}

fn strongest(power: &[f32]) -> usize {
    let mut best = 0;
    for (k, &p) in power.iter().enumerate() {
        if p > power[best] {
            best = k;
        }
    }
    best
}

fn db_to_power(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}
