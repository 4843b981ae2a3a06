//! Re-INVITE within a dialog (RFC 3261 §14): renegotiation, hold and
//! resume, target refresh, and the offer-in-2xx form when it carries no SDP.

use std::time::Instant;

use rsip::prelude::*;
use rsip::Request;

use super::bridge::RelayOffer;
use super::invite::media_params;
use super::SipCore;
use crate::media::{SessionId, WorkerCommand};
use crate::sip::dialog::angle_uri;
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, Direction, SessionDescription};
use crate::sip::transaction::TransactionKey;

impl SipCore {
    pub(super) fn handle_reinvite(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
    ) {
        let Some(id) = self.leg_for(&request) else {
            self.respond(now, &key, &request, 481, None, vec![], None);
            return;
        };
        let cseq = request.cseq_header().ok().and_then(|c| c.seq().ok());
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if !cseq.is_some_and(|c| leg.dialog.accept_remote_cseq(c)) {
            // RFC 3261 §12.2.2: out of order.
            let reason = Some("CSeq out of order");
            self.respond(now, &key, &request, 500, reason, vec![], None);
            return;
        }
        if leg.relay_pending {
            // RFC 3261 §14.2: our own re-INVITE on this dialog is pending.
            let tag = leg.dialog.local_tag.clone();
            self.respond(now, &key, &request, 491, None, vec![], Some(&tag));
            return;
        }
        // RFC 3261 §12.2.2: a re-INVITE refreshes the remote target.
        if let Some(target) = request
            .contact_header()
            .ok()
            .and_then(|c| angle_uri(c.value()))
        {
            leg.dialog.remote_target = target;
        }
        // Where it came from is where the peer now is (a new NAT binding or
        // a new TCP connection).
        leg.dialog.peer = source;
        // RFC 4568 §8.3: no keys in an answer that would travel in clear.
        leg.local_media
            .srtp
            .signalling_changed(crate::sip::peer::signalling_secure(&source));
        let tag = leg.dialog.local_tag.clone();
        let peer = leg.dialog.peer;
        if request.body.is_empty() {
            // RFC 3264 §8 with RFC 3261 §14.2: no offer, so the 2xx carries
            // ours (unchanged, same version) and the ACK brings the answer.
            let offer = leg.local_sdp.clone();
            let body = offer.to_string().into_bytes();
            leg.pending_offer = Some(offer);
            let contact = self.contact_for_request(peer, &request);
            self.send_ok_with_sdp(now, &key, &request, &tag, contact, vec![], body);
            return;
        }
        let outcome = std::str::from_utf8(&request.body)
            .map_err(|_| "SDP is not UTF-8".to_string())
            .and_then(|text| SessionDescription::parse(text).map_err(|e| format!("Bad SDP: {e}")))
            .and_then(|offer| {
                sdp::answer(&offer, &leg.local_media, &mut leg.origin).map_err(|e| e.to_string())
            });
        let negotiated = match outcome {
            Ok(n) => n,
            Err(reason) => {
                // The failed offer leaves the session as it was (RFC 3264 §8).
                self.respond(now, &key, &request, 488, Some(&reason), vec![], Some(&tag));
                return;
            }
        };
        let params = media_params(&negotiated.audio);
        let direction_changed =
            (params.send, params.receive) != (leg.params.send, leg.params.receive);
        let codec_changed = params.codec != leg.params.codec;
        let rate_changed = params.codec.audio_rate() != leg.params.codec.audio_rate();
        // RFC 3264 §8.4: a leg we may not send to (it offered sendonly or
        // inactive, or `c=0.0.0.0`) holds its peer.
        let (was_holding, holding) = (!leg.params.send, !params.send);
        leg.params = params.clone();
        // RFC 4568 §7.1.4: the keys in force, kept by unchanged re-offers.
        leg.local_media.srtp.current = params.srtp.clone();
        let body = negotiated.answer.to_string().into_bytes();
        leg.local_sdp = negotiated.answer;
        let worker = leg.worker;
        let bridge_peer = leg.bridge_peer;
        let _ = self
            .media
            .send(worker, WorkerCommand::Update { id, params });
        let contact = self.contact_for_request(peer, &request);
        self.send_ok_with_sdp(now, &key, &request, &tag, contact, vec![], body);
        if rate_changed {
            self.moh_rate_changed(id);
        }
        let Some(other) = bridge_peer else {
            return;
        };
        if holding != was_holding {
            self.peer_hold_changed(other, holding);
        }
        // Hold or resume: the other party is told with the mirrored
        // direction (we send to it what we receive from this leg). A new
        // codec is offered to it first, so the legs may pass through again.
        let direction = if direction_changed {
            self.held_party_direction(negotiated.audio.direction.reversed(), holding)
        } else {
            match self.legs.get(&other) {
                Some(o) => Direction::from_flags(o.params.send, o.params.receive),
                None => return,
            }
        };
        if direction_changed || codec_changed {
            let wish = RelayOffer {
                direction,
                codec: codec_changed.then_some(negotiated.audio.codec),
            };
            self.relay_offer(now, other, wish);
        }
    }

    /// The ACK to a 2xx that carried our offer brings the answer.
    pub(super) fn accept_ack_answer(&mut self, now: Instant, id: SessionId, ack: &Request) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(offer) = leg.pending_offer.take() else {
            return;
        };
        let outcome = std::str::from_utf8(&ack.body)
            .ok()
            .and_then(|text| SessionDescription::parse(text).ok())
            .ok_or_else(|| "no usable SDP answer in the ACK".to_string())
            .and_then(|answer| sdp::accept_answer(&offer, &answer).map_err(|e| e.to_string()));
        match outcome {
            Ok(audio) => {
                let params = media_params(&audio);
                leg.params = params.clone();
                leg.local_media.srtp.current = params.srtp.clone();
                let worker = leg.worker;
                let _ = self
                    .media
                    .send(worker, WorkerCommand::Update { id, params });
            }
            Err(reason) => {
                // RFC 3261 §13.2.2.4 spirit: an unusable answer ends the call.
                tracing::info!(session = id, %reason, "re-INVITE answer refused, hanging up");
                self.hangup(now, id, 500);
            }
        }
    }
}
