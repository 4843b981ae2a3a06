//! Responses to the forked INVITEs: relaying progress, early media, the
//! winning answer, and the failure of every fork.

use std::time::Instant;

use bytes::Bytes;
use rsip::Request;

use super::BridgeFailure;
use crate::apps::BridgeApp;
use crate::media::{SessionId, WorkerCommand};
use crate::sip::core::invite::{media_params, record_routes};
use crate::sip::core::SentAck;
use crate::sip::core::{metrics, uri_host, Leg, LegState, SipCore};
use crate::sip::dialog::Dialog;
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, NegotiatedAudio, SessionDescription};
use crate::sip::transaction::TransactionKey;

impl SipCore {
    /// A response to one of our forked INVITEs.
    pub(in crate::sip::core) fn fork_response(
        &mut self,
        now: Instant,
        key: TransactionKey,
        response: rsip::Response,
    ) {
        let code = response.status_code.code();
        let Some(fork) = self.forks.get_mut(&key) else {
            return;
        };
        let a = fork.a;
        match code {
            100..=199 => {
                let first = !fork.provisional;
                fork.provisional = true;
                if fork.cancel_wanted {
                    // The CANCEL waited for this (RFC 3261 §9.1).
                    if first {
                        let (invite, destination) = (fork.invite.clone(), fork.destination);
                        self.send_cancel(now, &invite, destination);
                        self.watch_cancelled(now, key);
                    }
                    return;
                }
                if code > 100 {
                    self.fork_progress(now, a, code, &response);
                }
            }
            200..=299 => {
                fork.final_code = Some(code);
                let (invite, destination) = (fork.invite.clone(), fork.destination);
                self.fork_answered(now, a, &key, &invite, destination, &response);
            }
            _ => {
                fork.final_code = Some(code);
                self.fork_failed(now, a);
            }
        }
    }

    /// A fork ended without a response: Timer B counts as a 408, a
    /// transport failure as a 503 (RFC 3261 §8.1.3.1).
    pub(in crate::sip::core) fn fork_gave_up(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        code: u16,
    ) {
        if let Some(fork) = self.forks.get_mut(key) {
            if fork.final_code.is_none() {
                fork.final_code = Some(code);
                let a = fork.a;
                self.fork_failed(now, a);
            }
        }
    }

    /// 180/183 from a fork: relayed to the caller; an SDP in it is early
    /// media, which fixes the caller's answer and connects the media now.
    fn fork_progress(&mut self, now: Instant, a: SessionId, code: u16, response: &rsip::Response) {
        let Some(pending) = self.bridges.get(&a) else {
            return;
        };
        let (b, worker, relayed) = (pending.b, pending.worker, pending.relayed);
        // Early media needs an answer for the caller; a caller that sent no
        // offer would need ours in a reliable 183 (RFC 3262), so it gets
        // the 183 without SDP.
        let caller_offered = self.legs.get(&a).is_some_and(|l| !l.invite.body.is_empty());
        let early = (caller_offered && !pending.a_answer_sent && !response.body.is_empty())
            .then(|| answer_in(&pending.offer, &response.body))
            .flatten();
        {
            if let Some(audio) = early {
                if self.settle_caller_answer(a, audio.codec) {
                    let params = media_params(&audio);
                    if let Some(pending) = self.bridges.get_mut(&a) {
                        pending.a_answer_sent = true;
                        pending.relayed = 183;
                        pending.early = Some(audio);
                    }
                    let _ = self
                        .media
                        .send(worker, WorkerCommand::Update { id: b, params });
                    let _ = self.media.send(worker, WorkerCommand::Bridge { a, b });
                    let sdp = self.legs.get(&a).map(|l| l.local_sdp.to_string());
                    self.send_to_caller(now, a, 183, sdp);
                    return;
                }
            }
        }
        if relayed == code {
            return;
        }
        if let Some(pending) = self.bridges.get_mut(&a) {
            pending.relayed = code;
        }
        self.send_to_caller(now, a, code, None);
    }

    /// A provisional response to the caller, in the early dialog of its leg
    /// (with Contact and Record-Route, RFC 3261 §12.1.1).
    pub(in crate::sip::core) fn send_to_caller(
        &mut self,
        now: Instant,
        a: SessionId,
        code: u16,
        sdp: Option<String>,
    ) {
        let Some(leg) = self.legs.get(&a) else {
            return;
        };
        let (invite, key, tag, peer) = (
            leg.invite.clone(),
            leg.invite_key.clone(),
            leg.dialog.local_tag.clone(),
            leg.dialog.peer,
        );
        let mut extra = record_routes(&invite);
        extra.push(rsip::Header::Contact(
            self.contact_for_request(peer, &invite).into(),
        ));
        extra.push(rsip::Header::Server(
            self.settings.user_agent.clone().into(),
        ));
        let body = sdp.map(|s| ("application/sdp", s.into_bytes()));
        let response =
            crate::sip::response::build_response(&invite, code, None, Some(&tag), extra, body);
        if let Err(e) = self.layer.send_response(now, &key, response) {
            tracing::debug!(error = %e, code, "provisional response not sent");
        }
        metrics::count_response(&self.metrics, code);
    }

    /// A 2xx from a fork. The first one wins the call; any later one
    /// (forks answering at once, RFC 3261 §13.2.2.4) is acknowledged and
    /// hung up.
    fn fork_answered(
        &mut self,
        now: Instant,
        a: SessionId,
        key: &TransactionKey,
        invite: &Request,
        destination: Peer,
        response: &rsip::Response,
    ) {
        let Some(pending) = self.bridges.remove(&a) else {
            self.ack_and_bye(now, key, invite, destination, response);
            return;
        };
        for other in pending.forks.iter().filter(|k| *k != key) {
            self.cancel_fork(now, other);
        }
        let worker = pending.worker;
        let b = pending.b;
        let dialog = match Dialog::from_response(invite, response, destination) {
            Ok(d) => d,
            Err(e) => {
                // Without a dialog there is nothing to ACK or BYE; the
                // callee's Timer H ends its side.
                tracing::warn!(error = %e, "unusable 2xx from the called party");
                let _ = self.media.send(worker, WorkerCommand::Destroy { id: b });
                self.bridge_failed(now, a, BridgeFailure::Rejected(502));
                return;
            }
        };
        let ack = self.send_ack(&dialog, 1);
        let b_media = pending.b_media;
        let b_leg = Leg {
            id: b,
            state: LegState::Confirmed,
            dialog,
            invite: invite.clone(),
            invite_key: key.clone(),
            app: Box::new(BridgeApp),
            worker,
            local_media: b_media.clone(),
            origin: pending.b_origin,
            local_sdp: pending.offer.clone(),
            pending_offer: None,
            bye_after_ack: false,
            params: super::receive_only(&b_media),
            stats: pending.b_stats,
            started: now,
            rtp_port: pending.b_rtp_port,
            bridge_peer: None,
            outbound: true,
            ack,
            relay_pending: false,
            relay_queued: None,
            app_started: true,
            source_generation: 0,
            dtmf_info: pending.dtmf_info,
            room: None,
            muted: false,
            moderator: false,
            speaking: false,
            held_by_peer: false,
            moh_missing_logged: false,
        };
        self.by_dialog.insert(b_leg.dialog.key(), b);
        self.uac_invites.insert(key.clone(), b);
        self.legs.insert(b, b_leg);
        // RFC 3261 §13.2.1: the answer is in the 2xx; gateways that sent it
        // in a 183 already often leave it out, and the early one stands.
        let answered = if response.body.is_empty() {
            pending.early.clone()
        } else {
            answer_in(&pending.offer, &response.body)
        };
        let Some(audio) = answered else {
            tracing::info!(session = b, "called party answered without a usable SDP");
            self.hangup(now, b, 500);
            self.end_leg(now, a, 502);
            return;
        };
        if !pending.a_answer_sent && !self.settle_caller_answer(a, audio.codec) {
            self.hangup(now, b, 500);
            self.end_leg(now, a, 488);
            return;
        }
        let params = media_params(&audio);
        if let Some(leg) = self.legs.get_mut(&b) {
            leg.params = params.clone();
            leg.local_media.srtp.current = params.srtp.clone();
            leg.bridge_peer = Some(a);
        }
        if let Some(leg) = self.legs.get_mut(&a) {
            leg.bridge_peer = Some(b);
        }
        let _ = self
            .media
            .send(worker, WorkerCommand::Update { id: b, params });
        let _ = self.media.send(worker, WorkerCommand::Answered { id: b });
        if pending.dtmf_info {
            // The caller's telephone-events come back to us as this leg's
            // key presses to send by INFO, not as tones.
            let _ = self
                .media
                .send(worker, WorkerCommand::KeysBySignalling { id: b });
        }
        let _ = self.media.send(worker, WorkerCommand::Bridge { a, b });
        metrics::bump(&self.metrics.calls_started);
        self.answer(now, a);
    }

    /// Sends the ACK of a 2xx in `dialog` (RFC 3261 §13.2.2.4: the INVITE's
    /// CSeq number, a new branch); returns it for retransmitted 2xx.
    pub(in crate::sip::core) fn send_ack(&mut self, dialog: &Dialog, cseq: u32) -> Option<SentAck> {
        let via_ip = self.local_ip_for(dialog.peer.addr);
        let port = self.settings.port_for(dialog.peer.transport);
        let branch = crate::sip::ids::new_branch();
        match dialog.request_with("ACK", cseq, &uri_host(via_ip), port, &branch, "", None) {
            Ok(ack) => {
                // Serialised once: every retransmitted 2xx gets these bytes.
                let sent = (dialog.destination(), Bytes::from(ack.to_string()));
                self.transmit.push_back(sent.clone());
                Some(sent)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot build ACK");
                None
            }
        }
    }

    /// A 2xx on the INVITE of an answered outgoing leg: a retransmission
    /// gets the same ACK again; one with another To tag is a second dialog
    /// (a forking proxy downstream, RFC 3261 §13.2.2.4), ended at once.
    pub(in crate::sip::core) fn winner_retransmission(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        b: SessionId,
        response: &rsip::Response,
    ) {
        let Some(leg) = self.legs.get(&b) else {
            return;
        };
        if to_tag(response).as_deref() == Some(leg.dialog.remote_tag.as_str()) {
            if let Some(sent) = leg.ack.clone() {
                self.transmit.push_back(sent);
            }
            return;
        }
        let (invite, destination) = (leg.invite.clone(), leg.dialog.peer);
        self.ack_and_bye(now, key, &invite, destination, response);
    }

    /// A 2xx that lost (another fork won, or the caller left): its dialog
    /// is acknowledged and ended at once. A retransmission of it gets the
    /// ACK again, not another BYE.
    fn ack_and_bye(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        invite: &Request,
        destination: Peer,
        response: &rsip::Response,
    ) {
        let lost = (key.clone(), to_tag(response).unwrap_or_default());
        if let Some(sent) = self.lost_dialogs.get(&lost) {
            self.transmit.push_back(sent.clone());
            return;
        }
        let Ok(mut dialog) = Dialog::from_response(invite, response, destination) else {
            return;
        };
        let Some(ack) = self.send_ack(&dialog, 1) else {
            return;
        };
        self.lost_dialogs.insert(lost, ack);
        let via_ip = self.local_ip_for(dialog.peer.addr);
        let port = self.settings.port_for(dialog.peer.transport);
        let branch = crate::sip::ids::new_branch();
        if let Ok(bye) = dialog.request("BYE", &uri_host(via_ip), port, &branch, "") {
            let _ = self.layer.send_request(now, bye, dialog.destination());
        }
    }

    /// A fork failed; when all have, so has the bridge.
    fn fork_failed(&mut self, now: Instant, a: SessionId) {
        let Some(pending) = self.bridges.get(&a) else {
            return;
        };
        let mut codes = Vec::with_capacity(pending.forks.len());
        for key in &pending.forks {
            match self.forks.get(key).map(|f| f.final_code) {
                Some(None) => return,
                Some(Some(code)) => codes.push(code),
                None => codes.push(408),
            }
        }
        self.bridge_failed(now, a, failure_of(&codes));
    }
}

/// The answer to `offer` in a response body, if it is usable.
fn answer_in(offer: &SessionDescription, body: &[u8]) -> Option<NegotiatedAudio> {
    let text = std::str::from_utf8(body).ok()?;
    let answer = SessionDescription::parse(text).ok()?;
    sdp::accept_answer(offer, &answer).ok()
}

/// What the caller hears when every fork failed (after RFC 3261 §16.7
/// step 6): a 6xx if any; else busy if any; else the lowest class, a
/// specific code preferred over the generic unavailable ones. Codes that
/// would ask the caller for something only the called side can give
/// (credentials for the next hop, an extension, a method) or that would
/// announce our own overload (503) become 502; a fork that timed out or
/// redirected counts as unavailable.
pub(super) fn failure_of(codes: &[u16]) -> BridgeFailure {
    if let Some(&c) = codes.iter().find(|&&c| c >= 600) {
        return BridgeFailure::Rejected(c);
    }
    if codes.contains(&486) {
        return BridgeFailure::Busy;
    }
    let mapped: Vec<u16> = codes
        .iter()
        .map(|&c| match c {
            300..=399 | 408 => 480,
            401 | 405 | 407 | 415 | 420 | 421 | 494 | 503 => 502,
            c => c,
        })
        .collect();
    let class = mapped.iter().map(|c| c / 100).min().unwrap_or(4);
    let in_class = || mapped.iter().copied().filter(move |c| c / 100 == class);
    let generic = |c: &u16| matches!(c, 480 | 487);
    let code = in_class()
        .find(|c| !generic(c))
        .or_else(|| in_class().next())
        .unwrap_or(480);
    BridgeFailure::Rejected(code)
}

/// The To tag of a response.
fn to_tag(response: &rsip::Response) -> Option<String> {
    use rsip::prelude::*;
    response
        .to_header()
        .ok()?
        .tag()
        .ok()
        .flatten()
        .map(|t| t.value().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_wins_then_busy_then_specific_codes() {
        assert_eq!(failure_of(&[486, 404]), BridgeFailure::Busy);
        assert_eq!(failure_of(&[480, 600]), BridgeFailure::Rejected(600));
        assert_eq!(failure_of(&[603, 486]), BridgeFailure::Rejected(603));
        assert_eq!(failure_of(&[407]), BridgeFailure::Rejected(502));
        assert_eq!(failure_of(&[420, 404]), BridgeFailure::Rejected(404));
        assert_eq!(failure_of(&[480, 404]), BridgeFailure::Rejected(404));
        assert_eq!(failure_of(&[408, 500]), BridgeFailure::Rejected(480));
        assert_eq!(failure_of(&[503]), BridgeFailure::Rejected(502));
        assert_eq!(failure_of(&[302]), BridgeFailure::Rejected(480));
    }
}
