//! The session's RTCP (RFC 3550 §6) and the one way its datagrams leave.
//!
//! Every datagram a session sends, RTP or RTCP, is finalised in
//! [`MediaSession::poll_transmit`]; every RTCP datagram it receives, on the
//! RTCP port or multiplexed on the RTP port (RFC 5761), is first looked at
//! in [`MediaSession::receive_rtcp`]. A protection layer (SRTP, SRTCP) has
//! those two places to sit in.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use super::{MediaParams, MediaSession, RtcpSetup, MAX_DATAGRAM, RTP_HEADER_LEN};
use crate::media::rtcp::{CodecImpairment, LegQuality, PeerActivity, RtcpLeg, RtcpLegConfig};
use crate::media::stats::{bump, set, SessionStats};

/// The local socket a datagram leaves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The RTP port: RTP, and RTCP when rtcp-mux was negotiated.
    Rtp,
    /// The RTCP port (RTP port + 1, RFC 3550 §11).
    Rtcp,
}

/// One datagram for the worker to send.
#[derive(Debug)]
pub struct Transmit<'a> {
    pub datagram: &'a [u8],
    pub to: SocketAddr,
    pub via: Via,
    /// An RTCP compound (else RTP).
    pub rtcp: bool,
}

/// The RTCP state of a session.
pub(super) struct SessionRtcp {
    leg: RtcpLeg,
    wall_anchor: (Instant, SystemTime),
    /// Where the peer's RTCP comes from on the RTCP port: our reports go
    /// back there (symmetric RTCP, RFC 4961 §3, for peers behind NAT).
    latched: Option<SocketAddr>,
    buf: [u8; MAX_DATAGRAM],
}

impl SessionRtcp {
    pub(super) fn new(
        setup: &RtcpSetup,
        params: &MediaParams,
        ssrc: u32,
        playout_delay_ms: u32,
        now: Instant,
    ) -> Box<Self> {
        let mut config = RtcpLegConfig::new(
            ssrc,
            setup.cname.to_string(),
            params.codec,
            params.ptime_ms,
            playout_delay_ms,
        );
        config.interval.min_interval = setup.interval;
        Box::new(SessionRtcp {
            leg: RtcpLeg::new(config, now, rand::random()),
            wall_anchor: setup.wall_anchor,
            latched: None,
            buf: [0; MAX_DATAGRAM],
        })
    }

    /// The wall clock at `now`, from the anchor (sans-IO: no clock read).
    fn wall(&self, now: Instant) -> SystemTime {
        let (at, wall) = self.wall_anchor;
        match now.checked_duration_since(at) {
            Some(since) => wall + since,
            None => wall.checked_sub(at.duration_since(now)).unwrap_or(wall),
        }
    }

    pub(super) fn poll_timeout(&self) -> Instant {
        self.leg.poll_timeout()
    }

    /// A re-INVITE changed the codec or the packet time.
    pub(super) fn set_codec(&mut self, params: &MediaParams) {
        self.leg.set_codec(
            params.codec.clock_rate(),
            CodecImpairment::for_codec(params.codec),
            params.ptime_ms,
        );
    }

    /// A new signalled address: the RTCP source is learnt again.
    pub(super) fn forget_source(&mut self) {
        self.latched = None;
    }

    pub(super) fn on_rtp_received(
        &mut self,
        now: Instant,
        header: &crate::media::rtp_header::RtpHeader,
        payload_len: usize,
    ) {
        self.leg.on_rtp_received(now, header, payload_len);
    }

    pub(super) fn quality(&self) -> LegQuality {
        self.leg.stats()
    }
}

impl MediaSession {
    /// A datagram on the separate RTCP port. Only the peer's is taken: the
    /// signalled RTCP address, the one learnt, or the host our RTP comes
    /// from (its NAT may map the RTCP port anywhere).
    pub fn handle_rtcp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.srtp.is_some() {
            // SRTCP: authenticated and decrypted first (`srtp.rs`).
            return self.handle_srtcp(now, from, datagram);
        }
        let rtp_peer = self.destination();
        let known = self.rtcp.latched == Some(from)
            || self.params.remote_rtcp == Some(from)
            || rtp_peer.is_some_and(|peer| peer.ip() == from.ip());
        if !known {
            bump(&self.stats.rx_foreign_source);
            return;
        }
        self.rtcp.latched = Some(from);
        self.receive_rtcp(now, datagram);
    }

    /// RTCP multiplexed on the RTP port (RFC 5761 §4): taken only from the
    /// latched or signalled RTP peer.
    pub(super) fn handle_muxed_rtcp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if self.destination() != Some(from) {
            bump(&self.stats.rx_foreign_source);
            return;
        }
        self.receive_rtcp(now, datagram);
    }

    /// Every RTCP datagram of the peer comes through here first.
    fn receive_rtcp(&mut self, now: Instant, datagram: &[u8]) {
        bump(&self.stats.rx_rtcp);
        bump(&self.stats.rtcp_received);
        bump(&self.metrics.rtcp_received);
        match self.rtcp.leg.handle_rtcp(now, datagram) {
            Err(_) => {
                bump(&self.stats.rtcp_malformed);
                bump(&self.metrics.rtcp_malformed);
                return;
            }
            Ok(PeerActivity::Quiet) => self.quiet_peer_at = now,
            Ok(PeerActivity::Sending | PeerActivity::Leaving) => {}
        }
        self.publish_quality();
    }

    /// The report timer: makes a report due when its time has come (sent
    /// by the next [`Self::poll_transmit`]).
    pub(super) fn rtcp_timeout(&mut self, now: Instant) {
        if now < self.rtcp.poll_timeout() {
            return;
        }
        // The MOS counts the delay the jitter buffer aims for.
        let target = self.playout.target_delay_frames() as u32 * self.params.ptime_ms;
        self.rtcp.leg.set_playout_delay_ms(target);
        let wall = self.rtcp.wall(now);
        self.rtcp.leg.handle_timeout(now, wall, rand::random());
    }

    /// The hang-up: the next [`Self::poll_transmit`] gives a last report
    /// ending in BYE (RFC 3550 §6.6).
    pub fn bye(&mut self, now: Instant, reason: &str) {
        let wall = self.rtcp.wall(now);
        self.rtcp.leg.bye(now, wall, reason);
    }

    /// Where RTCP goes: the RTP address when muxed (RFC 5761 §5.1.3), else
    /// where the peer's RTCP comes from, its `a=rtcp` (RFC 3605), or the
    /// port above its RTP (RFC 3550 §11).
    fn rtcp_destination(&self) -> Option<(SocketAddr, Via)> {
        if self.params.rtcp_mux {
            return self.destination().map(|to| (to, Via::Rtp));
        }
        let to = self.rtcp.latched.or(self.params.remote_rtcp).or_else(|| {
            let rtp = self.destination()?;
            Some(SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?))
        })?;
        Some((to, Via::Rtcp))
    }

    /// The next datagram to send, once: the RTP packet the last tick or
    /// relay produced, then a due RTCP compound. `now` stamps what the
    /// Sender Reports count.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit<'_>> {
        if self.packet_len > 0 {
            let len = std::mem::take(&mut self.packet_len);
            if let Some(to) = self.destination() {
                // Our packets carry a bare 12-octet header (RFC 3550 §5.1).
                let ts = u32::from_be_bytes([
                    self.packet[4],
                    self.packet[5],
                    self.packet[6],
                    self.packet[7],
                ]);
                self.rtcp
                    .leg
                    .on_rtp_sent(now, ts, len.saturating_sub(RTP_HEADER_LEN));
                // The one place RTP leaves: SRTP legs protect it here.
                let datagram = match self.srtp.as_mut() {
                    Some(srtp) => srtp.protect_rtp(&self.packet[..len])?,
                    None => &self.packet[..len],
                };
                bump(&self.stats.tx_packets);
                crate::media::stats::add(&self.stats.tx_bytes, datagram.len() as u64);
                bump(&self.metrics.tx_packets);
                return Some(Transmit {
                    datagram,
                    to,
                    via: Via::Rtp,
                    rtcp: false,
                });
            }
        }
        let destination = self.rtcp_destination();
        // Built even with nowhere to go (on hold), so a stale report is not
        // sent late.
        let len = self.rtcp.leg.poll_transmit(&mut self.rtcp.buf)?;
        let (to, via) = destination?;
        bump(&self.stats.rtcp_sent);
        bump(&self.metrics.rtcp_sent);
        self.publish_quality();
        // RFC 3711 §3.4: SRTCP on an SRTP leg.
        let datagram = match self.srtp.as_mut() {
            Some(srtp) => srtp.protect_rtcp(&self.rtcp.buf[..len])?,
            None => &self.rtcp.buf[..len],
        };
        Some(Transmit {
            datagram,
            to,
            via,
            rtcp: true,
        })
    }

    /// Publishes the leg's quality to the control plane (a few atomics),
    /// at each report sent or received. `RtcpLeg::stats` clones the peer's
    /// CNAME: one small allocation per report, none per packet.
    fn publish_quality(&self) {
        publish(&self.stats, &self.rtcp.quality());
    }
}

fn publish(stats: &SessionStats, q: &LegQuality) {
    if let Some(rtt) = q.rtt_ms {
        set(&stats.rtt_us, (rtt * 1000.0) as u64);
        set(&stats.rtt_known, 1);
    }
    if let (Some(loss), Some(lost), Some(jitter)) = (q.loss_tx_percent, q.lost_tx, q.jitter_tx_ms) {
        // Back to the 1/256 of the report (RFC 3550 §6.4.1).
        set(
            &stats.tx_fraction_lost,
            (loss * 256.0 / 100.0).round() as u64,
        );
        set(&stats.tx_lost, lost.max(0) as u64);
        set(&stats.tx_jitter_us, (jitter * 1000.0) as u64);
        set(&stats.far_report_known, 1);
    }
    set(
        &stats.rx_loss_basis_points,
        (q.loss_rx_percent * 100.0).round() as u64,
    );
    let x100 = |mos: Option<f64>| mos.map_or(0, |m| (m * 100.0).round() as u64);
    set(&stats.mos_rx_x100, x100(q.mos_rx));
    set(&stats.mos_tx_x100, x100(q.mos_tx));
}
