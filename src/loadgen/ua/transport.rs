//! The user agent's SIP transport: one UDP socket, or one TCP connection
//! framed by Content-Length (RFC 3261 §18.3).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UdpSocket;
use tokio::sync::Mutex;

use super::message::{find_subslice, full_header_name};

/// Largest header section accepted on a stream before the peer is deemed broken.
const MAX_HEAD_LEN: usize = 64 * 1024;
/// Largest body accepted on a stream.
const MAX_BODY_LEN: usize = 1024 * 1024;

/// Why a byte stream could not be cut into messages.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FramingError {
    #[error("header section longer than {MAX_HEAD_LEN} bytes")]
    HeadTooLong,
    #[error("invalid Content-Length: {0}")]
    BadContentLength(String),
}

/// Takes one complete message off the front of `buf`, if there is one.
/// Leading CRLFs (keep-alives, RFC 5626 §4.4.1) are skipped.
pub fn take_stream_message(buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
    let leading = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    buf.advance(leading);
    let Some(head_end) = find_subslice(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD_LEN {
            return Err(FramingError::HeadTooLong);
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut body_len = 0usize;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if full_header_name(name.trim()).eq_ignore_ascii_case("Content-Length") {
            // On a stream a missing length means no body (RFC 3261 §18.3 makes it mandatory).
            body_len = value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= MAX_BODY_LEN)
                .ok_or_else(|| FramingError::BadContentLength(value.trim().to_string()))?;
        }
    }
    let total = head_end + 4 + body_len;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(buf.split_to(total).freeze()))
}

/// The sending half, shared by callers and the receive task.
#[derive(Debug)]
pub(crate) enum SipSender {
    Udp(Arc<UdpSocket>),
    Tcp(Mutex<OwnedWriteHalf>),
}

impl SipSender {
    /// Sends to `dest` over UDP; over TCP the connection decides.
    pub async fn send(&self, data: &[u8], dest: SocketAddr) -> io::Result<()> {
        match self {
            SipSender::Udp(socket) => socket.send_to(data, dest).await.map(|_| ()),
            SipSender::Tcp(writer) => writer.lock().await.write_all(data).await,
        }
    }
}

/// The receiving half, owned by the receive task.
#[derive(Debug)]
pub(crate) enum SipReceiver {
    Udp {
        socket: Arc<UdpSocket>,
        buf: Vec<u8>,
    },
    Tcp {
        reader: OwnedReadHalf,
        peer: SocketAddr,
        buf: BytesMut,
    },
}

impl SipReceiver {
    /// The next datagram or framed message; `Ok(None)` when the stream closed.
    pub async fn next(&mut self) -> io::Result<Option<(Bytes, SocketAddr)>> {
        match self {
            SipReceiver::Udp { socket, buf } => loop {
                match socket.recv_from(buf).await {
                    Ok((len, from)) => {
                        return Ok(Some((Bytes::copy_from_slice(&buf[..len]), from)))
                    }
                    // ICMP errors surface here on some systems; the socket stays usable.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
                        ) => {}
                    Err(e) => return Err(e),
                }
            },
            SipReceiver::Tcp { reader, peer, buf } => loop {
                match take_stream_message(buf) {
                    Ok(Some(message)) => return Ok(Some((message, *peer))),
                    Ok(None) => {}
                    Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                }
                if reader.read_buf(buf).await? == 0 {
                    return Ok(None);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_framing_by_content_length() {
        let mut buf = BytesMut::from(
            &b"\r\n\r\nSIP/2.0 200 OK\r\nl: 3\r\n\r\nabcSIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\nSIP/2.0 1"[..],
        );
        let first = take_stream_message(&mut buf).unwrap().unwrap();
        assert!(first.starts_with(b"SIP/2.0 200 OK") && first.ends_with(b"abc"));
        let second = take_stream_message(&mut buf).unwrap().unwrap();
        assert!(second.ends_with(b"Content-Length: 0\r\n\r\n"));
        assert_eq!(take_stream_message(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], b"SIP/2.0 1");
    }

    #[test]
    fn partial_body_waits_and_bad_lengths_fail() {
        let mut buf = BytesMut::from(&b"SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..]);
        assert_eq!(take_stream_message(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"defghij");
        assert!(take_stream_message(&mut buf).unwrap().is_some());
        assert!(buf.is_empty());

        let mut bad = BytesMut::from(&b"SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n"[..]);
        assert!(matches!(
            take_stream_message(&mut bad),
            Err(FramingError::BadContentLength(_))
        ));
        let mut endless = BytesMut::from(&vec![b'a'; MAX_HEAD_LEN + 1][..]);
        assert_eq!(
            take_stream_message(&mut endless),
            Err(FramingError::HeadTooLong)
        );
    }
}
