//! Cost of a bridged call per 20 ms frame, through the sans-IO sessions a
//! media worker drives, without sockets:
//!
//! * transcode: one packet into leg A (`handle_rtp`), A's tick (playout,
//!   decode, resample to B's rate), the frame handed to B, B's tick (encode,
//!   RTP serialise) and B's `poll_transmit`, for PCMU→Opus, Opus→PCMU and
//!   PCMU→G.722;
//! * pass-through: one PCMU packet into A, handed to B, header rewritten
//!   and sent (no decode).
//!
//! Time is synthetic: an `Instant` advanced by one ptime per iteration.
//!
//! Before measuring, each path runs with allocation counting on, and must
//! not allocate: the packet path's standard, checked where it is timed.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use counting_alloc::allocations;
use criterion::{criterion_group, criterion_main, Criterion};
use mediaplane::codec::{new_encoder, CodecKind};
use mediaplane::media::session::{MediaParams, MediaSession, SessionSetup};
use mediaplane::media::stats::{MediaMetrics, SessionStats};

const PTIME: Duration = Duration::from_millis(20);
const RTP_HEADER: usize = 12;
/// Distinct input frames, cycled (so the decoder sees varying content).
const FRAMES: usize = 50;
/// Iterations before measuring: the playout buffer and the bridge queue
/// are past their start-up delay.
const WARM_UP: usize = 20;

fn params(codec: CodecKind, payload_type: u8) -> MediaParams {
    MediaParams {
        codec,
        payload_type,
        telephone_event_pt: Some(101),
        ptime_ms: 20,
        remote_rtp: Some("127.0.0.1:4000".parse().expect("address")),
        remote_rtcp: None,
        rtcp_mux: false,
        send: true,
        receive: true,
        codec_options: Default::default(),
        srtp: None,
    }
}

fn session(id: u64, params: MediaParams, now: Instant) -> (MediaSession, Arc<SessionStats>) {
    let stats = Arc::new(SessionStats::default());
    let setup = SessionSetup {
        id,
        params,
        jitter_delay_ms: 20,
        media_timeout: Duration::from_secs(30),
        stats: stats.clone(),
        latching: Default::default(),
        rtcp: Default::default(),
    };
    let session =
        MediaSession::new(setup, now, Arc::new(MediaMetrics::default())).expect("session");
    (session, stats)
}

/// Packets of a two-tone signal in `codec`, `FRAMES` of them.
fn packets(codec: CodecKind, payload_type: u8) -> Vec<Vec<u8>> {
    let rate = codec.audio_rate();
    let len = (rate / 50) as usize;
    let mut encoder = new_encoder(codec).expect("encoder");
    let mut payload = [0u8; 1500];
    (0..FRAMES)
        .map(|f| {
            let pcm: Vec<i16> = (0..len)
                .map(|i| {
                    let t = (f * len + i) as f64 / f64::from(rate);
                    let v = 6000.0 * (2.0 * std::f64::consts::PI * 310.0 * t).sin()
                        + 3000.0 * (2.0 * std::f64::consts::PI * 1230.0 * t).sin();
                    v as i16
                })
                .collect();
            let n = encoder.encode(&pcm, &mut payload).expect("encode");
            let mut p = vec![0u8; RTP_HEADER + n];
            p[0] = 0x80;
            p[1] = payload_type;
            p[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
            p[RTP_HEADER..].copy_from_slice(&payload[..n]);
            p
        })
        .collect()
}

/// Two bridged legs and the packets the caller sends to A.
struct Bridged {
    a: MediaSession,
    b: MediaSession,
    b_stats: Arc<SessionStats>,
    now: Instant,
    from: SocketAddr,
    input: Vec<Vec<u8>>,
    frame: usize,
    sequence: u16,
    timestamp: u32,
    ts_step: u32,
}

impl Bridged {
    fn new(a_codec: (CodecKind, u8), b_codec: (CodecKind, u8)) -> Self {
        let now = Instant::now();
        let (pa, pb) = (params(a_codec.0, a_codec.1), params(b_codec.0, b_codec.1));
        let (mut a, _) = session(1, pa.clone(), now);
        let (mut b, b_stats) = session(2, pb.clone(), now);
        a.bridge_to(2, &pb).expect("bridge");
        b.bridge_to(1, &pa).expect("bridge");
        Bridged {
            a,
            b,
            b_stats,
            now,
            from: "127.0.0.1:5000".parse().expect("address"),
            input: packets(a_codec.0, a_codec.1),
            frame: 0,
            sequence: 0,
            timestamp: 0,
            ts_step: a_codec.0.clock_rate() / 50,
        }
    }

    /// The caller's next packet reaches A; a pass-through bridge forwards it
    /// out of B at once. Returns the bytes B sent.
    fn receive(&mut self) -> usize {
        let packet = &mut self.input[self.frame];
        packet[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        self.frame = (self.frame + 1) % FRAMES;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(self.ts_step);
        self.a.handle_rtp(self.now, self.from, black_box(packet));
        let Some(forward) = self.a.take_forward() else {
            return 0;
        };
        self.b.relay(self.now, &forward, packet);
        self.b
            .poll_transmit(self.now)
            .map_or(0, |out| black_box(out.datagram).len())
    }

    /// One ptime: A's tick (decode, resample), the hand-over, B's tick
    /// (encode). Returns the bytes B sent.
    fn tick(&mut self) -> usize {
        self.now += PTIME;
        self.a.handle_timeout(self.now);
        while self.a.poll_transmit(self.now).is_some() {}
        if let Some(samples) = self.a.take_peer_audio() {
            self.b.push_peer_audio(samples);
        }
        self.b.handle_timeout(self.now);
        self.b
            .poll_transmit(self.now)
            .map_or(0, |out| black_box(out.datagram).len())
    }
}

fn transcode(c: &mut Criterion) {
    // The zero checks below mean something only if counting works.
    assert!(allocations(|| drop(black_box(vec![0u8; 16]))) > 0);
    let mut group = c.benchmark_group("bridge 20 ms");
    for (name, a, b) in [
        ("PCMU→Opus", (CodecKind::Pcmu, 0), (CodecKind::Opus, 111)),
        ("Opus→PCMU", (CodecKind::Opus, 111), (CodecKind::Pcmu, 0)),
        ("PCMU→G722", (CodecKind::Pcmu, 0), (CodecKind::G722, 9)),
    ] {
        let mut bridged = Bridged::new(a, b);
        for _ in 0..WARM_UP {
            bridged.receive();
            bridged.tick();
        }
        let allocated = allocations(|| {
            for _ in 0..FRAMES {
                bridged.receive();
                bridged.tick();
            }
        });
        assert_eq!(allocated, 0, "{name}: the transcode path allocated");
        let before = bridged.b_stats.snapshot().tx_packets;
        let mut iterations = 0u64;
        group.bench_function(format!("transcode {name}: rx + 2 ticks + tx"), |bench| {
            bench.iter(|| {
                iterations += 1;
                bridged.receive();
                bridged.tick()
            })
        });
        // Every measured frame went out: the figure is of the full path.
        let sent = bridged.b_stats.snapshot().tx_packets - before;
        assert_eq!(sent, iterations, "{name}: a frame was not sent");
    }

    let mut bridged = Bridged::new((CodecKind::Pcmu, 0), (CodecKind::Pcmu, 0));
    bridged.receive();
    let allocated = allocations(|| {
        for _ in 0..FRAMES {
            bridged.receive();
        }
    });
    assert_eq!(allocated, 0, "the pass-through path allocated");
    let mut iterations = 1u64 + FRAMES as u64;
    group.bench_function("pass-through PCMU: rx + rewrite + tx", |bench| {
        bench.iter(|| {
            iterations += 1;
            bridged.receive()
        })
    });
    let stats = bridged.b_stats.snapshot();
    assert_eq!(stats.forwarded, iterations, "a packet was not forwarded");
    assert_eq!(stats.decoded_frames, 0);
    group.finish();
}

criterion_group!(benches, transcode);
criterion_main!(benches);
