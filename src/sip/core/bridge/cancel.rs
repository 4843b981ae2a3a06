//! Cancelling forks that lost (RFC 3261 §9.1): a CANCEL once a provisional
//! response allows it, and giving up an INVITE that never answers it.

use std::time::Instant;

use rsip::Request;

use super::messages;
use crate::sip::core::SipCore;
use crate::sip::peer::Peer;
use crate::sip::transaction::TransactionKey;

impl SipCore {
    /// Cancels a fork that has no final response yet: at once, or when a
    /// provisional response allows it (RFC 3261 §9.1).
    pub(in crate::sip::core) fn cancel_fork(&mut self, now: Instant, key: &TransactionKey) {
        let Some(fork) = self.forks.get_mut(key) else {
            return;
        };
        if fork.final_code.is_some() || fork.cancel_wanted {
            return;
        }
        fork.cancel_wanted = true;
        if fork.provisional {
            let (invite, destination) = (fork.invite.clone(), fork.destination);
            self.send_cancel(now, &invite, destination);
            self.watch_cancelled(now, key.clone());
        }
    }

    /// RFC 3261 §9.1: an INVITE still without a final response 64·T1 after
    /// its CANCEL is given up (nothing else would end it once a provisional
    /// response has stopped Timer B).
    pub(in crate::sip::core) fn watch_cancelled(&mut self, now: Instant, key: TransactionKey) {
        let deadline = now + self.settings.timers.transaction_timeout();
        self.cancel_deadlines.push_back((deadline, key));
    }

    /// Gives up the cancelled INVITEs whose time is up.
    pub(in crate::sip::core) fn expire_cancelled(&mut self, now: Instant) {
        while let Some((at, _)) = self.cancel_deadlines.front() {
            if *at > now {
                break;
            }
            let Some((_, key)) = self.cancel_deadlines.pop_front() else {
                break;
            };
            let unanswered = self
                .forks
                .get(&key)
                .is_some_and(|fork| fork.final_code.is_none());
            if unanswered {
                tracing::info!("a cancelled INVITE got no final response; giving it up");
                self.fork_gave_up(now, &key, 408);
                self.layer.abandon(&key);
            }
            self.expire_reinvite(now, &key);
        }
    }

    pub(in crate::sip::core) fn send_cancel(
        &mut self,
        now: Instant,
        invite: &Request,
        destination: Peer,
    ) {
        match messages::build_cancel(invite) {
            Ok(cancel) => {
                if let Err(e) = self.layer.send_request(now, cancel, destination) {
                    tracing::debug!(error = %e, "CANCEL not sent");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot build CANCEL"),
        }
    }
}
