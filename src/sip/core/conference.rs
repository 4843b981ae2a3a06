//! Conference rooms as the control plane sees them: which legs are in
//! which room, muted or speaking, for the HTTP API and its mute, unmute
//! and kick. The audio itself is mixed in the media plane.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::{CallInfo, SipCore};
use crate::apps::conference::RoomAdmission;
use crate::media::{SessionId, WorkerCommand};

/// `GET /api/v1/conferences[/ROOM]`.
#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    pub room: String,
    pub locked: bool,
    pub members: Vec<MemberInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberInfo {
    pub muted: bool,
    pub speaking: bool,
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
    /// chosen) cannot join it, as a session does not move between workers.
    pub(super) fn join_room(&mut self, now: Instant, id: SessionId, worker: usize, room: String) {
        let entry = self.room_workers.entry(room.clone()).or_insert((worker, 0));
        if entry.0 != worker {
            tracing::warn!(
                room,
                member = id,
                "the room is mixed on another media worker than this call's; not joined"
            );
            self.end_call(now, id, 503);
            return;
        }
        entry.1 += 1;
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.room = Some(room.clone());
        }
        tracing::info!(room, member = id, "joined the room");
        super::metrics::bump(&self.metrics.room_joins);
        let _ = self
            .media
            .send(worker, WorkerCommand::JoinRoom { id, room });
    }

    /// Leg `id` left `room` (its call ended).
    pub(super) fn left_room(&mut self, id: SessionId, room: &str) {
        tracing::info!(room, member = id, "left the room");
        super::metrics::bump(&self.metrics.room_leaves);
        if let Some(entry) = self.room_workers.get_mut(room) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                // The room closes; a new one of that name starts unlocked.
                self.room_workers.remove(room);
                self.locked_rooms.remove(room);
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

    /// Every room with its members, by room name.
    pub fn conferences(&self, now: Instant) -> Vec<RoomInfo> {
        let mut rooms: BTreeMap<&str, Vec<MemberInfo>> = BTreeMap::new();
        for leg in self.legs.values() {
            if let Some(room) = leg.room.as_deref() {
                rooms.entry(room).or_default().push(MemberInfo {
                    muted: leg.muted,
                    speaking: leg.speaking,
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
