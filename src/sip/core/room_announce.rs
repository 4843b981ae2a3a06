//! Rooms that announce members by name (`announce = "name"`): the caller's
//! application records its name before joining, to
//! `DATA/conferences/ROOM/names/ID.wav`; once in, the room plays "NAME has
//! joined" to the others, and "NAME has left" when the member goes, and
//! the file is deleted. A caller who said nothing is announced by the tone,
//! as in a room with `announce = "tone"`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::SipCore;
use crate::config::RoomAnnounce;
use crate::media::{RecordingOutcome, SessionId, WorkerCommand};
use crate::prompts::{decode_file, phrases};

/// A shorter recording is the caller saying nothing (the silence that
/// ends it is not kept).
pub const MIN_NAME: Duration = Duration::from_millis(300);

/// A member's recorded name, as read back.
#[derive(Debug)]
pub(super) struct RoomName {
    path: PathBuf,
    samples: Arc<[i16]>,
    rate_hz: u32,
}

impl SipCore {
    fn announce_mode(&self, room: &str) -> RoomAnnounce {
        self.room_options
            .get(room)
            .map_or(RoomAnnounce::Tone, |o| o.announce)
    }

    /// Where a new caller of `room` records its name, when the room
    /// announces by name (and recordings have a place).
    pub(super) fn name_path(&self, room: &str) -> Option<PathBuf> {
        if self.announce_mode(room) != RoomAnnounce::Name {
            return None;
        }
        let dir = self.room_recordings.dir()?.join(room).join("names");
        Some(dir.join(format!("{}.wav", crate::sip::ids::new_tag())))
    }

    /// Whether member `id`'s join and leave are told to `room` by a tone.
    pub(super) fn announced_by_tone(&self, id: SessionId, room: &str) -> bool {
        match self.announce_mode(room) {
            RoomAnnounce::Tone => true,
            RoomAnnounce::Name => !self.room_names.contains_key(&id),
            RoomAnnounce::None => false,
        }
    }

    /// Settles the recording of leg `id`'s name; whether it was kept.
    pub(super) fn name_recorded(
        &mut self,
        id: SessionId,
        path: PathBuf,
        outcome: &RecordingOutcome,
    ) -> bool {
        let usable = outcome.error.is_none() && outcome.duration >= MIN_NAME;
        let decoded = usable && self.legs.contains_key(&id);
        let name = decoded.then(|| decode_file(&path)).and_then(|r| {
            r.map_err(|e| tracing::warn!(path = %path.display(), error = %e, "cannot read a name"))
                .ok()
        });
        match name {
            Some(decoded) => {
                let name = RoomName {
                    path,
                    samples: decoded.samples.into(),
                    rate_hz: decoded.rate_hz,
                };
                self.room_names.insert(id, name);
                true
            }
            None => {
                tracing::info!(session = id, duration_ms = outcome.duration.as_millis() as u64, error = ?outcome.error, "no name recorded: the tone announces the member");
                remove_name(&path);
                false
            }
        }
    }

    /// Member `id` is in `room` (mixed): the others hear its name.
    pub(super) fn announce_joined(&mut self, id: SessionId, room: &str) {
        self.announce(id, room, phrases::CONF_HAS_JOINED, Some(id));
    }

    /// Member `id` is leaving `room`: the others hear its name. A member
    /// still waiting for the moderator was never announced.
    pub(super) fn announce_left(&mut self, id: SessionId, room: &str) {
        if !self.is_waiting(room, id) {
            self.announce(id, room, phrases::CONF_HAS_LEFT, Some(id));
        }
    }

    /// Leg `id` ended: its recorded name, if any, is deleted.
    pub(super) fn forget_name(&mut self, id: SessionId) {
        if let Some(name) = self.room_names.remove(&id) {
            remove_name(&name.path);
        }
    }

    fn announce(&self, id: SessionId, room: &str, said: &str, except: Option<SessionId>) {
        let (Some(name), Some(&(worker, _))) =
            (self.room_names.get(&id), self.room_workers.get(room))
        else {
            return;
        };
        let mut samples = name.samples.to_vec();
        match self.prompts.get(said, name.rate_hz) {
            Some(prompt) => samples.extend_from_slice(&prompt),
            None => tracing::warn!(prompt = said, "prompt missing; skipped"),
        }
        let command = WorkerCommand::AnnounceInRoom {
            room: room.to_string(),
            samples: samples.into(),
            rate_hz: name.rate_hz,
            except,
        };
        let _ = self.media.send(worker, command);
    }
}

fn remove_name(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot delete a recorded name");
        }
    }
}
