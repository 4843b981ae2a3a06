//! Splits a TCP byte stream into SIP messages by Content-Length
//! (RFC 3261 §18.3). Sans-IO: bytes in, whole messages out.

use crate::sip::message::find_head_end;

/// Why a stream must be closed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FramingError {
    #[error("message head over {0} bytes")]
    HeadTooLarge(usize),
    #[error("Content-Length {0} over the limit")]
    BodyTooLarge(usize),
}

/// Accumulates stream bytes and yields complete messages.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    max_message: usize,
    /// How far the buffer has been searched for the end of the head, so a
    /// head arriving a byte at a time is not rescanned from the start.
    scanned: usize,
}

impl StreamFramer {
    pub fn new(max_message: usize) -> Self {
        StreamFramer {
            buffer: Vec::with_capacity(4096),
            max_message,
            scanned: 0,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The next complete message, if the buffer holds one. Keep-alive CRLFs
    /// between messages (RFC 5626 §3.5.1) are skipped.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let leading = self
            .buffer
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if leading > 0 {
            self.buffer.drain(..leading);
            self.scanned = 0;
        }
        // Resume a few bytes back: the separator may straddle two reads.
        let from = self.scanned.saturating_sub(3);
        let Some((head_end, _)) = find_head_end(&self.buffer[from..]).map(|(e, l)| (e + from, l))
        else {
            self.scanned = self.buffer.len();
            if self.buffer.len() > self.max_message {
                return Err(FramingError::HeadTooLarge(self.max_message));
            }
            return Ok(None);
        };
        let body_len = content_length(&self.buffer[..head_end]).unwrap_or(0);
        let total = head_end
            .checked_add(body_len)
            .filter(|t| *t <= self.max_message)
            .ok_or(FramingError::BodyTooLarge(body_len))?;
        if self.buffer.len() < total {
            return Ok(None);
        }
        let message: Vec<u8> = self.buffer.drain(..total).collect();
        self.scanned = 0;
        Ok(Some(message))
    }
}

/// Reads Content-Length (or its compact form `l`) from a message head. A
/// missing or broken value frames as 0 and the decoder then answers 400.
fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn frames_split_across_reads_and_back_to_back() {
        let mut framer = StreamFramer::new(65535);
        let mut stream = MSG.to_vec();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(MSG);
        let (a, b) = stream.split_at(30);
        framer.push(a);
        assert_eq!(framer.next_message().unwrap(), None);
        framer.push(b);
        assert_eq!(framer.next_message().unwrap().unwrap(), MSG);
        assert_eq!(framer.next_message().unwrap().unwrap(), MSG);
        assert_eq!(framer.next_message().unwrap(), None);
    }

    #[test]
    fn compact_length_and_missing_length() {
        let mut framer = StreamFramer::new(65535);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhiOPTIONS sip:a@b SIP/2.0\r\n\r\n");
        assert!(framer.next_message().unwrap().unwrap().ends_with(b"hi"));
        assert!(framer
            .next_message()
            .unwrap()
            .unwrap()
            .ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn a_head_sent_byte_by_byte_frames_and_huge_lengths_do_not_overflow() {
        let mut framer = StreamFramer::new(65535);
        for (i, b) in MSG.iter().enumerate() {
            framer.push(&[*b]);
            let got = framer.next_message().unwrap();
            assert_eq!(got.is_some(), i == MSG.len() - 1);
        }
        let mut framer = StreamFramer::new(65535);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 18446744073709551615\r\n\r\n");
        assert!(matches!(
            framer.next_message(),
            Err(FramingError::BodyTooLarge(_))
        ));
    }

    #[test]
    fn oversized_input_is_an_error() {
        let mut framer = StreamFramer::new(100);
        framer.push(&[b'a'; 200]);
        assert_eq!(framer.next_message(), Err(FramingError::HeadTooLarge(100)));
        let mut framer = StreamFramer::new(100);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 999999\r\n\r\n");
        assert_eq!(
            framer.next_message(),
            Err(FramingError::BodyTooLarge(999999))
        );
    }
}
