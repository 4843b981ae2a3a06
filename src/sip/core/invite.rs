//! INVITE handling: a new call (route, negotiate, allocate media, answer) and
//! a re-INVITE within a dialog (renegotiate, update media).

use std::sync::Arc;
use std::time::Instant;

use rsip::prelude::*;
use rsip::Request;

use super::bridge::{self, BridgePlan};
use super::secure_media::not_acceptable;
use super::voicemail::deposit_target;
use super::{metrics, Leg, LegState, SipCore, ALLOW};
use crate::config::Application;
use crate::media::session::{Latching, MediaParams, SessionSetup};
use crate::media::stats::SessionStats;
use crate::media::WorkerCommand;
use crate::routing::RouteTarget;
use crate::sip::dialog::{angle_uri, uri_destination, Dialog};
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, LocalMedia, NegotiatedAudio, SdpOrigin, SessionDescription};
use crate::sip::transaction::TransactionKey;

/// Why a new INVITE is refused.
pub(super) struct Refusal {
    pub(super) code: u16,
    pub(super) reason: Option<String>,
    pub(super) extra: Vec<rsip::Header>,
}

impl Refusal {
    pub(super) fn new(code: u16, reason: impl Into<Option<String>>) -> Self {
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
        let (target, bridge) = self.plan_call(now, request, &user)?;
        if let Application::Play { prompt } = &target.application {
            if !self.prompts.contains(prompt) {
                return Err(Refusal::new(404, Some(format!("No prompt {prompt}"))));
            }
        }
        // An INVITE without a body is a delayed offer: our 2xx carries the
        // offer and the ACK the answer (RFC 3261 §13.2.1, RFC 3264 §4).
        let offer = if request.body.is_empty() {
            None
        } else {
            let offer_text = std::str::from_utf8(&request.body)
                .map_err(|_| Refusal::new(400, Some("SDP is not UTF-8".into())))?;
            Some(
                SessionDescription::parse(offer_text)
                    .map_err(|e| Refusal::new(400, Some(format!("Bad SDP: {e}"))))?,
            )
        };
        let srtp = self.caller_srtp(&target, bridge.is_some(), &source, offer.is_none())?;
        let ports = self.media.ports().allocate().map_err(|e| {
            tracing::warn!(error = %e, "no media ports");
            self.busy("No media ports")
        })?;
        let local_ip = self.local_ip_for(source.addr);
        let mut local_media = LocalMedia {
            address: local_ip,
            rtp_port: ports.rtp_port,
            codecs: self.settings.codecs.clone(),
            ptime_ms: self.settings.ptime_ms,
            rtcp_mux_supported: true,
            srtp,
        };
        let mut origin = SdpOrigin::new(rand::random::<u32>() as u64, local_ip);
        let (local_sdp, params, pending_offer) = match &offer {
            Some(offer) => match sdp::answer(offer, &local_media, &mut origin) {
                Ok(negotiated) => {
                    local_media.srtp.current = negotiated.audio.srtp.clone();
                    (negotiated.answer, media_params(&negotiated.audio), None)
                }
                Err(e) => {
                    self.media.ports().release(ports.rtp_port);
                    return Err(not_acceptable(&e));
                }
            },
            None => {
                let mut ours = local_media.clone();
                if matches!(
                    target.application,
                    Application::Play { .. }
                        | Application::Ivr { .. }
                        | Application::Deposit { .. }
                        | Application::Voicemail { .. }
                ) {
                    // Prompts are prepared before the answer names the
                    // codec: offer codecs of one audio rate only.
                    let rate = ours
                        .codecs
                        .iter()
                        .find(|c| c.is_audio())
                        .map(|c| c.audio_rate());
                    ours.codecs
                        .retain(|c| !c.is_audio() || Some(c.audio_rate()) == rate);
                }
                let offer = sdp::offer(&ours, &mut origin);
                // Sends nowhere until the ACK's answer says where.
                (offer.clone(), bridge::receive_only(&ours), Some(offer))
            }
        };
        let app = match self.make_app(&target, request, params.codec) {
            Ok(app) => app,
            Err(refusal) => {
                self.media.ports().release(ports.rtp_port);
                return Err(refusal);
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
        let stats = Arc::new(SessionStats::default());
        // The members of a room share its worker, which mixes them.
        let worker = match &target.application {
            Application::Conference { room } => match self.room_workers.get(room) {
                Some(&(worker, _)) => worker,
                None => self.media.worker_for(&room_affinity(room)),
            },
            _ => self.media.worker_for(&dialog.call_id),
        };
        let rtp_port = ports.rtp_port;
        let setup = SessionSetup {
            id,
            params: params.clone(),
            jitter_delay_ms: self.settings.jitter_delay_ms,
            media_timeout: self.settings.media_timeout,
            stats: stats.clone(),
            latching: Latching {
                policy: self.settings.rtp_latching,
                signalling_ip: Some(source.addr.ip()),
            },
            rtcp: self.settings.rtcp.clone(),
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
            // The command (and its sockets) never reached a worker.
            self.media.ports().release(rtp_port);
            return Err(Refusal::new(500, Some("Media plane unavailable".into())));
        }
        let ring = target.ring;
        let leg = Leg {
            id,
            state: LegState::Ringing,
            dialog,
            invite: request.clone(),
            invite_key: key.clone(),
            app,
            worker,
            local_media,
            origin,
            local_sdp,
            pending_offer,
            bye_after_ack: false,
            params,
            stats,
            started: now,
            rtp_port,
            bridge_peer: None,
            outbound: false,
            ack: None,
            relay_pending: false,
            relay_queued: None,
            app_started: false,
            source_generation: 0,
            dtmf_info: false,
            room: None,
            muted: false,
            moderator: false,
            speaking: false,
            held_by_peer: false,
            moh_missing_logged: false,
        };
        self.by_dialog.insert(leg.dialog.key(), id);
        self.by_invite.insert(key.clone(), id);
        self.legs.insert(id, leg);
        if let Some(plan) = bridge {
            // The leg rings until the called party answers; what it hears
            // meanwhile is relayed from there.
            self.start_bridge(now, id, plan);
        } else if self.legs[&id].app.early_media() {
            // Early media: the application plays in a 183 and answers
            // when it chooses.
            let sdp = self.legs[&id].local_sdp.to_string();
            self.send_to_caller(now, id, 183, Some(sdp));
            self.start_app(now, id);
        } else if ring.is_zero() {
            self.answer(now, id);
        } else {
            let (invite, tag, peer) = {
                let leg = &self.legs[&id];
                (
                    leg.invite.clone(),
                    leg.dialog.local_tag.clone(),
                    leg.dialog.peer,
                )
            };
            // RFC 3261 §12.1.1: a response that creates an early dialog
            // carries Contact and the Record-Route set.
            let mut extra = record_routes(&invite);
            let contact = self.contact_for_request(peer, &invite);
            extra.push(rsip::Header::Contact(contact.into()));
            self.respond(now, key, &invite, 180, None, extra, Some(&tag));
            self.answer_timers.push(std::cmp::Reverse((now + ring, id)));
        }
        Ok(())
    }

    /// Where the call goes: a dial-plan route, or a registered user. A
    /// bridge also gets the plan of its outgoing side.
    pub(super) fn plan_call(
        &self,
        now: Instant,
        request: &Request,
        user: &str,
    ) -> Result<(RouteTarget, Option<BridgePlan>), Refusal> {
        let max_forwards = request
            .max_forwards_header()
            .ok()
            .and_then(|h| h.value().trim().parse::<u32>().ok())
            .unwrap_or(70);
        let to_uri = request
            .to_header()
            .ok()
            .and_then(|t| angle_uri(t.value()))
            .unwrap_or_else(|| request.uri.to_string());
        match self.dialplan.route(user) {
            Some(target) => {
                let Application::Bridge { target: uri } = &target.application else {
                    return Ok((target, None));
                };
                if max_forwards == 0 {
                    // RFC 3261 §16.3 step 3: a loop or a long chain.
                    return Err(Refusal::new(483, None));
                }
                // RFC 3263 §4.1 without DNS: the URI names the IP, the port
                // and, by its scheme or transport parameter, the transport.
                let Some(destination) = uri_destination(uri) else {
                    return Err(Refusal::new(
                        502,
                        Some(format!("Route target {uri} has no IP address")),
                    ));
                };
                if self.is_own_sip_address(destination.addr) {
                    // RFC 3261 §16.3 step 4 in spirit: a route back to us
                    // would only come round again until Max-Forwards ran out.
                    return Err(Refusal::new(
                        482,
                        Some(format!("Route target {uri} is this server")),
                    ));
                }
                let plan = BridgePlan {
                    destinations: vec![(uri.clone(), destination)],
                    to_uri: uri.clone(),
                    codecs: target
                        .codecs
                        .clone()
                        .unwrap_or_else(|| self.settings.codecs.clone()),
                    no_answer: target.no_answer.unwrap_or(bridge::DEFAULT_NO_ANSWER),
                    max_forwards: max_forwards - 1,
                    dtmf: target.dtmf,
                    mailbox: None,
                    srtp: target.srtp.apply(&self.settings.srtp),
                };
                Ok((target, Some(plan)))
            }
            None if self.registrar.is_user(user) => {
                if max_forwards == 0 {
                    return Err(Refusal::new(483, None));
                }
                let bindings = self.registrar.lookup(user, now);
                let mailbox = self.mailbox_of_user(user);
                if bindings.is_empty() {
                    return match mailbox {
                        // Unavailable: straight to the mailbox.
                        Some(mailbox) => Ok((deposit_target(mailbox), None)),
                        None => Err(Refusal::new(480, Some("Not registered".into()))),
                    };
                }
                let plan = BridgePlan {
                    destinations: bindings
                        .into_iter()
                        .map(|b| (b.contact, b.destination))
                        .collect(),
                    to_uri,
                    codecs: self.settings.codecs.clone(),
                    no_answer: self
                        .registrar
                        .no_answer(user)
                        .unwrap_or(bridge::DEFAULT_NO_ANSWER),
                    max_forwards: max_forwards - 1,
                    dtmf: crate::config::DtmfMode::Rfc4733,
                    mailbox,
                    srtp: self.registrar.srtp(user).apply(&self.settings.srtp),
                };
                let target = RouteTarget {
                    route_index: usize::MAX,
                    application: Application::Bridge {
                        target: user.to_string(),
                    },
                    ring: std::time::Duration::ZERO,
                    codecs: None,
                    no_answer: None,
                    dtmf: crate::config::DtmfMode::Rfc4733,
                    srtp: Default::default(),
                };
                Ok((target, Some(plan)))
            }
            None => Err(Refusal::new(404, None)),
        }
    }

    /// Whether `addr` is where our own SIP listens.
    fn is_own_sip_address(&self, addr: std::net::SocketAddr) -> bool {
        let port = addr.port();
        let ours = port == self.settings.sip_port
            || port == self.settings.sip_tcp_port
            || Some(port) == self.settings.sip_tls_port;
        ours && (addr.ip().is_loopback()
            || addr.ip().is_unspecified()
            || Some(addr.ip()) == self.settings.advertise
            || addr.ip() == self.local_ip_for(addr))
    }

    fn busy(&self, reason: &str) -> Refusal {
        let mut refusal = Refusal::new(503, Some(reason.to_string()));
        // RFC 3261 §21.5.4: tell the caller when to try again.
        refusal.extra.push(rsip::Header::RetryAfter(
            self.settings.retry_after_s.to_string().into(),
        ));
        refusal
    }

    /// Sends the 2xx with our SDP answer and starts the application, unless
    /// it started already (early media).
    pub(super) fn answer(&mut self, now: Instant, id: crate::media::SessionId) {
        let Some(contact) = self
            .legs
            .get(&id)
            .map(|l| self.contact_for_request(l.dialog.peer, &l.invite))
        else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.state != LegState::Ringing {
            return;
        }
        leg.state = LegState::Answered;
        let invite = leg.invite.clone();
        let key = leg.invite_key.clone();
        let tag = leg.dialog.local_tag.clone();
        let body = leg.local_sdp.to_string().into_bytes();
        let worker = leg.worker;
        let started = leg.app_started;
        let _ = self.media.send(worker, WorkerCommand::Answered { id });
        let routes = record_routes(&invite);
        self.send_ok_with_sdp(now, &key, &invite, &tag, contact, routes, body);
        if !started {
            self.start_app(now, id);
        }
    }

    /// A 200 carrying our SDP, Contact and Allow (RFC 3261 §13.3.1.4).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_ok_with_sdp(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: &Request,
        tag: &str,
        contact: String,
        mut extra: Vec<rsip::Header>,
        sdp: Vec<u8>,
    ) {
        extra.extend([
            rsip::Header::Contact(contact.into()),
            rsip::Header::Allow(ALLOW.into()),
            rsip::Header::Server(self.settings.user_agent.clone().into()),
        ]);
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
}

/// The Record-Route headers of a dialog-creating request, in order, for the
/// responses that establish the dialog (RFC 3261 §12.1.1).
pub(super) fn record_routes(request: &Request) -> Vec<rsip::Header> {
    request
        .headers
        .iter()
        .filter(|h| matches!(h, rsip::Header::RecordRoute(_)))
        .cloned()
        .collect()
}

/// The worker key of a conference room: every member lands on one worker.
pub(super) fn room_affinity(room: &str) -> String {
    format!("conference:{room}")
}

pub(super) fn media_params(audio: &NegotiatedAudio) -> MediaParams {
    MediaParams {
        codec: audio.codec,
        payload_type: audio.payload_type,
        telephone_event_pt: audio.telephone_event_pt,
        ptime_ms: audio.ptime_ms,
        remote_rtp: audio.remote_rtp,
        remote_rtcp: audio.remote_rtcp,
        rtcp_mux: audio.rtcp_mux,
        send: audio.direction.sends(),
        receive: audio.direction.receives(),
        codec_options: audio.codec_options,
        srtp: audio.srtp.clone(),
    }
}
