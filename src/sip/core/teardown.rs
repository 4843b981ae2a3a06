//! Ending legs: BYE where a dialog exists, the final response where the
//! INVITE is still ringing, the media released, a bridged peer ended too.

use std::time::Instant;

use rsip::Request;

use super::{metrics, uri_host, LegState, SipCore};
use crate::media::{SessionId, WorkerCommand};
use crate::sip::transaction::TransactionKey;

impl SipCore {
    /// Ends a leg from our side: BYE if a dialog exists, media torn down.
    /// Ends a call for an application or media reason. RFC 3261 §15: no BYE
    /// before the ACK of our 2xx, so an unacknowledged leg ends when the ACK
    /// (or its timeout) comes.
    pub(super) fn end_call(&mut self, now: Instant, id: SessionId, early_code: u16) {
        match self.legs.get_mut(&id) {
            Some(leg) if leg.state == LegState::Answered => leg.bye_after_ack = true,
            Some(_) => self.hangup(now, id, early_code),
            None => {}
        }
    }

    /// `early_code` answers the INVITE if the leg was still ringing.
    pub(super) fn hangup(&mut self, now: Instant, id: SessionId, early_code: u16) {
        let Some(peer) = self.legs.get(&id).map(|l| l.dialog.peer) else {
            return;
        };
        let via_ip = self.local_ip_for(peer.addr);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if matches!(leg.state, LegState::Answered | LegState::Confirmed) {
            let branch = crate::sip::ids::new_branch();
            let destination = leg.dialog.destination();
            let extra = format!("User-Agent: {}\r\n", self.settings.user_agent);
            let port = self.settings.port_for(leg.dialog.peer.transport);
            match leg
                .dialog
                .request("BYE", &uri_host(via_ip), port, &branch, &extra)
            {
                Ok(bye) => {
                    if let Err(e) = self.layer.send_request(now, bye, destination) {
                        tracing::warn!(error = %e, "BYE not sent");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot build BYE"),
            }
        }
        self.end_leg(now, id, early_code);
    }

    /// Forgets a leg and releases its media. A leg still ringing gets its
    /// INVITE answered with `early_code`, so no transaction is left pending.
    pub(super) fn end_leg(&mut self, now: Instant, id: SessionId, early_code: u16) {
        let Some(leg) = self.legs.remove(&id) else {
            return;
        };
        if leg.state == LegState::Ringing {
            let tag = leg.dialog.local_tag.clone();
            self.respond(
                now,
                &leg.invite_key,
                &leg.invite,
                early_code,
                None,
                vec![],
                Some(&tag),
            );
        }
        self.by_dialog.remove(&leg.dialog.key());
        if leg.outbound {
            self.uac_invites.remove(&leg.invite_key);
        }
        if let Some(room) = &leg.room {
            self.left_room(id, room);
        }
        self.forget_name(id);
        let _ = self.media.send(leg.worker, WorkerCommand::Destroy { id });
        metrics::bump(&self.metrics.calls_ended);
        self.unbridge(now, id, leg.bridge_peer);
    }

    /// BYE: the dialog ends, and with it the leg (and its bridged peer).
    pub(super) fn handle_bye(&mut self, now: Instant, key: TransactionKey, request: Request) {
        let Some(id) = self.leg_for(&request) else {
            self.respond(now, &key, &request, 481, None, vec![], None);
            return;
        };
        self.respond(now, &key, &request, 200, None, vec![], None);
        // RFC 3261 §15.1.2: a BYE in an early dialog ends the INVITE with 487.
        self.end_leg(now, id, 487);
    }

    /// CANCEL of a ringing INVITE (RFC 3261 §9.2).
    pub(super) fn handle_cancel(&mut self, now: Instant, key: TransactionKey, request: Request) {
        let invite_key = self.layer.find_invite_for_cancel(&request);
        let leg = invite_key
            .as_ref()
            .and_then(|k| self.by_invite.get(k).copied());
        if invite_key.is_none() {
            // RFC 3261 §9.2: no matching transaction.
            self.respond(now, &key, &request, 481, None, vec![], None);
            return;
        }
        // §9.2: the 200 to CANCEL carries the To tag the 487 will have.
        let tag = leg
            .and_then(|id| self.legs.get(&id))
            .map(|l| l.dialog.local_tag.clone());
        self.respond(now, &key, &request, 200, None, vec![], tag.as_deref());
        if let Some(id) = leg {
            // Answered already: the CANCEL has no effect (§9.2).
            if self
                .legs
                .get(&id)
                .is_some_and(|l| l.state == LegState::Ringing)
            {
                self.end_leg(now, id, 487);
            }
        }
    }
}
