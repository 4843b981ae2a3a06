//! Reception statistics of an RTP stream: packets expected and lost
//! (RFC 3550 §6.4.1 and Appendix A.3) and interarrival jitter (RFC 3550 §6.4.1, A.8).

/// Counts expected and received packets from the sequence numbers of one
/// source at a time; a new SSRC starts a new count, the old one is kept.
#[derive(Debug, Default, Clone)]
pub struct SequenceTracker {
    ssrc: Option<u32>,
    base_seq: u16,
    max_seq: u16,
    cycles: u64,
    received: u64,
    earlier_expected: u64,
    earlier_received: u64,
}

impl SequenceTracker {
    pub fn update(&mut self, ssrc: u32, seq: u16) {
        if self.ssrc != Some(ssrc) {
            self.earlier_expected += self.current_expected();
            self.earlier_received += self.received;
            *self = SequenceTracker {
                ssrc: Some(ssrc),
                base_seq: seq,
                max_seq: seq,
                cycles: 0,
                received: 0,
                earlier_expected: self.earlier_expected,
                earlier_received: self.earlier_received,
            };
        } else {
            // A forward step of less than half the space is new data; anything
            // else is a duplicate or reordered packet (RFC 3550 A.1).
            let step = seq.wrapping_sub(self.max_seq);
            if step != 0 && step < 0x8000 {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            }
        }
        self.received += 1;
    }

    fn current_expected(&self) -> u64 {
        match self.ssrc {
            Some(_) => self.cycles + u64::from(self.max_seq) - u64::from(self.base_seq) + 1,
            None => 0,
        }
    }

    /// Packets the sequence numbers say were sent (RFC 3550 A.3).
    pub fn expected(&self) -> u64 {
        self.earlier_expected + self.current_expected()
    }

    pub fn received(&self) -> u64 {
        self.earlier_received + self.received
    }

    /// Expected minus received, never negative (duplicates can exceed).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received())
    }
}

/// The running interarrival jitter estimate J of RFC 3550 §6.4.1, in RTP
/// timestamp units.
#[derive(Debug, Clone)]
pub struct JitterEstimator {
    clock_rate: f64,
    last: Option<(f64, u32)>,
    jitter: f64,
}

impl JitterEstimator {
    pub fn new(clock_rate: u32) -> Self {
        JitterEstimator {
            clock_rate: f64::from(clock_rate),
            last: None,
            jitter: 0.0,
        }
    }

    /// Feeds one packet: its arrival time in seconds on any fixed clock and
    /// its RTP timestamp.
    pub fn update(&mut self, arrival_s: f64, timestamp: u32) {
        let arrival = arrival_s * self.clock_rate;
        if let Some((last_arrival, last_timestamp)) = self.last {
            // D(i,j) = (Rj - Ri) - (Sj - Si), timestamps compared modulo 2^32.
            let sent_delta = f64::from(timestamp.wrapping_sub(last_timestamp) as i32);
            let d = (arrival - last_arrival) - sent_delta;
            self.jitter += (d.abs() - self.jitter) / 16.0;
        }
        self.last = Some((arrival, timestamp));
    }

    /// Forgets the previous packet (the source changed); keeps the estimate.
    pub fn restart(&mut self) {
        self.last = None;
    }

    pub fn jitter_timestamp_units(&self) -> f64 {
        self.jitter
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / self.clock_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_loss_across_wrap_and_ignores_duplicates() {
        let mut t = SequenceTracker::default();
        for seq in [65534u16, 65535, 1, 2, 2, 0] {
            t.update(7, seq);
        }
        // 65534..=2 is 5 packets; 0 arrived late, 2 twice.
        assert_eq!(t.expected(), 5);
        assert_eq!(t.received(), 6);
        assert_eq!(t.lost(), 0);

        let mut t = SequenceTracker::default();
        for seq in [10u16, 11, 14, 15] {
            t.update(1, seq);
        }
        assert_eq!(t.expected(), 6);
        assert_eq!(t.lost(), 2);
        // A new source keeps what the old one lost.
        t.update(2, 500);
        t.update(2, 501);
        assert_eq!(t.expected(), 8);
        assert_eq!(t.lost(), 2);
    }

    #[test]
    fn jitter_is_zero_for_perfect_pacing_and_grows_with_variation() {
        let mut j = JitterEstimator::new(8000);
        for i in 0..50u32 {
            j.update(f64::from(i) * 0.020, 1000 + i * 160);
        }
        assert!(j.jitter_ms() < 1e-9);

        // Every packet 5 ms early or late by turns: |D| = 10 ms each time,
        // and J converges towards 10 ms.
        let mut j = JitterEstimator::new(8000);
        for i in 0..400u32 {
            let wobble = if i % 2 == 0 { 0.005 } else { -0.005 };
            j.update(f64::from(i) * 0.020 + wobble, i * 160);
        }
        assert!((j.jitter_ms() - 10.0).abs() < 0.1, "{}", j.jitter_ms());
        assert!((j.jitter_timestamp_units() - 80.0).abs() < 1.0);
    }
}
