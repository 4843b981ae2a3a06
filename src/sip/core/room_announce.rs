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

/// Less sound than this (silence trimmed) is the caller saying nothing.
pub const MIN_NAME: Duration = Duration::from_millis(300);

/// A 20 ms piece quieter than this (mean square) is silence: −45 dBFS, as
/// the recorder's silence detection.
const QUIET_MEAN_SQUARE: f64 = 32767.0 * 32767.0 / 2.0 * 3.162e-5;

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
        let usable = outcome.error.is_none() && self.legs.contains_key(&id);
        let name = usable
            .then(|| decode_file(&path))
            .and_then(|r| {
                r.map_err(
                    |e| tracing::warn!(path = %path.display(), error = %e, "cannot read a name"),
                )
                .ok()
            })
            .and_then(|decoded| {
                // The silence that ended the recording (and any before the
                // name) is not played.
                let voiced = voiced(&decoded.samples, decoded.rate_hz);
                let long_enough = voiced.len() as u64 * 1000
                    >= MIN_NAME.as_millis() as u64 * u64::from(decoded.rate_hz);
                long_enough.then(|| (Arc::<[i16]>::from(voiced), decoded.rate_hz))
            });
        match name {
            Some((samples, rate_hz)) => {
                let name = RoomName {
                    path,
                    samples,
                    rate_hz,
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

/// `samples` without the silence before and after the sound in them.
fn voiced(samples: &[i16], rate_hz: u32) -> &[i16] {
    let piece = (rate_hz / 50).max(1) as usize;
    let loud = |chunk: &[i16]| {
        let energy: f64 = chunk.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        energy / chunk.len() as f64 >= QUIET_MEAN_SQUARE
    };
    let pieces: Vec<&[i16]> = samples.chunks(piece).collect();
    let Some(first) = pieces.iter().position(|c| loud(c)) else {
        return &[];
    };
    let last = pieces.iter().rposition(|c| loud(c)).unwrap_or(first);
    let end = ((last + 1) * piece).min(samples.len());
    &samples[first * piece..end]
}

fn remove_name(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot delete a recorded name");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::voiced;

    #[test]
    fn the_silence_around_a_name_is_trimmed() {
        let mut samples = vec![0i16; 800];
        samples.extend((0..1600).map(|i| if i % 2 == 0 { 3000 } else { -3000 }));
        samples.extend(vec![20i16; 8000]);
        assert_eq!(voiced(&samples, 8000), &samples[800..2400]);
        assert!(voiced(&[0; 8000], 8000).is_empty());
    }
}
