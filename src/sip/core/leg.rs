//! A leg: one dialog with its media session and application.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rsip::Request;
use serde::Serialize;

use crate::apps::CallApp;
use crate::codec::CodecKind;
use crate::media::session::{MediaParams, SessionId};
use crate::media::stats::{CallQuality, SessionStats, SessionStatsSnapshot};
use crate::sip::core::SentAck;
use crate::sip::dialog::Dialog;
use crate::sip::sdp::{LocalMedia, SdpOrigin, SessionDescription};
use crate::sip::transaction::TransactionKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegState {
    /// 180 sent, answer pending.
    Ringing,
    /// 200 sent, ACK pending.
    Answered,
    /// ACK received.
    Confirmed,
}

pub struct Leg {
    pub id: SessionId,
    pub state: LegState,
    pub dialog: Dialog,
    /// The dialog-creating INVITE and its transaction (for the final
    /// response while ringing).
    pub invite: Request,
    pub invite_key: TransactionKey,
    pub app: Box<dyn CallApp>,
    pub worker: usize,
    pub local_media: LocalMedia,
    pub origin: SdpOrigin,
    /// The SDP we last sent (our answer, or our offer in a 2xx).
    pub local_sdp: SessionDescription,
    /// Our offer in the 2xx to an SDP-less re-INVITE, awaiting the ACK's answer.
    pub pending_offer: Option<SessionDescription>,
    /// The call is to end once our 2xx is acknowledged (RFC 3261 §15).
    pub bye_after_ack: bool,
    pub params: MediaParams,
    pub stats: Arc<SessionStats>,
    pub started: Instant,
    pub rtp_port: u16,
    /// The other leg of a bridged call.
    pub bridge_peer: Option<SessionId>,
    /// We sent the dialog-creating INVITE (the outgoing leg of a bridge).
    pub outbound: bool,
    /// Outgoing legs: the ACK of the 2xx and where it went, sent again
    /// for each retransmission of that 2xx (RFC 3261 §13.2.2.4).
    pub ack: Option<SentAck>,
    /// A re-INVITE we sent on this leg awaits its final response; no other
    /// may be sent meanwhile (RFC 3261 §14.1), and one received is 491.
    pub relay_pending: bool,
    /// The direction to offer once that is possible (a newer wish replaces
    /// an older one).
    pub relay_queued: Option<super::bridge::RelayOffer>,
    /// The application has been started (at the answer, or at the 183 of
    /// early media); until then it is given no events.
    pub app_started: bool,
    /// The bridged peer holds this leg (RFC 3264 §8.4): it hears music on
    /// hold instead of the peer.
    pub held_by_peer: bool,
    /// The music-on-hold prompt was found missing and that was logged.
    pub moh_missing_logged: bool,
    /// Number of the last source change sent to the media session.
    pub source_generation: u32,
    /// Key presses for this leg go as SIP INFO (a route's `dtmf = "info"`).
    pub dtmf_info: bool,
    /// The conference room the leg is in.
    pub room: Option<String>,
    /// In a room: the others do not hear this member.
    pub muted: bool,
    /// In a room: joined with the moderator PIN.
    pub moderator: bool,
    /// In a room: among the members being mixed (the media plane says).
    pub speaking: bool,
}

/// What `GET /api/v1/calls` shows of a leg.
#[derive(Debug, Clone, Serialize)]
pub struct CallInfo {
    pub id: SessionId,
    pub call_id: String,
    pub application: &'static str,
    pub state: LegState,
    pub remote: String,
    pub codec: &'static str,
    pub payload_type: u8,
    pub local_rtp_port: u16,
    pub remote_rtp: Option<SocketAddr>,
    pub duration_ms: u64,
    /// `inbound` (a caller's leg) or `outbound` (a leg we called).
    pub direction: &'static str,
    /// The other leg of a bridged call.
    pub bridged_with: Option<SessionId>,
    pub stats: SessionStatsSnapshot,
    /// RTCP's view of the leg both ways.
    pub quality: CallQuality,
}

impl Leg {
    pub fn info(&self, now: Instant) -> CallInfo {
        let codec: CodecKind = self.params.codec;
        let stats = self.stats.snapshot();
        CallInfo {
            id: self.id,
            call_id: self.dialog.call_id.clone(),
            application: self.app.name(),
            state: self.state,
            remote: self.dialog.peer.to_string(),
            codec: codec.encoding_name(),
            payload_type: self.params.payload_type,
            local_rtp_port: self.rtp_port,
            remote_rtp: self.params.remote_rtp,
            duration_ms: now.duration_since(self.started).as_millis() as u64,
            direction: if self.outbound { "outbound" } else { "inbound" },
            bridged_with: self.bridge_peer,
            quality: stats.quality(),
            stats,
        }
    }
}
