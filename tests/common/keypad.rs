//! A caller's phone for DTMF tests: an RTP socket that, at the 20 ms pace,
//! sends audio (silence or inband key tones) or RFC 4733 telephone-events,
//! and decodes what it hears.

use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::codec::{new_decoder, new_encoder, AudioDecoder, AudioEncoder, CodecKind};
use mediaplane::media::dtmf::rfc4733::{SenderConfig, TelephoneEventSender};
use mediaplane::media::dtmf::{DtmfDigit, DtmfGenerator, DtmfToneConfig};
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// How a key press leaves the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStyle {
    Rfc4733,
    Inband,
}

pub struct Keypad {
    pub socket: UdpSocket,
    remote: Option<SocketAddr>,
    codec: CodecKind,
    payload_type: u8,
    event_payload_type: u8,
    encoder: Box<dyn AudioEncoder>,
    decoder: Box<dyn AudioDecoder>,
    events: TelephoneEventSender,
    tones: DtmfGenerator,
    sequence: u16,
    timestamp: u32,
    /// Everything heard so far, decoded.
    pub heard: Vec<i16>,
    /// Audio still to be sent (see [`Keypad::speak`]).
    speech: std::collections::VecDeque<i16>,
}

impl Keypad {
    pub async fn bind(codec: CodecKind, payload_type: u8, event_payload_type: u8) -> Keypad {
        let rate = codec.audio_rate();
        Keypad {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            remote: None,
            codec,
            payload_type,
            event_payload_type,
            encoder: new_encoder(codec).unwrap(),
            decoder: new_decoder(codec).unwrap(),
            events: TelephoneEventSender::new(SenderConfig::new(codec.clock_rate())),
            tones: DtmfGenerator::new(rate, DtmfToneConfig::default()).unwrap(),
            sequence: 1,
            timestamp: 0,
            heard: Vec::new(),
            speech: std::collections::VecDeque::new(),
        }
    }

    /// Sends `pcm` (at the codec's audio rate) in real time; returns what
    /// was heard meanwhile.
    pub async fn speak(&mut self, pcm: &[i16]) -> Vec<i16> {
        let mark = self.heard.len();
        self.speech.extend(pcm.iter().copied());
        while !self.speech.is_empty() {
            self.tick(KeyStyle::Inband).await;
        }
        self.heard[mark..].to_vec()
    }

    /// Listens until `found` says what was heard so far (from the call's
    /// start) holds what it looks for, or `timeout`; true if found.
    pub async fn listen_until(
        &mut self,
        timeout: Duration,
        mut found: impl FnMut(&[i16]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            self.listen(Duration::from_millis(100)).await;
            if found(&self.heard) {
                return true;
            }
        }
        false
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Where the server wants our RTP (from its answer).
    pub fn connect(&mut self, remote: SocketAddr) {
        self.remote = Some(remote);
    }

    /// Presses `keys` one after the other, then keeps the line open until
    /// the last one is over; returns what was heard meanwhile.
    pub async fn press(&mut self, keys: &str, style: KeyStyle) -> Vec<i16> {
        let mark = self.heard.len();
        for key in keys.chars() {
            let digit = DtmfDigit::from_char(key).expect("a key");
            match style {
                KeyStyle::Rfc4733 => {
                    self.events
                        .start(digit, Duration::from_millis(100), 10)
                        .unwrap();
                    while !self.events.is_idle() {
                        self.tick(style).await;
                    }
                }
                KeyStyle::Inband => {
                    self.tones.start(digit);
                    while !self.tones.is_idle() {
                        self.tick(style).await;
                    }
                }
            }
        }
        self.heard[mark..].to_vec()
    }

    /// Sends silence for `duration`; returns what was heard meanwhile.
    pub async fn listen(&mut self, duration: Duration) -> Vec<i16> {
        let mark = self.heard.len();
        for _ in 0..duration.as_millis() / 20 {
            self.tick(KeyStyle::Inband).await;
        }
        self.heard[mark..].to_vec()
    }

    /// One 20 ms tick: one packet out, whatever arrives in the meantime in.
    async fn tick(&mut self, style: KeyStyle) {
        let remote = self.remote.expect("connected");
        let frame = (self.codec.audio_rate() / 50) as usize;
        let mut packet = [0u8; 1500];
        let event = match style {
            KeyStyle::Rfc4733 => self.events.poll_packet(self.timestamp),
            KeyStyle::Inband => None,
        };
        let len = match event {
            Some(event) => {
                header(
                    &mut packet,
                    event.marker,
                    self.event_payload_type,
                    self.sequence,
                    event.timestamp,
                );
                packet[12..16].copy_from_slice(&event.payload);
                16
            }
            None => {
                let mut pcm = vec![0i16; frame];
                if self.tones.is_idle() && !self.speech.is_empty() {
                    for sample in pcm.iter_mut() {
                        *sample = self.speech.pop_front().unwrap_or(0);
                    }
                } else {
                    self.tones.fill(&mut pcm);
                }
                header(
                    &mut packet,
                    false,
                    self.payload_type,
                    self.sequence,
                    self.timestamp,
                );
                12 + self.encoder.encode(&pcm, &mut packet[12..]).unwrap()
            }
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(self.codec.clock_rate() / 50);
        self.socket.send_to(&packet[..len], remote).await.unwrap();
        let until = Instant::now() + Duration::from_millis(20);
        let mut buf = [0u8; 1500];
        let mut out = vec![0i16; frame * 6];
        loop {
            match tokio::time::timeout_at(until, self.socket.recv_from(&mut buf)).await {
                Ok(Ok((n, _))) if n > 12 && buf[1] & 0x7f == self.payload_type => {
                    if let Ok(k) = self.decoder.decode(&buf[12..n], &mut out) {
                        self.heard.extend_from_slice(&out[..k]);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
}

fn header(packet: &mut [u8], marker: bool, payload_type: u8, sequence: u16, timestamp: u32) {
    packet[0] = 0x80;
    packet[1] = (u8::from(marker) << 7) | payload_type;
    packet[2..4].copy_from_slice(&sequence.to_be_bytes());
    packet[4..8].copy_from_slice(&timestamp.to_be_bytes());
    packet[8..12].copy_from_slice(&0x4b45_5950_u32.to_be_bytes());
}

/// The keys a tone detector hears in `pcm`.
pub fn detect_keys(pcm: &[i16], rate: u32) -> String {
    use mediaplane::media::dtmf::{DtmfDetector, DtmfEventKind};
    let mut detector = DtmfDetector::new(rate).unwrap();
    let mut keys = String::new();
    // Frame by frame, as a receiver would: the detector holds only a few
    // events between polls.
    for frame in pcm.chunks(160) {
        detector.push(frame);
        while let Some(event) = detector.poll_event() {
            if event.kind == DtmfEventKind::Begin {
                keys.push(event.digit.to_char());
            }
        }
    }
    keys
}
