//! Conference mixer of an audio MCU room, sans-IO: each 20 ms tick every
//! member pushes its decoded frame, [`Mixer::mix`] runs, and each member's
//! [`Mixer::output`] is what it hears.
//!
//! Only the loudest few members speaking (by a voice activity detector with
//! hangover, see [`VadConfig`]) are mixed, so the noise of idle lines never
//! adds up. A speaker hears the other speakers (mix-minus, a personal mix);
//! everyone else hears one shared mix of all speakers, per volume setting,
//! which the caller encodes once per codec. Every output stream has its own
//! limiter, so a loud room is turned down smoothly instead of clipping.
//!
//! A tick allocates nothing: buffers are made when a member joins or picks a
//! new volume.

use std::collections::{HashMap, VecDeque};

mod error;
mod limiter;
mod select;
mod vad;

pub use error::MixerError;
pub use vad::{frame_level_dbfs, VadConfig, SILENCE_DBFS};

use limiter::{Limiter, LimiterParams};
use vad::{Vad, VadParams};

/// A member of the room, named by the caller.
pub type MemberId = u64;

/// Listener volume range, in dB.
pub const MIN_VOLUME_DB: f32 = -12.0;
pub const MAX_VOLUME_DB: f32 = 12.0;
/// Listener volumes are rounded to this step, so few shared variants exist.
pub const VOLUME_STEP_DB: f32 = 0.5;
/// Distinct volumes: −12..=+12 dB in half-dB steps.
const VARIANTS: usize = 49;
/// Most speakers a room may mix at once.
const MAX_SPEAKERS: usize = 64;
/// Events held for the caller at least.
const MIN_EVENT_QUEUE: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixerConfig {
    /// The room's rate; every member's audio is resampled to it.
    pub sample_rate: u32,
    /// Samples per tick and per member frame.
    pub frame_len: usize,
    /// Most members mixed at once: the loudest of those speaking.
    pub max_speakers: usize,
    pub vad: VadConfig,
    /// How much louder (smoothed level) a waiting member must be than the
    /// quietest speaker to take its place while that speaker still talks;
    /// below it, current speakers are kept, so the set does not flap.
    pub switch_margin_db: f32,
}

impl MixerConfig {
    /// 20 ms frames at `sample_rate`, three speakers, default detection.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            frame_len: (sample_rate / 50) as usize,
            max_speakers: 3,
            vad: VadConfig::default(),
            switch_margin_db: 6.0,
        }
    }

    fn validate(&self) -> Result<(), MixerError> {
        if !(8000..=48_000).contains(&self.sample_rate) {
            return Err(MixerError::UnsupportedSampleRate(self.sample_rate));
        }
        if self.frame_len == 0 || self.frame_len > (self.sample_rate / 10) as usize {
            return Err(MixerError::InvalidFrameLength(self.frame_len));
        }
        if !(1..=MAX_SPEAKERS).contains(&self.max_speakers) {
            return Err(MixerError::InvalidMaxSpeakers(self.max_speakers));
        }
        if !(self.switch_margin_db.is_finite() && self.switch_margin_db >= 0.0) {
            return Err(MixerError::InvalidSwitchMargin(self.switch_margin_db));
        }
        self.vad.validate()
    }
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self::new(8000)
    }
}

/// What one member hears this tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOutput<'a> {
    /// Not a speaker: the shared mix of all speakers, the same buffer for
    /// every member at this volume, so the caller encodes it once per codec.
    /// `variant` names the volume (see [`volume_variant`]; 0 is 0 dB) and
    /// keys the caller's encode cache.
    Shared { samples: &'a [i16], variant: u32 },
    /// A speaker: the other speakers, without its own voice.
    Personal(&'a [i16]),
}

impl<'a> MemberOutput<'a> {
    pub fn samples(&self) -> &'a [i16] {
        match *self {
            MemberOutput::Shared { samples, .. } | MemberOutput::Personal(samples) => samples,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MixerEvent {
    StartedSpeaking(MemberId),
    StoppedSpeaking(MemberId),
}

/// The shared-mix variant of a listener volume: the volume rounded to
/// [`VOLUME_STEP_DB`] and zig-zag numbered (0 dB → 0, −0.5 → 1, +0.5 → 2,
/// −1 → 3, ...), so the number is stable for the room's life.
pub fn volume_variant(gain_db: f32) -> u32 {
    let db = if gain_db.is_nan() { 0.0 } else { gain_db };
    let steps = (db.clamp(MIN_VOLUME_DB, MAX_VOLUME_DB) / VOLUME_STEP_DB).round() as i32;
    if steps > 0 {
        (steps as u32) * 2
    } else {
        steps.unsigned_abs() * 2 - u32::from(steps != 0)
    }
}

/// The linear gain of a variant (inverse of [`volume_variant`]).
fn variant_gain(variant: usize) -> f32 {
    let half = (variant as f32 / 2.0).ceil();
    let steps = if variant.is_multiple_of(2) {
        half
    } else {
        -half
    };
    10f32.powf(steps * VOLUME_STEP_DB / 20.0)
}

#[derive(Debug)]
struct Member {
    id: MemberId,
    input: Vec<i16>,
    has_frame: bool,
    vad: Vad,
    muted: bool,
    variant: usize,
    speaker: bool,
    personal: Vec<i16>,
    limiter: Limiter,
}

/// One shared mix: what non-speakers at one volume hear.
#[derive(Debug)]
struct Variant {
    gain: f32,
    /// Empty until a member first picks this volume.
    samples: Vec<i16>,
    limiter: Limiter,
    listeners: usize,
}

/// The mixer of one room.
#[derive(Debug)]
pub struct Mixer {
    config: MixerConfig,
    vad: VadParams,
    limiter: LimiterParams,
    members: Vec<Member>,
    index: HashMap<MemberId, usize>,
    /// Member indices of the current speakers, in the order they started.
    speakers: Vec<usize>,
    /// Loudest waiting members, loudest first (scratch of the selection).
    candidates: Vec<usize>,
    sum: Vec<i32>,
    personal_sum: Vec<i32>,
    ceiling: Vec<f32>,
    variants: Vec<Variant>,
    events: VecDeque<MixerEvent>,
    event_capacity: usize,
    dropped_events: u64,
    /// The 0 dB shared mix is made every tick, listened to or not.
    keep_full_mix: bool,
}

impl Mixer {
    pub fn new(config: MixerConfig) -> Result<Mixer, MixerError> {
        config.validate()?;
        let len = config.frame_len;
        let frame_ms = len as f32 * 1000.0 / config.sample_rate as f32;
        let mut variants: Vec<Variant> = (0..VARIANTS)
            .map(|v| Variant {
                gain: variant_gain(v),
                samples: Vec::new(),
                limiter: Limiter::default(),
                listeners: 0,
            })
            .collect();
        variants[0].samples = vec![0; len];
        // Each tick adds at most a stop and a start per speaker slot.
        let event_capacity = MIN_EVENT_QUEUE.max(4 * config.max_speakers);
        Ok(Mixer {
            vad: VadParams::new(&config.vad, frame_ms),
            limiter: LimiterParams::new(config.sample_rate),
            members: Vec::new(),
            index: HashMap::new(),
            speakers: Vec::with_capacity(config.max_speakers),
            candidates: Vec::with_capacity(config.max_speakers + 1),
            sum: vec![0; len],
            personal_sum: vec![0; len],
            ceiling: vec![0.0; len],
            variants,
            events: VecDeque::with_capacity(event_capacity),
            event_capacity,
            dropped_events: 0,
            keep_full_mix: false,
            config,
        })
    }

    pub fn config(&self) -> &MixerConfig {
        &self.config
    }

    /// Joins a member: silent, unmuted, at 0 dB. Allocates its buffers.
    pub fn add_member(&mut self, id: MemberId) -> Result<(), MixerError> {
        if self.index.contains_key(&id) {
            return Err(MixerError::DuplicateMember(id));
        }
        let len = self.config.frame_len;
        self.index.insert(id, self.members.len());
        self.members.push(Member {
            id,
            input: vec![0; len],
            has_frame: false,
            vad: Vad::new(&self.vad),
            muted: false,
            variant: 0,
            speaker: false,
            personal: vec![0; len],
            limiter: Limiter::default(),
        });
        Ok(())
    }

    /// Leaves the room; a speaker leaving reports `StoppedSpeaking`.
    pub fn remove_member(&mut self, id: MemberId) {
        let Some(idx) = self.index.remove(&id) else {
            return;
        };
        if let Some(pos) = self.speakers.iter().position(|&s| s == idx) {
            self.speakers.remove(pos);
            self.emit(MixerEvent::StoppedSpeaking(id));
        }
        self.members.swap_remove(idx);
        let moved_from = self.members.len();
        if let Some(moved) = self.members.get(idx) {
            self.index.insert(moved.id, idx);
            for s in &mut self.speakers {
                if *s == moved_from {
                    *s = idx;
                }
            }
        }
    }

    /// A muted member is heard by nobody (it stops being a speaker at the
    /// next tick) but still hears the room.
    pub fn set_muted(&mut self, id: MemberId, muted: bool) {
        if let Some(m) = self.member_mut(id) {
            m.muted = muted;
        }
    }

    pub fn is_muted(&self, id: MemberId) -> bool {
        self.member(id).is_some_and(|m| m.muted)
    }

    /// What the member hears, −12..=+12 dB (clamped, in half-dB steps).
    /// The first member at a new volume allocates its shared buffer.
    pub fn set_volume(&mut self, id: MemberId, gain_db: f32) {
        let Some(&idx) = self.index.get(&id) else {
            return;
        };
        let variant = volume_variant(gain_db) as usize;
        let samples = &mut self.variants[variant].samples;
        if samples.is_empty() {
            *samples = vec![0; self.config.frame_len];
        }
        self.members[idx].variant = variant;
    }

    /// This tick's frame from a member, `frame_len` samples (a longer frame
    /// is cut, a shorter one padded with silence). A member that pushes
    /// nothing in a tick is silent in it: a line whose packets stopped never
    /// holds up the room.
    pub fn push(&mut self, id: MemberId, frame: &[i16]) {
        let Some(m) = self.member_mut(id) else {
            return;
        };
        let n = frame.len().min(m.input.len());
        m.input[..n].copy_from_slice(&frame[..n]);
        m.input[n..].fill(0);
        m.has_frame = true;
    }

    /// Mixes the tick: voice activity, speaker selection, the shared mixes
    /// and the speakers' personal mixes. Then every member's input is spent.
    pub fn mix(&mut self) {
        for m in &mut self.members {
            let level = m.has_frame.then(|| frame_level_dbfs(&m.input));
            m.vad.update(&self.vad, level);
        }
        self.select_speakers();

        self.sum.fill(0);
        for &s in &self.speakers {
            let m = &self.members[s];
            if m.has_frame {
                for (acc, &x) in self.sum.iter_mut().zip(&m.input) {
                    *acc += i32::from(x);
                }
            }
        }

        for v in &mut self.variants {
            v.listeners = 0;
        }
        for m in self.members.iter().filter(|m| !m.speaker) {
            self.variants[m.variant].listeners += 1;
        }
        if self.keep_full_mix {
            // The full mix is the 0 dB shared one: no extra work when a
            // non-speaker at 0 dB hears it anyway.
            self.variants[0].listeners += 1;
        }
        for v in &mut self.variants {
            if v.listeners == 0 {
                // Heard by nobody: start afresh when next heard.
                v.limiter = Limiter::default();
            } else {
                v.limiter.process(
                    &self.limiter,
                    &self.sum,
                    v.gain,
                    &mut self.ceiling,
                    &mut v.samples,
                );
            }
        }

        for &s in &self.speakers {
            let m = &mut self.members[s];
            self.personal_sum.copy_from_slice(&self.sum);
            if m.has_frame {
                for (acc, &x) in self.personal_sum.iter_mut().zip(&m.input) {
                    *acc -= i32::from(x);
                }
            }
            m.limiter.process(
                &self.limiter,
                &self.personal_sum,
                self.variants[m.variant].gain,
                &mut self.ceiling,
                &mut m.personal,
            );
        }

        for m in &mut self.members {
            m.has_frame = false;
        }
    }

    /// What the member hears, as of the last [`Mixer::mix`].
    pub fn output(&self, id: MemberId) -> Option<MemberOutput<'_>> {
        let m = self.member(id)?;
        Some(if m.speaker {
            MemberOutput::Personal(&m.personal)
        } else {
            MemberOutput::Shared {
                samples: &self.variants[m.variant].samples,
                variant: m.variant as u32,
            }
        })
    }

    /// The shared mix at volume `variant` (see [`MemberOutput::Shared`]),
    /// as of the last [`Mixer::mix`]; empty for a volume nobody hears.
    pub fn shared_mix(&self, variant: u32) -> &[i16] {
        self.variants
            .get(variant as usize)
            .map_or(&[], |v| v.samples.as_slice())
    }

    /// Whether [`Mixer::full_mix`] is made every tick (for a recording of
    /// the room), even when every member is a speaker.
    pub fn keep_full_mix(&mut self, on: bool) {
        self.keep_full_mix = on;
    }

    /// All current speakers mixed at 0 dB, nobody left out, as of the last
    /// [`Mixer::mix`]; kept up to date only with [`Mixer::keep_full_mix`]
    /// (or while a non-speaker at 0 dB hears it).
    pub fn full_mix(&self) -> &[i16] {
        &self.variants[0].samples
    }

    /// The current speakers (at most `max_speakers`), in the order they
    /// started.
    pub fn speakers(&self) -> impl Iterator<Item = MemberId> + '_ {
        self.speakers.iter().map(|&s| self.members[s].id)
    }

    pub fn is_speaking(&self, id: MemberId) -> bool {
        self.member(id).is_some_and(|m| m.speaker)
    }

    /// The oldest speaking change not yet taken.
    pub fn poll_event(&mut self) -> Option<MixerEvent> {
        self.events.pop_front()
    }

    /// Events lost because the caller did not poll (the oldest go first).
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, id: MemberId) -> bool {
        self.index.contains_key(&id)
    }

    fn member(&self, id: MemberId) -> Option<&Member> {
        self.index.get(&id).map(|&i| &self.members[i])
    }

    fn member_mut(&mut self, id: MemberId) -> Option<&mut Member> {
        self.index.get(&id).map(|&i| &mut self.members[i])
    }

    fn emit(&mut self, event: MixerEvent) {
        if self.events.len() == self.event_capacity {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests;
