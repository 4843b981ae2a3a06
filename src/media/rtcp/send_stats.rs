//! What we sent on a leg, for the sender info of our Sender Reports
//! (RFC 3550 §6.4.1), and the NTP timestamp format they carry.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A wall-clock time as a 64-bit NTP timestamp: seconds since 1900 in the
/// high word, the fraction in the low one (RFC 3550 §4). A time before 1970
/// (a clock that is badly wrong) gives 0, which RFC 3550 §6.4.1 reads as
/// "no wall clock".
pub fn ntp_time(wall: SystemTime) -> u64 {
    let Ok(since_unix) = wall.duration_since(UNIX_EPOCH) else {
        return 0;
    };
    let seconds = since_unix.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// The middle 32 bits of an NTP timestamp, the compact form that LSR
/// carries (RFC 3550 §6.4.1).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// The sender info section of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    pub ntp_time: u64,
    /// The same instant as `ntp_time`, on the RTP timestamp clock.
    pub rtp_time: u32,
    /// Packets sent since the start, wrapping (RFC 3550 §6.4.1).
    pub packet_count: u32,
    /// Payload octets sent since the start, wrapping.
    pub octet_count: u32,
}

/// Counters of the outgoing stream.
#[derive(Debug, Clone)]
pub struct SendStatistics {
    clock_rate: u32,
    packets: u64,
    octets: u64,
    /// The last packet: when it was sent and its RTP timestamp.
    last: Option<(Instant, u32)>,
    /// Whether we sent in the current and in the previous report interval.
    sent_now: bool,
    sent_before: bool,
}

impl SendStatistics {
    pub fn new(clock_rate: u32) -> Self {
        SendStatistics {
            clock_rate: clock_rate.max(1),
            packets: 0,
            octets: 0,
            last: None,
            sent_now: false,
            sent_before: false,
        }
    }

    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// The codec changed: later timestamps run at the new rate.
    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        self.clock_rate = clock_rate.max(1);
    }

    /// An RTP packet went out at `now` with timestamp `rtp_timestamp` and
    /// `payload_len` payload octets (RFC 3550 §6.4.1 counts payload only).
    pub fn on_packet(&mut self, now: Instant, rtp_timestamp: u32, payload_len: usize) {
        self.packets += 1;
        self.octets += payload_len as u64;
        self.last = Some((now, rtp_timestamp));
        self.sent_now = true;
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }

    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// RFC 3550 §6.4: a participant that sent data since the last report or
    /// the one before is a sender and issues an SR.
    pub fn is_sender(&self) -> bool {
        self.sent_now || self.sent_before
    }

    /// A report went out: the next interval starts.
    pub fn report_sent(&mut self) {
        self.sent_before = self.sent_now;
        self.sent_now = false;
    }

    /// The sender info for a report sent at `now`, wall-clock `wall`; None
    /// before the first packet. The RTP time is extrapolated from the last
    /// packet's at the clock rate, since it must name the same instant as
    /// the NTP time (RFC 3550 §6.4.1), not when the last packet left.
    pub fn sender_info(&self, now: Instant, wall: SystemTime) -> Option<SenderInfo> {
        let (sent_at, timestamp) = self.last?;
        let elapsed = now.saturating_duration_since(sent_at).as_nanos();
        let ticks = elapsed * u128::from(self.clock_rate) / 1_000_000_000;
        Some(SenderInfo {
            ntp_time: ntp_time(wall),
            rtp_time: timestamp.wrapping_add(ticks as u32),
            packet_count: self.packets as u32,
            octet_count: self.octets as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ntp_of_the_unix_epoch_and_a_half_second() {
        assert_eq!(ntp_time(UNIX_EPOCH) >> 32, NTP_UNIX_OFFSET);
        let half = UNIX_EPOCH + Duration::from_millis(500);
        assert_eq!(ntp_time(half) & 0xffff_ffff, 1 << 31);
        assert_eq!(ntp_time(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(ntp_middle(0x1122_3344_5566_7788), 0x3344_5566);
    }

    #[test]
    fn sender_info_counts_and_extrapolates_the_timestamp() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut stats = SendStatistics::new(8000);
        assert!(stats.sender_info(t0, wall).is_none());
        assert!(!stats.is_sender());
        for i in 0..50u32 {
            stats.on_packet(t0 + Duration::from_millis(20 * u64::from(i)), i * 160, 160);
        }
        let now = t0 + Duration::from_millis(1000);
        let info = stats.sender_info(now, wall).unwrap();
        assert_eq!(info.packet_count, 50);
        assert_eq!(info.octet_count, 8000);
        // Last packet at 980 ms with 49 * 160; 20 ms later is 160 more.
        assert_eq!(info.rtp_time, 50 * 160);
        assert_eq!(info.ntp_time, ntp_time(wall));
        assert!(stats.is_sender());
        stats.report_sent();
        assert!(stats.is_sender(), "sent in the interval before");
        stats.report_sent();
        assert!(!stats.is_sender());
    }

    #[test]
    fn counters_wrap_in_the_report() {
        let t0 = Instant::now();
        let mut stats = SendStatistics::new(8000);
        stats.packets = u64::from(u32::MAX);
        stats.on_packet(t0, 0, 1);
        let info = stats.sender_info(t0, UNIX_EPOCH).unwrap();
        assert_eq!(info.packet_count, 0);
        assert_eq!(stats.packets(), 1 << 32);
    }
}
