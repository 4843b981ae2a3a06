use super::*;

mod detect;
mod digit;
mod generator;
mod talkoff;

/// SplitMix64: a seeded, portable source of test noise.
pub(super) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [−1, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub(super) fn ms(rate: u32, ms: u32) -> usize {
    (u64::from(rate) * u64::from(ms) / 1000) as usize
}

/// A dual tone at any frequencies and levels, starting at phase zero.
pub(super) fn dual_tone(
    rate: u32,
    low_hz: f64,
    high_hz: f64,
    low_dbm0: f32,
    high_dbm0: f32,
    duration_ms: u32,
) -> Vec<f64> {
    let a = f64::from(dbm0_to_amplitude(low_dbm0));
    let b = f64::from(dbm0_to_amplitude(high_dbm0));
    (0..ms(rate, duration_ms))
        .map(|n| {
            let t = n as f64 / f64::from(rate);
            a * (std::f64::consts::TAU * low_hz * t).sin()
                + b * (std::f64::consts::TAU * high_hz * t).sin()
        })
        .collect()
}

/// A digit's tone with both frequencies scaled by `1 + deviation`.
pub(super) fn digit_tone(
    rate: u32,
    digit: DtmfDigit,
    low_dbm0: f32,
    high_dbm0: f32,
    duration_ms: u32,
    deviation: f64,
) -> Vec<f64> {
    let (low, high) = digit.frequencies();
    dual_tone(
        rate,
        f64::from(low) * (1.0 + deviation),
        f64::from(high) * (1.0 + deviation),
        low_dbm0,
        high_dbm0,
        duration_ms,
    )
}

pub(super) fn to_i16(signal: &[f64]) -> Vec<i16> {
    signal
        .iter()
        .map(|&x| x.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// Runs `samples` through a fresh detector in 20 ms frames, then 200 ms of
/// silence so a digit still held ends. Returns every event.
pub(super) fn detect(rate: u32, samples: &[i16]) -> Vec<DtmfEvent> {
    let mut detector = DtmfDetector::new(rate).expect("rate");
    let mut events = Vec::new();
    let frame = ms(rate, 20);
    let silence = vec![0i16; ms(rate, 200)];
    for chunk in samples.chunks(frame).chain(silence.chunks(frame)) {
        detector.push(chunk);
        while let Some(event) = detector.poll_event() {
            events.push(event);
        }
    }
    assert_eq!(detector.dropped_events(), 0);
    events
}

/// The digits begun, in order, after checking each begin has its end.
pub(super) fn digits(events: &[DtmfEvent]) -> String {
    let mut out = String::new();
    let mut open: Option<DtmfDigit> = None;
    for event in events {
        match event.kind {
            DtmfEventKind::Begin => {
                assert_eq!(open, None, "begin inside a digit: {events:?}");
                open = Some(event.digit);
                out.push(event.digit.to_char());
            }
            DtmfEventKind::End => {
                assert_eq!(open, Some(event.digit), "end without begin: {events:?}");
                open = None;
            }
        }
    }
    assert_eq!(open, None, "digit never ended: {events:?}");
    out
}

pub(super) fn detect_digits(rate: u32, signal: &[f64]) -> String {
    digits(&detect(rate, &to_i16(signal)))
}

/// `signal` with silence before and after.
pub(super) fn padded(rate: u32, signal: &[f64], pad_ms: u32) -> Vec<f64> {
    let pad = vec![0.0; ms(rate, pad_ms)];
    [pad.as_slice(), signal, pad.as_slice()].concat()
}
