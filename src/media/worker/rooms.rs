//! The worker's conference rooms (`crate::media::conference`): joining and
//! leaving, the room's own 20 ms tick, and moving each member's audio in
//! and the room's mix out.

use std::time::{Duration, Instant};

use super::room_recording::RoomRecording;
use super::shared_mix::{EncodeIndex, SharedEncodes};
use super::Worker;
use super::{MediaEvent, MediaEventKind};
use crate::media::bridge::fifo::{FifoPop, PcmFifo};
use crate::media::conference::{AnnouncementQueue, RoomAnnouncement, RoomTone, ROOM_PTIME_MS};
use crate::media::mixer::{MemberOutput, Mixer, MixerConfig, MixerEvent};
use crate::media::recorder::RoomRecordingSpec;
use crate::media::session::{SessionEvent, SessionId};
use crate::media::stats::add;

/// The highest room rate: members above it are resampled down.
const MAX_ROOM_RATE: u32 = 48_000;

const ROOM_PTIME: Duration = Duration::from_millis(ROOM_PTIME_MS as u64);

pub(super) struct Room {
    pub name: String,
    pub(super) rate: u32,
    pub(super) mixer: Mixer,
    /// One room frame, read out of a member's input queue.
    frame: Box<[i16]>,
    members: Vec<RoomMember>,
    pub next_tick: Instant,
    /// Join and leave tones and names, played to everyone in turn.
    announcements: AnnouncementQueue,
    /// One member's output with the announcement added.
    with_tone: Box<[i16]>,
    /// The room's mix going to a file; closed when the room is dropped.
    pub(super) recording: Option<RoomRecording>,
    /// The listeners' mix, encoded once per codec.
    shared: SharedEncodes,
}

struct RoomMember {
    id: SessionId,
    slot: usize,
    /// The member's audio at the room's rate: pushed a member frame per
    /// member tick, popped a room frame per room tick.
    input: PcmFifo,
    /// Its join and leave are told by tones.
    tone: bool,
    /// The shared encode it is sent this tick, if any.
    encode: Option<EncodeIndex>,
}

pub(super) fn room_frame_len(rate: u32) -> usize {
    (rate * ROOM_PTIME_MS / 1000) as usize
}

impl Room {
    fn new(name: String, rate: u32, now: Instant) -> Option<Room> {
        let frame_len = room_frame_len(rate);
        let mixer = Mixer::new(MixerConfig::new(rate)).ok()?;
        Some(Room {
            name,
            rate,
            mixer,
            frame: vec![0; frame_len].into_boxed_slice(),
            members: Vec::new(),
            next_tick: now + ROOM_PTIME,
            announcements: AnnouncementQueue::new(),
            with_tone: vec![0; frame_len].into_boxed_slice(),
            recording: None,
            shared: SharedEncodes::default(),
        })
    }
}

impl Worker {
    /// Puts session `id` in room `name`, creating the room; a member whose
    /// audio rate is above the room's raises the room's rate for all. With
    /// `record`, a room not recorded yet starts recording its mix once the
    /// member is in. With `tone`, the join (and later the leave) is told
    /// to the room by a tone.
    pub(super) fn join_room(
        &mut self,
        now: Instant,
        id: SessionId,
        name: String,
        record: Option<RoomRecordingSpec>,
        tone: bool,
    ) {
        let Some(index) = self.by_id.get(&id).copied() else {
            return;
        };
        self.leave_room(id);
        self.unbridge(id);
        let Some(Some(slot)) = self.slots.get(index) else {
            return;
        };
        let rate = slot.session.params().codec.audio_rate().min(MAX_ROOM_RATE);
        let room_index = match self
            .rooms
            .iter()
            .position(|r| r.as_ref().is_some_and(|r| r.name == name))
        {
            Some(i) => i,
            None => {
                let Some(room) = Room::new(name, rate, now) else {
                    return;
                };
                match self.rooms.iter().position(Option::is_none) {
                    Some(free) => {
                        self.rooms[free] = Some(room);
                        free
                    }
                    None => {
                        self.rooms.push(Some(room));
                        self.rooms.len() - 1
                    }
                }
            }
        };
        if self.rooms[room_index]
            .as_ref()
            .is_some_and(|r| rate > r.rate)
        {
            self.set_room_rate(room_index, rate);
        }
        let Some(room) = self.rooms[room_index].as_mut() else {
            return;
        };
        let Some(Some(slot)) = self.slots.get_mut(index) else {
            return;
        };
        if let Err(e) = slot.session.join_room(room.rate) {
            tracing::warn!(session = id, error = %e, "cannot join the room");
            return;
        }
        if room.mixer.add_member(id).is_err() {
            slot.session.leave_room();
            return;
        }
        let input = member_input(slot.session.params(), room.rate);
        room.members.push(RoomMember {
            id,
            slot: index,
            input,
            tone,
            encode: None,
        });
        if tone && room.members.len() > 1 {
            room.announcements
                .push(RoomAnnouncement::Tone(RoomTone::join()));
        }
        slot.room = Some(room_index);
        if let Some(spec) = record.filter(|_| room.recording.is_none()) {
            self.start_room_recording(room_index, spec);
        }
    }

    /// Takes session `id` out of its room; the last member out closes it.
    pub(super) fn leave_room(&mut self, id: SessionId) {
        let Some(index) = self.by_id.get(&id).copied() else {
            return;
        };
        let Some(Some(slot)) = self.slots.get_mut(index) else {
            return;
        };
        let Some(room_index) = slot.room.take() else {
            return;
        };
        slot.session.leave_room();
        let Some(room) = self.rooms.get_mut(room_index).and_then(Option::as_mut) else {
            return;
        };
        let tone = room.members.iter().any(|m| m.id == id && m.tone);
        room.members.retain(|m| m.id != id);
        room.mixer.remove_member(id);
        if tone {
            room.announcements
                .push(RoomAnnouncement::Tone(RoomTone::leave()));
        }
        if room.members.is_empty() {
            self.rooms[room_index] = None;
        }
    }

    /// A member's parameters changed (a re-INVITE): its link and input
    /// queue follow, and the room's rate if need be. The member stays in
    /// the room throughout (no leave or join tone, its speaker state kept).
    pub(super) fn room_member_updated(&mut self, id: SessionId) {
        let Some(index) = self.by_id.get(&id).copied() else {
            return;
        };
        let Some(room_index) = self.slots.get(index).and_then(|s| s.as_ref()?.room) else {
            return;
        };
        let Some(rate) = self.slots[index]
            .as_ref()
            .map(|s| s.session.params().codec.audio_rate().min(MAX_ROOM_RATE))
        else {
            return;
        };
        if self.rooms[room_index]
            .as_ref()
            .is_some_and(|r| rate > r.rate)
        {
            // Rebuilds every member's link, this one's included.
            self.set_room_rate(room_index, rate);
            return;
        }
        let (Some(room), Some(Some(slot))) = (
            self.rooms.get_mut(room_index).and_then(Option::as_mut),
            self.slots.get_mut(index),
        ) else {
            return;
        };
        if let Err(e) = slot.session.join_room(room.rate) {
            tracing::warn!(session = id, error = %e, "room link cannot follow the update");
            return;
        }
        let input = member_input(slot.session.params(), room.rate);
        if let Some(member) = room.members.iter_mut().find(|m| m.id == id) {
            member.input = input;
        }
    }

    pub(super) fn set_member_muted(&mut self, id: SessionId, muted: bool) {
        if let Some(room) = self.room_of(id) {
            room.mixer.set_muted(id, muted);
        }
    }

    pub(super) fn set_member_volume(&mut self, id: SessionId, gain_db: i8) {
        if let Some(room) = self.room_of(id) {
            room.mixer.set_volume(id, f32::from(gain_db));
        }
    }

    fn room_of(&mut self, id: SessionId) -> Option<&mut Room> {
        let index = *self.by_id.get(&id)?;
        let room_index = self.slots.get(index)?.as_ref()?.room?;
        self.rooms.get_mut(room_index)?.as_mut()
    }

    /// Rebuilds a room at a higher rate: a new mixer, and every member's
    /// link and input queue at that rate.
    fn set_room_rate(&mut self, room_index: usize, rate: u32) {
        let Some(room) = self.rooms.get_mut(room_index).and_then(Option::as_mut) else {
            return;
        };
        let frame_len = room_frame_len(rate);
        let Ok(mut mixer) = Mixer::new(MixerConfig::new(rate)) else {
            return;
        };
        for member in &mut room.members {
            let _ = mixer.add_member(member.id);
            if let Some(Some(slot)) = self.slots.get_mut(member.slot) {
                if slot.session.join_room(rate).is_ok() {
                    member.input = member_input(slot.session.params(), rate);
                }
            }
        }
        if let Some(recording) = room.recording.as_mut() {
            recording.set_mixer(&mut mixer);
        }
        room.mixer = mixer;
        room.rate = rate;
        room.frame = vec![0; frame_len].into_boxed_slice();
        room.with_tone = vec![0; frame_len].into_boxed_slice();
        room.announcements.set_rate(rate);
        room.shared.clear();
    }

    /// Queues `samples` (at `rate_hz`) to be played to everyone in `room`
    /// but `except`; prepared here at the room's rate, so that the tick
    /// only copies.
    pub(super) fn announce_in_room(
        &mut self,
        room: &str,
        samples: std::sync::Arc<[i16]>,
        rate_hz: u32,
        except: Option<SessionId>,
    ) {
        let Some(room) = self.rooms.iter_mut().flatten().find(|r| r.name == room) else {
            return;
        };
        match RoomAnnouncement::audio(samples, rate_hz, room.rate, except) {
            Ok(announcement) => {
                if !room.announcements.push(announcement) {
                    tracing::info!(room = %room.name, "announcements queued full; one dropped");
                }
            }
            Err(e) => tracing::warn!(room = %room.name, error = %e, "cannot announce"),
        }
    }

    /// After a member's tick: its frame for the room, into its queue there.
    pub(super) fn collect_room_audio(&mut self, index: usize) {
        let Some(Some(slot)) = self.slots.get_mut(index) else {
            return;
        };
        let Some(room_index) = slot.room else {
            return;
        };
        let id = slot.session.id();
        let Some(samples) = slot.session.take_room_audio() else {
            return;
        };
        let Some(room) = self.rooms.get_mut(room_index).and_then(Option::as_mut) else {
            return;
        };
        if let Some(member) = room.members.iter_mut().find(|m| m.id == id) {
            member.input.push(samples);
        }
    }

    /// When the next room tick is due.
    pub(super) fn next_room_tick(&self) -> Option<Instant> {
        self.rooms.iter().flatten().map(|r| r.next_tick).min()
    }

    /// Runs the room ticks that are due: every member's next frame in,
    /// the mix, and what each member hears out to it.
    pub(super) fn run_room_ticks(&mut self, now: Instant, coalesce: Duration) {
        for room_index in 0..self.rooms.len() {
            let Some(room) = self.rooms[room_index].as_mut() else {
                continue;
            };
            if room.next_tick > now + coalesce {
                continue;
            }
            room.next_tick += ROOM_PTIME;
            if room.next_tick + ROOM_PTIME < now {
                // The worker stalled: skip the missed ticks.
                room.next_tick = now + ROOM_PTIME;
            }
            for member in &mut room.members {
                if member.input.pop(&mut room.frame) == FifoPop::Frame {
                    room.mixer.push(member.id, &room.frame);
                }
            }
            room.mixer.mix();
            if let Some(recording) = room.recording.as_mut() {
                recording.push(room.mixer.full_mix());
            }
            // The announcement's next frame, added to what every member
            // hears (but the one it is about).
            let announcing = room.announcements.next_frame(&mut room.frame, room.rate);
            // Listeners are sent the shared encodes, made once per codec.
            room.shared.begin_tick();
            for member in &mut room.members {
                member.encode = None;
                let Some(Some(slot)) = self.slots.get(member.slot) else {
                    continue;
                };
                let Some(MemberOutput::Shared { variant, .. }) = room.mixer.output(member.id)
                else {
                    continue;
                };
                if let Some(key) = slot.session.shared_mix_key() {
                    let announced = announcing.is_some_and(|except| except != Some(member.id));
                    member.encode = room.shared.want(key, variant, announced, room.rate);
                }
            }
            let tone_frame = announcing.map(|except| (except, &room.frame));
            let encodes = room
                .shared
                .encode(&room.mixer, tone_frame.map(|(_, frame)| &frame[..]));
            let (mut shared_frames, mut personal_frames) = (0, 0);
            for member in &room.members {
                let Some(Some(slot)) = self.slots.get_mut(member.slot) else {
                    continue;
                };
                if let Some(payload) = member.encode.and_then(|e| room.shared.payload(e)) {
                    slot.session.push_room_payload(payload);
                    shared_frames += 1;
                    continue;
                }
                personal_frames += 1;
                let Some(output) = room.mixer.output(member.id) else {
                    continue;
                };
                let samples = output.samples();
                match tone_frame {
                    Some((except, tone)) if except != Some(member.id) => {
                        for ((out, &heard), &t) in
                            room.with_tone.iter_mut().zip(samples).zip(tone.iter())
                        {
                            *out = heard.saturating_add(t);
                        }
                        slot.session.push_room_audio(&room.with_tone);
                    }
                    _ => slot.session.push_room_audio(samples),
                }
            }
            room.shared.retire_idle();
            add(&self.metrics.room_shared_encodes, encodes as u64);
            add(&self.metrics.room_shared_frames, shared_frames);
            add(&self.metrics.room_personal_frames, personal_frames);
            while let Some(event) = room.mixer.poll_event() {
                let (session, speaking) = match event {
                    MixerEvent::StartedSpeaking(id) => (id, true),
                    MixerEvent::StoppedSpeaking(id) => (id, false),
                };
                let _ = self.events.send(MediaEvent {
                    session,
                    kind: MediaEventKind::Session(SessionEvent::Speaking(speaking)),
                    generation: 0,
                });
            }
        }
    }
}

/// A member's input queue at the room: one member frame (resampled to the
/// room's rate) in per member tick, one room frame out per room tick.
fn member_input(params: &crate::media::session::MediaParams, room_rate: u32) -> PcmFifo {
    let push = (room_rate * params.ptime_ms / 1000) as usize;
    PcmFifo::new(push, room_frame_len(room_rate))
}
