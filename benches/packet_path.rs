//! Cost of the media packet path per packet, through the sans-IO session a
//! media worker drives: one PCMU RTP packet in (`handle_rtp`: parse, latch,
//! playout buffer), one 20 ms tick (`handle_timeout`: playout pop, decode,
//! encode, RTP serialise) and `poll_transmit`. Sockets and the worker's
//! timer heap are not included.
//!
//! Time is synthetic: an `Instant` taken once and advanced by one ptime per
//! iteration, so the session sees a perfectly paced stream.
//!
//! The voicemail pair measures a leg recording what it hears (the deposit
//! app's recording phase: nothing played, the caller's audio decoded and
//! handed to the recorder thread in 100 ms chunks) against the same leg not
//! recording; the recorder writes to a temporary folder, in RAM where
//! `/dev/shm` exists so the disk does not slow the recorder thread down.
//! Then, with the calls paced so the recorder keeps up as it does in real
//! time, the steady-state recording path is checked to allocate nothing.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use counting_alloc::allocations;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use mediaplane::codec::g711::ulaw_encode;
use mediaplane::codec::CodecKind;
use mediaplane::media::recorder::{Recorder, RecorderHandle};
use mediaplane::media::session::{MediaParams, MediaSession, SessionEvent, SessionSetup, Source};
use mediaplane::media::stats::{MediaMetrics, SessionStats};
use mediaplane::media::{MediaEvent, MediaEventKind, RecordingSpec};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

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
    metrics: Arc<MediaMetrics>,
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
                remote_rtcp: None,
                rtcp_mux: false,
                send: true,
                receive: true,
                codec_options: Default::default(),
                srtp: None,
            },
            jitter_delay_ms: 40,
            media_timeout: Duration::from_secs(30),
            stats: stats.clone(),
            latching: Default::default(),
            rtcp: Default::default(),
        };
        let metrics = Arc::new(MediaMetrics::default());
        let mut session = MediaSession::new(setup, now, metrics.clone()).expect("PCMU session");
        session.set_source(source);
        let mut datagram = [0u8; RTP_HEADER + FRAME];
        datagram[0] = 0x80; // V=2, no padding, no extension, no CSRC
        datagram[1] = 0; // PT 0 (PCMU), no marker
        datagram[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        datagram[RTP_HEADER..].copy_from_slice(&speech_like_payload());
        Bench {
            session,
            stats,
            metrics,
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
        let len = match self.session.poll_transmit(self.now) {
            Some(out) => {
                black_box(out.to);
                black_box(out.datagram).len()
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

/// One minute of audio per file: the benchmark runs thousands of times
/// faster than real time, so files are closed, deleted and started again
/// to keep the temporary folder small.
const RECORDING_MAX: Duration = Duration::from_secs(60);

/// A recorder thread writing into a temporary folder, and what the session
/// needs to record through it.
struct Recording {
    recorder: Recorder,
    handle: RecorderHandle,
    events: UnboundedReceiver<MediaEvent>,
    folder: tempfile::TempDir,
    files: u64,
}

impl Recording {
    fn new(metrics: Arc<MediaMetrics>) -> Recording {
        let (events_tx, events) = unbounded_channel();
        let recorder = Recorder::start(events_tx, metrics).expect("recorder thread");
        let shm = Path::new("/dev/shm");
        let folder = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("temporary folder");
        Recording {
            handle: recorder.handle(),
            recorder,
            events,
            folder,
            files: 0,
        }
    }

    fn next_spec(&mut self, max: Duration) -> RecordingSpec {
        self.files += 1;
        RecordingSpec {
            path: self.folder.path().join(format!("{}.wav", self.files)),
            max,
            silence: None,
        }
    }

    /// Deletes the files the recorder has finished; returns how many.
    fn delete_finished(&mut self) -> usize {
        let mut finished = 0;
        while let Ok(event) = self.events.try_recv() {
            if let MediaEventKind::Recorded(outcome) = event.kind {
                assert_eq!(outcome.error, None, "the recording failed");
                remove(&outcome.path);
                finished += 1;
            }
        }
        finished
    }

    /// Closes every recording and waits for the recorder to write them.
    fn finish(mut self) {
        self.recorder.shutdown();
        self.delete_finished();
    }
}

fn remove(path: &Path) {
    std::fs::remove_file(path).expect("remove a finished recording");
}

/// A leg in the deposit app's recording phase: nothing played, the caller
/// heard, decoded and recorded (or, for the baseline, not recorded).
fn bench_voicemail(group: &mut BenchmarkGroup<'_, WallTime>) {
    let mut bench = Bench::new(Source::Silence);
    bench.warm_up(true);
    group.bench_function("voicemail, not recording: rx + tick", |b| {
        b.iter(|| {
            bench.receive();
            let len = bench.tick();
            // As in the recording case, which watches for the end of a file.
            black_box(bench.session.poll_event());
            len
        })
    });
    check_clean(&bench, "not recording");

    let mut bench = Bench::new(Source::Silence);
    let mut recording = Recording::new(bench.metrics.clone());
    let spec = recording.next_spec(RECORDING_MAX);
    bench.session.start_recording(&recording.handle, spec);
    bench.warm_up(true);
    let mut restarts = 0u64;
    group.bench_function("voicemail, recording: rx + decode + record + tick", |b| {
        b.iter(|| {
            bench.receive();
            let len = bench.tick();
            // Once a minute of audio: the session ended the file at its
            // maximum length; the next one starts (and allocates: not the
            // steady state, one tick in 3,000).
            if let Some(SessionEvent::RecordingEnded(_)) = bench.session.poll_event() {
                restarts += 1;
                recording.delete_finished();
                let spec = recording.next_spec(RECORDING_MAX);
                bench.session.start_recording(&recording.handle, spec);
            }
            len
        })
    });
    check_clean(&bench, "recording");
    let metrics = bench.metrics.snapshot();
    // Not asserted: criterion's loop records thousands of times faster than
    // real time, so the recorder thread may fall behind and the pool run dry.
    eprintln!(
        "voicemail, recording: {} files of {} s, {} chunk buffers allocated, {} chunks dropped",
        restarts + 1,
        RECORDING_MAX.as_secs(),
        metrics.recording_buffer_allocations,
        metrics.recording_chunks_dropped,
    );
    drop(bench);
    recording.finish();
}

/// Nothing lost, late, duplicated or concealed: every tick heard a frame.
fn check_clean(bench: &Bench, name: &str) {
    let stats = bench.stats.snapshot();
    assert_eq!(
        (stats.lost, stats.late, stats.duplicates, stats.concealed),
        (0, 0, 0, 0),
        "{name}: the stream was not clean: {stats:?}"
    );
}

/// Recording at the pace of real calls, so the recorder thread gives each
/// chunk buffer back before the session needs the next: after the pool has
/// filled, no tick allocates and no chunk is dropped.
fn recording_allocates_nothing() {
    // The allocator counts: a sanity check that it is the global one.
    assert!(allocations(|| drop(black_box(vec![0u8; 16]))) > 0);
    let mut bench = Bench::new(Source::Silence);
    let mut recording = Recording::new(bench.metrics.clone());
    let spec = recording.next_spec(Duration::from_secs(3600));
    bench.session.start_recording(&recording.handle, spec);
    // Warm-up: the playout buffer primes, the pool fills.
    for _ in 0..10 {
        for _ in 0..50 {
            bench.receive();
            bench.tick();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let warm = bench.metrics.snapshot();
    // 1,000 chunks (100 s of audio), one a millisecond of wall time: 100
    // times faster than real time, and slow enough for the recorder thread
    // to have given the last buffer back even on a busy machine.
    const CHUNKS: u32 = 1000;
    const TICKS_PER_CHUNK: u32 = 5;
    let mut allocated = 0;
    for _ in 0..CHUNKS {
        allocated += allocations(|| {
            for _ in 0..TICKS_PER_CHUNK {
                bench.receive();
                bench.tick();
                assert_eq!(bench.session.poll_event(), None);
            }
        });
        std::thread::sleep(Duration::from_millis(1));
    }
    let end = bench.metrics.snapshot();
    check_clean(&bench, "recording, paced");
    eprintln!(
        "voicemail, recording paced: {} chunk buffers allocated while the pool filled, \
         {} after, {allocated} allocations in {} ticks",
        warm.recording_buffer_allocations,
        end.recording_buffer_allocations - warm.recording_buffer_allocations,
        CHUNKS * TICKS_PER_CHUNK,
    );
    assert_eq!(allocated, 0, "the recording path allocated in steady state");
    assert_eq!(
        end.recording_buffer_allocations, warm.recording_buffer_allocations,
        "the pool ran dry in steady state"
    );
    assert_eq!(
        end.recording_chunks_dropped, 0,
        "recorded audio was dropped"
    );
    drop(bench);
    recording.finish();
}

fn voicemail(c: &mut Criterion) {
    recording_allocates_nothing();
    let mut group = c.benchmark_group("session PCMU 20 ms");
    bench_voicemail(&mut group);
    group.finish();
}

criterion_group!(benches, packet_path, voicemail);
criterion_main!(benches);
