//! An SDES-SRTP caller over TLS for the tests: a raw INVITE offering
//! `RTP/SAVP` with our `a=crypto`, and a PCMU tone sent and heard under
//! SRTP with the keys of the answer.

use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::codec::{new_decoder, new_encoder, CodecKind};
use mediaplane::media::srtp::{CryptoAttribute, SrtpSession, SrtpSuite};
use mediaplane::sip::sdp::{SessionDescription, CRYPTO};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::tls::{header, status, TlsSipClient};

/// The SSRC of the caller's stream.
pub const CALLER_SSRC: u32 = 0x5ec0_0001;

/// An SDP offer of PCMU at `rtp` in `profile`, with `crypto` lines.
pub fn offer(rtp: SocketAddr, profile: &str, crypto: &[String]) -> String {
    let mut sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} {profile} 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n",
        ip = rtp.ip(),
        port = rtp.port(),
    );
    for line in crypto {
        sdp.push_str(&format!("a=crypto:{line}\r\n"));
    }
    sdp
}

/// An INVITE over `client` to `uri` carrying `sdp`; the final response.
pub async fn invite(client: &mut TlsSipClient, uri: &str, call_id: &str, sdp: &str) -> String {
    let local = client.local;
    client
        .send(&format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/TLS {local};branch=z9hG4bK-inv-{call_id};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:tester@{local}>;tag=caller\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:tester@{local};transport=tls>\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ))
        .await;
    client.final_response(Duration::from_secs(10)).await
}

/// An in-dialog request (ACK, BYE) of the caller's dialog.
pub fn in_dialog(method: &str, cseq: u32, ok: &str, local: SocketAddr, call_id: &str) -> String {
    let target = header(ok, "Contact").unwrap();
    let target = target.trim_start_matches('<').trim_end_matches('>');
    format!(
        "{method} {target} SIP/2.0\r\n\
         Via: SIP/2.0/TLS {local};branch=z9hG4bK-{method}-{call_id}-{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@{local}>;tag=caller\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n",
        to = header(ok, "To").unwrap(),
    )
}

/// The SDP body of a message.
pub fn body(message: &str) -> SessionDescription {
    let text = message.split_once("\r\n\r\n").unwrap().1;
    SessionDescription::parse(text).unwrap()
}

/// Where the answer wants RTP, and its one `a=crypto` line.
pub fn answered(ok: &str) -> (SocketAddr, CryptoAttribute) {
    let sdp = body(ok);
    let media = &sdp.media[0];
    assert_eq!(media.protocol, "RTP/SAVP", "{ok}");
    let ip = sdp.connection.as_ref().unwrap().address.parse().unwrap();
    let line = media.attribute(CRYPTO).expect("a=crypto in the answer");
    let crypto = CryptoAttribute::parse(line.value.as_deref().unwrap()).unwrap();
    (SocketAddr::new(ip, media.port), crypto)
}

/// A caller over TLS with an SRTP call up: its RTP socket, the server's
/// RTP address and the SRTP session of the keys agreed.
pub struct SrtpCall {
    pub rtp: UdpSocket,
    pub remote: SocketAddr,
    pub srtp: SrtpSession,
    pub ok: String,
    pub call_id: String,
}

impl SrtpCall {
    /// Sends BYE over `client`; its final status.
    pub async fn hang_up(&self, client: &mut TlsSipClient) -> u16 {
        hang_up(client, &self.ok, &self.call_id).await
    }
}

/// Sends BYE in the dialog the 200 `ok` set up; its final status.
pub async fn hang_up(client: &mut TlsSipClient, ok: &str, call_id: &str) -> u16 {
    let bye = in_dialog("BYE", 2, ok, client.local, call_id);
    client.send(&bye).await;
    status(&client.final_response(Duration::from_secs(5)).await)
}

/// Calls `uri` offering SRTP with `suite`, ACKs the 200.
pub async fn srtp_call(
    client: &mut TlsSipClient,
    uri: &str,
    call_id: &str,
    suite: SrtpSuite,
) -> SrtpCall {
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ours = CryptoAttribute::generate(1, suite).unwrap();
    let sdp = offer(rtp.local_addr().unwrap(), "RTP/SAVP", &[ours.to_string()]);
    let ok = invite(client, uri, call_id, &sdp).await;
    assert_eq!(status(&ok), 200, "{ok}");
    let (remote, theirs) = answered(&ok);
    assert_eq!(theirs.tag, 1);
    assert_eq!(theirs.suite, suite);
    let local = client.local;
    client.send(&in_dialog("ACK", 1, &ok, local, call_id)).await;
    SrtpCall {
        rtp,
        remote,
        srtp: SrtpSession::from_attributes(&ours, &theirs).unwrap(),
        ok,
        call_id: call_id.to_string(),
    }
}

/// What an SRTP exchange saw.
#[derive(Default)]
pub struct Heard {
    pub pcm: Vec<i16>,
    /// Packets that arrived and unprotected.
    pub unprotected: u32,
    /// Packets that arrived in clear RTP (must stay 0).
    pub refused: u32,
}

/// Sends `frames` of a `hz` PCMU tone under SRTP at the 20 ms pace (the
/// frames `first..`), and decodes what comes back. `tamper(n, packet)`
/// may send extra datagrams (corrupt or replayed) after frame `n`.
pub async fn exchange(
    call: &mut SrtpCall,
    hz: f64,
    frames: std::ops::Range<u32>,
    mut tamper: impl FnMut(u32, &[u8]) -> Option<Vec<u8>>,
) -> Heard {
    let mut encoder = new_encoder(CodecKind::Pcmu).unwrap();
    let mut decoder = new_decoder(CodecKind::Pcmu).unwrap();
    let (mut plain, mut protected, mut buf, mut back) =
        ([0u8; 1500], [0u8; 1600], [0u8; 1600], [0u8; 1600]);
    let mut out = [0i16; 160];
    let mut heard = Heard::default();
    let start = Instant::now();
    let first = frames.start;
    for n in frames {
        let pcm: Vec<i16> = (n as usize * 160..(n as usize + 1) * 160)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
            .collect();
        plain[0] = 0x80;
        plain[1] = 0;
        plain[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        plain[4..8].copy_from_slice(&(n * 160).to_be_bytes());
        plain[8..12].copy_from_slice(&CALLER_SSRC.to_be_bytes());
        let len = 12 + encoder.encode(&pcm, &mut plain[12..]).unwrap();
        let len = call
            .srtp
            .protect_rtp(&plain[..len], &mut protected)
            .unwrap();
        call.rtp
            .send_to(&protected[..len], call.remote)
            .await
            .unwrap();
        if let Some(extra) = tamper(n, &protected[..len]) {
            call.rtp.send_to(&extra, call.remote).await.unwrap();
        }
        let tick = start + Duration::from_millis(20 * (u64::from(n - first) + 1));
        loop {
            match tokio::time::timeout_at(tick, call.rtp.recv_from(&mut buf)).await {
                Ok(Ok((len, _))) => match call.srtp.unprotect_rtp(&buf[..len], &mut back) {
                    Ok(plain_len) if plain_len > 12 && back[1] & 0x7f == 0 => {
                        heard.unprotected += 1;
                        if let Ok(n) = decoder.decode(&back[12..plain_len], &mut out) {
                            heard.pcm.extend_from_slice(&out[..n]);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => heard.refused += 1,
                },
                Ok(Err(_)) => {}
                Err(_) => break,
            }
        }
    }
    heard
}
