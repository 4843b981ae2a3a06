//! Hold and resume across a bridge: when one leg's re-INVITE changes the
//! direction of its media, the other leg is sent a re-INVITE with the
//! mirrored direction (RFC 3264 §8.4), so the held party's phone knows.
//! Codec changes stay local: the media is anchored here and transcoded.

use std::time::Instant;

use rsip::Request;

use crate::media::{SessionId, WorkerCommand};
use crate::sip::core::invite::media_params;
use crate::sip::core::{uri_host, LegState, SipCore};
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, Direction, LocalMedia, SessionDescription};
use crate::sip::transaction::TransactionKey;

/// A re-INVITE we sent on a bridged leg.
#[derive(Debug)]
pub struct OutgoingReinvite {
    pub leg: SessionId,
    pub offer: SessionDescription,
    pub cseq: u32,
    /// The ACK of its 2xx, sent again if the 2xx is retransmitted.
    pub ack: Option<(Request, Peer)>,
}

impl SipCore {
    /// Offers `leg` the media direction `direction` (ours towards it).
    pub(in crate::sip::core) fn relay_direction(
        &mut self,
        now: Instant,
        leg_id: SessionId,
        direction: Direction,
    ) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        // No re-INVITE before the ACK of the first one (RFC 3261 §14.1).
        if leg.state != LegState::Confirmed {
            return;
        }
        let peer = leg.dialog.peer;
        let via_host = uri_host(self.local_ip_for(peer.addr));
        let contact = self.contact_for(peer);
        let port = self.settings.port_for(peer.transport);
        let extra = format!(
            "Contact: {contact}\r\nUser-Agent: {}\r\n",
            self.settings.user_agent
        );
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        // The codec in use goes first, so the peer has no reason to change.
        let mut codecs = leg.local_media.codecs.clone();
        if let Some(at) = codecs.iter().position(|&c| c == leg.params.codec) {
            let codec = codecs.remove(at);
            codecs.insert(0, codec);
        }
        let local = LocalMedia {
            codecs,
            ..leg.local_media.clone()
        };
        let offer = sdp::offer_with_direction(&local, &mut leg.origin, direction);
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
        match self.layer.send_request(now, request, destination) {
            Ok(key) => {
                self.reinvites.insert(
                    key,
                    OutgoingReinvite {
                        leg: leg_id,
                        offer,
                        cseq,
                        ack: None,
                    },
                );
            }
            Err(e) => tracing::warn!(error = %e, "re-INVITE not sent"),
        }
    }

    /// A response to a re-INVITE we sent.
    pub(in crate::sip::core) fn reinvite_response(
        &mut self,
        _now: Instant,
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
        if code >= 300 {
            // The session stays as it was (RFC 3261 §14.1); a 491 glare is
            // not retried: the other side's own offer settles it.
            tracing::info!(session = reinvite.leg, code, "re-INVITE refused");
            return;
        }
        if let Some((ack, destination)) = reinvite.ack.clone() {
            self.transmit
                .push_back((destination, bytes::Bytes::from(ack.to_string())));
            return;
        }
        let (leg_id, cseq) = (reinvite.leg, reinvite.cseq);
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
        match outcome {
            Some(audio) => {
                leg.params = media_params(&audio);
                leg.local_sdp = offer;
                let update = WorkerCommand::Update {
                    id: leg_id,
                    params: leg.params.clone(),
                };
                let _ = self.media.send(leg.worker, update);
            }
            None => tracing::info!(
                session = leg_id,
                "re-INVITE answer unusable, media unchanged"
            ),
        }
    }
}
