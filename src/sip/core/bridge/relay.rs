//! Hold, resume and codec changes across a bridge: when one leg's
//! re-INVITE changes the direction of its media, the other leg is sent a
//! re-INVITE with the mirrored direction (RFC 3264 §8.4), so the held
//! party's phone knows; when it changes the codec, the other leg is offered
//! that codec first, so that if it follows the legs pass through again
//! (the media is anchored here and transcoded meanwhile either way).
//!
//! One re-INVITE at a time per leg (RFC 3261 §14.1): a wish that comes
//! while one is pending (or before the leg's first ACK) is queued, the
//! newest replacing older ones, and sent when the pending one ends. A 491
//! (glare) is retried after a random wait; a 408 or 481 ends the call
//! (RFC 3261 §12.2.1.2).

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use rsip::Request;

use crate::codec::CodecKind;
use crate::media::{SessionId, WorkerCommand};
use crate::sip::core::invite::media_params;
use crate::sip::core::SentAck;
use crate::sip::core::{uri_host, LegState, SipCore};
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, Direction, LocalMedia, SessionDescription};
use crate::sip::transaction::TransactionKey;

/// What a relayed re-INVITE offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayOffer {
    /// Our direction towards the leg.
    pub direction: Direction,
    /// The codec to offer first; `None` keeps the one in use first.
    pub codec: Option<CodecKind>,
}

impl RelayOffer {
    /// `self` wished after `older`: the newer direction, and a codec
    /// preference kept unless replaced.
    fn after(self, older: Option<RelayOffer>) -> RelayOffer {
        RelayOffer {
            direction: self.direction,
            codec: self.codec.or(older.and_then(|o| o.codec)),
        }
    }
}

/// A re-INVITE we sent on a bridged leg.
#[derive(Debug)]
pub struct OutgoingReinvite {
    pub leg: SessionId,
    pub wish: RelayOffer,
    pub offer: SessionDescription,
    pub cseq: u32,
    /// The ACK of its 2xx, sent again if the 2xx is retransmitted.
    pub ack: Option<SentAck>,
    /// The re-INVITE and where it went, to CANCEL it if it hangs.
    pub request: Request,
    pub destination: Peer,
}

impl SipCore {
    /// Sends `leg` a re-INVITE with the offer `wish`.
    pub(in crate::sip::core) fn relay_offer(
        &mut self,
        now: Instant,
        leg_id: SessionId,
        wish: RelayOffer,
    ) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if leg.relay_pending || leg.state != LegState::Confirmed {
            leg.relay_queued = Some(wish.after(leg.relay_queued));
            return;
        }
        let peer = leg.dialog.peer;
        let sips = leg.invite.uri.scheme == Some(rsip::Scheme::Sips);
        let via_host = uri_host(self.local_ip_for(peer.addr));
        let contact = self.contact_uri(peer, sips);
        let port = self.settings.port_for(peer.transport);
        let extra = format!(
            "Contact: {contact}\r\nUser-Agent: {}\r\n",
            self.settings.user_agent
        );
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        // The wished codec, else the one in use, goes first.
        let first = wish.codec.unwrap_or(leg.params.codec);
        let mut codecs = leg.local_media.codecs.clone();
        if let Some(at) = codecs.iter().position(|&c| c == first) {
            let codec = codecs.remove(at);
            codecs.insert(0, codec);
        }
        let local = LocalMedia {
            codecs,
            ..leg.local_media.clone()
        };
        let offer = sdp::offer_with_direction(&local, &mut leg.origin, wish.direction);
        leg.dialog.local_cseq += 1;
        let cseq = leg.dialog.local_cseq;
        let branch = crate::sip::ids::new_branch();
        let body = offer.to_string();
        let request = leg.dialog.request_with(
            "INVITE",
            cseq,
            &via_host,
            port,
            &branch,
            &extra,
            Some(("application/sdp", &body)),
        );
        let destination = leg.dialog.destination();
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build re-INVITE");
                return;
            }
        };
        match self.layer.send_request(now, request.clone(), destination) {
            Ok(key) => {
                leg.relay_pending = true;
                // A 1xx stops Timer B; the watch below still ends the wait.
                self.watch_cancelled(now, key.clone());
                self.reinvites.insert(
                    key,
                    OutgoingReinvite {
                        leg: leg_id,
                        wish,
                        offer,
                        cseq,
                        ack: None,
                        request,
                        destination,
                    },
                );
            }
            Err(e) => tracing::warn!(error = %e, "re-INVITE not sent"),
        }
    }

    /// A response to a re-INVITE we sent.
    pub(in crate::sip::core) fn reinvite_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: &rsip::Response,
    ) {
        let code = response.status_code.code();
        if code < 200 {
            return;
        }
        let Some(reinvite) = self.reinvites.get(key) else {
            return;
        };
        let (leg_id, cseq, wish) = (reinvite.leg, reinvite.cseq, reinvite.wish);
        if let Some(sent) = reinvite.ack.clone() {
            // A retransmitted 2xx.
            self.transmit.push_back(sent);
            return;
        }
        if code >= 300 {
            self.reinvites.remove(key);
            self.reinvite_refused(now, leg_id, code, wish);
            return;
        }
        let Some(dialog) = self.legs.get(&leg_id).map(|l| l.dialog.clone()) else {
            return;
        };
        let ack = self.send_ack(&dialog, cseq);
        let Some(reinvite) = self.reinvites.get_mut(key) else {
            return;
        };
        reinvite.ack = ack;
        let outcome = std::str::from_utf8(&response.body)
            .ok()
            .and_then(|text| SessionDescription::parse(text).ok())
            .and_then(|answer| sdp::accept_answer(&reinvite.offer, &answer).ok());
        let offer = reinvite.offer.clone();
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        leg.relay_pending = false;
        match outcome {
            Some(audio) => {
                let old_rate = leg.params.codec.audio_rate();
                leg.params = media_params(&audio);
                leg.local_media.srtp.current = audio.srtp;
                let rate_changed = leg.params.codec.audio_rate() != old_rate;
                leg.local_sdp = offer;
                let update = WorkerCommand::Update {
                    id: leg_id,
                    params: leg.params.clone(),
                };
                let _ = self.media.send(leg.worker, update);
                if rate_changed {
                    self.moh_rate_changed(leg_id);
                }
            }
            None => tracing::info!(
                session = leg_id,
                "re-INVITE answer unusable, media unchanged"
            ),
        }
        self.send_queued_relay(now, leg_id);
    }

    /// A non-2xx final response to our re-INVITE: the session stays as it
    /// was (RFC 3261 §14.1).
    fn reinvite_refused(&mut self, now: Instant, leg_id: SessionId, code: u16, wanted: RelayOffer) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        leg.relay_pending = false;
        match code {
            // RFC 3261 §12.2.1.2: the dialog is gone.
            408 | 481 => {
                tracing::info!(session = leg_id, code, "re-INVITE says the dialog is gone");
                self.hangup(now, leg_id, 500);
            }
            // RFC 3261 §14.1: glare; try again after a random wait (we are
            // not the owner of the Call-ID on every leg, so 0 to 2 s).
            491 => {
                leg.relay_queued = Some(leg.relay_queued.unwrap_or(wanted));
                let wait = Duration::from_millis(rand::random::<u64>() % 2000);
                self.relay_retries.push(Reverse((now + wait, leg_id)));
            }
            _ => {
                tracing::info!(session = leg_id, code, "re-INVITE refused");
                self.send_queued_relay(now, leg_id);
            }
        }
    }

    /// Timer B on our re-INVITE: as a 408.
    pub(in crate::sip::core) fn reinvite_timeout(&mut self, now: Instant, key: &TransactionKey) {
        if let Some(reinvite) = self.reinvites.remove(key) {
            self.reinvite_refused(now, reinvite.leg, 408, reinvite.wish);
        }
    }

    /// A re-INVITE still without a final response 64·T1 after it was sent
    /// (a 1xx stopped Timer B) is cancelled and given up (RFC 3261 §14.1,
    /// §9.1); the session stays as it was and the leg may send again.
    pub(in crate::sip::core) fn expire_reinvite(&mut self, now: Instant, key: &TransactionKey) {
        let hanging = self.reinvites.get(key).is_some_and(|r| r.ack.is_none());
        if !hanging {
            return;
        }
        let Some(reinvite) = self.reinvites.remove(key) else {
            return;
        };
        tracing::info!(
            session = reinvite.leg,
            "re-INVITE unanswered; cancelling it"
        );
        self.send_cancel(now, &reinvite.request, reinvite.destination);
        self.layer.abandon(key);
        if let Some(leg) = self.legs.get_mut(&reinvite.leg) {
            leg.relay_pending = false;
        }
        self.send_queued_relay(now, reinvite.leg);
    }

    /// A 491's wait is over.
    pub(in crate::sip::core) fn retry_relay(&mut self, now: Instant, leg_id: SessionId) {
        self.send_queued_relay(now, leg_id);
    }

    fn send_queued_relay(&mut self, now: Instant, leg_id: SessionId) {
        let queued = self
            .legs
            .get_mut(&leg_id)
            .and_then(|leg| leg.relay_queued.take());
        if let Some(wish) = queued {
            self.relay_offer(now, leg_id, wish);
        }
    }
}
