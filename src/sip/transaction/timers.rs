//! Transaction timer values (RFC 3261 §17, Table 4 in Appendix A) and the
//! retransmission back-off they drive.

use std::time::{Duration, Instant};

/// The base timer values; every transaction timer derives from these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate.
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// Maximum time a message can remain in the network.
    pub t4: Duration,
}

impl Default for TimerConfig {
    /// RFC 3261 §17.1.1.1 and §17.1.2.2 recommended values.
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, J (unreliable), L and M.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: wait for response retransmissions after an INVITE failure,
    /// "32 s or more" on unreliable transports (RFC 3261 §17.1.1.2).
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            Duration::from_secs(32).max(self.transaction_timeout())
        }
    }

    /// Timer I: absorb ACK retransmissions (RFC 3261 §17.2.1).
    pub fn timer_i(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J: absorb non-INVITE request retransmissions (RFC 3261 §17.2.2).
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.transaction_timeout()
        }
    }

    /// Timer K: absorb non-INVITE response retransmissions (RFC 3261 §17.1.2.2).
    pub fn timer_k(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }
}

/// A retransmission timer that starts at T1 and doubles each time it fires,
/// up to an optional ceiling (Timers A, E and G).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub fire_at: Instant,
    interval: Duration,
    ceiling: Option<Duration>,
}

impl Backoff {
    pub fn start(now: Instant, first: Duration, ceiling: Option<Duration>) -> Self {
        Backoff {
            fire_at: now + first,
            interval: first,
            ceiling,
        }
    }

    pub fn is_due(&self, now: Instant) -> bool {
        self.fire_at <= now
    }

    /// Schedules the next firing after one at `now`.
    pub fn advance(&mut self, now: Instant) {
        let doubled = self.interval * 2;
        self.interval = match self.ceiling {
            Some(ceiling) => doubled.min(ceiling),
            None => doubled,
        };
        self.fire_at = now + self.interval;
    }

    /// Fixes the interval from now on (Timer E in Proceeding: always T2).
    pub fn hold_at(&mut self, interval: Duration) {
        self.interval = interval;
        self.ceiling = Some(interval);
    }
}

/// The earliest of several optional deadlines.
pub(crate) fn earliest(deadlines: &[Option<Instant>]) -> Option<Instant> {
    deadlines.iter().flatten().min().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_rfc_values() {
        let config = TimerConfig::default();
        assert_eq!(config.t1, Duration::from_millis(500));
        assert_eq!(config.t2, Duration::from_secs(4));
        assert_eq!(config.t4, Duration::from_secs(5));
        assert_eq!(config.transaction_timeout(), Duration::from_secs(32));
    }

    #[test]
    fn reliable_transports_zero_timers_d_i_j_k() {
        let config = TimerConfig::default();
        for timer in [
            config.timer_d(true),
            config.timer_i(true),
            config.timer_j(true),
            config.timer_k(true),
        ] {
            assert_eq!(timer, Duration::ZERO);
        }
        assert_eq!(config.timer_d(false), Duration::from_secs(32));
        assert_eq!(config.timer_i(false), Duration::from_secs(5));
        assert_eq!(config.timer_j(false), Duration::from_secs(32));
        assert_eq!(config.timer_k(false), Duration::from_secs(5));
    }

    #[test]
    fn timer_d_is_at_least_64_t1() {
        let config = TimerConfig {
            t1: Duration::from_secs(1),
            ..TimerConfig::default()
        };
        assert_eq!(config.timer_d(false), Duration::from_secs(64));
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let start = Instant::now();
        let mut backoff = Backoff::start(
            start,
            Duration::from_millis(500),
            Some(Duration::from_secs(4)),
        );
        let mut fired = Vec::new();
        for _ in 0..6 {
            fired.push(backoff.fire_at - start);
            let at = backoff.fire_at;
            backoff.advance(at);
        }
        let ms: Vec<u128> = fired.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [500, 1500, 3500, 7500, 11500, 15500]);
    }

    #[test]
    fn backoff_without_ceiling_keeps_doubling() {
        let start = Instant::now();
        let mut backoff = Backoff::start(start, Duration::from_millis(500), None);
        for _ in 0..4 {
            let at = backoff.fire_at;
            backoff.advance(at);
        }
        assert_eq!(backoff.fire_at - start, Duration::from_millis(15500));
    }
}
