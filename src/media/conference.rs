//! Conference rooms in the media plane: many legs on one worker, each
//! hearing the room's mix without itself (`crate::media::mixer`).
//!
//! The control plane places every member of a room on the room's worker
//! (affinity by room name) and sends `WorkerCommand::JoinRoom`. The worker
//! owns the room: its mixer at the room's rate (the highest member audio
//! rate) and a 20 ms tick of its own. Each member session keeps its own
//! ptime clock, as a transcoding bridge leg does:
//!
//! * on its tick a member pulls one frame through its playout buffer and
//!   decoder (with concealment), resamples it to the room's rate and leaves
//!   it for the worker, which queues it in the member's input FIFO at the
//!   room;
//! * on the room's tick each member's next input frame (or silence, when
//!   its packets stopped: a member never stalls the room) goes into the
//!   mixer; what each member hears comes back, is resampled to its rate and
//!   queued in its [`ConferenceLink::fifo`];
//! * the member's next tick encodes one frame from that queue.
//!
//! Over the mix the room plays its announcements one after another
//! ([`AnnouncementQueue`]): join and leave tones, or audio the control plane
//! sends ("NAME has joined"), resampled to the room's rate when it arrives.
//!
//! Everything is sized when a member joins or the room's rate changes;
//! nothing allocates on the tick.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::codec::resample::{self, FrameResampler, ResampleError};
use crate::media::bridge::fifo::PcmFifo;
use crate::media::session::{MediaParams, SessionId};

mod mix_queue;
pub use mix_queue::{MixPop, MixQueue, MAX_PAYLOAD};

/// The room's frame: 20 ms, whatever the members' ptimes.
pub const ROOM_PTIME_MS: u32 = 20;

/// One member's half of the room: its audio into the room, the room's mix
/// back out.
#[derive(Debug)]
pub struct ConferenceLink {
    pub room_rate: u32,
    /// Own decoded frames at the room's rate.
    pub to_room: FrameResampler,
    pub to_room_frame: Box<[i16]>,
    pub to_room_ready: bool,
    /// The last tick had a frame (the resampler holds its tail).
    pub to_room_streaming: bool,
    /// The room's mix at the room's rate, to this member's rate.
    pub from_room: FrameResampler,
    pub from_room_frame: Box<[i16]>,
    /// `from_room` skipped frames (the member was sent the shared encode)
    /// and restarts with the next one.
    pub from_room_skipped: bool,
    /// What the member hears, waiting to be sent.
    pub out: RoomOutput,
}

/// How a member's share of the room waits for its tick.
#[derive(Debug)]
pub enum RoomOutput {
    /// A member at the room's ptime: frames one for one, PCM or the shared
    /// mix already encoded.
    Frames(MixQueue),
    /// Any other ptime: PCM re-framed to the member's frames, always
    /// encoded by the member.
    Pcm(PcmFifo),
}

impl RoomOutput {
    /// Forgets everything queued.
    pub fn clear(&mut self) {
        match self {
            RoomOutput::Frames(queue) => queue.clear(),
            RoomOutput::Pcm(fifo) => fifo.clear(),
        }
    }
}

impl ConferenceLink {
    pub fn new(own: &MediaParams, room_rate: u32) -> Result<Self, ResampleError> {
        let own_rate = own.codec.audio_rate();
        let to_room = FrameResampler::new(own_rate, room_rate, own.ptime_ms)?;
        let from_room = FrameResampler::new(room_rate, own_rate, ROOM_PTIME_MS)?;
        let to_len = to_room.output_len();
        let from_len = from_room.output_len();
        // The room pushes 20 ms at this leg's rate per room tick; the leg
        // pops one of its frames per own tick.
        let pop = (own_rate * own.ptime_ms / 1000) as usize;
        let out = if own.ptime_ms == ROOM_PTIME_MS && pop == from_len {
            RoomOutput::Frames(MixQueue::new(pop))
        } else {
            RoomOutput::Pcm(PcmFifo::new(from_len, pop))
        };
        Ok(ConferenceLink {
            room_rate,
            to_room,
            to_room_frame: vec![0; to_len].into_boxed_slice(),
            to_room_ready: false,
            to_room_streaming: false,
            from_room,
            from_room_frame: vec![0; from_len].into_boxed_slice(),
            from_room_skipped: false,
            out,
        })
    }
}

/// The short tone a room plays to everyone when a member joins (rising) or
/// leaves (falling): two notes, mixed over what the members hear.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoomTone {
    notes: [(f32, u32); 2],
    /// Samples played so far.
    position: u32,
}

/// Note and gap lengths of a room tone, ms.
const NOTE_MS: u32 = 100;
const GAP_MS: u32 = 40;
/// Peak amplitude: −16 dBFS, audible over speech without startling.
const TONE_AMPLITUDE: f32 = 5200.0;

/// Frequencies of the join and leave tones, Hz (not DTMF frequencies).
pub const JOIN_TONE_HZ: [f32; 2] = [600.0, 900.0];
pub const LEAVE_TONE_HZ: [f32; 2] = [900.0, 600.0];

impl RoomTone {
    pub fn join() -> Self {
        Self::notes(JOIN_TONE_HZ)
    }

    pub fn leave() -> Self {
        Self::notes(LEAVE_TONE_HZ)
    }

    fn notes(hz: [f32; 2]) -> Self {
        RoomTone {
            notes: [(hz[0], NOTE_MS), (hz[1], NOTE_MS)],
            position: 0,
        }
    }

    /// Adds the next `out.len()` samples at `rate` to `out` (saturating);
    /// false once the tone is over.
    pub fn add_to(&mut self, out: &mut [i16], rate: u32) -> bool {
        let ms = |n: u32| n * rate / 1000;
        let first_end = ms(self.notes[0].1);
        let second_start = first_end + ms(GAP_MS);
        let end = second_start + ms(self.notes[1].1);
        for sample in out.iter_mut() {
            let p = self.position;
            if p >= end {
                return false;
            }
            let (hz, t) = if p < first_end {
                (self.notes[0].0, p)
            } else if p >= second_start {
                (self.notes[1].0, p - second_start)
            } else {
                self.position += 1;
                continue;
            };
            let phase = std::f32::consts::TAU * hz * t as f32 / rate as f32;
            let value = (TONE_AMPLITUDE * phase.sin()) as i32;
            *sample = (i32::from(*sample) + value).clamp(-32768, 32767) as i16;
            self.position += 1;
        }
        self.position < end
    }
}

/// Announcements waiting beyond the one playing; more are dropped (a
/// burst of joins must not queue minutes of audio).
pub const MAX_QUEUED_ANNOUNCEMENTS: usize = 8;

/// Something the room plays over what its members hear: a join or leave
/// tone, or prepared audio at the room's rate ("NAME has joined").
#[derive(Debug, Clone)]
pub enum RoomAnnouncement {
    Tone(RoomTone),
    Audio {
        /// The audio as it came, kept to follow a change of the room's rate.
        source: Arc<[i16]>,
        source_rate: u32,
        /// At the room's rate.
        samples: Arc<[i16]>,
        position: usize,
        /// The member it is about, who does not hear it.
        except: Option<SessionId>,
    },
}

impl RoomAnnouncement {
    /// `samples` at `rate`, prepared for a room at `room_rate`.
    pub fn audio(
        samples: Arc<[i16]>,
        rate: u32,
        room_rate: u32,
        except: Option<SessionId>,
    ) -> Result<Self, ResampleError> {
        let mut announcement = RoomAnnouncement::Audio {
            samples: samples.clone(),
            source: samples,
            source_rate: rate,
            position: 0,
            except,
        };
        announcement.set_rate(room_rate)?;
        Ok(announcement)
    }

    /// The room's rate changed: audio not played yet follows it.
    pub fn set_rate(&mut self, room_rate: u32) -> Result<(), ResampleError> {
        if let RoomAnnouncement::Audio {
            source,
            source_rate,
            samples,
            position,
            ..
        } = self
        {
            let played = *position as f64 / samples.len().max(1) as f64;
            *samples = if *source_rate == room_rate {
                source.clone()
            } else {
                resample::resample(source, *source_rate, room_rate)?.into()
            };
            *position = (played * samples.len() as f64) as usize;
        }
        Ok(())
    }

    /// The member who does not hear it.
    pub fn except(&self) -> Option<SessionId> {
        match self {
            RoomAnnouncement::Tone(_) => None,
            RoomAnnouncement::Audio { except, .. } => *except,
        }
    }

    /// Adds the next `out.len()` samples at `rate` (the room's) to `out`;
    /// false once it is over.
    pub fn add_to(&mut self, out: &mut [i16], rate: u32) -> bool {
        match self {
            RoomAnnouncement::Tone(tone) => tone.add_to(out, rate),
            RoomAnnouncement::Audio {
                samples, position, ..
            } => {
                let rest = &samples[(*position).min(samples.len())..];
                for (o, &s) in out.iter_mut().zip(rest) {
                    *o = o.saturating_add(s);
                }
                *position += out.len().min(rest.len());
                *position < samples.len()
            }
        }
    }
}

/// A room's announcements, played one after another.
#[derive(Debug, Default)]
pub struct AnnouncementQueue {
    queue: VecDeque<RoomAnnouncement>,
}

impl AnnouncementQueue {
    pub fn new() -> Self {
        AnnouncementQueue {
            queue: VecDeque::with_capacity(MAX_QUEUED_ANNOUNCEMENTS + 1),
        }
    }

    /// Queues `announcement` after those already queued; false (dropped)
    /// when the queue is full.
    pub fn push(&mut self, announcement: RoomAnnouncement) -> bool {
        if self.queue.len() > MAX_QUEUED_ANNOUNCEMENTS {
            return false;
        }
        self.queue.push_back(announcement);
        true
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn set_rate(&mut self, room_rate: u32) {
        self.queue.retain_mut(|a| a.set_rate(room_rate).is_ok());
    }

    /// Writes the next frame of the announcement playing into `out`
    /// (silence around it); the member it is about, if any. None when
    /// nothing plays.
    pub fn next_frame(&mut self, out: &mut [i16], rate: u32) -> Option<Option<SessionId>> {
        let current = self.queue.front_mut()?;
        out.fill(0);
        let except = current.except();
        if !current.add_to(out, rate) {
            self.queue.pop_front();
        }
        Some(except)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_and_leave_tones_are_two_notes_and_end() {
        let rate = 8000;
        let mut tone = RoomTone::join();
        let mut out = vec![0i16; 160];
        let mut frames = Vec::new();
        while tone.add_to(&mut out, rate) {
            frames.extend_from_slice(&out);
            out.fill(0);
        }
        frames.extend_from_slice(&out);
        // 100 ms, 40 ms gap, 100 ms: 240 ms in 20 ms frames.
        assert_eq!(frames.len(), 12 * 160);
        let peak = |s: &[i16]| s.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
        assert!(peak(&frames[..800]) > 5000);
        assert_eq!(peak(&frames[810..1110]), 0, "the gap is silent");
        assert!(peak(&frames[1120..1920]) > 5000);
        // Zero crossings tell the pitch: rising for join.
        let crossings = |s: &[i16]| s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!(crossings(&frames[1120..1920]) > crossings(&frames[..800]));
        let mut leave = RoomTone::leave();
        let mut first = vec![0i16; 800];
        leave.add_to(&mut first, rate);
        assert!(crossings(&first) > crossings(&frames[..800]), "falling");
    }

    #[test]
    fn announcements_play_in_turn_at_the_room_rate() {
        let mut queue = AnnouncementQueue::new();
        queue.push(RoomAnnouncement::Tone(RoomTone::join()));
        // 30 ms of a constant at 8 kHz, for a room at 16 kHz.
        let audio = RoomAnnouncement::audio(Arc::from(vec![1000i16; 240]), 8000, 16000, Some(7));
        assert!(queue.push(audio.unwrap()));
        let mut out = vec![0i16; 320];
        let mut frames = Vec::new();
        while let Some(except) = queue.next_frame(&mut out, 16000) {
            frames.push((except, out.clone()));
        }
        // The tone (240 ms) whole, then the audio: 60 ms at 16 kHz are
        // 960 samples, two frames, the second half silent.
        assert_eq!(frames.len(), 12 + 2);
        assert!(frames[..12].iter().all(|(except, _)| except.is_none()));
        let (except, first) = &frames[12];
        assert_eq!(*except, Some(7));
        assert!(first[20..300].iter().all(|&s| (900..=1100).contains(&s)));
        let (_, second) = &frames[13];
        assert!(second[20..140].iter().all(|&s| (900..=1100).contains(&s)));
        assert!(second[180..].iter().all(|&s| s == 0), "the audio ended");
        assert!(queue.is_empty());

        for _ in 0..=MAX_QUEUED_ANNOUNCEMENTS {
            assert!(queue.push(RoomAnnouncement::Tone(RoomTone::leave())));
        }
        assert!(
            !queue.push(RoomAnnouncement::Tone(RoomTone::leave())),
            "full"
        );
    }
}
