//! Cost of the media packet path per packet, through the sans-IO session a
//! media worker drives: one PCMU RTP packet in (`handle_rtp`: parse, latch,
//! playout buffer), one 20 ms tick (`handle_timeout`: playout pop, decode,
//! encode, RTP serialise) and `poll_transmit`. Sockets and the worker's
//! timer heap are not included.
//!
//! Time is synthetic: an `Instant` taken once and advanced by one ptime per
//! iteration, so the session sees a perfectly paced stream.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use mediaplane::codec::g711::ulaw_encode;
use mediaplane::codec::CodecKind;
use mediaplane::media::session::{MediaParams, MediaSession, SessionEvent, SessionSetup, Source};
use mediaplane::media::stats::{MediaMetrics, SessionStats};

const PTIME: Duration = Duration::from_millis(20);
const FRAME: usize = 160;
const RTP_HEADER: usize = 12;

/// Iterations run before measuring, so the playout buffer is past its
/// initial delay and every tick plays a received frame.
const WARM_UP_PACKETS: u32 = 50;

/// A session and the synthetic peer feeding it.
struct Bench {
    session: MediaSession,
    stats: Arc<SessionStats>,
    now: Instant,
    from: SocketAddr,
    datagram: [u8; RTP_HEADER + FRAME],
    sequence: u16,
    timestamp: u32,
    sent: u64,
}

impl Bench {
    fn new(source: Source) -> Self {
        Bench::with_events(source, Some(101))
    }

    /// `events`: the telephone-event payload type, if negotiated.
    fn with_events(source: Source, events: Option<u8>) -> Self {
        let now = Instant::now();
        let stats = Arc::new(SessionStats::default());
        let setup = SessionSetup {
            id: 1,
            params: MediaParams {
                codec: CodecKind::Pcmu,
                payload_type: 0,
                telephone_event_pt: events,
                ptime_ms: 20,
                remote_rtp: Some("127.0.0.1:4000".parse().expect("address")),
                send: true,
                receive: true,
                codec_options: Default::default(),
            },
            jitter_delay_ms: 40,
            media_timeout: Duration::from_secs(30),
            stats: stats.clone(),
        };
        let mut session =
            MediaSession::new(setup, now, Arc::new(MediaMetrics::default())).expect("PCMU session");
        session.set_source(source);
        let mut datagram = [0u8; RTP_HEADER + FRAME];
        datagram[0] = 0x80; // V=2, no padding, no extension, no CSRC
        datagram[1] = 0; // PT 0 (PCMU), no marker
        datagram[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        datagram[RTP_HEADER..].copy_from_slice(&speech_like_payload());
        Bench {
            session,
            stats,
            now,
            from: "127.0.0.1:5000".parse().expect("address"),
            datagram,
            sequence: 0,
            timestamp: 0,
            sent: 0,
        }
    }

    /// The peer's next packet arrives.
    fn receive(&mut self) {
        self.datagram[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        self.datagram[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME as u32);
        self.session
            .handle_rtp(self.now, self.from, black_box(&self.datagram));
    }

    /// One ptime later: the tick runs and its datagram is drained. Returns
    /// the length sent (0 when the tick sent nothing).
    fn tick(&mut self) -> usize {
        self.now += PTIME;
        self.session.handle_timeout(self.now);
        let len = match self.session.poll_transmit() {
            Some((datagram, to)) => {
                black_box(to);
                black_box(datagram).len()
            }
            None => 0,
        };
        self.sent += u64::from(len > 0);
        len
    }

    /// The worker drains events after every tick; a finished prompt restarts
    /// (and, in the send-only case, the one media-timeout event is dropped).
    fn restart_prompt_when_finished(&mut self, prompt: &Arc<[i16]>) {
        while let Some(event) = self.session.poll_event() {
            if event == SessionEvent::PlaybackFinished {
                self.session.set_source(Source::Prompt {
                    samples: prompt.clone(),
                    position: 0,
                });
            }
        }
    }

    fn warm_up(&mut self, with_receive: bool) {
        for _ in 0..WARM_UP_PACKETS {
            if with_receive {
                self.receive();
            }
            self.tick();
        }
        self.sent = 0;
    }
}

/// A 160-sample PCMU payload of two tones at a speech-like level.
fn speech_like_payload() -> [u8; FRAME] {
    let mut payload = [0u8; FRAME];
    for (i, code) in payload.iter_mut().enumerate() {
        let t = i as f64 / 8000.0;
        let v = 6000.0 * (2.0 * std::f64::consts::PI * 310.0 * t).sin()
            + 3000.0 * (2.0 * std::f64::consts::PI * 1230.0 * t).sin();
        *code = ulaw_encode(v as i16);
    }
    payload
}

/// One minute of a tone at 8 kHz, as the prompt catalogue would hand it over.
fn prompt_samples() -> Arc<[i16]> {
    (0..8000 * 60)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * 400.0 * i as f64 / 8000.0;
            (phase.sin() * 8000.0) as i16
        })
        .collect()
}

/// Every measured tick must have sent a frame, and none may have been
/// concealed: otherwise the figure would be of some other path.
fn check_steady_state(bench: &Bench, iterations: u64, name: &str) {
    let stats = bench.stats.snapshot();
    assert_eq!(bench.sent, iterations, "{name}: a tick sent nothing");
    assert_eq!(
        (stats.lost, stats.late, stats.duplicates, stats.concealed),
        (0, 0, 0, 0),
        "{name}: the stream was not clean: {stats:?}"
    );
}

/// Benches a prompt-playing session (the caller sending too, or not),
/// restarting the prompt whenever it ends; returns the iterations run.
fn bench_prompt(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    bench: &mut Bench,
    prompt: &Arc<[i16]>,
    receive: bool,
) -> u64 {
    let mut iterations = 0u64;
    group.bench_function(name, |b| {
        b.iter(|| {
            iterations += 1;
            if receive {
                bench.receive();
            }
            let len = bench.tick();
            bench.restart_prompt_when_finished(prompt);
            len
        })
    });
    iterations
}

fn packet_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("session PCMU 20 ms");

    // echo: what every `echo` call costs per packet.
    let mut bench = Bench::new(Source::Echo);
    bench.warm_up(true);
    let mut iterations = 0u64;
    group.bench_function("echo: rx + tick + tx", |b| {
        b.iter(|| {
            iterations += 1;
            bench.receive();
            bench.tick()
        })
    });
    check_steady_state(&bench, iterations, "echo");

    // play-NAME with the caller sending: the receive path still runs.
    let prompt = prompt_samples();
    let mut bench = Bench::new(Source::Prompt {
        samples: prompt.clone(),
        position: 0,
    });
    bench.warm_up(true);
    let iterations = bench_prompt(
        &mut group,
        "prompt: rx + tick + tx",
        &mut bench,
        &prompt,
        true,
    );
    check_steady_state(&bench, iterations, "prompt with receive");

    // An IVR menu prompt to a caller without telephone-event: the caller's
    // audio is decoded for the inband tone detector.
    let mut bench = Bench::with_events(
        Source::Prompt {
            samples: prompt.clone(),
            position: 0,
        },
        None,
    );
    bench.session.listen_for_digits(true);
    bench.warm_up(true);
    let name = "ivr prompt, inband keys: rx + decode + detect + tick + tx";
    let iterations = bench_prompt(&mut group, name, &mut bench, &prompt, true);
    check_steady_state(&bench, iterations, "ivr prompt listening inband");
    let stats = bench.stats.snapshot();
    // All but the frames the playout buffer held while priming.
    assert!(
        stats.decoded_frames + 4 >= stats.rx_packets,
        "every frame went through the detector's decode: {stats:?}"
    );

    // play-NAME to a peer that sends nothing: the send-only cost.
    let mut bench = Bench::new(Source::Prompt {
        samples: prompt.clone(),
        position: 0,
    });
    bench.warm_up(false);
    let name = "prompt: tick + tx (send only)";
    let iterations = bench_prompt(&mut group, name, &mut bench, &prompt, false);
    assert_eq!(bench.sent, iterations, "send only: a tick sent nothing");

    group.finish();
}

criterion_group!(benches, packet_path);
criterion_main!(benches);
