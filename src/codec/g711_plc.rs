//! Packet loss concealment for G.711 in the style of ITU-T G.711 Appendix I:
//! replay the last pitch period(s) of the decoded signal, smoothing every
//! join by overlap-add, lengthen the replayed span as the loss goes on,
//! attenuate, and cross-fade back into the real signal when packets return.
//!
//! Unlike Appendix I the decoded output is not delayed by 3.75 ms to leave
//! room for an overlap-add at the start of the loss: the replay starts at the
//! sample one pitch period before the end of the history, which continues a
//! periodic signal without a jump, so good audio passes through untouched.
//!
//! All state is fixed-size arrays: nothing is allocated per frame.

/// Samples per millisecond at the G.711 rate.
const PER_MS: usize = 8;

/// History kept: 48.75 ms, three of the longest pitch periods plus a quarter
/// of one for the overlap-add (G.711 Appendix I).
pub const HISTORY_LEN: usize = 3 * PITCH_MAX + PITCH_MAX / 4;

/// Shortest pitch period searched: 5 ms (200 Hz).
const PITCH_MIN: usize = 5 * PER_MS;
/// Longest pitch period searched: 15 ms (66.7 Hz).
const PITCH_MAX: usize = 15 * PER_MS;
/// Correlation window of the pitch search: 20 ms.
const CORR_LEN: usize = 20 * PER_MS;

/// The replayed span grows by one period every 10 ms of loss, up to three
/// (G.711 Appendix I), so a long gap does not buzz on one period.
const PERIOD_STEP: usize = 10 * PER_MS;
const MAX_PERIODS: usize = 3;

/// Full level for the first 10 ms, then 20 % less per 10 ms, which reaches
/// silence at 60 ms (G.711 Appendix I).
const FULL_LEVEL: usize = 10 * PER_MS;
const SILENT_AFTER: usize = 60 * PER_MS;

/// Cross-fade into the first good frame: 4 ms, plus 4 ms for each further
/// 10 ms of loss, at most 10 ms (G.711 Appendix I).
const FADE_IN_BASE: usize = 4 * PER_MS;
const FADE_IN_MAX: usize = 10 * PER_MS;

/// Pitch-repetition concealer for one 8 kHz stream.
#[derive(Debug, Clone)]
pub struct G711Plc {
    /// The most recent output, oldest first.
    history: [i16; HISTORY_LEN],
    /// The history as it was when the current loss began; the replayed
    /// span is cut from it even after concealed audio entered `history`.
    frozen: [i16; HISTORY_LEN],
    /// The span being replayed, its last quarter period cross-faded into the
    /// samples before its start so the wrap back to its start is smooth.
    span: [f32; MAX_PERIODS * PITCH_MAX],
    span_len: usize,
    pitch: usize,
    periods: usize,
    /// Next sample of `span` out.
    position: usize,
    /// Samples concealed in the current loss; zero while packets arrive.
    erased: usize,
}

impl Default for G711Plc {
    fn default() -> Self {
        Self::new()
    }
}

impl G711Plc {
    pub fn new() -> Self {
        Self {
            history: [0; HISTORY_LEN],
            frozen: [0; HISTORY_LEN],
            span: [0.0; MAX_PERIODS * PITCH_MAX],
            span_len: 0,
            pitch: PITCH_MIN,
            periods: 1,
            position: 0,
            erased: 0,
        }
    }

    /// Takes a frame decoded from a real packet. After a loss its start is
    /// cross-faded from the continuing concealment, in place.
    pub fn good_frame(&mut self, frame: &mut [i16]) {
        if self.erased > 0 {
            let extra = (self.erased - 1) / PERIOD_STEP;
            let fade = (FADE_IN_BASE * (1 + extra))
                .min(FADE_IN_MAX)
                .min(frame.len());
            for (i, sample) in frame[..fade].iter_mut().enumerate() {
                let concealed = self.next_sample();
                let w = (i + 1) as f32 / (fade + 1) as f32;
                *sample = to_i16(concealed * (1.0 - w) + *sample as f32 * w);
            }
            self.erased = 0;
        }
        self.remember(frame);
    }

    /// Fills `out` with concealment for missing audio; returns `out.len()`.
    pub fn conceal(&mut self, out: &mut [i16]) -> usize {
        if self.erased == 0 {
            self.frozen = self.history;
            self.pitch = find_pitch(&self.frozen);
            self.build_span(1);
        }
        for sample in out.iter_mut() {
            *sample = to_i16(self.next_sample());
        }
        self.remember(out);
        out.len()
    }

    /// Forgets the stream, as for a new source.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// The next concealed sample, with its gain, moving the replay on.
    fn next_sample(&mut self) -> f32 {
        let value = self.span[self.position] * gain(self.erased);
        self.erased = self.erased.saturating_add(1);
        self.position += 1;
        if self.position == self.span_len {
            // Lengthen the span only at a wrap, where the replay is back at
            // a period boundary and the longer span continues it in phase.
            let wanted = (1 + self.erased / PERIOD_STEP).min(MAX_PERIODS);
            if wanted > self.periods {
                self.build_span(wanted);
            }
            self.position = 0;
        }
        value
    }

    /// Cuts the last `periods` pitch periods out of the frozen history.
    fn build_span(&mut self, periods: usize) {
        let len = periods * self.pitch;
        let start = HISTORY_LEN - len;
        let overlap = self.pitch / 4;
        for (i, slot) in self.span[..len].iter_mut().enumerate() {
            *slot = self.frozen[start + i] as f32;
        }
        // The span's end fades into what preceded its start, so that
        // wrapping from its last sample to its first is no jump.
        for j in 0..overlap {
            let i = len - overlap + j;
            let w = (j + 1) as f32 / (overlap + 1) as f32;
            let before_start = self.frozen[start - overlap + j] as f32;
            self.span[i] = self.span[i] * (1.0 - w) + before_start * w;
        }
        self.span_len = len;
        self.periods = periods;
        self.position = 0;
    }

    fn remember(&mut self, frame: &[i16]) {
        let keep = frame.len().min(HISTORY_LEN);
        self.history.copy_within(keep.., 0);
        self.history[HISTORY_LEN - keep..].copy_from_slice(&frame[frame.len() - keep..]);
    }
}

/// Gain after `erased` concealed samples.
fn gain(erased: usize) -> f32 {
    if erased < FULL_LEVEL {
        1.0
    } else if erased >= SILENT_AFTER {
        0.0
    } else {
        // Counted to the end of the sample, so the 60 ms point is exactly zero.
        1.0 - 0.2 * (erased + 1 - FULL_LEVEL) as f32 / PERIOD_STEP as f32
    }
}

/// The lag in `PITCH_MIN..=PITCH_MAX` at which the last 20 ms best match
/// the audio one lag earlier (normalised cross-correlation as in G.711
/// Appendix I, searched at full resolution rather than coarse then fine).
fn find_pitch(history: &[i16; HISTORY_LEN]) -> usize {
    let window = &history[HISTORY_LEN - CORR_LEN..];
    let score = |lag: usize| {
        let earlier = &history[HISTORY_LEN - CORR_LEN - lag..HISTORY_LEN - lag];
        let (mut cross, mut energy) = (0.0f64, 0.0f64);
        for (&x, &y) in window.iter().zip(earlier) {
            cross += x as f64 * y as f64;
            energy += y as f64 * y as f64;
        }
        if energy > 0.0 {
            cross / energy.sqrt()
        } else {
            0.0
        }
    };
    let mut best = (PITCH_MIN, score(PITCH_MIN));
    for lag in PITCH_MIN + 1..=PITCH_MAX {
        let s = score(lag);
        // A margin keeps the shortest of equally good lags, so a multiple
        // of the true period does not win on rounding.
        if s > best.1 + best.1.abs() * 1e-4 {
            best = (lag, s);
        }
    }
    best.0
}

fn to_i16(value: f32) -> i16 {
    value.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16
}

#[cfg(test)]
mod tests;
