//! Inband DTMF generator: a digit's dual tone (ITU-T Q.23) for a leg that
//! has no telephone-event, written frame by frame into the caller's buffer.

use std::f64::consts::TAU;

use super::error::{check_rate, DtmfError};
use super::{dbm0_to_amplitude, DtmfDigit, FULL_SCALE_DBM0};

/// Level, length and pause of generated digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DtmfToneConfig {
    /// Low-group tone level, dBm0.
    pub low_dbm0: f32,
    /// High-group tone level, dBm0.
    pub high_dbm0: f32,
    /// Tone length, ms.
    pub on_ms: u32,
    /// Silence after the tone before the generator is idle again, ms.
    pub off_ms: u32,
}

impl Default for DtmfToneConfig {
    /// −10 dBm0 per tone: well inside the ITU-T Q.24 receive range after
    /// any line loss, with the pair peaking 7 dB below full scale.
    fn default() -> Self {
        Self {
            low_dbm0: -10.0,
            high_dbm0: -10.0,
            on_ms: 100,
            off_ms: 100,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Tone { left: u64 },
    Pause { left: u64 },
}

/// Dual-tone generator for one stream. Phase runs on across frames.
#[derive(Clone, Debug)]
pub struct DtmfGenerator {
    sample_rate: u32,
    config: DtmfToneConfig,
    low_amplitude: f64,
    high_amplitude: f64,
    /// Phase increments and phases, in cycles.
    low_step: f64,
    high_step: f64,
    low_phase: f64,
    high_phase: f64,
    digit: Option<DtmfDigit>,
    state: State,
}

impl DtmfGenerator {
    pub fn new(sample_rate: u32, config: DtmfToneConfig) -> Result<Self, DtmfError> {
        check_rate(sample_rate)?;
        for level in [config.low_dbm0, config.high_dbm0] {
            if !level.is_finite() || level > FULL_SCALE_DBM0 {
                return Err(DtmfError::InvalidLevel(level));
            }
        }
        if config.on_ms == 0 {
            return Err(DtmfError::ZeroDuration);
        }
        Ok(Self {
            sample_rate,
            config,
            low_amplitude: f64::from(dbm0_to_amplitude(config.low_dbm0)),
            high_amplitude: f64::from(dbm0_to_amplitude(config.high_dbm0)),
            low_step: 0.0,
            high_step: 0.0,
            low_phase: 0.0,
            high_phase: 0.0,
            digit: None,
            state: State::Idle,
        })
    }

    pub fn config(&self) -> DtmfToneConfig {
        self.config
    }

    /// The digit being sent (tone or its pause), if any.
    pub fn digit(&self) -> Option<DtmfDigit> {
        self.digit
    }

    /// True once the last digit's tone and pause are out.
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// Starts `digit` for the configured length, cutting short any digit
    /// being sent.
    pub fn start(&mut self, digit: DtmfDigit) {
        self.start_for(digit, self.config.on_ms);
    }

    /// Starts `digit` for `on_ms` (as an RFC 4733 event's duration asks).
    pub fn start_for(&mut self, digit: DtmfDigit, on_ms: u32) {
        let (low, high) = digit.frequencies();
        let rate = f64::from(self.sample_rate);
        self.low_step = f64::from(low) / rate;
        self.high_step = f64::from(high) / rate;
        self.low_phase = 0.0;
        self.high_phase = 0.0;
        self.digit = Some(digit);
        self.state = State::Tone {
            left: self.ms_to_samples(on_ms.max(1)),
        };
    }

    /// Ends the tone now (an RFC 4733 end event); the pause follows.
    pub fn stop(&mut self) {
        if let State::Tone { .. } = self.state {
            self.state = State::Pause {
                left: self.ms_to_samples(self.config.off_ms),
            };
        }
    }

    /// Writes the next `out.len()` samples: tone, pause, or silence once
    /// idle. Returns how many were tone or pause.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let mut busy = 0;
        for sample in out.iter_mut() {
            *sample = match self.state {
                State::Idle => 0,
                State::Tone { left } => {
                    busy += 1;
                    let value = self.next_value();
                    self.state = if left > 1 {
                        State::Tone { left: left - 1 }
                    } else {
                        self.pause_or_idle()
                    };
                    value
                }
                State::Pause { left } => {
                    busy += 1;
                    self.state = if left > 1 {
                        State::Pause { left: left - 1 }
                    } else {
                        self.digit = None;
                        State::Idle
                    };
                    0
                }
            };
        }
        busy
    }

    fn pause_or_idle(&mut self) -> State {
        let left = self.ms_to_samples(self.config.off_ms);
        if left == 0 {
            self.digit = None;
            State::Idle
        } else {
            State::Pause { left }
        }
    }

    fn next_value(&mut self) -> i16 {
        let value = self.low_amplitude * (TAU * self.low_phase).sin()
            + self.high_amplitude * (TAU * self.high_phase).sin();
        self.low_phase = (self.low_phase + self.low_step).fract();
        self.high_phase = (self.high_phase + self.high_step).fract();
        value
            .round()
            .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
    }

    fn ms_to_samples(&self, ms: u32) -> u64 {
        u64::from(ms) * u64::from(self.sample_rate) / 1000
    }
}
