//! Reception statistics for one incoming RTP source: sequence validation,
//! loss and interarrival jitter (RFC 3550 Appendix A.1, A.3, A.8), and what
//! a report block about it says (RFC 3550 §6.4.1).

use std::time::{Duration, Instant};

/// RFC 3550 A.1: a jump ahead larger than this is not a loss burst but a
/// restarted or foreign stream (until confirmed by a second packet).
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: a packet this far behind is late or duplicated, not new.
const MAX_MISORDER: u16 = 100;
/// RFC 3550 A.1: packets in sequence needed before a source is valid.
const MIN_SEQUENTIAL: u16 = 2;
const RTP_SEQ_MOD: u32 = 1 << 16;

/// The cumulative loss field is a signed 24-bit integer (RFC 3550 §6.4.1).
const MAX_CUMULATIVE_LOST: i64 = 0x7f_ffff;
const MIN_CUMULATIVE_LOST: i64 = -0x80_0000;

/// A report block's fields (RFC 3550 §6.4.1), about one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source the block is about.
    pub ssrc: u32,
    /// Lost fraction of the interval since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the start, signed 24-bit (duplicates make it
    /// negative).
    pub cumulative_lost: i32,
    /// Sequence cycles in the high 16 bits, the highest sequence below.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR from the source, 0 if
    /// none.
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s, 0 if none.
    pub dlsr: u32,
}

/// RFC 3550 A.1 per-source state, with the A.3 interval counters and the
/// A.8 jitter.
#[derive(Debug, Clone)]
pub struct ReceiveStatistics {
    ssrc: u32,
    clock_rate: u32,
    /// False until the first packet.
    started: bool,
    max_seq: u16,
    /// Shifted count of sequence number cycles.
    cycles: u32,
    /// Extended sequence number of the first packet counted. Signed: the
    /// probation packets are counted back from the one that ends
    /// probation, which may be before a wrap.
    base_seq: i64,
    bad_seq: u32,
    probation: u16,
    received: u64,
    expected_prior: i64,
    received_prior: u64,
    /// RFC 3550 A.8: jitter scaled by 16 for integer arithmetic.
    jitter_q4: u32,
    /// Transit time of the previous in-order packet, in timestamp units.
    last_transit: Option<u32>,
    /// Arrival times are counted from here, in timestamp units.
    epoch: Option<Instant>,
    /// Middle 32 bits of the last SR's NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
    octets: u64,
    /// Payload octets of the packets in probation.
    run_octets: u64,
}

impl ReceiveStatistics {
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        ReceiveStatistics {
            ssrc,
            clock_rate: clock_rate.max(1),
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: RTP_SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter_q4: 0,
            last_transit: None,
            epoch: None,
            last_sr: None,
            octets: 0,
            run_octets: 0,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// A re-INVITE changed the codec: the jitter continues in the new units
    /// from the next packet on (RFC 3550 A.8 needs one clock).
    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        let clock_rate = clock_rate.max(1);
        if clock_rate != self.clock_rate {
            self.clock_rate = clock_rate;
            self.jitter_q4 = 0;
            self.last_transit = None;
            self.epoch = None;
        }
    }

    /// RFC 3550 A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = i64::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A packet from this source arrived at `now`. Returns whether it
    /// counts (a valid source's new, late or duplicate packet); packets
    /// during probation and after a big jump do not (RFC 3550 A.1).
    pub fn on_packet(&mut self, now: Instant, seq: u16, rtp_timestamp: u32) -> bool {
        self.on_packet_with_size(now, seq, rtp_timestamp, 0)
    }

    /// [`Self::on_packet`], counting `octets` of payload too.
    pub fn on_packet_with_size(
        &mut self,
        now: Instant,
        seq: u16,
        rtp_timestamp: u32,
        octets: usize,
    ) -> bool {
        if !self.started {
            // RFC 3550 A.1: a new source starts on probation.
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let in_probation = self.probation > 0;
        let counted = self.update_seq(seq);
        if in_probation {
            // The run of packets in sequence counts once it validates, as
            // the packets do (see `update_seq`).
            if self.probation == MIN_SEQUENTIAL - 1 {
                self.run_octets = 0;
            }
            self.run_octets += octets as u64;
            if counted.is_some() {
                self.octets = self.run_octets;
            }
        } else if counted.is_some() {
            self.octets += octets as u64;
        }
        let Some(in_order) = counted else {
            return false;
        };
        if in_order {
            // Jitter from in-order packets only: a late packet's transit
            // says how late it was, not how the network varies.
            self.update_jitter(now, rtp_timestamp);
        }
        true
    }

    /// RFC 3550 A.1 `update_seq`: None if the packet does not count, else
    /// whether it advanced the highest sequence number.
    fn update_seq(&mut self, seq: u16) -> Option<bool> {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    // A.1 starts counting at the packet that ends probation;
                    // the ones before it were in sequence too, so they count,
                    // and the first packet of a call is not reported lost.
                    self.base_seq = i64::from(seq) - i64::from(MIN_SEQUENTIAL - 1);
                    self.received = u64::from(MIN_SEQUENTIAL);
                    return Some(true);
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return None;
        }
        let in_order = if udelta == 0 {
            // A duplicate of the highest: received, but nothing advances.
            false
        } else if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += RTP_SEQ_MOD;
            }
            self.max_seq = seq;
            true
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump: the source restarted, if the next packet
            // follows this one (RFC 3550 A.1).
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
                self.last_transit = None;
                true
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return None;
            }
        } else {
            // Duplicate or reordered: counted as received, so a late packet
            // is not a loss (RFC 3550 §6.4.1).
            false
        };
        self.received += 1;
        Some(in_order)
    }

    /// RFC 3550 A.8, in timestamp units, with the jitter kept ×16.
    fn update_jitter(&mut self, now: Instant, rtp_timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let nanos = now.saturating_duration_since(epoch).as_nanos();
        let arrival = (nanos * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(last) = self.last_transit {
            let d = transit.wrapping_sub(last) as i32;
            let d = d.unsigned_abs();
            // J += (|D| - J) / 16, as A.8 writes it for the scaled value.
            self.jitter_q4 = self
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Extended highest sequence number received (RFC 3550 A.3).
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    fn expected(&self) -> i64 {
        i64::from(self.cycles) + i64::from(self.max_seq) - self.base_seq + 1
    }

    /// Whether the source has passed probation.
    pub fn valid(&self) -> bool {
        self.started && self.probation == 0
    }

    /// Packets counted as received.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Payload octets of the packets counted.
    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// Packets lost since the start, clamped to the signed 24-bit field
    /// (RFC 3550 A.3).
    pub fn cumulative_lost(&self) -> i32 {
        if !self.valid() {
            return 0;
        }
        let lost = self.expected() - self.received as i64;
        lost.clamp(MIN_CUMULATIVE_LOST, MAX_CUMULATIVE_LOST) as i32
    }

    /// Packets expected since the start (RFC 3550 A.3).
    pub fn expected_packets(&self) -> u64 {
        if self.valid() {
            self.expected().max(0) as u64
        } else {
            0
        }
    }

    /// Interarrival jitter in timestamp units (RFC 3550 A.8).
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Interarrival jitter as a duration.
    pub fn jitter_duration(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.jitter()) / f64::from(self.clock_rate))
    }

    /// An SR from this source arrived at `now` carrying NTP time `ntp`: our
    /// next block echoes its middle 32 bits (RFC 3550 §6.4.1 LSR).
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64) {
        self.last_sr = Some(((ntp >> 16) as u32, now));
    }

    /// The report block for a report sent at `now`; starts a new interval
    /// for the fraction lost (RFC 3550 A.3).
    pub fn report_block(&mut self, now: Instant) -> ReportBlock {
        let fraction_lost = if self.valid() {
            let expected = self.expected();
            let expected_interval = expected - self.expected_prior;
            self.expected_prior = expected;
            let received_interval = self.received as i64 - self.received_prior as i64;
            self.received_prior = self.received;
            let lost_interval = expected_interval - received_interval;
            if expected_interval <= 0 || lost_interval <= 0 {
                0
            } else {
                ((lost_interval << 8) / expected_interval).min(255) as u8
            }
        } else {
            0
        };
        let (lsr, dlsr) = match self.last_sr {
            // RFC 3550 §6.4.1: DLSR in units of 1/65536 s.
            Some((lsr, at)) => {
                let delay = now.saturating_duration_since(at);
                let units = delay.as_nanos() * 65536 / 1_000_000_000;
                (lsr, units.min(u128::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            extended_highest_seq: self.extended_max(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

#[cfg(test)]
mod tests;
