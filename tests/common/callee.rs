//! A called party for bridge tests: a SIP UAS on a UDP socket that answers
//! mediaplane's INVITEs in one codec, and an RTP endpoint that speaks it.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use mediaplane::codec::{new_decoder, new_encoder, CodecKind};
use mediaplane::loadgen::ua::ReceivedMessage;
use mediaplane::sip::sdp::SessionDescription;
use tokio::net::UdpSocket;
use tokio::time::Instant;

pub struct Callee {
    pub socket: UdpSocket,
    pub codec: CodecKind,
    pub rtp: UdpSocket,
}

/// A call the callee answered.
#[derive(Clone, Debug)]
pub struct Answered {
    pub invite: ReceivedMessage,
    pub to_tag: String,
    /// Where mediaplane wants our RTP.
    pub remote_rtp: SocketAddr,
    pub payload_type: u8,
}

impl Callee {
    pub async fn bind(codec: CodecKind) -> Callee {
        Callee {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            codec,
            rtp: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// The next SIP message that is a request (responses to our own
    /// requests are skipped).
    pub async fn next_request(&self, timeout: Duration) -> ReceivedMessage {
        loop {
            let message = self.next_message(timeout).await;
            if message.is_request() {
                return message;
            }
        }
    }

    pub async fn next_message(&self, timeout: Duration) -> ReceivedMessage {
        let mut buf = vec![0u8; 65536];
        let (n, from) = tokio::time::timeout(timeout, self.socket.recv_from(&mut buf))
            .await
            .expect("a SIP message in time")
            .unwrap();
        ReceivedMessage::parse(Bytes::copy_from_slice(&buf[..n]), from, Instant::now()).unwrap()
    }

    /// The next request with `method`, answering retransmissions and other
    /// methods on the way is left to the caller: they are skipped.
    pub async fn expect(&self, method: &str, timeout: Duration) -> ReceivedMessage {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let request = self.next_request(left).await;
            if request.method() == Some(method) {
                return request;
            }
        }
    }

    /// Sends a response to `request`, with `to_tag` and an optional SDP.
    pub async fn respond(
        &self,
        request: &ReceivedMessage,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        sdp: Option<&str>,
    ) {
        self.respond_with(request, code, reason, to_tag, sdp, &[])
            .await
    }

    /// `respond` with extra header lines (e.g. Record-Route).
    pub async fn respond_with(
        &self,
        request: &ReceivedMessage,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        sdp: Option<&str>,
        extra: &[String],
    ) {
        let mut text = format!("SIP/2.0 {code} {reason}\r\n");
        for line in extra {
            text.push_str(line);
            text.push_str("\r\n");
        }
        for via in request.header_values("Via") {
            text.push_str(&format!("Via: {via}\r\n"));
        }
        let to = request.header("To").unwrap();
        let to = match to_tag {
            Some(tag) if !to.contains(";tag=") => format!("{to};tag={tag}"),
            _ => to.to_string(),
        };
        text.push_str(&format!(
            "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:callee@{}>\r\n",
            request.header("From").unwrap(),
            request.call_id().unwrap(),
            request.header("CSeq").unwrap(),
            self.addr(),
        ));
        match sdp {
            Some(body) => text.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => text.push_str("Content-Length: 0\r\n\r\n"),
        }
        self.socket
            .send_to(text.as_bytes(), request.source)
            .await
            .unwrap();
    }

    /// Our SDP answer to `offer` in our one codec, with `direction`.
    pub fn answer_sdp(&self, offer: &str, direction: &str) -> (String, u8, SocketAddr) {
        let offer = SessionDescription::parse(offer).expect("mediaplane's offer parses");
        let media = &offer.media[0];
        let payload_type = media
            .payload_types()
            .find(|pt| match media.rtpmaps.get(pt) {
                Some(map) => {
                    map.encoding_name
                        .eq_ignore_ascii_case(self.codec.encoding_name())
                        && map.clock_rate == self.codec.clock_rate()
                }
                None => CodecKind::from_static_payload_type(*pt) == Some(self.codec),
            })
            .unwrap_or_else(|| panic!("{:?} not offered", self.codec));
        let ip = offer
            .connection_for(media)
            .and_then(|c| c.ip())
            .expect("offer has an address");
        let remote = SocketAddr::new(ip, media.port);
        let channels = if self.codec.channels() == 2 { "/2" } else { "" };
        let port = self.rtp.local_addr().unwrap().port();
        let sdp = format!(
            "v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP {payload_type}\r\n\
             a=rtpmap:{payload_type} {}/{}{channels}\r\na=ptime:20\r\na={direction}\r\n",
            self.codec.encoding_name(),
            self.codec.clock_rate(),
        );
        (sdp, payload_type, remote)
    }

    /// Registers this callee's address as a contact of `user` (digest auth,
    /// answering the server's first challenge) and returns the 200.
    pub async fn register(
        &self,
        server: SocketAddr,
        user: &str,
        password: &str,
    ) -> ReceivedMessage {
        self.register_as(server, user, password, self.addr()).await
    }

    /// [`Callee::register`] from behind a NAT: the Contact and Via name
    /// `private`, an address the server cannot reach; packets still come
    /// from (and must go to) this callee's socket.
    pub async fn register_as(
        &self,
        server: SocketAddr,
        user: &str,
        password: &str,
        private: SocketAddr,
    ) -> ReceivedMessage {
        use mediaplane::sip::registrar::digest::{
            expected_response, ha1, parse_challenge, QopAuth,
        };
        let call_id = format!("reg{}", rand_tag());
        let uri = format!("sip:{server}");
        let send = |cseq: u32, authorization: Option<String>| {
            let mut text = format!(
                "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {me};rport;branch=z9hG4bKr{}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{user}@{server}>;tag=r{cseq}\r\n\
                 To: <sip:{user}@{server}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n\
                 Contact: <sip:{user}@{me}>\r\nExpires: 600\r\n",
                rand_tag(),
                me = private,
            );
            if let Some(a) = authorization {
                text.push_str(&format!("Authorization: {a}\r\n"));
            }
            text.push_str("Content-Length: 0\r\n\r\n");
            text
        };
        self.socket
            .send_to(send(1, None).as_bytes(), server)
            .await
            .unwrap();
        let challenged = self.next_message(Duration::from_secs(5)).await;
        assert_eq!(challenged.status_code(), Some(401));
        let challenge = parse_challenge(challenged.header("WWW-Authenticate").unwrap()).unwrap();
        let qop = QopAuth {
            nc_text: "00000001".into(),
            nc: 1,
            cnonce: format!("{:08x}", rand_tag()),
        };
        let key = ha1(challenge.algorithm, user, &challenge.realm, password);
        let response = expected_response(
            challenge.algorithm,
            &key,
            &challenge.nonce,
            Some(&qop),
            "REGISTER",
            &uri,
        );
        let authorization = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={}, qop=auth, nc=00000001, cnonce=\"{}\"{}",
            challenge.realm,
            challenge.nonce,
            challenge.algorithm.token(),
            qop.cnonce,
            challenge
                .opaque
                .as_ref()
                .map(|o| format!(", opaque=\"{o}\""))
                .unwrap_or_default(),
        );
        self.socket
            .send_to(send(2, Some(authorization)).as_bytes(), server)
            .await
            .unwrap();
        let ok = self.next_message(Duration::from_secs(5)).await;
        assert_eq!(ok.status_code(), Some(200), "{}", ok.start_line());
        ok
    }

    /// Waits for an INVITE and answers it: 180, then 200 with our SDP.
    pub async fn answer(&self, timeout: Duration) -> Answered {
        let invite = self.expect("INVITE", timeout).await;
        self.answer_invite(invite).await
    }

    pub async fn answer_invite(&self, invite: ReceivedMessage) -> Answered {
        let to_tag = format!("callee{}", rand_tag());
        self.respond(&invite, 180, "Ringing", Some(&to_tag), None)
            .await;
        let (sdp, payload_type, remote_rtp) = self.answer_sdp(&invite.body_text(), "sendrecv");
        self.respond(&invite, 200, "OK", Some(&to_tag), Some(&sdp))
            .await;
        Answered {
            invite,
            to_tag,
            remote_rtp,
            payload_type,
        }
    }

    /// Takes the CANCEL of `invite` (ringing with `to_tag`): 200 to it, 487
    /// to the INVITE, then the ACK of that 487. Returns the CANCEL.
    pub async fn accept_cancel(&self, invite: &ReceivedMessage, to_tag: &str) -> ReceivedMessage {
        let wait = Duration::from_secs(5);
        let cancel = self.expect("CANCEL", wait).await;
        self.respond(&cancel, 200, "OK", Some(to_tag), None).await;
        self.respond(invite, 487, "Request Terminated", Some(to_tag), None)
            .await;
        self.expect("ACK", wait).await;
        cancel
    }

    /// Sends BYE in the dialog of `call` (we are its UAS).
    pub async fn bye(&self, call: &Answered) {
        let invite = &call.invite;
        let contact = invite.header("Contact").unwrap();
        let target = contact.trim_start_matches('<').split('>').next().unwrap();
        let text = format!(
            "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKcb{}\r\n\
             Max-Forwards: 70\r\nFrom: {};tag={}\r\nTo: {}\r\nCall-ID: {}\r\n\
             CSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n",
            self.addr(),
            rand_tag(),
            invite.header("To").unwrap(),
            call.to_tag,
            invite.header("From").unwrap(),
            invite.call_id().unwrap(),
        );
        self.socket
            .send_to(text.as_bytes(), invite.source)
            .await
            .unwrap();
    }
}

fn rand_tag() -> u32 {
    rand::random::<u32>()
}

/// One side of an audio exchange: sends a tone in its codec at the 20 ms
/// pace for `frames` frames while collecting and decoding what arrives.
pub async fn exchange_tone(
    socket: &UdpSocket,
    codec: CodecKind,
    payload_type: u8,
    remote: SocketAddr,
    hz: f64,
    frames: u32,
) -> Vec<i16> {
    exchange_tone_from(socket, codec, payload_type, remote, hz, 0..frames).await
}

/// [`exchange_tone`] for the frames `frames` of one continuing stream:
/// sequence numbers, timestamps and the tone's phase go on from an earlier
/// exchange that ended at `frames.start`.
pub async fn exchange_tone_from(
    socket: &UdpSocket,
    codec: CodecKind,
    payload_type: u8,
    remote: SocketAddr,
    hz: f64,
    frames: std::ops::Range<u32>,
) -> Vec<i16> {
    let rate = codec.audio_rate() as usize;
    let frame = rate / 50;
    let ts_step = codec.clock_rate() / 50;
    let mut encoder = new_encoder(codec).unwrap();
    let mut decoder = new_decoder(codec).unwrap();
    let (mut packet, mut buf) = ([0u8; 1500], [0u8; 1500]);
    let mut out = vec![0i16; frame];
    let mut heard = Vec::new();
    let start = Instant::now();
    let first = frames.start;
    for n in frames {
        let pcm: Vec<i16> = (n as usize * frame..(n as usize + 1) * frame)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()) as i16
            })
            .collect();
        packet[0] = 0x80;
        packet[1] = payload_type;
        packet[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        packet[4..8].copy_from_slice(&(n * ts_step).to_be_bytes());
        packet[8..12].copy_from_slice(&0x5eed_u32.to_be_bytes());
        let len = encoder.encode(&pcm, &mut packet[12..]).unwrap();
        socket.send_to(&packet[..12 + len], remote).await.unwrap();
        let tick = start + Duration::from_millis(20 * (u64::from(n - first) + 1));
        loop {
            match tokio::time::timeout_at(tick, socket.recv_from(&mut buf)).await {
                Ok(Ok((len, _))) if len > 12 && buf[1] & 0x7f == payload_type => {
                    if let Ok(n) = decoder.decode(&buf[12..len], &mut out) {
                        heard.extend_from_slice(&out[..n]);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    heard
}

/// The share of `samples`' energy at `hz` (1.0 = a pure tone), measured
/// with a Goertzel filter over the last `window` samples.
pub fn tone_purity(samples: &[i16], rate: u32, hz: f64, window: usize) -> f64 {
    if samples.len() < window {
        return 0.0;
    }
    let tail = &samples[samples.len() - window..];
    let w = 2.0 * std::f64::consts::PI * hz / rate as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut energy = 0.0f64;
    for &x in tail {
        let x = x as f64;
        energy += x * x;
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // A sine of amplitude A over N samples gives power (A·N/2)²; its
    // energy is A²·N/2, so the ratio below is 1 for a pure tone.
    if energy == 0.0 {
        return 0.0;
    }
    2.0 * power / (window as f64 * energy)
}

/// `tone_purity` as a signal-to-noise ratio in dB: the tone's energy over
/// everything else's.
pub fn tone_snr_db(samples: &[i16], rate: u32, hz: f64, window: usize) -> f64 {
    let purity = tone_purity(samples, rate, hz, window).clamp(0.0, 1.0);
    10.0 * (purity / (1.0 - purity).max(1e-12)).log10()
}
