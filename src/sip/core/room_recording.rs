//! Recordings of conference rooms (`[[rooms]] record = true`): the control
//! plane names each file, `DATA/conferences/ROOM/YYYYMMDD-HHMMSS.wav` (UTC,
//! when the room opened), and the room's worker records its mix until the
//! room closes. The outcome is only logged: no application waits for it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::SipCore;
use crate::media::{RecordingOutcome, RoomRecordingSpec, SessionId, WorkerCommand};
use crate::store::mailbox::clock::{compact_utc, unix_seconds};

/// The rooms being recorded, and recordings not reported yet.
#[derive(Debug, Default)]
pub(super) struct RoomRecordings {
    /// Where recordings go (`DATA/conferences`); none records nothing.
    dir: Option<PathBuf>,
    /// The file of each open room being recorded.
    open: HashMap<String, PathBuf>,
    /// Rooms their worker has been told to open (members waiting for a
    /// moderator do not open it).
    opened: HashSet<String>,
    /// By the id the outcome comes back with: the room and the file.
    pending: HashMap<SessionId, (String, PathBuf)>,
}

impl RoomRecordings {
    /// Where room recordings (and recorded names) go.
    pub(super) fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The recording of `room`, while it is open.
    pub(super) fn path(&self, room: &str) -> Option<&Path> {
        self.open.get(room).map(PathBuf::as_path)
    }

    /// A file name not used yet: the opening second, with `-2`, `-3`... for
    /// a room that reopens within the same second.
    fn free_path(&self, room_dir: &Path, stamp: &str) -> PathBuf {
        let taken = |path: &Path| {
            let mut part = path.as_os_str().to_owned();
            part.push(".part");
            path.exists()
                || Path::new(&part).exists()
                || self.pending.values().any(|(_, p)| p == path)
        };
        let mut path = room_dir.join(format!("{stamp}.wav"));
        let mut n = 2;
        while taken(&path) {
            path = room_dir.join(format!("{stamp}-{n}.wav"));
            n += 1;
        }
        path
    }
}

impl SipCore {
    /// Rooms configured with `record` are recorded under `dir`.
    pub fn set_room_recordings_dir(&mut self, dir: PathBuf) {
        self.room_recordings.dir = Some(dir);
    }

    /// What the worker records when `room` opens: its file, or none when
    /// the room is not recorded.
    fn start_room_recording(&mut self, room: &str) -> Option<RoomRecordingSpec> {
        let recorded = self.room_options.get(room).is_some_and(|o| o.record);
        let dir = self.room_recordings.dir.as_ref().filter(|_| recorded)?;
        let stamp = compact_utc(unix_seconds(SystemTime::now()));
        let path = self.room_recordings.free_path(&dir.join(room), &stamp);
        // An id of its own, never a leg's, names the recording's outcome.
        let id = self.next_id;
        self.next_id += 1;
        tracing::info!(room, path = %path.display(), "recording the room");
        let recordings = &mut self.room_recordings;
        recordings.open.insert(room.to_string(), path.clone());
        recordings
            .pending
            .insert(id, (room.to_string(), path.clone()));
        Some(RoomRecordingSpec { id, path })
    }

    /// `room` closed: its recording is ending (the worker reports it).
    pub(super) fn room_closed_recording(&mut self, room: &str) {
        self.room_recordings.open.remove(room);
        self.room_recordings.opened.remove(room);
    }

    /// The command that puts leg `id` in `room` on its worker. The first
    /// opens the room there, and with it the room's recording.
    pub(super) fn room_join_command(&mut self, id: SessionId, room: &str) -> WorkerCommand {
        let record = if self.room_recordings.opened.insert(room.to_string()) {
            self.start_room_recording(room)
        } else {
            None
        };
        WorkerCommand::JoinRoom {
            id,
            room: room.to_string(),
            record,
            tone: self.announced_by_tone(id, room),
        }
    }

    /// A room recording's outcome, if `id` names one (else false).
    pub(super) fn room_recorded(&mut self, id: SessionId, outcome: &RecordingOutcome) -> bool {
        let Some((room, path)) = self.room_recordings.pending.remove(&id) else {
            return false;
        };
        if self.room_recordings.open.get(&room) == Some(&path) {
            // Ended while the room is open: it failed to start.
            self.room_recordings.open.remove(&room);
        }
        let duration_ms = outcome.duration.as_millis() as u64;
        match &outcome.error {
            None => tracing::info!(
                room,
                path = %outcome.path.display(),
                duration_ms,
                end = ?outcome.end,
                "room recording written"
            ),
            Some(error) => tracing::warn!(
                room,
                path = %outcome.path.display(),
                duration_ms,
                error,
                "room recording failed"
            ),
        }
        true
    }
}
