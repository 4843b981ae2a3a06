//! A worker bridging two legs over real loopback sockets, driven through
//! its command channel as the media pool does.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use mio::Waker;

use super::*;
use crate::media::ports::{PortAllocator, PortPair};
use crate::media::stats::MediaMetrics;
use crate::media::worker::{MediaEvent, MediaEventKind, Worker, WorkerCommand};

struct Harness {
    commands: Sender<WorkerCommand>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
    events: tokio::sync::mpsc::UnboundedReceiver<MediaEvent>,
}

impl Harness {
    fn start() -> Self {
        let (commands, rx) = crossbeam_channel::unbounded();
        let (events, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let ports = Arc::new(PortAllocator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 0));
        let (worker, waker) =
            Worker::new(rx, events, ports, Arc::new(MediaMetrics::default())).unwrap();
        let thread = std::thread::spawn(move || worker.run());
        Harness {
            commands,
            waker,
            thread: Some(thread),
            events: events_rx,
        }
    }

    fn send(&self, command: WorkerCommand) {
        self.commands.send(command).unwrap();
        self.waker.wake().unwrap();
    }

    /// Creates a leg on its own loopback ports; returns its RTP address.
    fn create(&self, id: SessionId, p: MediaParams) -> (SocketAddr, Arc<SessionStats>) {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rtcp = UdpSocket::bind("127.0.0.1:0").unwrap();
        rtp.set_nonblocking(true).unwrap();
        rtcp.set_nonblocking(true).unwrap();
        let addr = rtp.local_addr().unwrap();
        let (setup, stats) = setup(id, p);
        self.send(WorkerCommand::Create {
            setup: Box::new(setup),
            ports: PortPair {
                rtp_port: addr.port(),
                rtp,
                rtcp,
            },
        });
        (addr, stats)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.commands.send(WorkerCommand::Shutdown);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn phone() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    socket
}

fn drain(socket: &UdpSocket, into: &mut Vec<Vec<u8>>) {
    let mut buf = [0u8; 1500];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => into.push(buf[..n].to_vec()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Puts packets in sequence order (they may be reordered by nothing on
/// loopback, but the check should not depend on it).
fn in_order(mut packets: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    if let Some(first) = packets.first() {
        let base = header_of(first).2;
        packets.sort_by_key(|p| header_of(p).2.wrapping_sub(base));
    }
    packets
}

#[test]
fn worker_transcodes_pcmu_to_opus_and_back_over_udp() {
    let harness = Harness::start();
    let (caller, callee) = (phone(), phone());
    let pa = params(
        CodecKind::Pcmu,
        0,
        Some(101),
        20,
        caller.local_addr().unwrap(),
    );
    let pb = params(
        CodecKind::Opus,
        111,
        Some(110),
        20,
        callee.local_addr().unwrap(),
    );
    let (leg_a, a_stats) = harness.create(1, pa);
    let (leg_b, b_stats) = harness.create(2, pb);
    harness.send(WorkerCommand::Bridge { a: 1, b: 2 });

    let mut pcmu = new_encoder(CodecKind::Pcmu).unwrap();
    let mut opus = new_encoder(CodecKind::Opus).unwrap();
    let (mut at_caller, mut at_callee) = (Vec::new(), Vec::new());
    let mut payload = [0u8; 1500];
    let start = Instant::now();
    // The phones' own 20 ms clock paces them; 1.5 s of talk, then 0.3 s to
    // let the last frames through.
    for i in 0..90u32 {
        if i < 75 {
            let n = pcmu
                .encode(&sine(8000, 1000.0, 160 * i as usize, 160), &mut payload)
                .unwrap();
            let p = rtp(0, i == 0, i as u16, 160 * i, 0xA, &payload[..n]);
            caller.send_to(&p, leg_a).unwrap();
            let n = opus
                .encode(&sine(48_000, 500.0, 960 * i as usize, 960), &mut payload)
                .unwrap();
            let p = rtp(111, i == 0, i as u16, 960 * i, 0xB, &payload[..n]);
            callee.send_to(&p, leg_b).unwrap();
        }
        let next = start + Duration::from_millis(20 * (u64::from(i) + 1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        drain(&caller, &mut at_caller);
        drain(&callee, &mut at_callee);
    }
    let at_callee = in_order(at_callee);
    let at_caller = in_order(at_caller);
    assert!(at_callee.len() >= 60, "{} Opus packets", at_callee.len());
    assert!(at_caller.len() >= 60, "{} PCMU packets", at_caller.len());
    assert!(at_callee.iter().all(|p| p[1] & 0x7f == 111));
    assert!(at_caller.iter().all(|p| p[1] & 0x7f == 0));
    let opus_pcm = decode_all(&at_callee, CodecKind::Opus, 111, 20);
    let pcmu_pcm = decode_all(&at_caller, CodecKind::Pcmu, 0, 20);
    // A loaded machine may make the worker skip a tick (a discontinuity),
    // so the bounds leave room; a broken path (silence, wrong rate, noise)
    // is far below them.
    // After the phones stop, each leg conceals a few frames until its
    // playout buffer goes idle: those are left out.
    let fwd = tail(&opus_pcm[..opus_pcm.len() - 12 * 960], 48_000, 0.5);
    let back = tail(&pcmu_pcm[..pcmu_pcm.len() - 12 * 160], 8000, 0.5);
    let snr_fwd = tone_snr_db(fwd, 48_000, 1000.0);
    let snr_back = tone_snr_db(back, 8000, 500.0);
    assert!(snr_fwd > 15.0, "1 kHz at the callee: {snr_fwd:.1} dB");
    assert!(snr_back > 15.0, "500 Hz at the caller: {snr_back:.1} dB");
    assert!(tone_amplitude(fwd, 48_000, 1000.0) > 0.6 * AMPLITUDE);
    assert!(tone_amplitude(back, 8000, 500.0) > 0.6 * AMPLITUDE);
    assert!(a_stats.snapshot().decoded_frames >= 60);
    assert!(b_stats.snapshot().decoded_frames >= 60);
}

#[test]
fn worker_passes_equal_codecs_through_with_rewritten_headers() {
    let harness = Harness::start();
    let (caller, callee) = (phone(), phone());
    let pa = params(
        CodecKind::Pcmu,
        0,
        Some(101),
        20,
        caller.local_addr().unwrap(),
    );
    let pb = params(
        CodecKind::Pcmu,
        0,
        Some(96),
        20,
        callee.local_addr().unwrap(),
    );
    let (leg_a, a_stats) = harness.create(1, pa);
    let (_, b_stats) = harness.create(2, pb);
    harness.send(WorkerCommand::Bridge { a: 1, b: 2 });

    // 30 packets across the sequence wrap, one lost, one with a stray
    // payload type, then an event.
    let mut sent = Vec::new();
    for k in 0..30u16 {
        let seq = 65_520u16.wrapping_add(k);
        let ts = 80_000 + 160 * u32::from(k);
        if k == 12 {
            caller
                .send_to(&rtp(18, false, seq, ts, 0xA, &[1; 10]), leg_a)
                .unwrap();
            continue;
        }
        let payload: Vec<u8> = (0..160).map(|n| (n as u16 * 3 + k) as u8).collect();
        let p = rtp(0, k == 0, seq, ts, 0xA, &payload);
        caller.send_to(&p, leg_a).unwrap();
        sent.push(p);
    }
    let event = rtp(
        101,
        true,
        65_520u16.wrapping_add(30),
        84_800,
        0xA,
        &[7, 10, 0, 160],
    );
    caller.send_to(&event, leg_a).unwrap();

    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    callee.set_nonblocking(false).unwrap();
    callee
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 1500];
    while received.len() < 30 && Instant::now() < deadline {
        if let Ok((n, _)) = callee.recv_from(&mut buf) {
            received.push(buf[..n].to_vec());
        }
    }
    assert_eq!(received.len(), 30, "29 audio packets and the event");
    let (audio, events): (Vec<_>, Vec<_>) = received.into_iter().partition(|p| p[1] & 0x7f == 0);
    assert_eq!(audio.len(), 29);
    let (_, _, s0, t0, ssrc) = header_of(&audio[0]);
    assert_ne!(ssrc, 0xA, "the leg's own SSRC");
    for (got, want) in audio.iter().zip(&sent) {
        let (_, pt, seq, ts, s) = header_of(got);
        let (_, _, in_seq, in_ts, _) = header_of(want);
        assert_eq!(pt, 0);
        assert_eq!(s, ssrc);
        // Fixed offsets: the gap at k = 12 stays a gap.
        assert_eq!(seq.wrapping_sub(s0), in_seq.wrapping_sub(65_520));
        assert_eq!(ts.wrapping_sub(t0), in_ts - 80_000);
        assert_eq!(got[12..], want[12..]);
    }
    assert_eq!(events.len(), 1);
    let (_, pt, seq, ts, s) = header_of(&events[0]);
    assert_eq!((pt, s), (96, ssrc), "the callee's event payload type");
    assert_eq!((seq.wrapping_sub(s0), ts.wrapping_sub(t0)), (30, 4_800));
    let (a, b) = (a_stats.snapshot(), b_stats.snapshot());
    assert_eq!((a.decoded_frames, b.decoded_frames), (0, 0), "no decoding");
    assert_eq!(b.forwarded, 29);
    assert_eq!(b.events_forwarded, 1);
    assert_eq!(a.rx_wrong_payload_type, 1);
    assert_eq!(a.lost, 1);
}

#[test]
fn worker_follows_a_codec_change_and_the_end_of_a_leg() {
    let mut harness = Harness::start();
    let (caller, callee) = (phone(), phone());
    let pa = params(
        CodecKind::Pcmu,
        0,
        Some(101),
        20,
        caller.local_addr().unwrap(),
    );
    let pb = params(
        CodecKind::Pcmu,
        0,
        Some(101),
        20,
        callee.local_addr().unwrap(),
    );
    let (leg_a, a_stats) = harness.create(1, pa);
    let (_, b_stats) = harness.create(2, pb.clone());
    harness.send(WorkerCommand::Bridge { a: 1, b: 2 });

    let mut pcmu = new_encoder(CodecKind::Pcmu).unwrap();
    let mut payload = [0u8; 1500];
    let mut at_callee = Vec::new();
    let start = Instant::now();
    let mut opus_since = None;
    // The caller talks throughout; after 10 packets a re-INVITE moves the
    // callee's leg to Opus. Runs until 1 s of Opus has come out (or 4 s).
    for i in 0..200u32 {
        let n = pcmu
            .encode(&sine(8000, 1000.0, 160 * i as usize, 160), &mut payload)
            .unwrap();
        caller
            .send_to(
                &rtp(0, i == 0, i as u16, 160 * i, 0xA, &payload[..n]),
                leg_a,
            )
            .unwrap();
        if i == 10 {
            harness.send(WorkerCommand::Update {
                id: 2,
                params: MediaParams {
                    codec: CodecKind::Opus,
                    payload_type: 111,
                    ..pb.clone()
                },
            });
        }
        let next = start + Duration::from_millis(20 * (u64::from(i) + 1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        drain(&callee, &mut at_callee);
        if opus_since.is_none() && at_callee.iter().any(|p| p[1] & 0x7f == 111) {
            opus_since = Some(i);
        }
        if opus_since.is_some_and(|since| i > since + 50) {
            break;
        }
    }
    assert!(opus_since.is_some(), "the bridge never switched to Opus");
    let forwarded = b_stats.snapshot().forwarded;
    assert!(
        forwarded >= 5,
        "passed through before the update: {forwarded}"
    );
    let switch = at_callee.iter().position(|p| p[1] & 0x7f == 111).unwrap();
    assert!(at_callee[..switch].iter().all(|p| p[1] & 0x7f == 0));
    assert!(at_callee[switch..].iter().all(|p| p[1] & 0x7f == 111));
    // One outgoing stream across the switch.
    let seqs: Vec<u16> = at_callee.iter().map(|p| header_of(p).2).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{seqs:?}"
    );
    let opus_pcm = decode_all(&at_callee[switch..], CodecKind::Opus, 111, 20);
    let snr = tone_snr_db(tail(&opus_pcm, 48_000, 0.5), 48_000, 1000.0);
    assert!(snr > 15.0, "after the switch: {snr:.1} dB");
    assert_eq!(b_stats.snapshot().forwarded, forwarded);
    assert!(a_stats.snapshot().decoded_frames > 20);

    // The caller's leg goes away: the callee's leg stops sending.
    harness.send(WorkerCommand::Destroy { id: 1 });
    loop {
        let event = harness.events.blocking_recv().expect("worker alive");
        if event.session == 1 && event.kind == MediaEventKind::Closed {
            break;
        }
    }
    let sent = b_stats.snapshot().tx_packets;
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
        drain(&callee, &mut at_callee);
    }
    assert_eq!(b_stats.snapshot().tx_packets, sent, "silent once unbridged");
}
