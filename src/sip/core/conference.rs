//! Conference rooms as the control plane sees them: which legs are in
//! which room, muted or speaking, for the HTTP API and its mute, unmute
//! and kick. The audio itself is mixed in the media plane.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::{CallInfo, SipCore};
use crate::media::{SessionId, WorkerCommand};

/// `GET /api/v1/conferences[/ROOM]`.
#[derive(Debug, Clone, Serialize)]
pub struct RoomInfo {
    pub room: String,
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
