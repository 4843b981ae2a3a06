//! The receive side of an [`RtpStream`](super::rtp::RtpStream): a task that
//! reads the socket and records what arrived, and the log of send times that
//! echoed frames are matched against.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::Instant;
use webrtc_util::marshal::Unmarshal;

use super::frame_tag;
use super::rtp_receive_stats::{JitterEstimator, SequenceTracker};
use crate::codec::g711::{alaw_decode, ulaw_decode};
use crate::codec::CodecKind;
use crate::media::srtp::SrtpSession;

/// One RTP packet as it arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivedPacket {
    pub arrival: Instant,
    pub sequence: u16,
    pub timestamp: u32,
    pub payload_type: u8,
    pub marker: bool,
    pub ssrc: u32,
    pub payload_len: usize,
    /// Time since the frame carrying the same tag was sent, for echoed frames.
    pub round_trip: Option<Duration>,
}

/// Counters of a stream, both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RtpCounters {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub payload_bytes_received: u64,
    /// Datagrams that were not RTP version 2.
    pub malformed: u64,
    /// SRTP packets that failed authentication or replay checks.
    pub unauthenticated: u64,
    /// Packets the received sequence numbers account for (RFC 3550 A.3).
    pub expected: u64,
    pub lost: u64,
    /// Interarrival jitter of the received stream (RFC 3550 §6.4.1).
    pub jitter_ms: f64,
    /// Received packets matched to a frame this stream sent.
    pub echoes_matched: u64,
}

/// What to keep of every received packet; counters are always kept.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CaptureOptions {
    pub keep_samples: bool,
    pub keep_packets: bool,
}

#[derive(Debug)]
pub(crate) struct CaptureState {
    pub options: CaptureOptions,
    pub packets: Vec<ReceivedPacket>,
    pub samples: Vec<i16>,
    pub round_trips_us: Vec<u32>,
    pub received: u64,
    pub payload_bytes: u64,
    pub malformed: u64,
    pub unauthenticated: u64,
    pub echoes_matched: u64,
    pub sequence: SequenceTracker,
    pub jitter: JitterEstimator,
    last_ssrc: Option<u32>,
}

const SEND_LOG_SLOTS: usize = 4096;
const SEND_TIME_BITS: u32 = 40;
const SEND_TIME_MASK: u64 = (1 << SEND_TIME_BITS) - 1;

/// State shared by the stream, its receive task and its waiters.
#[derive(Debug)]
pub(crate) struct CaptureShared {
    state: Mutex<CaptureState>,
    received: watch::Sender<u64>,
    epoch: Instant,
    /// Send time of each tagged frame, slot = tag mod size, packed as
    /// tag << 40 | microseconds since `epoch`: lock-free for the sender.
    send_log: Box<[AtomicU64]>,
    /// The peer's SRTP key, once an answer named it: every packet is
    /// unprotected with it before it is read.
    srtp: Mutex<Option<SrtpSession>>,
}

impl CaptureShared {
    pub fn new(options: CaptureOptions, clock_rate: u32) -> Self {
        CaptureShared {
            state: Mutex::new(CaptureState {
                options,
                packets: Vec::new(),
                samples: Vec::new(),
                round_trips_us: Vec::new(),
                received: 0,
                payload_bytes: 0,
                malformed: 0,
                unauthenticated: 0,
                echoes_matched: 0,
                sequence: SequenceTracker::default(),
                jitter: JitterEstimator::new(clock_rate),
                last_ssrc: None,
            }),
            received: watch::channel(0).0,
            epoch: Instant::now(),
            send_log: (0..SEND_LOG_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            srtp: Mutex::new(None),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, CaptureState> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on, received packets are SRTP unprotected by `session`.
    pub fn set_srtp(&self, session: SrtpSession) {
        *self.srtp.lock().unwrap_or_else(|e| e.into_inner()) = Some(session);
    }

    /// The RTP packet in `datagram`: itself on a plain stream, else
    /// unprotected into `out`. `None` for SRTP that fails its checks
    /// (counted) and for SRTCP, which is not read.
    fn unprotect<'a>(&self, datagram: &'a [u8], out: &'a mut [u8]) -> Option<&'a [u8]> {
        let mut srtp = self.srtp.lock().unwrap_or_else(|e| e.into_inner());
        let Some(session) = srtp.as_mut() else {
            return Some(datagram);
        };
        if crate::media::rtcp::is_rtcp(datagram) {
            return None;
        }
        match session.unprotect_rtp(datagram, out) {
            Ok(len) => Some(&out[..len]),
            Err(_) => {
                drop(srtp);
                self.state().unauthenticated += 1;
                None
            }
        }
    }

    pub fn subscribe_received(&self) -> watch::Receiver<u64> {
        self.received.subscribe()
    }

    pub fn record_send(&self, tag: u32, at: Instant) {
        let micros = at.saturating_duration_since(self.epoch).as_micros() as u64;
        let packed = (u64::from(tag) << SEND_TIME_BITS) | (micros & SEND_TIME_MASK);
        self.send_log[tag as usize % SEND_LOG_SLOTS].store(packed, Ordering::Relaxed);
    }

    fn round_trip(&self, tag: u32, arrival: Instant) -> Option<Duration> {
        let packed = self.send_log[tag as usize % SEND_LOG_SLOTS].load(Ordering::Relaxed);
        if packed == 0 || (packed >> SEND_TIME_BITS) as u32 != tag {
            return None;
        }
        let sent_us = packed & SEND_TIME_MASK;
        let now_us = arrival.saturating_duration_since(self.epoch).as_micros() as u64;
        Some(Duration::from_micros(now_us.saturating_sub(sent_us)))
    }

    fn record_packet(&self, arrival: Instant, datagram: &[u8]) {
        let mut cursor = datagram;
        let header = match rtp::header::Header::unmarshal(&mut cursor) {
            Ok(h) if h.version == 2 => h,
            _ => {
                self.state().malformed += 1;
                return;
            }
        };
        // RTCP multiplexed on the RTP port shows up as marker + PT 72..=76 (RFC 5761 §4).
        if header.marker && (72..=76).contains(&header.payload_type) {
            return;
        }
        let mut payload = cursor;
        if header.padding {
            // The last octet counts the padding, itself included (RFC 3550 §5.1).
            let pad = payload.last().copied().unwrap_or(0) as usize;
            if pad == 0 || pad > payload.len() {
                self.state().malformed += 1;
                return;
            }
            payload = &payload[..payload.len() - pad];
        }
        let round_trip = frame_tag::read_tag(payload).and_then(|t| self.round_trip(t, arrival));
        let arrival_s = arrival.saturating_duration_since(self.epoch).as_secs_f64();

        let mut state = self.state();
        if state.last_ssrc != Some(header.ssrc) {
            state.jitter.restart();
            state.last_ssrc = Some(header.ssrc);
        }
        state.sequence.update(header.ssrc, header.sequence_number);
        state.jitter.update(arrival_s, header.timestamp);
        if state.options.keep_samples {
            match CodecKind::from_static_payload_type(header.payload_type) {
                Some(CodecKind::Pcmu) => state
                    .samples
                    .extend(payload.iter().map(|c| ulaw_decode(*c))),
                Some(CodecKind::Pcma) => state
                    .samples
                    .extend(payload.iter().map(|c| alaw_decode(*c))),
                _ => {}
            }
        }
        if state.options.keep_packets {
            state.packets.push(ReceivedPacket {
                arrival,
                sequence: header.sequence_number,
                timestamp: header.timestamp,
                payload_type: header.payload_type,
                marker: header.marker,
                ssrc: header.ssrc,
                payload_len: payload.len(),
                round_trip,
            });
        }
        if let Some(rtt) = round_trip {
            state.echoes_matched += 1;
            state
                .round_trips_us
                .push(u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX));
        }
        state.received += 1;
        state.payload_bytes += payload.len() as u64;
        let received = state.received;
        drop(state);
        self.received.send_replace(received);
    }

    pub fn counters(&self, packets_sent: u64) -> RtpCounters {
        let state = self.state();
        RtpCounters {
            packets_sent,
            packets_received: state.received,
            payload_bytes_received: state.payload_bytes,
            malformed: state.malformed,
            unauthenticated: state.unauthenticated,
            expected: state.sequence.expected(),
            lost: state.sequence.lost(),
            jitter_ms: state.jitter.jitter_ms(),
            echoes_matched: state.echoes_matched,
        }
    }
}

/// Reads the socket until it fails; runs as the stream's receive task.
pub(crate) async fn receive_loop(socket: Arc<UdpSocket>, shared: Arc<CaptureShared>) {
    let mut buf = vec![0u8; 2048];
    let mut plain = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((len, _from)) => {
                let arrival = Instant::now();
                if let Some(packet) = shared.unprotect(&buf[..len], &mut plain) {
                    shared.record_packet(arrival, packet);
                }
            }
            // ICMP errors surface here on some systems; the socket stays usable.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => {
                tracing::debug!(error = %e, "rtp receive loop ends");
                return;
            }
        }
    }
}
