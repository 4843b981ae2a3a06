//! HTTP admin API and Prometheus metrics (DESIGN.md "HTTP admin API").

mod mailboxes;

pub use mailboxes::{MailboxApi, OnMailboxChange};

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::media::stats::MediaMetrics;
use crate::media::PortAllocator;
use crate::sip::core::{MemberChange, SipMetrics};
use crate::sip::transport::{CoreQuery, SipHandle};

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    pub sip: SipHandle,
    pub sip_metrics: Arc<SipMetrics>,
    pub media_metrics: Arc<MediaMetrics>,
    pub registrar_metrics: Arc<crate::sip::registrar::RegistrarMetrics>,
    pub ports: Arc<PortAllocator>,
    /// The voicemail message routes; `None` answers them 404.
    pub voicemail: Option<MailboxApi>,
    pub voicemail_metrics: Arc<crate::apps::voicemail::VoicemailMetrics>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/v1/calls", get(calls))
        .route("/api/v1/conferences", get(conferences))
        .route("/api/v1/conferences/{room}", get(conference))
        .route("/api/v1/conferences/{room}/{action}", post(room_action))
        .route(
            "/api/v1/conferences/{room}/participants/{member}/{action}",
            post(member_action),
        )
        .route(
            "/api/v1/conferences/{room}/participants/{member}",
            delete(kick_member),
        )
        .merge(mailboxes::routes())
        .with_state(state)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    rtp_ports_in_use: usize,
    rtp_ports_total: usize,
}

async fn health(State(state): State<ApiState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        rtp_ports_in_use: state.ports.in_use(),
        rtp_ports_total: state.ports.capacity(),
    })
}

async fn calls(State(state): State<ApiState>) -> Response {
    let (tx, rx) = oneshot::channel();
    if state.sip.queries.send(CoreQuery::Calls(tx)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "signalling stopped").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), rx).await {
        Ok(Ok(calls)) => Json(calls).into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "signalling busy").into_response(),
    }
}

/// Sends a query to the signalling task and waits (briefly) for its answer.
async fn ask<T>(
    state: &ApiState,
    query: impl FnOnce(oneshot::Sender<T>) -> CoreQuery,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    if state.sip.queries.send(query(tx)).await.is_err() {
        return Err((StatusCode::SERVICE_UNAVAILABLE, "signalling stopped").into_response());
    }
    match tokio::time::timeout(Duration::from_secs(2), rx).await {
        Ok(Ok(answer)) => Ok(answer),
        _ => Err((StatusCode::SERVICE_UNAVAILABLE, "signalling busy").into_response()),
    }
}

async fn conferences(State(state): State<ApiState>) -> Response {
    match ask(&state, CoreQuery::Conferences).await {
        Ok(rooms) => Json(rooms).into_response(),
        Err(response) => response,
    }
}

async fn conference(State(state): State<ApiState>, Path(room): Path<String>) -> Response {
    match ask(&state, CoreQuery::Conferences).await {
        Ok(rooms) => match rooms.into_iter().find(|r| r.room == room) {
            Some(room) => Json(room).into_response(),
            None => (StatusCode::NOT_FOUND, "no such room").into_response(),
        },
        Err(response) => response,
    }
}

fn member_change(change: MemberChange) -> Response {
    match change {
        MemberChange::Done => StatusCode::NO_CONTENT.into_response(),
        MemberChange::NotFound => {
            (StatusCode::NOT_FOUND, "no such member in that room").into_response()
        }
    }
}

/// `POST /api/v1/conferences/ROOM/lock` or `/unlock`.
async fn room_action(
    State(state): State<ApiState>,
    Path((room, action)): Path<(String, String)>,
) -> Response {
    let locked = match action.as_str() {
        "lock" => true,
        "unlock" => false,
        _ => return (StatusCode::NOT_FOUND, "actions are lock and unlock").into_response(),
    };
    match ask(&state, |reply| CoreQuery::LockRoom {
        room,
        locked,
        reply,
    })
    .await
    {
        Ok(MemberChange::Done) => StatusCode::NO_CONTENT.into_response(),
        Ok(MemberChange::NotFound) => (StatusCode::NOT_FOUND, "no such room").into_response(),
        Err(response) => response,
    }
}

/// `POST .../participants/ID/mute` or `/unmute`.
async fn member_action(
    State(state): State<ApiState>,
    Path((room, member, action)): Path<(String, u64, String)>,
) -> Response {
    let muted = match action.as_str() {
        "mute" => true,
        "unmute" => false,
        _ => return (StatusCode::NOT_FOUND, "actions are mute and unmute").into_response(),
    };
    match ask(&state, |reply| CoreQuery::MuteMember {
        room,
        member,
        muted,
        reply,
    })
    .await
    {
        Ok(change) => member_change(change),
        Err(response) => response,
    }
}

async fn kick_member(
    State(state): State<ApiState>,
    Path((room, member)): Path<(String, u64)>,
) -> Response {
    match ask(&state, |reply| CoreQuery::KickMember {
        room,
        member,
        reply,
    })
    .await
    {
        Ok(change) => member_change(change),
        Err(response) => response,
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    // Quality gauges are means over the calls up now; without an answer
    // from the signalling task they are left out, the counters still go.
    let quality = ask(&state, CoreQuery::Calls)
        .await
        .ok()
        .map(|calls| mean_quality(&calls));
    let mut out = String::new();
    let sip = state.sip_metrics.snapshot();
    let media = state.media_metrics.snapshot();
    let registrar = state.registrar_metrics.snapshot();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP mediaplane_{name} {help}");
        let _ = writeln!(out, "# TYPE mediaplane_{name} counter");
        let _ = writeln!(out, "mediaplane_{name} {value}");
    };
    counter("sip_messages_total", "SIP messages parsed", sip.messages_in);
    counter(
        "sip_malformed_rejected_total",
        "Malformed requests answered with 400/501",
        sip.rejected_malformed,
    );
    counter(
        "sip_malformed_dropped_total",
        "Unusable messages dropped",
        sip.dropped_malformed,
    );
    counter("calls_started_total", "Calls accepted", sip.calls_started);
    counter("calls_ended_total", "Calls ended", sip.calls_ended);
    counter(
        "sip_ack_timeouts_total",
        "2xx never acknowledged",
        sip.ack_timeouts,
    );
    counter(
        "sip_responses_2xx_total",
        "2xx responses sent",
        sip.responses_2xx,
    );
    counter(
        "sip_responses_4xx_total",
        "4xx responses sent",
        sip.responses_4xx,
    );
    counter(
        "sip_responses_5xx_total",
        "5xx responses sent",
        sip.responses_5xx,
    );
    counter(
        "sip_tls_handshake_failures_total",
        "TLS connections closed because their handshake failed or timed out",
        sip.tls_handshake_failures,
    );
    counter(
        "sip_outgoing_connect_failures_total",
        "Outgoing SIP TCP/TLS connections that failed to connect or to complete the TLS handshake",
        sip.outgoing_connect_failures,
    );
    counter(
        "sip_rejected_capacity_total",
        "Calls refused with 503 at capacity",
        sip.rejected_capacity,
    );
    counter(
        "conference_joins_total",
        "Members that joined a conference room",
        sip.room_joins,
    );
    counter(
        "conference_leaves_total",
        "Members that left a conference room",
        sip.room_leaves,
    );
    counter(
        "conference_speaking_starts_total",
        "Times a conference member started being mixed as a speaker",
        sip.room_speaking_starts,
    );
    counter(
        "media_sessions_created_total",
        "Media sessions created",
        media.sessions_created,
    );
    counter(
        "media_sessions_closed_total",
        "Media sessions closed",
        media.sessions_closed,
    );
    counter(
        "rtp_packets_received_total",
        "RTP packets accepted",
        media.rx_packets,
    );
    counter(
        "rtp_packets_sent_total",
        "RTP packets sent",
        media.tx_packets,
    );
    counter(
        "rtp_garbage_dropped_total",
        "Datagrams on RTP ports that were not RTP",
        media.rx_garbage,
    );
    counter(
        "rtp_foreign_source_dropped_total",
        "RTP packets dropped for coming from a source the leg does not latch",
        media.rx_foreign_source,
    );
    counter(
        "srtp_auth_failures_total",
        "SRTP and SRTCP packets dropped because authentication failed",
        media.srtp_auth_failures,
    );
    counter(
        "srtp_replays_total",
        "SRTP and SRTCP packets dropped as replays",
        media.srtp_replays,
    );
    counter(
        "media_timeouts_total",
        "Calls ended for lack of RTP",
        media.media_timeouts,
    );
    counter(
        "media_late_ticks_total",
        "Worker ticks skipped because the worker fell behind",
        media.worker_late_ticks,
    );
    counter(
        "media_sessions_moved_total",
        "Sessions handed to another media worker to join a room mixed there",
        media.sessions_moved,
    );
    counter(
        "rtcp_sent_total",
        "RTCP compounds sent (reports and BYE)",
        media.rtcp_sent,
    );
    counter(
        "rtcp_received_total",
        "RTCP datagrams received from peers",
        media.rtcp_received,
    );
    counter(
        "rtcp_malformed_total",
        "RTCP datagrams dropped as malformed",
        media.rtcp_malformed,
    );
    counter(
        "conference_shared_encodes_total",
        "Encodes of a room's shared mix, each sent to every listener with that codec",
        media.room_shared_encodes,
    );
    counter(
        "conference_shared_frames_total",
        "Room frames members were sent from a shared encode",
        media.room_shared_frames,
    );
    counter(
        "conference_personal_frames_total",
        "Room frames members encoded for themselves",
        media.room_personal_frames,
    );
    let recorder = [
        (
            "recordings_started_total",
            "Recordings opened",
            media.recordings_started,
        ),
        (
            "recordings_finished_total",
            "Recordings closed",
            media.recordings_finished,
        ),
        (
            "recording_chunks_dropped_total",
            "Recorded audio chunks dropped because the recorder fell behind",
            media.recording_chunks_dropped,
        ),
        (
            "recording_buffer_allocations_total",
            "Recorded audio buffers allocated because none was spare",
            media.recording_buffer_allocations,
        ),
        (
            "recording_write_errors_total",
            "Recording files that could not be written",
            media.recording_write_errors,
        ),
    ];
    let vm = &state.voicemail_metrics;
    let voicemail = [
        (
            "voicemail_messages_deposited_total",
            "Messages kept",
            &vm.messages_deposited,
        ),
        (
            "voicemail_messages_discarded_total",
            "Recordings discarded as too short",
            &vm.messages_discarded,
        ),
        (
            "voicemail_pin_failures_total",
            "Wrong mailbox PINs",
            &vm.pin_failures,
        ),
        (
            "voicemail_pin_lockouts_total",
            "Mailboxes locked after wrong PINs",
            &vm.pin_lockouts,
        ),
    ];
    for (name, help, value) in recorder {
        counter(name, help, value);
    }
    for (name, help, value) in voicemail {
        counter(name, help, value.load(std::sync::atomic::Ordering::Relaxed));
    }
    counter(
        "registrar_registers_accepted_total",
        "REGISTER requests answered 200",
        registrar.registers_accepted,
    );
    counter(
        "registrar_challenges_total",
        "Digest challenges (401) sent",
        registrar.challenges,
    );
    counter(
        "registrar_auth_failures_total",
        "Digest credentials that did not verify",
        registrar.auth_failures,
    );
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP mediaplane_{name} {help}");
        let _ = writeln!(out, "# TYPE mediaplane_{name} gauge");
        let _ = writeln!(out, "mediaplane_{name} {value}");
    };
    gauge(
        "rtp_ports_in_use",
        "RTP port pairs allocated",
        state.ports.in_use() as u64,
    );
    gauge(
        "registrations_active",
        "Registered contacts",
        registrar.registrations_active,
    );
    if let Some((rtt_ms, mos)) = quality {
        let mut float_gauge = |name: &str, help: &str, value: Option<f64>| {
            let _ = writeln!(out, "# HELP mediaplane_{name} {help}");
            let _ = writeln!(out, "# TYPE mediaplane_{name} gauge");
            let _ = writeln!(out, "mediaplane_{name} {}", value.unwrap_or(f64::NAN));
        };
        float_gauge(
            "rtcp_rtt_mean_seconds",
            "Mean round-trip time over the calls that measured one (NaN: none)",
            rtt_ms.map(|ms| ms / 1000.0),
        );
        float_gauge(
            "call_mos_mean",
            "Mean estimated MOS over the calls that have one (NaN: none)",
            mos,
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The mean RTT (ms) and MOS over the calls that have them.
fn mean_quality(calls: &[crate::sip::core::CallInfo]) -> (Option<f64>, Option<f64>) {
    let mean = |values: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = values.fold((0.0, 0u32), |(sum, n), v| (sum + v, n + 1));
        (n > 0).then(|| sum / f64::from(n))
    };
    let rtt = mean(&mut calls.iter().filter_map(|c| c.quality.rtt_ms));
    let mos = mean(&mut calls.iter().filter_map(|c| c.quality.mos));
    (rtt, mos)
}
