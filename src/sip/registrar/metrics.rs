//! Registrar counters for /metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Default)]
pub struct RegistrarMetrics {
    /// Bindings currently stored (a gauge; expired ones leave it at the
    /// next REGISTER of their user or the next sweep).
    pub registrations_active: AtomicU64,
    /// REGISTERs answered 200.
    pub registers_accepted: AtomicU64,
    /// 401 challenges sent.
    pub challenges: AtomicU64,
    /// Credentials that did not verify: wrong password, unknown username,
    /// replayed nonce count.
    pub auth_failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RegistrarMetricsSnapshot {
    pub registrations_active: u64,
    pub registers_accepted: u64,
    pub challenges: u64,
    pub auth_failures: u64,
}

impl RegistrarMetrics {
    pub fn snapshot(&self) -> RegistrarMetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RegistrarMetricsSnapshot {
            registrations_active: get(&self.registrations_active),
            registers_accepted: get(&self.registers_accepted),
            challenges: get(&self.challenges),
            auth_failures: get(&self.auth_failures),
        }
    }
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(super) fn set(gauge: &AtomicU64, value: usize) {
    gauge.store(value as u64, Ordering::Relaxed);
}
