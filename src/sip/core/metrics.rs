//! Signalling counters for /metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Default)]
pub struct SipMetrics {
    pub messages_in: AtomicU64,
    pub rejected_malformed: AtomicU64,
    pub dropped_malformed: AtomicU64,
    pub calls_started: AtomicU64,
    pub calls_ended: AtomicU64,
    pub ack_timeouts: AtomicU64,
    pub responses_2xx: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    pub responses_6xx: AtomicU64,
    pub rejected_capacity: AtomicU64,
    pub room_joins: AtomicU64,
    pub room_leaves: AtomicU64,
    pub room_speaking_starts: AtomicU64,
    /// TLS connections closed because their handshake failed or stalled.
    pub tls_handshake_failures: AtomicU64,
    /// Outgoing TCP or TLS connections that could not be opened (connect,
    /// TLS handshake or certificate check failed, or no slot was free).
    pub outgoing_connect_failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct SipMetricsSnapshot {
    pub messages_in: u64,
    pub rejected_malformed: u64,
    pub dropped_malformed: u64,
    pub calls_started: u64,
    pub calls_ended: u64,
    pub ack_timeouts: u64,
    pub responses_2xx: u64,
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    pub responses_6xx: u64,
    pub rejected_capacity: u64,
    pub room_joins: u64,
    pub room_leaves: u64,
    pub room_speaking_starts: u64,
    pub tls_handshake_failures: u64,
    pub outgoing_connect_failures: u64,
}

impl SipMetrics {
    pub fn snapshot(&self) -> SipMetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SipMetricsSnapshot {
            messages_in: get(&self.messages_in),
            rejected_malformed: get(&self.rejected_malformed),
            dropped_malformed: get(&self.dropped_malformed),
            calls_started: get(&self.calls_started),
            calls_ended: get(&self.calls_ended),
            ack_timeouts: get(&self.ack_timeouts),
            responses_2xx: get(&self.responses_2xx),
            responses_4xx: get(&self.responses_4xx),
            responses_5xx: get(&self.responses_5xx),
            responses_6xx: get(&self.responses_6xx),
            rejected_capacity: get(&self.rejected_capacity),
            room_joins: get(&self.room_joins),
            room_leaves: get(&self.room_leaves),
            room_speaking_starts: get(&self.room_speaking_starts),
            tls_handshake_failures: get(&self.tls_handshake_failures),
            outgoing_connect_failures: get(&self.outgoing_connect_failures),
        }
    }
}

pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub fn count_response(metrics: &SipMetrics, code: u16) {
    match code {
        200..=299 => bump(&metrics.responses_2xx),
        400..=499 => bump(&metrics.responses_4xx),
        500..=599 => bump(&metrics.responses_5xx),
        600..=699 => bump(&metrics.responses_6xx),
        _ => {}
    }
}
