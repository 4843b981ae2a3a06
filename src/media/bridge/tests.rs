//! Bridged sessions driven sans-IO, the way the worker drives them: packets
//! in, ticks on a synthetic clock, forwards and decoded frames handed across.

mod dtmf;
mod forwarding;
mod transcode;
mod udp;

use std::f64::consts::PI;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::codec::{new_decoder, new_encoder, CodecKind};
use crate::media::session::{MediaSession, SessionSetup};
use crate::media::stats::{MediaMetrics, SessionStats};

pub(super) const AMPLITUDE: f64 = 8_000.0;

pub(super) fn params(
    codec: CodecKind,
    pt: u8,
    te: Option<u8>,
    ptime_ms: u32,
    remote: SocketAddr,
) -> MediaParams {
    MediaParams {
        codec,
        payload_type: pt,
        telephone_event_pt: te,
        ptime_ms,
        remote_rtp: Some(remote),
        remote_rtcp: None,
        rtcp_mux: false,
        send: true,
        receive: true,
        codec_options: Default::default(),
        srtp: None,
    }
}

pub(super) fn setup(id: SessionId, params: MediaParams) -> (SessionSetup, Arc<SessionStats>) {
    let stats = Arc::new(SessionStats::default());
    (
        SessionSetup {
            id,
            params,
            jitter_delay_ms: 40,
            media_timeout: Duration::from_secs(30),
            stats: stats.clone(),
            latching: Default::default(),
            rtcp: Default::default(),
        },
        stats,
    )
}

pub(super) fn sine(rate_hz: u32, freq_hz: f64, start: usize, len: usize) -> Vec<i16> {
    (start..start + len)
        .map(|n| (AMPLITUDE * (2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz)).sin()) as i16)
        .collect()
}

/// Signal-to-residual ratio (dB) of the best-fitting `freq_hz` sine: the
/// window should hold whole periods.
pub(super) fn tone_snr_db(samples: &[i16], rate_hz: u32, freq_hz: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let w = 2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz);
        re += f64::from(s) * w.cos();
        im += f64::from(s) * w.sin();
    }
    let scale = 2.0 / samples.len() as f64;
    let (a, b) = (re * scale, im * scale);
    let (mut tone, mut residual) = (0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let w = 2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz);
        let fit = a * w.cos() + b * w.sin();
        tone += fit * fit;
        residual += (f64::from(s) - fit).powi(2);
    }
    10.0 * (tone / residual.max(1e-9)).log10()
}

/// Amplitude of the `freq_hz` component.
pub(super) fn tone_amplitude(samples: &[i16], rate_hz: u32, freq_hz: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let w = 2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz);
        re += f64::from(s) * w.cos();
        im += f64::from(s) * w.sin();
    }
    2.0 * (re * re + im * im).sqrt() / samples.len() as f64
}

/// An RTP packet with a 12-byte header.
pub(super) fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, (u8::from(marker) << 7) | pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

pub(super) fn header_of(p: &[u8]) -> (bool, u8, u16, u32, u32) {
    (
        p[1] & 0x80 != 0,
        p[1] & 0x7f,
        u16::from_be_bytes([p[2], p[3]]),
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
    )
}

/// A far end: encodes a tone into RTP packets of its leg's codec.
pub(super) struct Phone {
    pub(super) codec: CodecKind,
    pub(super) pt: u8,
    pub(super) ptime_ms: u32,
    pub(super) freq_hz: f64,
    pub(super) encoder: Box<dyn crate::codec::AudioEncoder>,
    pub(super) seq: u16,
    pub(super) ts: u32,
    pub(super) position: usize,
    pub(super) addr: SocketAddr,
}

impl Phone {
    pub(super) fn new(p: &MediaParams, freq_hz: f64, addr: SocketAddr) -> Self {
        Phone {
            codec: p.codec,
            pt: p.payload_type,
            ptime_ms: p.ptime_ms,
            freq_hz,
            encoder: new_encoder(p.codec).unwrap(),
            seq: 100,
            ts: 5_000,
            position: 0,
            addr,
        }
    }

    pub(super) fn next_packet(&mut self) -> Vec<u8> {
        let rate = self.codec.audio_rate();
        let len = (rate * self.ptime_ms / 1000) as usize;
        let pcm = sine(rate, self.freq_hz, self.position, len);
        self.position += len;
        let mut payload = [0u8; 1500];
        let n = self.encoder.encode(&pcm, &mut payload).unwrap();
        let p = rtp(
            self.pt,
            self.seq == 100,
            self.seq,
            self.ts,
            0xCAFE,
            &payload[..n],
        );
        self.seq = self.seq.wrapping_add(1);
        self.ts = self
            .ts
            .wrapping_add(self.codec.clock_rate() * self.ptime_ms / 1000);
        p
    }
}

/// Two bridged legs and their far ends.
pub(super) struct Call {
    pub(super) a: MediaSession,
    pub(super) b: MediaSession,
    pub(super) a_stats: Arc<SessionStats>,
    pub(super) b_stats: Arc<SessionStats>,
    pub(super) caller: Phone,
    pub(super) callee: Phone,
    pub(super) now: Instant,
    pub(super) start: Instant,
    /// What each far end received.
    pub(super) at_caller: Vec<Vec<u8>>,
    pub(super) at_callee: Vec<Vec<u8>>,
}

pub(super) const CALLER: &str = "127.0.0.1:6000";
pub(super) const CALLEE: &str = "127.0.0.1:7000";

impl Call {
    pub(super) fn new(pa: MediaParams, pb: MediaParams, tone_a: f64, tone_b: f64) -> Self {
        let now = Instant::now();
        let metrics = Arc::new(MediaMetrics::default());
        let (sa, a_stats) = setup(1, pa.clone());
        let (sb, b_stats) = setup(2, pb.clone());
        let mut a = MediaSession::new(sa, now, metrics.clone()).unwrap();
        let mut b = MediaSession::new(sb, now, metrics).unwrap();
        a.bridge_to(2, &pb).unwrap();
        b.bridge_to(1, &pa).unwrap();
        Call {
            a,
            b,
            a_stats,
            b_stats,
            caller: Phone::new(&pa, tone_a, CALLER.parse().unwrap()),
            callee: Phone::new(&pb, tone_b, CALLEE.parse().unwrap()),
            now,
            start: now,
            at_caller: Vec::new(),
            at_callee: Vec::new(),
        }
    }

    /// A datagram from the caller reaches leg A (and maybe is relayed to B).
    pub(super) fn leg_a_receives(&mut self, datagram: &[u8]) {
        let from = self.caller.addr;
        self.a.handle_rtp(self.now, from, datagram);
        if let Some(forward) = self.a.take_forward() {
            self.b.relay(self.now, &forward, datagram);
            while let Some(out) = self.b.poll_transmit(self.now) {
                let Some(p) = rtp_only(&out) else { continue };
                self.at_callee.push(p.to_vec());
            }
        }
    }

    pub(super) fn leg_b_receives(&mut self, datagram: &[u8]) {
        let from = self.callee.addr;
        self.b.handle_rtp(self.now, from, datagram);
        if let Some(forward) = self.b.take_forward() {
            self.a.relay(self.now, &forward, datagram);
            while let Some(out) = self.a.poll_transmit(self.now) {
                let Some(p) = rtp_only(&out) else { continue };
                self.at_caller.push(p.to_vec());
            }
        }
    }

    /// Runs both phones and both legs for `ms`, 1 ms at a time.
    pub(super) fn run(&mut self, ms: u64, phones: bool) {
        let end = self.now + Duration::from_millis(ms);
        while self.now < end {
            self.now += Duration::from_millis(1);
            let elapsed = (self.now - self.start).as_millis() as u64;
            if phones && elapsed.is_multiple_of(u64::from(self.caller.ptime_ms)) {
                let p = self.caller.next_packet();
                self.leg_a_receives(&p);
            }
            if phones && elapsed.is_multiple_of(u64::from(self.callee.ptime_ms)) {
                let p = self.callee.next_packet();
                self.leg_b_receives(&p);
            }
            if self.a.poll_timeout() <= self.now {
                self.a.handle_timeout(self.now);
                while let Some(out) = self.a.poll_transmit(self.now) {
                    let Some(p) = rtp_only(&out) else { continue };
                    self.at_caller.push(p.to_vec());
                }
                if let Some(samples) = self.a.take_peer_audio() {
                    self.b.push_peer_audio(samples);
                }
            }
            if self.b.poll_timeout() <= self.now {
                self.b.handle_timeout(self.now);
                while let Some(out) = self.b.poll_transmit(self.now) {
                    let Some(p) = rtp_only(&out) else { continue };
                    self.at_callee.push(p.to_vec());
                }
                if let Some(samples) = self.b.take_peer_audio() {
                    self.a.push_peer_audio(samples);
                }
            }
        }
    }
}

/// Decodes received packets in order (audio payload type only).
pub(super) fn decode_all(packets: &[Vec<u8>], codec: CodecKind, pt: u8, ptime_ms: u32) -> Vec<i16> {
    let mut decoder = new_decoder(codec).unwrap();
    let len = (codec.audio_rate() * ptime_ms / 1000) as usize;
    let mut pcm = Vec::new();
    let mut frame = vec![0i16; len];
    for p in packets.iter().filter(|p| p[1] & 0x7f == pt) {
        let n = decoder.decode(&p[12..], &mut frame).unwrap();
        pcm.extend_from_slice(&frame[..n]);
    }
    pcm
}

/// The last `seconds` of `pcm` (whole tone periods for the test tones).
pub(super) fn tail(pcm: &[i16], rate_hz: u32, seconds: f64) -> &[i16] {
    let len = (f64::from(rate_hz) * seconds) as usize;
    assert!(pcm.len() > len, "only {} samples", pcm.len());
    &pcm[pcm.len() - len..]
}

pub(super) fn remote(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

/// The RTP datagram of a transmit; None for RTCP, which these tests skip.
fn rtp_only<'a>(out: &crate::media::session::Transmit<'a>) -> Option<&'a [u8]> {
    (!out.rtcp).then_some(out.datagram)
}
