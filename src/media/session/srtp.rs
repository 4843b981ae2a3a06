//! A session's SRTP (RFC 3711, keyed by SDES, RFC 4568): every datagram
//! that arrives is unprotected before anything reads it as RTP or RTCP, and
//! every datagram the session sends is protected at the one place it is
//! finalised (`MediaSession::poll_transmit`, RTP and RTCP alike). A packet that fails
//! authentication or is a replay is dropped and counted; it never reaches
//! the playout buffer, the decoder or a bridged peer.

use std::net::SocketAddr;
use std::time::Instant;

use super::latching::RELATCH_AFTER;
use super::{MediaSession, SessionError, SrtpSetup, MAX_DATAGRAM};
use crate::media::srtp::{SrtpError, SrtpSession};
use crate::media::stats::{bump, MediaMetrics, SessionStats};

/// Room for the largest SRTP/SRTCP trailer (SRTCP index and a 16-octet
/// GCM tag) after a full-size packet.
const MAX_TRAILER: usize = 20;

/// Unauthenticated SSRCs tried before the receiving context is renewed:
/// `webrtc-srtp` keeps state for each SSRC it sees, authenticated or not.
const MAX_UNKNOWN_SSRCS: u32 = 16;

/// The SRTP state of one leg.
pub(super) struct SessionSrtp {
    /// The negotiated lines, to tell a re-INVITE that keeps the keys (the
    /// session, and its rollover counters, carry on) from one that changes
    /// them.
    setup: SrtpSetup,
    session: SrtpSession,
    /// The peer's authenticated SSRC and when it was last heard: other
    /// SSRCs are not unprotected while it is alive.
    ssrc: Option<(u32, Instant)>,
    unknown_ssrcs: u32,
    /// The last datagram unprotected (what a bridged peer forwards).
    rx: Box<[u8; MAX_DATAGRAM]>,
    rx_len: usize,
    tx: Box<[u8; MAX_DATAGRAM + MAX_TRAILER]>,
}

impl SessionSrtp {
    pub(super) fn new(setup: &Option<SrtpSetup>) -> Result<Option<Box<Self>>, SessionError> {
        let Some(setup) = setup else {
            return Ok(None);
        };
        Ok(Some(Box::new(SessionSrtp {
            session: SrtpSession::from_negotiated(setup)?,
            setup: setup.clone(),
            ssrc: None,
            unknown_ssrcs: 0,
            rx: Box::new([0; MAX_DATAGRAM]),
            rx_len: 0,
            tx: Box::new([0; MAX_DATAGRAM + MAX_TRAILER]),
        })))
    }

    /// Protects an outgoing RTP packet; `None` drops it.
    pub(super) fn protect_rtp(&mut self, plain: &[u8]) -> Option<&[u8]> {
        let len = self.session.protect_rtp(plain, &mut self.tx[..]).ok()?;
        Some(&self.tx[..len])
    }

    /// Protects an outgoing RTCP compound (SRTCP); `None` drops it.
    pub(super) fn protect_rtcp(&mut self, plain: &[u8]) -> Option<&[u8]> {
        let len = self.session.protect_rtcp(plain, &mut self.tx[..]).ok()?;
        Some(&self.tx[..len])
    }

    /// Unprotects an SRTP (or, `rtcp`, SRTCP) datagram into `rx`.
    fn unprotect(
        &mut self,
        now: Instant,
        datagram: &[u8],
        rtcp: bool,
        stats: &SessionStats,
        metrics: &MediaMetrics,
    ) -> Option<usize> {
        // RTP and RTCP both carry the sender's SSRC at octets 8..12 and 4..8.
        let at = if rtcp { 4 } else { 8 };
        let ssrc_bytes = datagram.get(at..at + 4)?;
        let ssrc = u32::from_be_bytes([ssrc_bytes[0], ssrc_bytes[1], ssrc_bytes[2], ssrc_bytes[3]]);
        let known = match self.ssrc {
            Some((latched, _)) if latched == ssrc => true,
            Some((_, heard)) if now.duration_since(heard) < RELATCH_AFTER => {
                // Another stream while ours is alive: not even looked at.
                bump(&stats.rx_foreign_source);
                return None;
            }
            _ => false,
        };
        let result = if rtcp {
            self.session.unprotect_rtcp(datagram, &mut self.rx[..])
        } else {
            self.session.unprotect_rtp(datagram, &mut self.rx[..])
        };
        match result {
            Ok(len) => {
                if !rtcp || self.ssrc.is_none() {
                    self.ssrc = Some((ssrc, now));
                }
                self.unknown_ssrcs = 0;
                self.rx_len = len;
                Some(len)
            }
            Err(error) => {
                match error {
                    SrtpError::AuthenticationFailed => {
                        bump(&stats.srtp_auth_failures);
                        bump(&metrics.srtp_auth_failures);
                    }
                    SrtpError::Replayed => {
                        bump(&stats.srtp_replays);
                        bump(&metrics.srtp_replays);
                    }
                    _ => {
                        bump(&stats.rx_garbage);
                        bump(&metrics.rx_garbage);
                    }
                }
                if !known {
                    self.forget_unknown_ssrcs();
                }
                None
            }
        }
    }

    /// Bounds the per-SSRC state strangers can make us keep.
    fn forget_unknown_ssrcs(&mut self) {
        self.unknown_ssrcs += 1;
        if self.unknown_ssrcs < MAX_UNKNOWN_SSRCS {
            return;
        }
        self.unknown_ssrcs = 0;
        // The latched stream is not alive (else the packet was not looked
        // at), so its replay state can go with the rest.
        if let Ok(key) = self.setup.remote.single_key() {
            if self.session.renew_inbound(&key.master_key_salt).is_ok() {
                self.ssrc = None;
            }
        }
    }
}

impl MediaSession {
    /// `handle_rtp` of an SRTP leg: the datagram is unprotected, then goes
    /// the plain way. RFC 5761 §4: payload types 64–95 are (S)RTCP.
    pub(super) fn handle_srtp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let rtcp = crate::media::rtcp::is_rtcp(datagram);
        self.unprotected(now, datagram, rtcp, |session, plain| {
            session.handle_rtp(now, from, plain)
        });
    }

    /// `handle_rtcp` of an SRTP leg (SRTCP on the RTCP port).
    pub(super) fn handle_srtcp(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.unprotected(now, datagram, true, |session, plain| {
            session.handle_rtcp(now, from, plain)
        });
    }

    /// Runs `then` on the unprotected datagram with the SRTP state set
    /// aside, so that the plain path runs as on a plain leg.
    fn unprotected(
        &mut self,
        now: Instant,
        datagram: &[u8],
        rtcp: bool,
        then: impl FnOnce(&mut MediaSession, &[u8]),
    ) {
        let Some(mut srtp) = self.srtp.take() else {
            return;
        };
        srtp.rx_len = 0;
        if let Some(len) = srtp.unprotect(now, datagram, rtcp, &self.stats, &self.metrics) {
            then(self, &srtp.rx[..len]);
        }
        self.srtp = Some(srtp);
    }

    /// The last datagram as the session read it: unprotected on an SRTP
    /// leg. A bridged peer forwards from this (the offsets of
    /// [`MediaSession::take_forward`] are into it).
    pub fn received<'a>(&'a self, datagram: &'a [u8]) -> &'a [u8] {
        match &self.srtp {
            Some(srtp) => &srtp.rx[..srtp.rx_len],
            None => datagram,
        }
    }

    /// A re-INVITE's keys: the same keys keep the session (rollover counters
    /// cannot be set on a new one), new keys start a new one.
    pub(super) fn update_srtp(&mut self, setup: &Option<SrtpSetup>) -> Result<(), SessionError> {
        let same = match (&self.srtp, setup) {
            (Some(srtp), Some(setup)) => &srtp.setup == setup,
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.srtp = SessionSrtp::new(setup)?;
        }
        Ok(())
    }
}
