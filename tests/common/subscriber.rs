//! A phone that subscribes to message-waiting (RFC 3842) in raw SIP over
//! UDP: SUBSCRIBE with or without digest credentials, NOTIFYs answered 200.

use std::net::SocketAddr;
use std::time::Duration;

use mediaplane::sip::registrar::digest::{self, QopAuth};
use tokio::net::UdpSocket;

use super::TestServer;

const WAIT: Duration = Duration::from_secs(5);

/// A phone on a UDP socket of its own, speaking raw SIP.
pub struct Phone {
    socket: UdpSocket,
    pub server: SocketAddr,
    /// CSeq of the last NOTIFY taken, to skip its retransmissions.
    last_notify: std::sync::Mutex<Option<String>>,
}

impl Phone {
    pub async fn new(server: &TestServer) -> Phone {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Phone {
            socket,
            server: server.sip_addr(),
            last_notify: std::sync::Mutex::new(None),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    pub async fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.server)
            .await
            .unwrap();
    }

    /// The next datagram for which `wanted` holds; others (retransmissions)
    /// are skipped. Panics after [`WAIT`].
    pub async fn next(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut buf = vec![0u8; 65_535];
        loop {
            let (n, _) = tokio::time::timeout_at(deadline, self.socket.recv_from(&mut buf))
                .await
                .expect("a datagram in time")
                .unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if wanted(&text) {
                return text;
            }
        }
    }

    pub async fn response(&self, method: &str) -> String {
        self.next(|m| m.starts_with("SIP/2.0") && cseq_method(m) == Some(method))
            .await
    }

    /// The next NOTIFY, answered 200.
    pub async fn notify(&self) -> String {
        loop {
            let notify = self.next(|m| m.starts_with("NOTIFY ")).await;
            self.send(&ok_for(&notify)).await;
            let cseq = header(&notify, "CSeq").map(str::to_string);
            let mut last = self.last_notify.lock().unwrap();
            // A retransmission (our 200 crossed it) is answered again, not
            // taken for news.
            if *last != cseq {
                *last = cseq;
                return notify;
            }
        }
    }
}

pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.split("\r\n\r\n").next()?.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

pub fn status(message: &str) -> u16 {
    message
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

pub fn cseq_method(message: &str) -> Option<&str> {
    header(message, "CSeq")?.split_whitespace().nth(1)
}

pub fn tag(value: &str) -> Option<&str> {
    value
        .split(";tag=")
        .nth(1)
        .map(|t| t.split(';').next().unwrap_or(t))
}

pub fn body(message: &str) -> &str {
    message.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// 200 to a request, its headers copied (RFC 3261 §8.2.6.2).
pub fn ok_for(request: &str) -> String {
    let mut text = String::from("SIP/2.0 200 OK\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = header(request, name) {
            text.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

/// A SUBSCRIBE's parts.
pub struct Subscribe {
    pub user: String,
    pub call_id: String,
    pub to_tag: Option<String>,
    pub cseq: u32,
    pub event: String,
    pub expires: u32,
    pub extra: String,
}

impl Subscribe {
    pub fn new(user: &str, call_id: &str) -> Subscribe {
        Subscribe {
            user: user.into(),
            call_id: call_id.into(),
            to_tag: None,
            cseq: 1,
            event: "message-summary".into(),
            expires: 600,
            extra: String::new(),
        }
    }

    pub fn uri(&self, phone: &Phone) -> String {
        format!("sip:{}@{}", self.user, phone.server)
    }

    pub fn render(&self, phone: &Phone) -> String {
        let to_tag = self
            .to_tag
            .as_ref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        format!(
            "SUBSCRIBE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK{call_id}-{cseq};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:phone@{me}>;tag=ph1\r\n\
             To: <{uri}>{to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} SUBSCRIBE\r\n\
             Contact: <sip:phone@{me}>\r\n\
             Event: {event}\r\n\
             Expires: {expires}\r\n\
             Accept: application/simple-message-summary\r\n\
             {extra}Content-Length: 0\r\n\r\n",
            uri = self.uri(phone),
            me = phone.addr(),
            call_id = self.call_id,
            cseq = self.cseq,
            event = self.event,
            expires = self.expires,
            extra = self.extra,
        )
    }
}

pub fn authorization(challenged: &str, uri: &str, user: &str, password: &str) -> String {
    let challenge = digest::parse_challenge(header(challenged, "WWW-Authenticate").unwrap())
        .expect("a digest challenge");
    let ha1 = digest::ha1(challenge.algorithm, user, &challenge.realm, password);
    let qop = QopAuth {
        nc_text: "00000001".into(),
        nc: 1,
        cnonce: "0a4f113b".into(),
    };
    let response = digest::expected_response(
        challenge.algorithm,
        &ha1,
        &challenge.nonce,
        Some(&qop),
        "SUBSCRIBE",
        uri,
    );
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm={}, qop=auth, nc=00000001, cnonce=\"0a4f113b\", \
         opaque=\"{}\"\r\n",
        challenge.realm,
        challenge.nonce,
        challenge.algorithm.token(),
        challenge.opaque.unwrap_or_default()
    )
}
