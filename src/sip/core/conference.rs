//! Conference rooms as the control plane sees them: which legs are in
//! which room, muted or speaking, for the HTTP API and its mute, unmute
//! and kick. The audio itself is mixed in the media plane.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::{CallInfo, SipCore};
use crate::apps::conference::RoomAdmission;
use crate::media::{SessionId, WorkerCommand};
use crate::prompts::phrases;
use crate::prompts::say_count;

/// `GET /api/v1/conferences[/ROOM]`.
#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    pub room: String,
    pub locked: bool,
    /// The file the room's mix is being recorded to.
    pub recording: Option<String>,
    pub members: Vec<MemberInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberInfo {
    pub muted: bool,
    pub speaking: bool,
    pub moderator: bool,
    /// Not mixed yet: waiting for the moderator.
    pub waiting: bool,
    #[serde(flatten)]
    pub call: CallInfo,
}

/// What a mute, unmute or kick found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// No such room, or no such member in it.
    NotFound,
}

impl SipCore {
    /// Puts leg `id` (on media worker `worker`) in `room`. A room lives on
    /// the worker of its first member; a leg on another worker (one that
    /// reached the room through an IVR, its media made before the room was
    /// chosen) is moved there first. Its worker forwards the leg's later
    /// commands, so they are still sent to `worker`.
    pub(super) fn join_room(
        &mut self,
        now: Instant,
        id: SessionId,
        worker: usize,
        room: String,
        moderator: bool,
    ) {
        let new_room = !self.room_workers.contains_key(&room);
        let entry = self.room_workers.entry(room.clone()).or_insert((worker, 0));
        let room_worker = entry.0;
        if room_worker != worker {
            let Some(to) = self.media.link(room_worker) else {
                self.end_call(now, id, 503);
                return;
            };
            tracing::debug!(
                room,
                member = id,
                from = worker,
                to = room_worker,
                "moving media to the room's worker"
            );
            let _ = self.media.send(worker, WorkerCommand::MoveTo { id, to });
        }
        entry.1 += 1;
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.room = Some(room.clone());
            leg.moderator = moderator;
        }
        tracing::info!(room, member = id, moderator, "joined the room");
        super::metrics::bump(&self.metrics.room_joins);
        if self.must_wait(&room, new_room, moderator) {
            self.start_waiting(now, id, room);
            return;
        }
        let command = self.room_join_command(id, &room);
        let _ = self.media.send(worker, command);
        self.announce_joined(id, &room);
        if moderator {
            self.moderator_arrived(now, &room);
        }
    }

    /// Leg `id` left `room` (its call ended).
    pub(super) fn left_room(&mut self, id: SessionId, room: &str) {
        tracing::info!(room, member = id, "left the room");
        super::metrics::bump(&self.metrics.room_leaves);
        self.announce_left(id, room);
        self.left_waiting(id, room);
        if let Some(entry) = self.room_workers.get_mut(room) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                // The room closes; a new one of that name starts unlocked.
                self.room_workers.remove(room);
                self.locked_rooms.remove(room);
                self.room_closed_recording(room);
                self.waiting_rooms.remove(room);
            }
        }
    }

    /// Whether a new caller may join `room` now.
    pub(super) fn room_admission(&self, room: &str) -> RoomAdmission {
        if self.locked_rooms.contains(room) {
            return RoomAdmission::Locked;
        }
        let members = self.room_workers.get(room).map_or(0, |&(_, n)| n);
        let limit = self.room_options.get(room).and_then(|o| o.max_members);
        if limit.is_some_and(|max| members >= max as usize) {
            return RoomAdmission::Full;
        }
        RoomAdmission::Open
    }

    /// Locks `room` (nobody new joins) or unlocks it.
    pub fn set_room_locked(&mut self, room: &str, locked: bool) -> MemberChange {
        if locked {
            if !self.room_workers.contains_key(room) {
                return MemberChange::NotFound;
            }
            self.locked_rooms.insert(room.to_string());
        } else if !self.locked_rooms.remove(room) && !self.room_workers.contains_key(room) {
            return MemberChange::NotFound;
        }
        tracing::info!(room, locked, "room lock changed by the API");
        MemberChange::Done
    }

    /// Plays to member `id` how many are in its room.
    pub(super) fn say_room_count(&mut self, id: SessionId) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let Some(room) = leg.room.as_deref() else {
            return;
        };
        let members = self.room_workers.get(room).map_or(1, |&(_, n)| n);
        let rate = leg.params.codec.audio_rate();
        let mut samples = Vec::new();
        for name in room_count_prompts(members) {
            match self.prompts.get(&name, rate) {
                Some(part) => samples.extend_from_slice(&part),
                None => tracing::warn!(prompt = %name, "prompt missing; skipped"),
            }
        }
        let source = crate::media::session::Source::Prompt {
            samples: samples.into(),
            position: 0,
        };
        self.set_source(id, source);
    }

    /// Every room with its members, by room name.
    pub fn conferences(&self, now: Instant) -> Vec<RoomInfo> {
        let mut rooms: BTreeMap<&str, Vec<MemberInfo>> = BTreeMap::new();
        for leg in self.legs.values() {
            if let Some(room) = leg.room.as_deref() {
                rooms.entry(room).or_default().push(MemberInfo {
                    muted: leg.muted,
                    speaking: leg.speaking,
                    moderator: leg.moderator,
                    waiting: self.is_waiting(room, leg.id),
                    call: leg.info(now),
                });
            }
        }
        rooms
            .into_iter()
            .map(|(room, mut members)| {
                members.sort_by_key(|m| m.call.id);
                RoomInfo {
                    room: room.to_string(),
                    locked: self.locked_rooms.contains(room),
                    recording: self
                        .room_recordings
                        .path(room)
                        .map(|p| p.display().to_string()),
                    members,
                }
            })
            .collect()
    }

    /// Mutes or unmutes member `id` of `room` for the others.
    pub fn set_room_member_muted(
        &mut self,
        room: &str,
        id: SessionId,
        muted: bool,
    ) -> MemberChange {
        let Some(leg) = self
            .legs
            .get_mut(&id)
            .filter(|l| l.room.as_deref() == Some(room))
        else {
            return MemberChange::NotFound;
        };
        leg.muted = muted;
        let worker = leg.worker;
        let _ = self
            .media
            .send(worker, WorkerCommand::SetMuted { id, muted });
        tracing::info!(room, member = id, muted, "member muted by the API");
        MemberChange::Done
    }

    /// Ends member `id`'s call (BYE).
    pub fn kick_room_member(&mut self, now: Instant, room: &str, id: SessionId) -> MemberChange {
        if self
            .legs
            .get(&id)
            .is_none_or(|l| l.room.as_deref() != Some(room))
        {
            return MemberChange::NotFound;
        }
        tracing::info!(room, member = id, "member removed by the API");
        self.end_call(now, id, 480);
        self.drain_layer(now);
        MemberChange::Done
    }
}

/// What a member hears for a room of `members`: "you are the only person in
/// this conference", or "three participants in this conference".
pub fn room_count_prompts(members: usize) -> Vec<String> {
    if members <= 1 {
        return vec![phrases::CONF_ONLY_PERSON.to_string()];
    }
    say_count(
        i64::try_from(members).unwrap_or(i64::MAX),
        phrases::CONF_PARTICIPANT,
        phrases::CONF_PARTICIPANTS,
    )
}

#[cfg(test)]
mod tests {
    use super::room_count_prompts;

    #[test]
    fn the_count_is_said_with_shipped_prompts() {
        let catalogue = crate::prompts::PromptCatalogue::load(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")),
            "en",
        )
        .unwrap();
        assert_eq!(room_count_prompts(1), ["conf-only-person"]);
        assert_eq!(room_count_prompts(3).last().unwrap(), "conf-participants");
        for n in [1, 2, 3, 21, 250, 1000] {
            for name in room_count_prompts(n) {
                assert!(catalogue.contains(&name), "{name} for {n}");
            }
        }
    }
}
