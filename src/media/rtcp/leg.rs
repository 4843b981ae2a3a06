//! [`RtcpLeg`]: the RTCP side of one point-to-point leg, sans-IO. RTP
//! headers seen and sent, RTCP datagrams and times in; compound reports and
//! a quality summary out. The caller owns the socket, the clocks and the
//! randomness.

use std::time::{Duration, Instant, SystemTime};

use super::interval::{IntervalConfig, ReportInterval};
use super::quality::{CodecImpairment, QualityInputs};
use super::receive_stats::{ReceiveStatistics, ReportBlock};
use super::report::{build_compound, parse_compound, ReportContents, RtcpError, SrHistory};
use super::send_stats::{ntp_middle, SendStatistics};
use crate::codec::CodecKind;
use crate::media::rtp_header::RtpHeader;

/// RTP (12), UDP (8) and IPv4 (20) headers of each packet.
const HEADER_OCTETS: u32 = 40;

/// After BYE no reports are scheduled; the timer still moves on, this far,
/// so a caller polling it does not spin.
const AFTER_BYE: Duration = Duration::from_secs(3600);

/// How a leg reports.
#[derive(Debug, Clone)]
pub struct RtcpLegConfig {
    /// Our SSRC: the outgoing RTP stream's.
    pub ssrc: u32,
    /// RFC 3550 §6.5.1 canonical name, the same on every leg of one
    /// endpoint (at most 255 octets are sent).
    pub cname: String,
    /// RTP clock rate of the negotiated codec (both ways).
    pub clock_rate: u32,
    /// For the MOS estimate.
    pub codec: CodecImpairment,
    pub ptime_ms: u32,
    /// Our playout delay, for the MOS estimate; the far end's is taken to
    /// be the same.
    pub playout_delay_ms: u32,
    pub interval: IntervalConfig,
}

impl RtcpLegConfig {
    /// The configuration for a leg with this codec and packet time, the
    /// default 5 s minimum interval, and the session bandwidth of the codec
    /// with its RTP, UDP and IPv4 headers (RFC 3550 §6.2 counts them).
    pub fn new(
        ssrc: u32,
        cname: String,
        codec: CodecKind,
        ptime_ms: u32,
        playout_delay_ms: u32,
    ) -> Self {
        let payload_bps = match codec {
            CodecKind::L16At8000 => 128_000,
            CodecKind::L16At16000 => 256_000,
            // G.711 and G.722 are 64 kbit/s; Opus voice is less, and the
            // 5 s minimum rules at these rates anyway.
            _ => 64_000,
        };
        let packets_per_second = 1000 / ptime_ms.max(1);
        let header_bps = HEADER_OCTETS * 8 * packets_per_second;
        RtcpLegConfig {
            ssrc,
            cname,
            clock_rate: codec.clock_rate(),
            codec: CodecImpairment::for_codec(codec),
            ptime_ms,
            playout_delay_ms,
            interval: IntervalConfig {
                session_bandwidth_bps: payload_bps + header_bps,
                ..IntervalConfig::default()
            },
        }
    }
}

/// What the far end last told us.
#[derive(Debug, Clone, Default)]
struct FarEnd {
    /// Its block about our stream.
    block: Option<ReportBlock>,
    rtt: Option<Duration>,
    cname: Option<String>,
    bye: bool,
    /// It sent an SR in its last report (RFC 3550 §6.4: it is a sender).
    sends: bool,
    /// The sender SSRC and packet count of its last SR.
    sent_packets: Option<(u32, u32)>,
}

/// What a report from the far end says about its RTP, for the media
/// timeout: RTP silence from a far end that reports it sends nothing is a
/// phone in silence suppression or muted, not a dead call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerActivity {
    /// A receiver report only (RFC 3550 §6.4: it sent no RTP in the last
    /// two intervals), or an SR whose packet count has not moved since its
    /// previous one: alive and quiet.
    Quiet,
    /// An SR counting packets sent, perhaps never received here: only our
    /// own reception says the media path works.
    Sending,
    /// It ended its reports with BYE.
    Leaving,
}

/// A leg's quality both ways, as the RTCP engine sees it. The session
/// publishes the part the API shows (`media::stats::CallQuality`, under
/// the same names) at each report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegQuality {
    /// Round-trip time from the far end's last block about us.
    pub rtt_ms: Option<f64>,
    /// Interarrival jitter of the stream we receive, as we measure it.
    pub jitter_rx_ms: f64,
    /// Interarrival jitter of our stream, as the far end reports it.
    pub jitter_tx_ms: Option<f64>,
    /// Packets of the far end's stream lost since the start, in percent.
    pub loss_rx_percent: f64,
    /// The same over the interval of our last report.
    pub loss_rx_interval_percent: Option<f64>,
    /// Packets of our stream lost in the far end's last report interval.
    pub loss_tx_percent: Option<f64>,
    pub lost_rx: i32,
    /// Our packets the far end counts lost since the start.
    pub lost_tx: Option<i32>,
    pub rx_packets: u64,
    /// Payload octets.
    pub rx_octets: u64,
    pub tx_packets: u64,
    pub tx_octets: u64,
    /// Estimated MOS of what we hear, of what the far end hears, and the
    /// lower of the two.
    pub mos_rx: Option<f64>,
    pub mos_tx: Option<f64>,
    pub mos: Option<f64>,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    /// Datagrams that were not a usable compound.
    pub rtcp_malformed: u64,
    /// Packets of types not handled (APP, feedback, XR...), skipped.
    pub rtcp_unknown: u64,
    /// The far end's SSRC changed (RFC 3550 §8): counts restart.
    pub rx_ssrc_changes: u32,
    pub remote_cname: Option<String>,
    pub remote_bye: bool,
}

/// The RTCP engine of one leg.
#[derive(Debug)]
pub struct RtcpLeg {
    config: RtcpLegConfig,
    receive: Option<ReceiveStatistics>,
    rx_ssrc_changes: u32,
    send: SendStatistics,
    interval: ReportInterval,
    next_report: Instant,
    /// A report is due, to be built at the next `poll_transmit`: when it
    /// was due, and the wall clock then.
    due: Option<(Instant, SystemTime)>,
    /// Hang-up: the reason goes in the BYE of the next compound.
    bye_reason: Option<String>,
    bye_sent: bool,
    history: SrHistory,
    far: FarEnd,
    /// The fraction lost our last report gave.
    last_fraction_lost: Option<u8>,
    rtcp_sent: u64,
    rtcp_received: u64,
    rtcp_malformed: u64,
    rtcp_unknown: u64,
}

impl RtcpLeg {
    /// A leg starting at `now`; `rng_value` in [0, 1) randomises the first
    /// report, which comes after half the minimum interval (RFC 3550 §6.2).
    pub fn new(config: RtcpLegConfig, now: Instant, rng_value: f64) -> Self {
        let mut interval = ReportInterval::new(config.interval);
        let next_report = interval.next_report_at(now, rng_value);
        RtcpLeg {
            send: SendStatistics::new(config.clock_rate),
            config,
            receive: None,
            rx_ssrc_changes: 0,
            interval,
            next_report,
            due: None,
            bye_reason: None,
            bye_sent: false,
            history: SrHistory::default(),
            far: FarEnd::default(),
            last_fraction_lost: None,
            rtcp_sent: 0,
            rtcp_received: 0,
            rtcp_malformed: 0,
            rtcp_unknown: 0,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.config.ssrc
    }

    /// A re-INVITE changed the codec: new clock rate, impairment and frame.
    pub fn set_codec(&mut self, clock_rate: u32, codec: CodecImpairment, ptime_ms: u32) {
        self.config.clock_rate = clock_rate;
        self.config.codec = codec;
        self.config.ptime_ms = ptime_ms;
        self.send.set_clock_rate(clock_rate);
        if let Some(receive) = &mut self.receive {
            receive.set_clock_rate(clock_rate);
        }
    }

    /// The playout delay moved (it adapts to jitter).
    pub fn set_playout_delay_ms(&mut self, playout_delay_ms: u32) {
        self.config.playout_delay_ms = playout_delay_ms;
    }

    /// An RTP packet of the far end's stream arrived at `now`. Cheap and
    /// allocation-free: a few integer operations.
    pub fn on_rtp_received(&mut self, now: Instant, header: &RtpHeader, payload_len: usize) {
        let clock_rate = self.config.clock_rate;
        let receive = match &mut self.receive {
            Some(receive) if receive.ssrc() == header.ssrc => receive,
            slot => {
                // RFC 3550 §8: a new SSRC is a new source; its counts start
                // over (the old ones would mix two sequence spaces).
                if slot.is_some() {
                    self.rx_ssrc_changes += 1;
                }
                slot.insert(ReceiveStatistics::new(header.ssrc, clock_rate))
            }
        };
        receive.on_packet_with_size(now, header.sequence, header.timestamp, payload_len);
    }

    /// We sent an RTP packet at `now` with this timestamp and payload size.
    /// Allocation-free.
    pub fn on_rtp_sent(&mut self, now: Instant, rtp_timestamp: u32, payload_len: usize) {
        self.send.on_packet(now, rtp_timestamp, payload_len);
    }

    /// An RTCP datagram from the far end arrived at `now` (on the RTCP port,
    /// or on the RTP port when [`super::is_rtcp`] says so). An error means
    /// it was dropped and counted as malformed.
    pub fn handle_rtcp(
        &mut self,
        now: Instant,
        datagram: &[u8],
    ) -> Result<PeerActivity, RtcpError> {
        self.rtcp_received += 1;
        let report = match parse_compound(datagram, self.config.ssrc) {
            Ok(report) => report,
            Err(error) => {
                self.rtcp_malformed += 1;
                return Err(error);
            }
        };
        self.interval.on_rtcp_packet(datagram.len());
        self.rtcp_unknown += u64::from(report.unknown);
        self.far.sends = report.sender_info.is_some();
        if let (Some(info), Some(receive)) = (report.sender_info, &mut self.receive) {
            // LSR and DLSR of our next block are about the SR of the
            // stream we receive (RFC 3550 §6.4.1).
            if receive.ssrc() == report.sender_ssrc {
                receive.on_sender_report(now, info.ntp_time);
            }
        }
        if let Some(block) = report.about_us {
            if let Some(rtt) = self.history.rtt(now, &block) {
                self.far.rtt = Some(rtt);
            }
            self.far.block = Some(block);
        }
        if report.cname.is_some() {
            self.far.cname = report.cname;
        }
        self.far.bye |= report.bye;
        let activity = match report.sender_info {
            _ if report.bye => PeerActivity::Leaving,
            None => PeerActivity::Quiet,
            Some(info) => {
                let now_sent = (report.sender_ssrc, info.packet_count);
                match self.far.sent_packets.replace(now_sent) {
                    Some(before) if before == now_sent => PeerActivity::Quiet,
                    _ => PeerActivity::Sending,
                }
            }
        };
        Ok(activity)
    }

    /// When [`Self::handle_timeout`] next has work.
    pub fn poll_timeout(&self) -> Instant {
        self.next_report
    }

    /// Makes the report due if its time has come, and schedules the next
    /// one; `wall` is the wall clock now (for the SR's NTP time) and
    /// `rng_value` a fresh random value in [0, 1).
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime, rng_value: f64) {
        if now < self.next_report {
            return;
        }
        if self.bye_sent {
            self.next_report = now + AFTER_BYE;
            return;
        }
        self.due = Some((now, wall));
        self.interval
            .set_senders(self.send.is_sender(), self.far.sends);
        self.next_report = self.interval.next_report_at(now, rng_value);
    }

    /// The hang-up: the next `poll_transmit` gives a compound ending in BYE
    /// (RFC 3550 §6.6; a two-member session sends it at once, the BYE
    /// back-off of §6.3.7 is for large sessions). No reports follow.
    pub fn bye(&mut self, now: Instant, wall: SystemTime, reason: &str) {
        if self.bye_sent {
            return;
        }
        self.bye_reason = Some(reason.to_owned());
        self.due = Some((now, wall));
    }

    /// Writes the due compound into `buf` and returns its length. None when
    /// nothing is due or `buf` is too small (1500 octets always suffice).
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<usize> {
        let (at, wall) = self.due.take()?;
        // RFC 3550 §6.4: an SR if we sent since the report before last.
        let sender = if self.send.is_sender() {
            self.send.sender_info(at, wall)
        } else {
            None
        };
        let block = match &mut self.receive {
            Some(receive) if receive.valid() => Some(receive.report_block(at)),
            _ => None,
        };
        let contents = ReportContents {
            ssrc: self.config.ssrc,
            sender,
            block,
            cname: &self.config.cname,
            bye: self.bye_reason.as_deref(),
        };
        let len = build_compound(buf, &contents).ok()?;
        if let Some(info) = sender {
            self.history.record(ntp_middle(info.ntp_time), at);
        }
        if let Some(block) = block {
            self.last_fraction_lost = Some(block.fraction_lost);
        }
        self.send.report_sent();
        self.interval.on_rtcp_packet(len);
        self.rtcp_sent += 1;
        if self.bye_reason.take().is_some() {
            self.bye_sent = true;
        }
        Some(len)
    }

    /// The leg's quality both ways.
    pub fn stats(&self) -> LegQuality {
        let rate = f64::from(self.config.clock_rate.max(1));
        let rtt_ms = self.far.rtt.map(|rtt| rtt.as_secs_f64() * 1000.0);
        let mos = |loss_percent: f64| {
            QualityInputs {
                rtt_ms,
                playout_delay_ms: f64::from(self.config.playout_delay_ms),
                frame_ms: f64::from(self.config.ptime_ms),
                loss_percent,
                codec: self.config.codec,
            }
            .mos()
        };
        let mut quality = LegQuality {
            rtt_ms,
            tx_packets: self.send.packets(),
            tx_octets: self.send.octets(),
            rtcp_sent: self.rtcp_sent,
            rtcp_received: self.rtcp_received,
            rtcp_malformed: self.rtcp_malformed,
            rtcp_unknown: self.rtcp_unknown,
            rx_ssrc_changes: self.rx_ssrc_changes,
            remote_cname: self.far.cname.clone(),
            remote_bye: self.far.bye,
            ..LegQuality::default()
        };
        if let Some(receive) = self.receive.as_ref().filter(|r| r.valid()) {
            let expected = receive.expected_packets();
            let lost = receive.cumulative_lost();
            quality.jitter_rx_ms = f64::from(receive.jitter()) * 1000.0 / rate;
            quality.lost_rx = lost;
            quality.loss_rx_percent = if expected > 0 {
                (f64::from(lost) * 100.0 / expected as f64).max(0.0)
            } else {
                0.0
            };
            quality.loss_rx_interval_percent = self.last_fraction_lost.map(fraction_percent);
            quality.rx_packets = receive.received();
            quality.rx_octets = receive.octets();
            // The recent interval when there is one, else the whole call.
            let loss = quality
                .loss_rx_interval_percent
                .unwrap_or(quality.loss_rx_percent);
            quality.mos_rx = Some(mos(loss));
        }
        if let Some(block) = &self.far.block {
            quality.jitter_tx_ms = Some(f64::from(block.jitter) * 1000.0 / rate);
            quality.loss_tx_percent = Some(fraction_percent(block.fraction_lost));
            quality.lost_tx = Some(block.cumulative_lost);
            quality.mos_tx = Some(mos(fraction_percent(block.fraction_lost)));
        }
        quality.mos = match (quality.mos_rx, quality.mos_tx) {
            (Some(rx), Some(tx)) => Some(rx.min(tx)),
            (one, other) => one.or(other),
        };
        quality
    }
}

/// An 8-bit fraction lost (RFC 3550 §6.4.1) as a percentage.
fn fraction_percent(fraction: u8) -> f64 {
    f64::from(fraction) * 100.0 / 256.0
}

#[cfg(test)]
mod tests;
