//! A tiny scripted SIP user agent server for the load generator's own tests:
//! it answers INVITEs over UDP or TCP, echoes RTP, and reports what it saw.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::ua::{new_branch, take_stream_message, ReceivedMessage};

/// What the fake does with an INVITE.
#[derive(Clone, Debug)]
pub(crate) struct FakeUasConfig {
    /// INVITEs ignored before answering (to provoke Timer A).
    pub drop_first_invites: usize,
    /// Answer 100 and 180 only, and wait for a CANCEL.
    pub ring_only: bool,
    /// Final status other than 200.
    pub reject_with: Option<(u16, &'static str)>,
    /// Extra copies of the 200 sent while no ACK came (Timer G style).
    pub ok_retransmissions: u32,
    pub retransmit_interval: Duration,
    /// Hang up this long after the ACK.
    pub bye_after: Option<Duration>,
}

impl Default for FakeUasConfig {
    fn default() -> Self {
        FakeUasConfig {
            drop_first_invites: 0,
            ring_only: false,
            reject_with: None,
            ok_retransmissions: 0,
            retransmit_interval: Duration::from_millis(50),
            bye_after: None,
        }
    }
}

/// Something the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FakeEvent {
    Invite { call_id: String, branch: String },
    Ack { call_id: String, branch: String },
    Cancel { call_id: String },
    Bye { call_id: String },
    Options,
    Response { call_id: String, status: u16 },
}

#[derive(Clone)]
enum Replier {
    Udp(Arc<UdpSocket>, SocketAddr),
    Tcp(mpsc::UnboundedSender<Vec<u8>>),
}

impl Replier {
    async fn send(&self, text: &str) {
        match self {
            Replier::Udp(socket, to) => {
                let _ = socket.send_to(text.as_bytes(), to).await;
            }
            Replier::Tcp(tx) => {
                let _ = tx.send(text.as_bytes().to_vec());
            }
        }
    }
}

struct FakeCall {
    invite: ReceivedMessage,
    to_tag: String,
    final_sent: bool,
    acked: Arc<Notify>,
}

struct Core {
    config: FakeUasConfig,
    sip_addr: SocketAddr,
    rtp_addr: SocketAddr,
    invites_seen: Mutex<usize>,
    calls: Mutex<HashMap<String, FakeCall>>,
    events: mpsc::UnboundedSender<FakeEvent>,
}

pub(crate) struct FakeUas {
    pub udp_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
    events: mpsc::UnboundedReceiver<FakeEvent>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeUas {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeUas {
    pub async fn start(config: FakeUasConfig) -> FakeUas {
        let udp = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (events_tx, events) = mpsc::unbounded_channel();
        let core = Arc::new(Core {
            config,
            sip_addr: udp.local_addr().unwrap(),
            rtp_addr: rtp.local_addr().unwrap(),
            invites_seen: Mutex::new(0),
            calls: Mutex::new(HashMap::new()),
            events: events_tx,
        });
        let udp_addr = udp.local_addr().unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let rtp_echo = tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = rtp.recv_from(&mut buf).await {
                let _ = rtp.send_to(&buf[..n], from).await;
            }
        });
        let udp_core = core.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65535];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let data = Bytes::copy_from_slice(&buf[..n]);
                let replier = Replier::Udp(udp.clone(), from);
                handle(&udp_core, data, from, replier).await;
            }
        });
        let tcp_task = tokio::spawn(async move {
            while let Ok((stream, from)) = tcp.accept().await {
                let core = core.clone();
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.into_split();
                    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
                    let writer_task = tokio::spawn(async move {
                        while let Some(data) = rx.recv().await {
                            if writer.write_all(&data).await.is_err() {
                                return;
                            }
                        }
                    });
                    let mut buf = BytesMut::new();
                    loop {
                        while let Ok(Some(message)) = take_stream_message(&mut buf) {
                            handle(&core, message, from, Replier::Tcp(tx.clone())).await;
                        }
                        if !matches!(reader.read_buf(&mut buf).await, Ok(n) if n > 0) {
                            break;
                        }
                    }
                    writer_task.abort();
                });
            }
        });
        FakeUas {
            udp_addr,
            tcp_addr,
            events,
            tasks: vec![rtp_echo, udp_task, tcp_task],
        }
    }

    /// The next event, failing the test after `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> FakeEvent {
        tokio::time::timeout(timeout, self.events.recv())
            .await
            .expect("fake UAS event timed out")
            .expect("fake UAS stopped")
    }

    /// Skips events until one matches.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        wanted: impl Fn(&FakeEvent) -> bool,
    ) -> FakeEvent {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next_event(left).await;
            if wanted(&event) {
                return event;
            }
        }
    }

    /// Events already received, without waiting.
    pub fn pending_events(&mut self) -> Vec<FakeEvent> {
        let mut events = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            events.push(e);
        }
        events
    }
}

async fn handle(core: &Arc<Core>, data: Bytes, from: SocketAddr, replier: Replier) {
    let Ok(message) = ReceivedMessage::parse(data, from, Instant::now()) else {
        return;
    };
    let call_id = message.call_id().unwrap_or_default().to_string();
    let branch = message.top_via_branch().unwrap_or_default().to_string();
    if let Some(status) = message.status_code() {
        let _ = core.events.send(FakeEvent::Response { call_id, status });
        return;
    }
    match message.method().unwrap_or_default() {
        "INVITE" => {
            let _ = core.events.send(FakeEvent::Invite {
                call_id: call_id.clone(),
                branch,
            });
            {
                let mut seen = core.invites_seen.lock().unwrap();
                *seen += 1;
                if *seen <= core.config.drop_first_invites {
                    return;
                }
            }
            on_invite(core, message, call_id, replier).await;
        }
        "ACK" => {
            if let Some(call) = core.calls.lock().unwrap().get(&call_id) {
                call.acked.notify_one();
            }
            let _ = core.events.send(FakeEvent::Ack { call_id, branch });
        }
        "CANCEL" => {
            let _ = core.events.send(FakeEvent::Cancel {
                call_id: call_id.clone(),
            });
            replier
                .send(&response(&message, 200, "OK", "cancel", "", None))
                .await;
            let pending = {
                let mut calls = core.calls.lock().unwrap();
                calls.get_mut(&call_id).filter(|c| !c.final_sent).map(|c| {
                    c.final_sent = true;
                    (c.invite.clone(), c.to_tag.clone())
                })
            };
            if let Some((invite, tag)) = pending {
                let text = response(&invite, 487, "Request Terminated", &tag, "", None);
                replier.send(&text).await;
            }
        }
        "BYE" => {
            let _ = core.events.send(FakeEvent::Bye { call_id });
            replier
                .send(&response(&message, 200, "OK", "bye", "", None))
                .await;
        }
        "OPTIONS" => {
            let _ = core.events.send(FakeEvent::Options);
            replier
                .send(&response(&message, 200, "OK", "opt", "", None))
                .await;
        }
        _ => {
            let text = response(&message, 501, "Not Implemented", "x", "", None);
            replier.send(&text).await;
        }
    }
}

async fn on_invite(core: &Arc<Core>, invite: ReceivedMessage, call_id: String, replier: Replier) {
    let existing = core
        .calls
        .lock()
        .unwrap()
        .get(&call_id)
        .map(|c| c.to_tag.clone());
    if existing.is_some() {
        // A retransmission: the answer is already on its way.
        return;
    }
    let to_tag = format!("fake{:08x}", rand::random::<u32>());
    let acked = Arc::new(Notify::new());
    core.calls.lock().unwrap().insert(
        call_id.clone(),
        FakeCall {
            invite: invite.clone(),
            to_tag: to_tag.clone(),
            final_sent: false,
            acked: acked.clone(),
        },
    );
    replier
        .send(&response(&invite, 100, "Trying", "", "", None))
        .await;
    if core.config.ring_only {
        replier
            .send(&response(&invite, 180, "Ringing", &to_tag, "", None))
            .await;
        return;
    }
    if let Some(call) = core.calls.lock().unwrap().get_mut(&call_id) {
        call.final_sent = true;
    }
    if let Some((status, reason)) = core.config.reject_with {
        replier
            .send(&response(&invite, status, reason, &to_tag, "", None))
            .await;
        return;
    }
    let sdp = answer_sdp(core.rtp_addr, &invite.body_text());
    let contact = format!("Contact: <sip:fake@{}>\r\n", core.sip_addr);
    let ok = response(&invite, 200, "OK", &to_tag, &contact, Some(&sdp));
    replier.send(&ok).await;

    let core = core.clone();
    tokio::spawn(async move {
        let mut acked_in_time = false;
        for _ in 0..core.config.ok_retransmissions {
            if tokio::time::timeout(core.config.retransmit_interval, acked.notified())
                .await
                .is_ok()
            {
                acked_in_time = true;
                break;
            }
            replier.send(&ok).await;
        }
        let Some(delay) = core.config.bye_after else {
            return;
        };
        if !acked_in_time
            && tokio::time::timeout(Duration::from_secs(5), acked.notified())
                .await
                .is_err()
        {
            return;
        }
        tokio::time::sleep(delay).await;
        let bye = format!(
            "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch={branch}\r\n\
             From: {to};tag={to_tag}\r\nTo: {from}\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            target = invite
                .header("Contact")
                .map(super::ua::header_uri)
                .unwrap_or_default(),
            me = core.sip_addr,
            branch = new_branch(),
            to = invite.header("To").unwrap_or_default(),
            from = invite.header("From").unwrap_or_default(),
        );
        replier.send(&bye).await;
    });
}

/// Answers with the first payload type of the offer, RTP to the echo socket.
fn answer_sdp(rtp_addr: SocketAddr, offer: &str) -> String {
    let pt = offer
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|m| m.split_whitespace().nth(2))
        .unwrap_or("0");
    format!(
        "v=0\r\no=fake 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {pt}\r\na=sendrecv\r\n",
        rtp_addr.port()
    )
}

fn response(
    request: &ReceivedMessage,
    status: u16,
    reason: &str,
    to_tag: &str,
    extra: &str,
    body: Option<&str>,
) -> String {
    let mut text = format!("SIP/2.0 {status} {reason}\r\n");
    for via in request.header_values("Via") {
        text.push_str(&format!("Via: {via}\r\n"));
    }
    let to = request.header("To").unwrap_or_default();
    let to = if to_tag.is_empty() || request.to_tag().is_some() {
        to.to_string()
    } else {
        format!("{to};tag={to_tag}")
    };
    text.push_str(&format!(
        "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}",
        request.header("From").unwrap_or_default(),
        request.call_id().unwrap_or_default(),
        request.header("CSeq").unwrap_or_default(),
    ));
    match body {
        Some(body) => text.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => text.push_str("Content-Length: 0\r\n\r\n"),
    }
    text
}
