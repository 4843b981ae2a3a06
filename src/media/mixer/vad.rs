//! Voice activity per member: each frame's level against an adaptive noise
//! floor, with hangover.
//!
//! The floor follows the line's minimum: it drops at once to a quieter frame
//! and climbs slowly otherwise, so steady noise or hum becomes the floor
//! within a second or two while speech, whose syllable gaps keep pulling the
//! floor down, stays above it.

use super::MixerError;

/// Mean square of a full-scale sine: levels are in dBFS relative to it (a
/// full-scale sine reads 0 dBFS, a full-scale square +3 dBFS).
const FULL_SCALE_SINE_MEAN_SQUARE: f64 = 32767.0 * 32767.0 / 2.0;
/// Level given to digital silence, whose logarithm is unbounded.
pub const SILENCE_DBFS: f32 = -100.0;
/// Weight of each speech frame in the smoothed level (a time constant of
/// about five frames): ranks speakers by a level that does not flap.
const LEVEL_SMOOTHING: f32 = 0.2;

/// Voice activity detection of every member of a room.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VadConfig {
    /// How far above its noise floor a frame must be to count as speech.
    pub onset_db: f32,
    /// Level below which a frame is never speech, whatever the floor.
    pub min_level_dbfs: f32,
    /// How long a member still counts as speaking after its last speech
    /// frame, so pauses between words do not drop a speaker.
    pub hangover_ms: u32,
    /// How fast the floor climbs towards a louder steady signal.
    pub floor_rise_db_per_s: f32,
    /// Floor of a new member, before its line has been heard.
    pub initial_floor_dbfs: f32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            onset_db: 9.0,
            min_level_dbfs: -50.0,
            hangover_ms: 250,
            floor_rise_db_per_s: 6.0,
            initial_floor_dbfs: -60.0,
        }
    }
}

impl VadConfig {
    pub(crate) fn validate(&self) -> Result<(), MixerError> {
        if !(self.onset_db.is_finite() && self.onset_db >= 0.0) {
            return Err(MixerError::InvalidVad("onset_db must be finite and >= 0"));
        }
        if !self.min_level_dbfs.is_finite() || !self.initial_floor_dbfs.is_finite() {
            return Err(MixerError::InvalidVad("levels must be finite"));
        }
        if !(self.floor_rise_db_per_s.is_finite() && self.floor_rise_db_per_s > 0.0) {
            return Err(MixerError::InvalidVad(
                "floor_rise_db_per_s must be finite and > 0",
            ));
        }
        Ok(())
    }
}

/// Level of a frame in dBFS (see [`SILENCE_DBFS`] for an empty or silent one).
pub fn frame_level_dbfs(frame: &[i16]) -> f32 {
    // Exact integer sum: 2^30 per sample leaves room for any frame length.
    let sum: i64 = frame
        .iter()
        .map(|&s| i64::from(i32::from(s) * i32::from(s)))
        .sum();
    if sum == 0 {
        return SILENCE_DBFS;
    }
    let mean_square = sum as f64 / frame.len() as f64;
    ((10.0 * (mean_square / FULL_SCALE_SINE_MEAN_SQUARE).log10()) as f32).max(SILENCE_DBFS)
}

/// The room's VAD settings in frames, shared by every member's detector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VadParams {
    onset_db: f32,
    min_level_dbfs: f32,
    hangover_frames: u32,
    rise_per_frame: f32,
    initial_floor: f32,
}

impl VadParams {
    pub fn new(config: &VadConfig, frame_ms: f32) -> Self {
        Self {
            onset_db: config.onset_db,
            min_level_dbfs: config.min_level_dbfs,
            hangover_frames: (config.hangover_ms as f32 / frame_ms).ceil() as u32,
            rise_per_frame: config.floor_rise_db_per_s * frame_ms / 1000.0,
            initial_floor: config.initial_floor_dbfs,
        }
    }
}

/// One member's detector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vad {
    floor_db: f32,
    level_db: f32,
    hangover_left: u32,
    active: bool,
}

impl Vad {
    pub fn new(params: &VadParams) -> Self {
        Self {
            floor_db: params.initial_floor,
            level_db: SILENCE_DBFS,
            hangover_left: 0,
            active: false,
        }
    }

    /// Speaking now, counting the hangover.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Smoothed level of the speech frames, held through pauses so a
    /// pausing speaker keeps its rank.
    pub fn level_db(&self) -> f32 {
        self.level_db
    }

    /// One tick: the frame's level, or `None` when the member sent nothing
    /// (silence that says nothing about the line's noise).
    pub fn update(&mut self, params: &VadParams, level: Option<f32>) {
        let speech = match level {
            Some(level) => {
                let speech =
                    level > self.floor_db + params.onset_db && level > params.min_level_dbfs;
                self.floor_db = if level < self.floor_db {
                    level
                } else {
                    (self.floor_db + params.rise_per_frame).min(level)
                };
                speech
            }
            None => false,
        };
        match (speech, level) {
            (true, Some(level)) => {
                self.level_db = if self.active {
                    self.level_db + (level - self.level_db) * LEVEL_SMOOTHING
                } else {
                    level
                };
                self.hangover_left = params.hangover_frames;
                self.active = true;
            }
            _ if self.hangover_left == 0 => self.active = false,
            _ => self.hangover_left -= 1,
        }
    }
}
