//! Bridged sessions driven sans-IO, the way the worker drives them: packets
//! in, ticks on a synthetic clock, forwards and decoded frames handed across.

mod udp;

use std::f64::consts::PI;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::codec::{new_decoder, new_encoder, CodecKind};
use crate::media::session::{MediaSession, SessionSetup, Source};
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
        send: true,
        receive: true,
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
struct Phone {
    codec: CodecKind,
    pt: u8,
    ptime_ms: u32,
    freq_hz: f64,
    encoder: Box<dyn crate::codec::AudioEncoder>,
    seq: u16,
    ts: u32,
    position: usize,
    addr: SocketAddr,
}

impl Phone {
    fn new(p: &MediaParams, freq_hz: f64, addr: SocketAddr) -> Self {
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

    fn next_packet(&mut self) -> Vec<u8> {
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
struct Call {
    a: MediaSession,
    b: MediaSession,
    a_stats: Arc<SessionStats>,
    b_stats: Arc<SessionStats>,
    caller: Phone,
    callee: Phone,
    now: Instant,
    start: Instant,
    /// What each far end received.
    at_caller: Vec<Vec<u8>>,
    at_callee: Vec<Vec<u8>>,
}

const CALLER: &str = "127.0.0.1:6000";
const CALLEE: &str = "127.0.0.1:7000";

impl Call {
    fn new(pa: MediaParams, pb: MediaParams, tone_a: f64, tone_b: f64) -> Self {
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
    fn leg_a_receives(&mut self, datagram: &[u8]) {
        let from = self.caller.addr;
        self.a.handle_rtp(self.now, from, datagram);
        if let Some(forward) = self.a.take_forward() {
            self.b.relay(self.now, &forward, datagram);
            if let Some((p, _)) = self.b.poll_transmit() {
                self.at_callee.push(p.to_vec());
            }
        }
    }

    fn leg_b_receives(&mut self, datagram: &[u8]) {
        let from = self.callee.addr;
        self.b.handle_rtp(self.now, from, datagram);
        if let Some(forward) = self.b.take_forward() {
            self.a.relay(self.now, &forward, datagram);
            if let Some((p, _)) = self.a.poll_transmit() {
                self.at_caller.push(p.to_vec());
            }
        }
    }

    /// Runs both phones and both legs for `ms`, 1 ms at a time.
    fn run(&mut self, ms: u64, phones: bool) {
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
                if let Some((p, _)) = self.a.poll_transmit() {
                    self.at_caller.push(p.to_vec());
                }
                if let Some(samples) = self.a.take_peer_audio() {
                    self.b.push_peer_audio(samples);
                }
            }
            if self.b.poll_timeout() <= self.now {
                self.b.handle_timeout(self.now);
                if let Some((p, _)) = self.b.poll_transmit() {
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

/// Tone through a transcoding bridge both ways, checked at both far ends.
fn transcode_both_ways(pa: MediaParams, pb: MediaParams, min_snr_db: f64) {
    let (ra, rb) = (pa.codec.audio_rate(), pb.codec.audio_rate());
    let mut call = Call::new(pa.clone(), pb.clone(), 1000.0, 500.0);
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::Transcode));
    call.run(1500, true);
    let at_callee = decode_all(&call.at_callee, pb.codec, pb.payload_type, pb.ptime_ms);
    let at_caller = decode_all(&call.at_caller, pa.codec, pa.payload_type, pa.ptime_ms);
    let label = format!("{:?}→{:?}", pa.codec, pb.codec);
    // All but the start-up delay arrived, as a continuous stream.
    assert!(
        at_callee.len() >= rb as usize * 13 / 10,
        "{label}: {}",
        at_callee.len()
    );
    assert!(
        at_caller.len() >= ra as usize * 13 / 10,
        "{label}: {}",
        at_caller.len()
    );
    let fwd = tail(&at_callee, rb, 1.0);
    let back = tail(&at_caller, ra, 1.0);
    let (snr_fwd, snr_back) = (tone_snr_db(fwd, rb, 1000.0), tone_snr_db(back, ra, 500.0));
    assert!(snr_fwd > min_snr_db, "{label}: 1 kHz SNR {snr_fwd:.1} dB");
    assert!(
        snr_back > min_snr_db,
        "{label}: 500 Hz SNR {snr_back:.1} dB"
    );
    // The level survives (within codec accuracy).
    for (pcm, rate, f) in [(fwd, rb, 1000.0), (back, ra, 500.0)] {
        let amplitude = tone_amplitude(pcm, rate, f);
        assert!(
            (amplitude / AMPLITUDE - 1.0).abs() < 0.2,
            "{label}: amplitude {amplitude:.0}"
        );
    }
    // Sent as one RTP stream: consecutive sequence numbers, a frame of
    // timestamp per packet.
    for (packets, p) in [(&call.at_callee, &pb), (&call.at_caller, &pa)] {
        let step = p.codec.clock_rate() * p.ptime_ms / 1000;
        for w in packets.windows(2) {
            let (h0, h1) = (header_of(&w[0]), header_of(&w[1]));
            assert_eq!(h1.2, h0.2.wrapping_add(1), "{label}");
            assert_eq!(h1.3, h0.3.wrapping_add(step), "{label}");
            assert_eq!(h1.4, h0.4, "{label}");
            assert_eq!(h1.1, p.payload_type, "{label}");
        }
    }
    for stats in [&call.a_stats, &call.b_stats] {
        let s = stats.snapshot();
        assert!(s.decoded_frames > 40, "{label}: {s:?}");
        assert_eq!(s.forwarded, 0);
        assert_eq!(s.bridge_underruns, 0, "{label}");
        assert_eq!(s.bridge_overflows, 0, "{label}");
    }
}

fn remote(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

#[test]
fn pcmu_and_opus_transcode_both_ways() {
    transcode_both_ways(
        params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER)),
        params(CodecKind::Opus, 111, Some(110), 20, remote(CALLEE)),
        25.0,
    );
}

#[test]
fn pcmu_and_g722_transcode_both_ways() {
    transcode_both_ways(
        params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER)),
        params(CodecKind::G722, 9, Some(101), 20, remote(CALLEE)),
        30.0,
    );
}

#[test]
fn pcmu_and_pcma_transcode_both_ways() {
    transcode_both_ways(
        params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER)),
        params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLEE)),
        30.0,
    );
}

#[test]
fn different_ptimes_transcode_without_underruns() {
    transcode_both_ways(
        params(CodecKind::G722, 9, Some(101), 30, remote(CALLER)),
        params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLEE)),
        30.0,
    );
}

#[test]
fn equal_codecs_pass_through_without_decoding() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    // The callee uses another ptime and another event payload type.
    let pb = params(CodecKind::Pcmu, 0, Some(96), 30, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::PassThrough));
    call.run(1000, true);
    // Every caller packet reached the callee byte for byte, at once.
    let sent: Vec<Vec<u8>> = {
        let mut phone = Phone::new(call.a.params(), 1000.0, remote(CALLER));
        (0..50).map(|_| phone.next_packet()).collect()
    };
    assert_eq!(call.at_callee.len(), 50);
    let mut first = None;
    for (got, want) in call.at_callee.iter().zip(&sent) {
        assert_eq!(got[12..], want[12..], "payload untouched");
        let (_, pt, seq, ts, ssrc) = header_of(got);
        let (_, _, in_seq, in_ts, _) = header_of(want);
        assert_eq!(pt, 0);
        assert_ne!(ssrc, 0xCAFE, "the leg's own SSRC");
        let (s0, t0, ssrc0) =
            *first.get_or_insert((seq.wrapping_sub(in_seq), ts.wrapping_sub(in_ts), ssrc));
        assert_eq!(
            (seq.wrapping_sub(in_seq), ts.wrapping_sub(in_ts), ssrc),
            (s0, t0, ssrc0)
        );
    }
    assert_eq!(
        call.at_caller.len(),
        33,
        "1000 ms of 30 ms packets the other way"
    );
    for stats in [&call.a_stats, &call.b_stats] {
        let s = stats.snapshot();
        assert_eq!(s.decoded_frames, 0, "{s:?}");
        assert_eq!(s.concealed, 0);
    }
    assert_eq!(call.b_stats.snapshot().forwarded, 50);
    assert_eq!(call.a_stats.snapshot().forwarded, 33);
    assert_eq!(call.a_stats.snapshot().rx_packets, 50);
}

#[test]
fn pass_through_keeps_loss_gaps_and_survives_a_new_ssrc() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    let payload = [0x55u8; 160];
    for (seq, ts, ssrc) in [
        (65_534u16, 0u32, 1u32),
        (65_535, 160, 1),
        (2, 640, 1),    // 0 and 1 lost, across the wrap
        (40, 9_999, 2), // the far end restarted
        (41, 10_159, 2),
    ] {
        let p = rtp(0, false, seq, ts, ssrc, &payload);
        call.leg_a_receives(&p);
        call.run(20, false);
    }
    let headers: Vec<_> = call.at_callee.iter().map(|p| header_of(p)).collect();
    assert_eq!(headers.len(), 5);
    let (s0, t0) = (headers[0].2, headers[0].3);
    assert!(headers[0].0, "marker on the first packet");
    assert_eq!((headers[1].2, headers[1].3), (s0.wrapping_add(1), t0 + 160));
    assert_eq!(
        (headers[2].2, headers[2].3),
        (s0.wrapping_add(4), t0 + 640),
        "gap kept"
    );
    assert_eq!(call.a_stats.snapshot().lost, 2);
    // The new SSRC continues the outgoing stream, with a marker.
    assert!(headers[3].0);
    assert_eq!(headers[3].2, s0.wrapping_add(5));
    assert!(headers[3].3.wrapping_sub(t0) > 640 && headers[3].3.wrapping_sub(t0) < 8000);
    assert_eq!(headers[4].2, s0.wrapping_add(6));
    assert_eq!(headers[4].3, headers[3].3 + 160);
    assert!(headers.iter().all(|h| h.4 == headers[0].4));
}

#[test]
fn events_cross_a_transcoding_bridge_retimed_to_48k_and_mute_audio() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Opus, 111, Some(110), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.run(400, true);
    let audio_before = call.at_callee.len();
    assert!(audio_before > 10);
    let last_audio = header_of(call.at_callee.last().unwrap());
    // Digit 5: start, two updates, three end packets, all with the event's
    // own start timestamp on the caller's 8 kHz clock.
    let start_ts = 123_456u32;
    for (i, (duration, end)) in [
        (160u16, false),
        (480, false),
        (800, false),
        (960, true),
        (960, true),
        (960, true),
    ]
    .into_iter()
    .enumerate()
    {
        let flags = if end { 0x80 | 10 } else { 10 };
        let d = duration.to_be_bytes();
        let p = rtp(
            101,
            i == 0,
            9_000 + i as u16,
            start_ts,
            0xCAFE,
            &[5, flags, d[0], d[1]],
        );
        call.leg_a_receives(&p);
        call.run(20, false);
    }
    let events: Vec<&Vec<u8>> = call
        .at_callee
        .iter()
        .filter(|p| p[1] & 0x7f == 110)
        .collect();
    assert_eq!(events.len(), 6);
    let first = header_of(events[0]);
    assert!(first.0, "marker on the event's first packet");
    // The event starts where the outgoing audio had got to.
    let gap = first.3.wrapping_sub(last_audio.3);
    assert!(
        gap > 0 && gap <= 2 * 960,
        "event at {gap} after the last audio"
    );
    for (p, want) in events
        .iter()
        .zip([960u16, 2_880, 4_800, 5_760, 5_760, 5_760])
    {
        let h = header_of(p);
        assert_eq!(h.3, first.3, "one start timestamp");
        assert_eq!(h.4, last_audio.4, "the leg's SSRC");
        assert_eq!(u16::from_be_bytes([p[14], p[15]]), want, "duration ×6");
        assert_eq!(p[12], 5);
    }
    // One sequence space with the audio.
    let seqs: Vec<u16> = call.at_callee.iter().map(|p| header_of(p).2).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    // No audio while the event was on (before its end packet).
    let first_event = call
        .at_callee
        .iter()
        .position(|p| p[1] & 0x7f == 110)
        .unwrap();
    let end_event = first_event + 3;
    assert!(call.at_callee[first_event..end_event]
        .iter()
        .all(|p| p[1] & 0x7f == 110));
    assert_eq!(call.b_stats.snapshot().events_forwarded, 6);
    // Audio resumes afterwards, with a marker.
    call.run(200, true);
    let resumed = call.at_callee[end_event..]
        .iter()
        .find(|p| p[1] & 0x7f == 111)
        .unwrap();
    assert!(header_of(resumed).0);
}

#[test]
fn events_without_a_negotiated_payload_type_are_dropped_and_counted() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, None, 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.leg_a_receives(&rtp(101, true, 1, 0, 9, &[1, 0, 0, 160]));
    call.leg_a_receives(&rtp(101, true, 2, 0, 9, &[1]));
    assert!(call.at_callee.is_empty());
    assert_eq!(call.b_stats.snapshot().events_dropped, 2);
}

#[test]
fn pass_through_events_take_the_audio_rewrite_and_the_peer_payload_type() {
    let pa = params(CodecKind::Pcma, 8, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcma, 8, Some(96), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.leg_a_receives(&rtp(8, true, 10, 1_000, 9, &[0xd5; 160]));
    call.leg_a_receives(&rtp(101, true, 11, 1_160, 9, &[3, 10, 0, 160]));
    let h: Vec<_> = call.at_callee.iter().map(|p| header_of(p)).collect();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].1, 96);
    assert_eq!((h[1].2, h[1].3), (h[0].2.wrapping_add(1), h[0].3 + 160));
    assert_eq!(call.at_callee[1][12..], [3, 10, 0, 160]);
}

#[test]
fn wrong_payload_types_and_a_codec_switch_do_not_break_the_call() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa.clone(), pb.clone(), 1000.0, 500.0);
    call.run(200, true);
    // Garbage payload types from the caller: counted, not forwarded.
    for pt in [8u8, 9, 96, 127] {
        call.leg_a_receives(&rtp(pt, false, 500, 0, 0xCAFE, &[1, 2, 3]));
    }
    assert_eq!(call.a_stats.snapshot().rx_wrong_payload_type, 4);
    let forwarded = call.b_stats.snapshot().forwarded;
    // A re-INVITE moves the caller to PCMA: the bridge now transcodes.
    let pa2 = MediaParams {
        codec: CodecKind::Pcma,
        payload_type: 8,
        ..pa
    };
    call.a.update(pa2.clone(), call.now).unwrap();
    call.a.bridge_to(2, &pb).unwrap();
    call.b.bridge_to(1, &pa2).unwrap();
    assert_eq!(call.a.bridge_mode(), Some(BridgeMode::Transcode));
    // The caller's phone still sends PCMU for a while (counted, dropped),
    // then switches.
    call.run(100, true);
    call.caller.codec = CodecKind::Pcma;
    call.caller.pt = 8;
    call.caller.encoder = new_encoder(CodecKind::Pcma).unwrap();
    let before = call.at_callee.len();
    call.run(1200, true);
    assert_eq!(
        call.b_stats.snapshot().forwarded,
        forwarded,
        "no more pass-through"
    );
    assert!(call.a_stats.snapshot().rx_wrong_payload_type >= 4 + 5);
    let pcm = decode_all(&call.at_callee[before..], CodecKind::Pcmu, 0, 20);
    let snr = tone_snr_db(tail(&pcm, 8000, 1.0), 8000, 1000.0);
    assert!(snr > 25.0, "PCMA caller heard as PCMU: {snr:.1} dB");
}

#[test]
fn unbridge_silences_the_peer_audio() {
    let pa = params(CodecKind::Pcmu, 0, Some(101), 20, remote(CALLER));
    let pb = params(CodecKind::G722, 9, Some(101), 20, remote(CALLEE));
    let mut call = Call::new(pa, pb, 1000.0, 500.0);
    call.run(300, true);
    call.a.unbridge();
    call.b.unbridge();
    let (n_caller, n_callee) = (call.at_caller.len(), call.at_callee.len());
    call.run(300, true);
    assert_eq!(
        (call.at_caller.len(), call.at_callee.len()),
        (n_caller, n_callee)
    );
    assert_eq!(call.a.bridge_peer(), None);
    // A bridged source with no bridge is silence too.
    call.a.set_source(Source::Bridge);
    call.run(100, true);
    assert_eq!(call.at_caller.len(), n_caller);
}
