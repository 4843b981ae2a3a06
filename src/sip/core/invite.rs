//! INVITE handling: a new call (route, negotiate, allocate media, answer) and
//! a re-INVITE within a dialog (renegotiate, update media).

use std::sync::Arc;
use std::time::Instant;

use rsip::prelude::*;
use rsip::Request;

use super::{metrics, Leg, LegState, SipCore, ALLOW};
use crate::apps::{CallApp, EchoApp, PlaybackApp};
use crate::config::Application;
use crate::media::session::{MediaParams, SessionSetup};
use crate::media::stats::SessionStats;
use crate::media::WorkerCommand;
use crate::sip::dialog::Dialog;
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, LocalMedia, NegotiatedAudio, SdpOrigin, SessionDescription};
use crate::sip::transaction::TransactionKey;

/// Why a new INVITE is refused.
struct Refusal {
    code: u16,
    reason: Option<String>,
    extra: Vec<rsip::Header>,
}

impl Refusal {
    fn new(code: u16, reason: impl Into<Option<String>>) -> Self {
        Refusal {
            code,
            reason: reason.into(),
            extra: Vec::new(),
        }
    }
}

impl SipCore {
    pub(super) fn handle_invite(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: Peer,
    ) {
        // RFC 3261 §17.2.1: 100 Trying at once stops the caller's retransmissions.
        self.respond(now, &key, &request, 100, None, vec![], None);
        match self.start_leg(now, &key, &request, source) {
            Ok(()) => metrics::bump(&self.metrics.calls_started),
            Err(refusal) => {
                let reason = refusal.reason.as_deref();
                self.respond(
                    now,
                    &key,
                    &request,
                    refusal.code,
                    reason,
                    refusal.extra,
                    None,
                );
            }
        }
    }

    fn start_leg(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        source: Peer,
    ) -> Result<(), Refusal> {
        if self.legs.len() >= self.settings.max_calls {
            metrics::bump(&self.metrics.rejected_capacity);
            return Err(self.busy("Server at capacity"));
        }
        let user = request
            .uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default();
        let target = self
            .dialplan
            .route(&user)
            .ok_or_else(|| Refusal::new(404, None))?;
        if let Application::Play { prompt } = &target.application {
            if !self.prompts.contains(prompt) {
                return Err(Refusal::new(404, Some(format!("No prompt {prompt}"))));
            }
        }
        if request.body.is_empty() {
            // A delayed offer (offer in our 2xx, answer in the ACK) is not
            // supported yet; RFC 3261 §13.3.1.1 allows refusing it.
            return Err(Refusal::new(488, Some("SDP offer required".into())));
        }
        let offer_text = std::str::from_utf8(&request.body)
            .map_err(|_| Refusal::new(400, Some("SDP is not UTF-8".into())))?;
        let offer = SessionDescription::parse(offer_text)
            .map_err(|e| Refusal::new(400, Some(format!("Bad SDP: {e}"))))?;
        let ports = self.media.ports().allocate().map_err(|e| {
            tracing::warn!(error = %e, "no media ports");
            self.busy("No media ports")
        })?;
        let local_ip = self.local_ip_for(source.addr);
        let local_media = LocalMedia {
            address: local_ip,
            rtp_port: ports.rtp_port,
            codecs: self.settings.codecs.clone(),
            ptime_ms: self.settings.ptime_ms,
            rtcp_mux_supported: true,
        };
        let mut origin = SdpOrigin::new(rand::random::<u32>() as u64, local_ip);
        let negotiated = match sdp::answer(&offer, &local_media, &mut origin) {
            Ok(n) => n,
            Err(e) => {
                self.media.ports().release(ports.rtp_port);
                return Err(Refusal::new(488, Some(e.to_string())));
            }
        };
        let app: Box<dyn CallApp> = match &target.application {
            Application::Echo => Box::new(EchoApp),
            Application::Play { prompt } => {
                let rate = negotiated.audio.codec.audio_rate();
                match self.prompts.get(prompt, rate) {
                    Some(samples) => Box::new(PlaybackApp::new(samples)),
                    None => {
                        self.media.ports().release(ports.rtp_port);
                        return Err(Refusal::new(404, Some(format!("No prompt {prompt}"))));
                    }
                }
            }
        };
        let local_tag = crate::sip::ids::new_tag();
        let dialog = match Dialog::from_invite(request, &local_tag, source) {
            Ok(d) => d,
            Err(e) => {
                self.media.ports().release(ports.rtp_port);
                return Err(Refusal::new(400, Some(e.to_string())));
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let params = media_params(&negotiated.audio);
        let stats = Arc::new(SessionStats::default());
        let worker = self.media.worker_for(&dialog.call_id);
        let rtp_port = ports.rtp_port;
        let setup = SessionSetup {
            id,
            params: params.clone(),
            jitter_delay_ms: self.settings.jitter_delay_ms,
            media_timeout: self.settings.media_timeout,
            stats: stats.clone(),
        };
        if self
            .media
            .send(
                worker,
                WorkerCommand::Create {
                    setup: Box::new(setup),
                    ports,
                },
            )
            .is_err()
        {
            return Err(Refusal::new(500, Some("Media plane unavailable".into())));
        }
        let ring = target.ring;
        let leg = Leg {
            id,
            state: LegState::Ringing,
            dialog,
            invite: request.clone(),
            app,
            worker,
            local_media,
            origin,
            answer_sdp: negotiated.answer.to_string(),
            params,
            stats,
            started: now,
            rtp_port,
        };
        self.by_dialog.insert(leg.dialog.key(), id);
        self.by_invite.insert(key.clone(), id);
        self.legs.insert(id, leg);
        if ring.is_zero() {
            self.answer(now, id);
        } else {
            let (invite, tag) = {
                let leg = &self.legs[&id];
                (leg.invite.clone(), leg.dialog.local_tag.clone())
            };
            self.respond(now, key, &invite, 180, None, vec![], Some(&tag));
            self.answer_timers.push(std::cmp::Reverse((now + ring, id)));
        }
        Ok(())
    }

    fn busy(&self, reason: &str) -> Refusal {
        let mut refusal = Refusal::new(503, Some(reason.to_string()));
        // RFC 3261 §21.5.4: tell the caller when to try again.
        refusal.extra.push(rsip::Header::RetryAfter(
            self.settings.retry_after_s.to_string().into(),
        ));
        refusal
    }

    /// Sends the 2xx with our SDP answer and starts the application.
    pub(super) fn answer(&mut self, now: Instant, id: crate::media::SessionId) {
        let Some(key) = self
            .by_invite
            .iter()
            .find_map(|(k, v)| (*v == id).then(|| k.clone()))
        else {
            return;
        };
        let Some(peer) = self.legs.get(&id).map(|l| l.dialog.peer) else {
            return;
        };
        let contact = self.contact_for(peer);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.state != LegState::Ringing {
            return;
        }
        leg.state = LegState::Answered;
        let invite = leg.invite.clone();
        let tag = leg.dialog.local_tag.clone();
        let body = leg.answer_sdp.clone().into_bytes();
        let actions = leg.app.start();
        self.send_ok_with_sdp(now, &key, &invite, &tag, contact, body);
        self.apply_actions(now, id, actions);
    }

    /// A 200 carrying our SDP, Contact and Allow (RFC 3261 §13.3.1.4).
    fn send_ok_with_sdp(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        tag: &str,
        contact: String,
        sdp: Vec<u8>,
    ) {
        let extra = vec![
            rsip::Header::Contact(contact.into()),
            rsip::Header::Allow(ALLOW.into()),
            rsip::Header::Server(self.settings.user_agent.clone().into()),
        ];
        let response = crate::sip::response::build_response(
            request,
            200,
            None,
            Some(tag),
            extra,
            Some(("application/sdp", sdp)),
        );
        if let Err(e) = self.layer.send_response(now, key, response) {
            tracing::warn!(error = %e, "200 not sent");
        }
        metrics::count_response(&self.metrics, 200);
    }

    fn contact_for(&self, peer: Peer) -> String {
        let ip = self.local_ip_for(peer.addr);
        let host = match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let transport = match peer.transport {
            crate::sip::peer::Transport::Tcp => ";transport=tcp",
            crate::sip::peer::Transport::Udp => "",
        };
        format!("<sip:{host}:{}{transport}>", self.settings.sip_port)
    }

    /// A re-INVITE (RFC 3261 §14.2): a new offer within the dialog.
    pub(super) fn handle_reinvite(&mut self, now: Instant, key: TransactionKey, request: Request) {
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
            self.respond(
                now,
                &key,
                &request,
                500,
                Some("CSeq out of order"),
                vec![],
                None,
            );
            return;
        }
        let tag = leg.dialog.local_tag.clone();
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
        leg.params = params.clone();
        leg.answer_sdp = negotiated.answer.to_string();
        let worker = leg.worker;
        let body = leg.answer_sdp.clone().into_bytes();
        let peer = leg.dialog.peer;
        let _ = self
            .media
            .send(worker, WorkerCommand::Update { id, params });
        let contact = self.contact_for(peer);
        self.send_ok_with_sdp(now, &key, &request, &tag, contact, body);
    }
}

fn media_params(audio: &NegotiatedAudio) -> MediaParams {
    MediaParams {
        codec: audio.codec,
        payload_type: audio.payload_type,
        telephone_event_pt: audio.telephone_event_pt,
        ptime_ms: audio.ptime_ms,
        remote_rtp: audio.remote_rtp,
        send: audio.direction.sends(),
        receive: audio.direction.receives(),
    }
}
