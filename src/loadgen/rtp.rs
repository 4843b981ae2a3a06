//! `RtpStream`: a G.711 RTP endpoint for tests and load generation. It sends
//! frames paced on a 20 ms deadline schedule and records what it receives.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use webrtc_util::marshal::Marshal;

use super::frame_tag;
use super::rtp_capture::{receive_loop, CaptureOptions, CaptureShared};
pub use super::rtp_capture::{ReceivedPacket, RtpCounters};
use crate::codec::g711::{alaw_encode, ulaw_encode};
use crate::codec::{new_encoder, CodecKind};
use crate::media::srtp::{Negotiated, SrtpError, SrtpSession};

/// Packetisation interval (RFC 3551 §4.5: 20 ms default for G.711).
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

const RTP_HEADER_LEN: usize = 12;
const MAX_PAYLOAD: usize = 1400;
/// Lateness the schedule catches up on by sending at once; beyond it the
/// sender is taken to have paused, and timing restarts from now.
const MAX_CATCH_UP: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum RtpError {
    #[error("RTP socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("no remote address set for the RTP stream")]
    NoRemote,
    #[error("{0} is not a G.711 codec")]
    UnsupportedCodec(&'static str),
    #[error("payload of {0} bytes is larger than {MAX_PAYLOAD}")]
    PayloadTooLarge(usize),
    #[error("RTP header marshal failed: {0}")]
    Marshal(String),
    #[error("timed out with {received} packets received")]
    Timeout { received: u64 },
    #[error("SRTP: {0}")]
    Srtp(#[from] SrtpError),
}

/// How a stream is set up.
#[derive(Clone, Copy, Debug)]
pub struct RtpStreamOptions {
    pub codec: CodecKind,
    pub payload_type: u8,
    /// Keep decoded samples of every received packet (costs memory over long runs).
    pub keep_samples: bool,
    /// Keep a record of every received packet.
    pub keep_packets: bool,
}

impl RtpStreamOptions {
    /// Keeps everything; the payload type is the codec's static one.
    pub fn new(codec: CodecKind) -> Self {
        RtpStreamOptions {
            codec,
            payload_type: codec.static_payload_type().unwrap_or(0),
            keep_samples: true,
            keep_packets: true,
        }
    }
}

/// A bound RTP socket that sends paced G.711 frames and captures the reply.
#[derive(Debug)]
pub struct RtpStream {
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    remote: Option<SocketAddr>,
    codec: CodecKind,
    payload_type: u8,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    marker: bool,
    next_due: Option<Instant>,
    packets_sent: u64,
    next_tag: u32,
    /// Header and payload of the packet being sent, reused for every packet.
    packet: Vec<u8>,
    /// Our SRTP key once an answer accepted it, and the buffer the
    /// protected packet is written to.
    /// (In a mutex only to make the stream `Sync`; `&mut self` reaches it
    /// without locking.)
    srtp: Option<Mutex<SrtpSession>>,
    protected: Vec<u8>,
    /// A 400 Hz tone frame in the stream's codec, body of tagged frames.
    tone_frame: Arc<[u8]>,
    capture: Arc<CaptureShared>,
    receive_task: JoinHandle<()>,
}

impl Drop for RtpStream {
    fn drop(&mut self) {
        self.receive_task.abort();
    }
}

impl RtpStream {
    /// Binds 127.0.0.1:0.
    pub async fn bind(options: RtpStreamOptions) -> Result<RtpStream, RtpError> {
        Self::bind_on(IpAddr::V4(Ipv4Addr::LOCALHOST), options).await
    }

    /// Binds an ephemeral port on `ip`.
    pub async fn bind_on(ip: IpAddr, options: RtpStreamOptions) -> Result<RtpStream, RtpError> {
        let tone_frame = tone_frame(options.codec)?;
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(ip, 0)).await?);
        let local_addr = socket.local_addr()?;
        let capture = Arc::new(CaptureShared::new(
            CaptureOptions {
                keep_samples: options.keep_samples,
                keep_packets: options.keep_packets,
            },
            options.codec.clock_rate(),
        ));
        let receive_task = tokio::spawn(receive_loop(socket.clone(), capture.clone()));
        Ok(RtpStream {
            socket,
            local_addr,
            remote: None,
            codec: options.codec,
            payload_type: options.payload_type,
            // Random initial values (RFC 3550 §5.1).
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
            marker: true,
            next_due: None,
            packets_sent: 0,
            next_tag: 0,
            packet: vec![0u8; RTP_HEADER_LEN + MAX_PAYLOAD],
            srtp: None,
            protected: Vec::new(),
            tone_frame,
            capture,
            receive_task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// Where packets go, usually from the SDP answer.
    pub fn set_remote(&mut self, remote: SocketAddr) {
        self.remote = Some(remote);
    }

    /// Switches the codec sent, e.g. to the one an answer chose.
    pub fn set_codec(&mut self, codec: CodecKind, payload_type: u8) -> Result<(), RtpError> {
        self.tone_frame = tone_frame(codec)?;
        self.codec = codec;
        self.payload_type = payload_type;
        Ok(())
    }

    /// Sends SRTP under our key of `negotiated` and reads what arrives as
    /// SRTP under the peer's, from now on.
    pub fn set_srtp(&mut self, negotiated: &Negotiated) -> Result<(), RtpError> {
        // One session per direction: the receive task owns the other one.
        let sending = SrtpSession::from_negotiated(negotiated)?;
        let receiving = SrtpSession::from_negotiated(negotiated)?;
        let room = self.packet.len() + sending.rtp_overhead();
        self.capture.set_srtp(receiving);
        self.protected = vec![0u8; room];
        self.srtp = Some(Mutex::new(sending));
        Ok(())
    }

    pub fn codec(&self) -> CodecKind {
        self.codec
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets_sent
    }

    /// Sends a whole buffer as 20 ms frames, paced in real time; a short last
    /// frame is padded with silence. Returns the number of frames sent.
    pub async fn send_samples(&mut self, samples: &[i16]) -> Result<u64, RtpError> {
        let encode = encoder_for(self.codec)?;
        let silence = encode(0);
        let mut frames = 0;
        for chunk in samples.chunks(FRAME_SAMPLES) {
            let payload = &mut self.packet[RTP_HEADER_LEN..RTP_HEADER_LEN + FRAME_SAMPLES];
            for (code, sample) in payload.iter_mut().zip(chunk) {
                *code = encode(*sample);
            }
            payload[chunk.len()..].fill(silence);
            self.send_packet(FRAME_SAMPLES, None).await?;
            frames += 1;
        }
        Ok(frames)
    }

    /// Sends one already-encoded payload as the next 20 ms frame, paced.
    pub async fn send_payload(&mut self, payload: &[u8]) -> Result<(), RtpError> {
        let len = payload.len();
        let slot = self
            .packet
            .get_mut(RTP_HEADER_LEN..RTP_HEADER_LEN + len)
            .ok_or(RtpError::PayloadTooLarge(len))?;
        slot.copy_from_slice(payload);
        self.send_packet(len, None).await
    }

    /// Sends the next tone frame carrying a frame tag, paced; an echo of it is
    /// matched to its send time. Returns the tag. Only G.711 frames carry
    /// tags (a tag in a G.722 or Opus payload would not survive the
    /// server); other codecs send the tone untagged, counted by sequence.
    pub async fn send_tagged_frame(&mut self) -> Result<u32, RtpError> {
        let tag = self.next_tag;
        let len = self.tone_frame.len();
        let payload = &mut self.packet[RTP_HEADER_LEN..RTP_HEADER_LEN + len];
        payload.copy_from_slice(&self.tone_frame);
        let tagged = matches!(self.codec, CodecKind::Pcmu | CodecKind::Pcma);
        if tagged {
            frame_tag::write_tag(tag, payload);
        }
        self.send_packet(len, tagged.then_some(tag)).await?;
        self.next_tag = (tag + 1) % frame_tag::TAG_MODULUS;
        Ok(tag)
    }

    /// Sends `self.packet[12..12 + payload_len]` at the next frame deadline.
    async fn send_packet(&mut self, payload_len: usize, tag: Option<u32>) -> Result<(), RtpError> {
        let remote = self.remote.ok_or(RtpError::NoRemote)?;
        let now = Instant::now();
        let due = match self.next_due {
            Some(due) if now.saturating_duration_since(due) <= MAX_CATCH_UP => due,
            Some(due) => {
                // After a pause the timestamp advances by the time that passed,
                // and the marker starts a new talkspurt (RFC 3551 §4.1).
                let gap = now.saturating_duration_since(due);
                let gap_ticks = gap.as_millis() as u64 * u64::from(self.codec.clock_rate()) / 1000;
                self.timestamp = self.timestamp.wrapping_add(gap_ticks as u32);
                self.marker = true;
                now
            }
            None => now,
        };
        sleep_until(due).await;

        let header = rtp::header::Header {
            version: 2,
            marker: self.marker,
            payload_type: self.payload_type,
            sequence_number: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            ..Default::default()
        };
        header
            .marshal_to(&mut self.packet[..RTP_HEADER_LEN])
            .map_err(|e| RtpError::Marshal(e.to_string()))?;
        if let Some(tag) = tag {
            // Logged before sending: a fast echo may arrive before send_to returns.
            self.capture.record_send(tag, Instant::now());
        }
        let plain = &self.packet[..RTP_HEADER_LEN + payload_len];
        let datagram = match self.srtp.as_mut() {
            Some(session) => {
                let session = session.get_mut().unwrap_or_else(|e| e.into_inner());
                let len = session.protect_rtp(plain, &mut self.protected)?;
                &self.protected[..len]
            }
            None => plain,
        };
        self.socket.send_to(datagram, remote).await?;

        self.sequence = self.sequence.wrapping_add(1);
        // 20 ms on the codec's RTP clock (G.722's is 8 kHz, RFC 3551 §4.5.2).
        self.timestamp = self.timestamp.wrapping_add(self.codec.clock_rate() / 50);
        self.marker = false;
        self.packets_sent += 1;
        self.next_due = Some(due + FRAME_DURATION);
        Ok(())
    }

    /// Decoded samples of every received PCMU/PCMA packet, in arrival order.
    pub fn received_samples(&self) -> Vec<i16> {
        self.capture.state().samples.clone()
    }

    /// Every received packet, in arrival order.
    pub fn received_packets(&self) -> Vec<ReceivedPacket> {
        self.capture.state().packets.clone()
    }

    pub fn counters(&self) -> RtpCounters {
        self.capture.counters(self.packets_sent)
    }

    /// Round-trip times of echoed tagged frames in microseconds, moved out.
    pub fn take_round_trips_us(&self) -> Vec<u32> {
        std::mem::take(&mut self.capture.state().round_trips_us)
    }

    /// Waits until at least `count` packets have been received in total.
    pub async fn wait_for_packets(&self, count: u64, timeout: Duration) -> Result<u64, RtpError> {
        let mut received = self.capture.subscribe_received();
        let waited = tokio::time::timeout(timeout, received.wait_for(|n| *n >= count))
            .await
            .map(|r| r.map(|n| *n));
        match waited {
            Ok(Ok(n)) => Ok(n),
            _ => Err(RtpError::Timeout {
                received: *received.borrow(),
            }),
        }
    }
}

type Encoder = fn(i16) -> u8;

fn encoder_for(codec: CodecKind) -> Result<Encoder, RtpError> {
    match codec {
        CodecKind::Pcmu => Ok(ulaw_encode),
        CodecKind::Pcma => Ok(alaw_encode),
        other => Err(RtpError::UnsupportedCodec(other.encoding_name())),
    }
}

/// A 20 ms frame of a 400 Hz tone in `codec`. 400 Hz divides 20 ms into
/// whole periods, so repeated frames join without a click. G.722 and Opus
/// frames are encoded once per process (an Opus encode costs more than
/// sending a packet) and sent over and over.
fn tone_frame(codec: CodecKind) -> Result<Arc<[u8]>, RtpError> {
    static G722: OnceLock<Arc<[u8]>> = OnceLock::new();
    static OPUS: OnceLock<Arc<[u8]>> = OnceLock::new();
    let cache = match codec {
        CodecKind::Pcmu | CodecKind::Pcma => {
            let encode = encoder_for(codec)?;
            let frame: Vec<u8> = tone(8000).into_iter().map(encode).collect();
            return Ok(frame.into());
        }
        CodecKind::G722 => &G722,
        CodecKind::Opus => &OPUS,
        other => return Err(RtpError::UnsupportedCodec(other.encoding_name())),
    };
    if let Some(frame) = cache.get() {
        return Ok(frame.clone());
    }
    let unsupported = |_| RtpError::UnsupportedCodec(codec.encoding_name());
    let mut encoder = new_encoder(codec).map_err(unsupported)?;
    let pcm = tone(codec.audio_rate());
    let mut payload = vec![0u8; MAX_PAYLOAD];
    let mut len = 0;
    // A few frames in, past the encoder's start-up.
    for _ in 0..5 {
        len = encoder.encode(&pcm, &mut payload).map_err(unsupported)?;
    }
    payload.truncate(len);
    Ok(cache.get_or_init(|| payload.into()).clone())
}

/// 20 ms of a 400 Hz tone at `rate`.
fn tone(rate: u32) -> Vec<i16> {
    (0..rate as usize / 50)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * 400.0 * i as f64 / f64::from(rate);
            (phase.sin() * 4000.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests;
