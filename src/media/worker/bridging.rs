//! The worker's side of bridged calls (`crate::media::bridge`): linking,
//! relinking and parting two legs, and borrowing both of their slots.

use super::{Slot, Worker};
use crate::media::bridge::BridgeError;
use crate::media::session::SessionId;

/// Two distinct slots at once (a bridge's legs), without allocating.
pub(super) fn two_slots(
    slots: &mut [Option<Slot>],
    a: usize,
    b: usize,
) -> Option<(&mut Slot, &mut Slot)> {
    if a == b {
        return None;
    }
    let (low, high) = (a.min(b), a.max(b));
    let (left, right) = slots.split_at_mut(high);
    let low_slot = left.get_mut(low)?.as_mut()?;
    let high_slot = right.first_mut()?.as_mut()?;
    Some(if a < b {
        (low_slot, high_slot)
    } else {
        (high_slot, low_slot)
    })
}

/// Builds both halves of a bridge from the legs' current parameters.
fn link(a: &mut Slot, b: &mut Slot) -> Result<(), BridgeError> {
    a.session.bridge_to(b.session.id(), b.session.params())?;
    b.session.bridge_to(a.session.id(), a.session.params())
}

impl Worker {
    /// Connects two legs, first parting each from any earlier peer.
    pub(super) fn bridge(&mut self, a: SessionId, b: SessionId) -> Result<(), BridgeError> {
        if a == b {
            return Err(BridgeError::SameSession);
        }
        let ia = *self.by_id.get(&a).ok_or(BridgeError::UnknownSession(a))?;
        let ib = *self.by_id.get(&b).ok_or(BridgeError::UnknownSession(b))?;
        self.unbridge(a);
        self.unbridge(b);
        let (sa, sb) = two_slots(&mut self.slots, ia, ib).ok_or(BridgeError::UnknownSession(a))?;
        if let Err(e) = link(sa, sb) {
            sa.session.unbridge();
            sb.session.unbridge();
            return Err(e);
        }
        sa.peer = Some(ib);
        sb.peer = Some(ia);
        Ok(())
    }

    /// Rebuilds a bridge after one leg changed; a bridge that can no longer
    /// be built is taken down.
    pub(super) fn relink(&mut self, id: SessionId) {
        let Some(index) = self.by_id.get(&id).copied() else {
            return;
        };
        let Some(peer) = self.slots.get(index).and_then(|s| s.as_ref()?.peer) else {
            return;
        };
        let Some((sa, sb)) = two_slots(&mut self.slots, index, peer) else {
            return;
        };
        if let Err(e) = link(sa, sb) {
            tracing::warn!(session = id, error = %e, "bridge cannot follow the update");
            self.unbridge(id);
        }
    }

    /// Parts a leg from its peer; both fall back to silence.
    pub(super) fn unbridge(&mut self, id: SessionId) {
        let Some(index) = self.by_id.get(&id).copied() else {
            return;
        };
        let Some(Some(slot)) = self.slots.get_mut(index) else {
            return;
        };
        slot.session.unbridge();
        let Some(peer) = slot.peer.take() else {
            return;
        };
        if let Some(Some(peer)) = self.slots.get_mut(peer) {
            peer.peer = None;
            peer.session.unbridge();
        }
    }
}
