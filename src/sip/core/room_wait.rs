//! Rooms that wait for their moderator (`wait_for_moderator`): members who
//! come before any moderator count as members (the room's worker, its
//! limit, the API) but are not mixed; their application plays them a
//! request to wait and music. The first moderator puts them in the mix, and
//! from then on the room is open to everyone until it empties.

use std::time::Instant;

use super::SipCore;
use crate::apps::conference::RoomEvent;
use crate::media::{SessionId, WorkerCommand};

impl SipCore {
    /// Whether a member joining `room` (`new_room`: as its first member)
    /// waits for a moderator instead of being mixed.
    pub(super) fn must_wait(&self, room: &str, new_room: bool, moderator: bool) -> bool {
        let waits_for_moderator = self
            .room_options
            .get(room)
            .is_some_and(|o| o.wait_for_moderator);
        !moderator && waits_for_moderator && (new_room || self.waiting_rooms.contains_key(room))
    }

    /// Member `id` of `room` waits for the moderator.
    pub(super) fn start_waiting(&mut self, now: Instant, id: SessionId, room: String) {
        tracing::info!(room, member = id, "waiting for the moderator");
        self.waiting_rooms.entry(room).or_default().push(id);
        self.tell_member(now, id, RoomEvent::Waiting);
    }

    /// A moderator joined `room`: the members waiting are mixed now.
    pub(super) fn moderator_arrived(&mut self, now: Instant, room: &str) {
        let Some(waiting) = self.waiting_rooms.remove(room) else {
            return;
        };
        tracing::info!(room, members = waiting.len(), "the moderator came");
        for id in waiting {
            let Some(leg) = self.legs.get(&id) else {
                continue;
            };
            let (worker, muted) = (leg.worker, leg.muted);
            let command = self.room_join_command(id, room);
            let _ = self.media.send(worker, command);
            self.announce_joined(id, room);
            // The mix starts a member unmuted; a mute (key 0 or the API)
            // made while waiting holds.
            if muted {
                let _ = self
                    .media
                    .send(worker, WorkerCommand::SetMuted { id, muted });
            }
            self.tell_member(now, id, RoomEvent::Admitted);
        }
    }

    /// Member `id` left `room`: it waits no more.
    pub(super) fn left_waiting(&mut self, id: SessionId, room: &str) {
        if let Some(waiting) = self.waiting_rooms.get_mut(room) {
            waiting.retain(|&member| member != id);
        }
    }

    /// Whether member `id` of `room` waits for the moderator.
    pub(super) fn is_waiting(&self, room: &str, id: SessionId) -> bool {
        self.waiting_rooms
            .get(room)
            .is_some_and(|waiting| waiting.contains(&id))
    }

    fn tell_member(&mut self, now: Instant, id: SessionId, event: RoomEvent) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let actions = leg.app.on_room_event(now, event);
        self.apply_actions(now, id, actions);
    }
}
