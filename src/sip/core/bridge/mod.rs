//! Bridged calls: the B2BUA proper.
//!
//! The caller's leg (A) stays ringing while an INVITE with our own offer is
//! forked to every destination (each registered contact of a user, or a
//! route's target). Provisional responses are relayed to A; early media
//! (183 with SDP) fixes A's answer and connects the media at once. The first
//! 2xx wins: its fork becomes the outgoing leg (B), the other forks are
//! cancelled, A is answered and the media worker bridges the two sessions.
//! When every fork fails, A gets the most telling final response (busy wins
//! over the rest); when no fork answers in time, A gets 480. Either leg
//! hanging up ends the other.
//!
//! The media is always anchored here: A's answer prefers the codec B chose,
//! so equal codecs pass through, and any other pair is transcoded.

mod cancel;
mod fork;
mod hold;
pub mod messages;
mod relay;

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsip::prelude::*;
use rsip::Request;

use super::invite::media_params;
use super::{SipCore, ALLOW};
use crate::codec::CodecKind;
use crate::config::DtmfMode;
use crate::media::session::{Latching, MediaParams, SessionSetup};
use crate::media::stats::SessionStats;
use crate::media::{SessionId, WorkerCommand};
use crate::sip::dialog::angle_uri;
use crate::sip::peer::Peer;
use crate::sip::sdp::{self, LocalMedia, LocalSrtp, SdpOrigin, SessionDescription};
use crate::sip::transaction::TransactionKey;

pub(super) use relay::{OutgoingReinvite, RelayOffer};

/// How long an outgoing call may ring when its route does not say.
pub const DEFAULT_NO_ANSWER: Duration = Duration::from_secs(30);

/// Where a bridged call goes, decided before the caller's leg is set up.
#[derive(Debug, Clone)]
pub(super) struct BridgePlan {
    /// Request-URI and next hop of each fork.
    pub destinations: Vec<(String, Peer)>,
    /// The `To` URI of the outgoing INVITEs.
    pub to_uri: String,
    /// What the outgoing leg may use, most preferred first.
    pub codecs: Vec<CodecKind>,
    pub no_answer: Duration,
    pub max_forwards: u32,
    /// How key presses reach the outgoing leg.
    pub dtmf: DtmfMode,
    /// The called user's mailbox: no answer, busy or unavailable leaves a
    /// message there instead of failing the call.
    pub mailbox: Option<String>,
    /// The outgoing leg's SRTP policy (the route's or the called user's).
    pub srtp: crate::config::SrtpPolicy,
}

/// Why a bridge attempt ended without an answer. The final response A
/// gets; a later mailbox fallback hooks in at [`SipCore::bridge_failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BridgeFailure {
    /// Nobody answered in time.
    NoAnswer,
    /// Every destination that answered was busy.
    Busy,
    /// Every fork failed; the most telling final status.
    Rejected(u16),
}

impl BridgeFailure {
    /// Ring-no-answer, busy, or unavailable (DESIGN.md: "no answer or busy
    /// -> that user's mailbox"); a refusal such as 403 or 488 is not.
    fn leaves_message(self) -> bool {
        match self {
            BridgeFailure::NoAnswer | BridgeFailure::Busy => true,
            BridgeFailure::Rejected(code) => {
                matches!(
                    code,
                    404 | 408 | 410 | 480 | 486 | 487 | 500..=599 | 600 | 603
                )
            }
        }
    }

    fn status(self) -> u16 {
        match self {
            BridgeFailure::NoAnswer => 480,
            BridgeFailure::Busy => 486,
            BridgeFailure::Rejected(code) => code,
        }
    }
}

/// A bridge attempt whose outgoing side has not answered yet.
#[derive(Debug)]
pub(super) struct PendingBridge {
    pub b: SessionId,
    pub b_media: LocalMedia,
    pub b_origin: SdpOrigin,
    pub b_stats: Arc<SessionStats>,
    pub b_rtp_port: u16,
    pub worker: usize,
    pub offer: SessionDescription,
    /// The INVITE transactions of the forks (details in `SipCore::forks`).
    pub forks: Vec<TransactionKey>,
    pub deadline: Instant,
    /// A's SDP answer went out in a 183 and may not change any more.
    pub a_answer_sent: bool,
    /// The early answer of the outgoing side (183 with SDP), for a 2xx
    /// that does not repeat it.
    pub early: Option<sdp::NegotiatedAudio>,
    /// The last provisional status relayed to A (repeats are not relayed).
    pub relayed: u16,
    /// The outgoing leg takes key presses as SIP INFO.
    pub dtmf_info: bool,
    /// Where the caller leaves a message if nobody answers.
    pub mailbox: Option<String>,
}

/// One outgoing INVITE of a bridge attempt, kept until its transaction
/// terminates so that a late 2xx from a losing fork can still be
/// acknowledged and hung up.
#[derive(Debug, Clone)]
pub(super) struct ForkRef {
    /// The caller's leg.
    pub a: SessionId,
    pub invite: Request,
    pub destination: Peer,
    /// A provisional response arrived: CANCEL may be sent (RFC 3261 §9.1).
    pub provisional: bool,
    /// Cancel as soon as a provisional response allows it.
    pub cancel_wanted: bool,
    pub final_code: Option<u16>,
}

impl SipCore {
    /// Starts the outgoing side of a bridge for the ringing leg `a`.
    pub(super) fn start_bridge(&mut self, now: Instant, a: SessionId, plan: BridgePlan) {
        let Some(leg) = self.legs.get(&a) else {
            return;
        };
        let caller_codecs = caller_offer(&leg.invite)
            .map(|offer| sdp::offered_codecs(&offer))
            .unwrap_or_default();
        let caller_from = leg
            .invite
            .from_header()
            .ok()
            .and_then(|f| angle_uri(f.value()))
            .map_or_else(
                || "<sip:anonymous@anonymous.invalid>".to_string(),
                |uri| format!("<{uri}>"),
            );
        let worker = leg.worker;
        let Some(first_hop) = plan.destinations.first().map(|(_, p)| *p) else {
            self.end_leg(now, a, 480);
            return;
        };
        // One offer goes to every fork, so its keys may go only where every
        // fork's signalling is secure.
        let secure = plan.destinations.iter().all(|(_, peer)| peer.is_secure());
        let srtp = match LocalSrtp::for_leg(&plan.srtp, secure, true) {
            Ok(srtp) => srtp,
            Err(e) => {
                tracing::warn!(error = %e, "no SRTP keys for the outgoing leg");
                self.end_leg(now, a, 500);
                return;
            }
        };
        if let Err(e) = srtp.can_offer() {
            tracing::info!(session = a, reason = %e, "outgoing leg needs SRTP it cannot key");
            self.end_leg(now, a, 488);
            return;
        }
        let ports = match self.media.ports().allocate() {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "no media ports for the outgoing leg");
                self.end_leg(now, a, 503);
                return;
            }
        };
        let local_ip = self.local_ip_for(first_hop.addr);
        // The caller's codecs first (equal codecs can then pass through),
        // then whatever else the route allows, which we transcode to.
        let mut codecs: Vec<CodecKind> = caller_codecs
            .iter()
            .copied()
            .filter(|c| plan.codecs.contains(c))
            .collect();
        codecs.extend(plan.codecs.iter().filter(|c| !caller_codecs.contains(c)));
        if plan.dtmf != DtmfMode::Rfc4733 {
            // Keys go by SIP INFO or as tones: the far end is not offered
            // telephone-event, so it sends its keys the same way.
            codecs.retain(|&c| c != CodecKind::TelephoneEvent);
        }
        let b_media = LocalMedia {
            address: local_ip,
            rtp_port: ports.rtp_port,
            codecs,
            ptime_ms: self.settings.ptime_ms,
            rtcp_mux_supported: true,
            srtp,
        };
        let mut b_origin = SdpOrigin::new(rand::random::<u32>() as u64, local_ip);
        let offer = sdp::offer(&b_media, &mut b_origin);
        let b = self.next_id;
        self.next_id += 1;
        let b_stats = Arc::new(SessionStats::default());
        let b_rtp_port = ports.rtp_port;
        let params = receive_only(&b_media);
        let setup = SessionSetup {
            id: b,
            params,
            jitter_delay_ms: self.settings.jitter_delay_ms,
            media_timeout: self.settings.media_timeout,
            stats: b_stats.clone(),
            latching: Latching {
                policy: self.settings.rtp_latching,
                signalling_ip: Some(first_hop.addr.ip()),
            },
            rtcp: self.settings.rtcp.clone(),
        };
        let create = WorkerCommand::Create {
            setup: Box::new(setup),
            ports,
        };
        if self.media.send(worker, create).is_err() {
            self.media.ports().release(b_rtp_port);
            self.end_leg(now, a, 500);
            return;
        }
        let call_id = crate::sip::ids::new_call_id();
        let mut forks = Vec::new();
        for (request_uri, destination) in &plan.destinations {
            // A tag of its own per fork: each fork's dialog then has a key
            // of its own (Call-ID + our tag), so a request in a losing
            // fork's dialog can never be taken for the winner's.
            let from_tag = crate::sip::ids::new_tag();
            let via_ip = self.local_ip_for(destination.addr);
            // Each fork gets the address that routes to it (a multi-homed
            // host reaches its destinations from different addresses); the
            // port and everything else are the same.
            let sdp_text = offer_from(&offer, via_ip).to_string();
            let via_host = super::uri_host(via_ip);
            let branch = crate::sip::ids::new_branch();
            let contact = self.contact_for_target(*destination, request_uri);
            let invite = messages::build_invite(&messages::OutgoingInvite {
                request_uri,
                to_uri: &plan.to_uri,
                from: &caller_from,
                from_tag: &from_tag,
                call_id: &call_id,
                transport: destination.transport.via_token(),
                via_host: &via_host,
                via_port: self.settings.port_for(destination.transport),
                branch: &branch,
                contact: &contact,
                max_forwards: plan.max_forwards,
                user_agent: &self.settings.user_agent,
                allow: ALLOW,
                sdp: &sdp_text,
            });
            let invite = match invite {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!(error = %e, %request_uri, "cannot build outgoing INVITE");
                    continue;
                }
            };
            match self.layer.send_request(now, invite.clone(), *destination) {
                Ok(key) => {
                    self.forks.insert(
                        key.clone(),
                        ForkRef {
                            a,
                            invite,
                            destination: *destination,
                            provisional: false,
                            cancel_wanted: false,
                            final_code: None,
                        },
                    );
                    forks.push(key);
                }
                Err(e) => tracing::warn!(error = %e, "outgoing INVITE not sent"),
            }
        }
        let deadline = now + plan.no_answer;
        self.bridges.insert(
            a,
            PendingBridge {
                b,
                b_media,
                b_origin,
                b_stats,
                b_rtp_port,
                worker,
                offer,
                forks,
                deadline,
                a_answer_sent: false,
                early: None,
                relayed: 0,
                dtmf_info: plan.dtmf == DtmfMode::Info,
                mailbox: plan.mailbox.clone(),
            },
        );
        if self.bridges.get(&a).is_some_and(|b| b.forks.is_empty()) {
            self.end_leg(now, a, 500);
            return;
        }
        self.no_answer_timers.push(Reverse((deadline, a)));
    }

    /// The no-answer deadline of the bridge attempt of `a` may have passed.
    pub(super) fn bridge_deadline(&mut self, now: Instant, a: SessionId) {
        if self.bridges.get(&a).is_some_and(|b| b.deadline <= now) {
            tracing::info!(session = a, "no answer, giving up");
            self.bridge_failed(now, a, BridgeFailure::NoAnswer);
        }
    }

    /// The attempt of `a` failed: the caller leaves a message in the called
    /// user's mailbox, or gets the final response.
    pub(super) fn bridge_failed(&mut self, now: Instant, a: SessionId, failure: BridgeFailure) {
        let mailbox = self.bridges.get(&a).and_then(|b| b.mailbox.clone());
        if let Some(mailbox) = mailbox.filter(|_| failure.leaves_message()) {
            if self.divert_to_mailbox(now, a, &mailbox) {
                return;
            }
        }
        self.end_leg(now, a, failure.status());
    }

    /// Leg `id` is gone: cancels its pending forks and releases the
    /// outgoing session, or ends the other leg of its answered bridge.
    pub(super) fn unbridge(&mut self, now: Instant, id: SessionId, peer: Option<SessionId>) {
        if let Some(pending) = self.bridges.remove(&id) {
            for key in &pending.forks {
                self.cancel_fork(now, key);
            }
            let destroy = WorkerCommand::Destroy { id: pending.b };
            let _ = self.media.send(pending.worker, destroy);
        }
        if let Some(peer) = peer {
            self.end_call(now, peer, 487);
        }
    }

    /// Fixes A's answer: the codec B uses when the caller offered it (pass
    /// through), else the caller's own first choice (transcoded). A caller
    /// that sent no offer gets ours in the 2xx, B's codec first, and
    /// answers in its ACK.
    pub(super) fn settle_caller_answer(&mut self, a: SessionId, b_codec: CodecKind) -> bool {
        let Some(leg) = self.legs.get_mut(&a) else {
            return false;
        };
        let Some(offer) = caller_offer(&leg.invite) else {
            let mut codecs = leg.local_media.codecs.clone();
            if let Some(at) = codecs.iter().position(|&c| c == b_codec) {
                let codec = codecs.remove(at);
                codecs.insert(0, codec);
            }
            let local = LocalMedia {
                codecs,
                ..leg.local_media.clone()
            };
            let ours = sdp::offer(&local, &mut leg.origin);
            leg.local_sdp = ours.clone();
            leg.pending_offer = Some(ours);
            return true;
        };
        let mut codecs = sdp::offered_codecs(&offer);
        codecs.retain(|c| leg.local_media.codecs.contains(c));
        if let Some(at) = codecs.iter().position(|&c| c == b_codec) {
            let codec = codecs.remove(at);
            codecs.insert(0, codec);
        }
        let local = LocalMedia {
            codecs,
            ..leg.local_media.clone()
        };
        match sdp::answer(&offer, &local, &mut leg.origin) {
            Ok(negotiated) => {
                leg.params = media_params(&negotiated.audio);
                leg.local_media.srtp.current = negotiated.audio.srtp;
                leg.local_sdp = negotiated.answer;
                let update = WorkerCommand::Update {
                    id: a,
                    params: leg.params.clone(),
                };
                let _ = self.media.send(leg.worker, update);
                true
            }
            Err(e) => {
                tracing::warn!(session = a, error = %e, "caller's offer no longer negotiates");
                false
            }
        }
    }
}

/// The SDP offer of a caller's INVITE.
pub(super) fn caller_offer(invite: &Request) -> Option<SessionDescription> {
    let text = std::str::from_utf8(&invite.body).ok()?;
    SessionDescription::parse(text).ok()
}

/// The outgoing session before any answer: it listens (early media may
/// come first) and sends nowhere until the answer says where.
pub(super) fn receive_only(media: &LocalMedia) -> MediaParams {
    let codec = media
        .codecs
        .iter()
        .copied()
        .find(|c| c.is_audio())
        .unwrap_or(CodecKind::Pcmu);
    MediaParams {
        codec,
        payload_type: codec.static_payload_type().unwrap_or(0),
        telephone_event_pt: None,
        ptime_ms: media.ptime_ms,
        remote_rtp: None,
        remote_rtcp: None,
        rtcp_mux: false,
        send: false,
        receive: true,
        codec_options: Default::default(),
        // Keys come with the answer.
        srtp: None,
    }
}

/// `offer` as seen from local address `ip` (its `o=` and `c=`).
fn offer_from(offer: &SessionDescription, ip: std::net::IpAddr) -> SessionDescription {
    let mut offer = offer.clone();
    offer.origin.address = ip.to_string();
    offer.origin.address_type = crate::sip::sdp::AddressType::of(ip);
    offer.connection = Some(crate::sip::sdp::Connection::from_ip(ip));
    offer
}
