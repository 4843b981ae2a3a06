//! When the next report is due: the RFC 3550 §6.3 transmission interval as
//! Appendix A.7 computes it, for a point-to-point leg (two members).
//!
//! Deterministic given the random value, so the caller owns the randomness
//! and tests are exact.

use std::time::{Duration, Instant};

/// RFC 3550 §6.2: the recommended minimum interval.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(5);

/// RFC 3550 A.7: the randomisation in [0.5, 1.5) makes the average interval
/// longer than meant; dividing by e − 3/2 brings it back (§6.3.1).
pub const COMPENSATION: f64 = std::f64::consts::E - 1.5;

/// A point-to-point leg: us and the far end (RFC 3550 §6.3, members).
const MEMBERS: f64 = 2.0;

/// RFC 3550 §6.2: RTCP gets 5 % of the session bandwidth, a quarter of it
/// for senders when they are few.
const RTCP_FRACTION: f64 = 0.05;
const SENDER_FRACTION: f64 = 0.25;

/// IPv4 and UDP headers, counted in the RTCP packet size (RFC 3550 §6.2:
/// "including lower-layer transport and network protocols").
pub const LOWER_LAYER_OCTETS: usize = 28;

/// A first guess of our compound's size with headers: SR with one block,
/// SDES with a short CNAME, IP and UDP (A.7 starts from the first packet's).
const INITIAL_AVG_RTCP_SIZE: f64 = 120.0;

/// How the interval is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalConfig {
    /// The fixed minimum (RFC 3550 §6.2 recommends 5 s).
    pub min_interval: Duration,
    /// The session bandwidth in bit/s (the codec with RTP, UDP and IP
    /// headers); RTCP gets 5 % of it.
    pub session_bandwidth_bps: u32,
    /// Use the reduced minimum of 360 / (session bandwidth in kbit/s)
    /// seconds where it is shorter than `min_interval` (RFC 3550 §6.2).
    pub reduced_minimum: bool,
}

impl Default for IntervalConfig {
    fn default() -> Self {
        IntervalConfig {
            min_interval: DEFAULT_MIN_INTERVAL,
            // G.711 at 20 ms: 64 kbit/s of payload and 16 of headers.
            session_bandwidth_bps: 80_000,
            reduced_minimum: false,
        }
    }
}

/// The interval state of one leg (RFC 3550 A.7 `rtcp_interval`).
#[derive(Debug, Clone)]
pub struct ReportInterval {
    config: IntervalConfig,
    /// Average compound size with lower-layer headers, in octets.
    avg_rtcp_size: f64,
    /// Before the first report the minimum is halved (RFC 3550 §6.2).
    initial: bool,
    we_sent: bool,
    senders: u8,
}

impl ReportInterval {
    pub fn new(config: IntervalConfig) -> Self {
        ReportInterval {
            config,
            avg_rtcp_size: INITIAL_AVG_RTCP_SIZE,
            initial: true,
            we_sent: false,
            senders: 0,
        }
    }

    pub fn config(&self) -> &IntervalConfig {
        &self.config
    }

    /// Who sent RTP lately: us, and how many of the two members.
    pub fn set_senders(&mut self, we_sent: bool, far_end_sent: bool) {
        self.we_sent = we_sent;
        self.senders = u8::from(we_sent) + u8::from(far_end_sent);
    }

    /// An RTCP compound of `octets` (without IP/UDP) was sent or received
    /// (RFC 3550 A.7: avg_rtcp_size moves 1/16 of the way).
    pub fn on_rtcp_packet(&mut self, octets: usize) {
        let size = (octets + LOWER_LAYER_OCTETS) as f64;
        self.avg_rtcp_size += (size - self.avg_rtcp_size) / 16.0;
    }

    /// The minimum interval in effect, before the initial halving.
    pub fn minimum(&self) -> Duration {
        let fixed = self.config.min_interval;
        if !self.config.reduced_minimum || self.config.session_bandwidth_bps == 0 {
            return fixed;
        }
        // RFC 3550 §6.2: 360 / (session bandwidth in kbit/s) seconds.
        let kbps = f64::from(self.config.session_bandwidth_bps) / 1000.0;
        fixed.min(Duration::from_secs_f64(360.0 / kbps))
    }

    /// The interval for a random value in [0, 1) (clamped into it).
    pub fn interval(&self, rng_value: f64) -> Duration {
        let mut min = self.minimum().as_secs_f64();
        if self.initial {
            min /= 2.0;
        }
        let mut rtcp_bw = f64::from(self.config.session_bandwidth_bps) / 8.0 * RTCP_FRACTION;
        let mut n = MEMBERS;
        let senders = f64::from(self.senders);
        // RFC 3550 A.7: when senders are a quarter of the members or fewer
        // they share a quarter of the bandwidth. With two members that is
        // only when no one sends, so both are receivers.
        if senders <= MEMBERS * SENDER_FRACTION {
            if self.we_sent {
                rtcp_bw *= SENDER_FRACTION;
                n = senders;
            } else {
                rtcp_bw *= 1.0 - SENDER_FRACTION;
                n = MEMBERS - senders;
            }
        }
        let mut t = if rtcp_bw > 0.0 {
            self.avg_rtcp_size * n / rtcp_bw
        } else {
            min
        };
        if t.is_nan() || t < min {
            t = min;
        }
        let rng = if rng_value.is_finite() {
            rng_value.clamp(0.0, 1.0)
        } else {
            0.5
        };
        // RFC 3550 §6.3.1: randomised in [0.5, 1.5) to avoid synchronised
        // reports, then compensated.
        t *= rng + 0.5;
        t /= COMPENSATION;
        Duration::from_secs_f64(t.min(3600.0))
    }

    /// When the report after one sent at `now` is due; the first call gives
    /// the initial, halved interval.
    pub fn next_report_at(&mut self, now: Instant, rng_value: f64) -> Instant {
        let at = now + self.interval(rng_value);
        self.initial = false;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    #[test]
    fn default_interval_spans_half_to_one_and_a_half_minimum() {
        let now = Instant::now();
        let mut interval = ReportInterval::new(IntervalConfig::default());
        interval.set_senders(true, true);
        let first = interval.next_report_at(now, 0.5);
        assert!((secs(first - now) - 2.5 / COMPENSATION).abs() < 1e-9);
        let low = 2.5 / COMPENSATION;
        let high = 7.5 / COMPENSATION;
        assert!((secs(interval.interval(0.0)) - low).abs() < 1e-9);
        assert!((secs(interval.interval(1.0)) - high).abs() < 1e-9);
        for i in 0..1000 {
            let t = secs(interval.next_report_at(now, f64::from(i) / 1000.0) - now);
            assert!((low - 1e-9..=high + 1e-9).contains(&t), "{t}");
        }
        assert!((secs(interval.interval(0.5)) - 5.0 / COMPENSATION).abs() < 1e-9);
    }

    #[test]
    fn odd_random_values_stay_in_range() {
        let interval = ReportInterval::new(IntervalConfig::default());
        for rng in [f64::NAN, f64::INFINITY, -3.0, 7.0] {
            let t = secs(interval.interval(rng));
            assert!((1.25 / COMPENSATION - 1e-9..=3.75 / COMPENSATION + 1e-9).contains(&t));
        }
    }

    #[test]
    fn reduced_minimum_at_high_bandwidth() {
        let config = IntervalConfig {
            session_bandwidth_bps: 720_000,
            reduced_minimum: true,
            ..IntervalConfig::default()
        };
        let mut interval = ReportInterval::new(config);
        interval.set_senders(true, true);
        interval.next_report_at(Instant::now(), 0.5);
        // 360 / 720 = 0.5 s.
        assert_eq!(interval.minimum(), Duration::from_millis(500));
        assert!((secs(interval.interval(0.5)) - 0.5 / COMPENSATION).abs() < 1e-9);
        // Below 72 kbit/s the fixed minimum is shorter and stays.
        let low = ReportInterval::new(IntervalConfig {
            session_bandwidth_bps: 64_000,
            reduced_minimum: true,
            ..IntervalConfig::default()
        });
        assert_eq!(low.minimum(), DEFAULT_MIN_INTERVAL);
    }

    #[test]
    fn little_bandwidth_stretches_the_interval() {
        // 2 members × 120 octets over 5 % of 1 kbit/s (6.25 octets/s),
        // both receivers sharing 75 % of it: 51.2 s.
        let mut interval = ReportInterval::new(IntervalConfig {
            session_bandwidth_bps: 1000,
            ..IntervalConfig::default()
        });
        interval.set_senders(false, false);
        interval.next_report_at(Instant::now(), 0.5);
        let t = secs(interval.interval(0.5)) * COMPENSATION;
        assert!((t - 120.0 * 2.0 / (6.25 * 0.75)).abs() < 1e-6, "{t}");
    }

    #[test]
    fn average_size_follows_packets() {
        let mut interval = ReportInterval::new(IntervalConfig::default());
        for _ in 0..200 {
            interval.on_rtcp_packet(72);
        }
        assert!((interval.avg_rtcp_size - 100.0).abs() < 0.01);
    }
}
