//! RTP fixed-header parsing for the packet path (RFC 3550 §5.1).
//!
//! Written here rather than taken from `rtp::header::Header::unmarshal`: that
//! one allocates per packet (CSRC list, extension buffers) and panics on a
//! truncated header extension, and this runs on every datagram a stranger
//! can send. This borrows from the datagram and checks every length.

/// The fields of an RTP header the media path uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Why a datagram is not an RTP packet we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpParseError {
    TooShort,
    BadVersion,
    BadExtension,
    BadPadding,
}

const FIXED: usize = 12;

/// Parses the header and returns it with the payload (CSRCs, extension and
/// padding removed).
pub fn parse(datagram: &[u8]) -> Result<(RtpHeader, &[u8]), RtpParseError> {
    if datagram.len() < FIXED {
        return Err(RtpParseError::TooShort);
    }
    let b0 = datagram[0];
    if b0 >> 6 != 2 {
        return Err(RtpParseError::BadVersion);
    }
    let padding = b0 & 0x20 != 0;
    let extension = b0 & 0x10 != 0;
    let csrc_count = (b0 & 0x0f) as usize;
    let mut offset = FIXED + 4 * csrc_count;
    if datagram.len() < offset {
        return Err(RtpParseError::TooShort);
    }
    if extension {
        // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words.
        let words = datagram
            .get(offset + 2..offset + 4)
            .ok_or(RtpParseError::BadExtension)?;
        let length = u16::from_be_bytes([words[0], words[1]]) as usize * 4;
        offset += 4 + length;
        if datagram.len() < offset {
            return Err(RtpParseError::BadExtension);
        }
    }
    let mut end = datagram.len();
    if padding {
        // RFC 3550 §5.1: the last octet counts the padding, itself included.
        let pad = datagram[end - 1] as usize;
        if pad == 0 || pad > end - offset {
            return Err(RtpParseError::BadPadding);
        }
        end -= pad;
    }
    let header = RtpHeader {
        marker: datagram[1] & 0x80 != 0,
        payload_type: datagram[1] & 0x7f,
        sequence: u16::from_be_bytes([datagram[2], datagram[3]]),
        timestamp: u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]),
        ssrc: u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]),
    };
    Ok((header, &datagram[offset..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(b0: u8, extra: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            b0,
            0x80 | 8,
            0x12,
            0x34,
            0,
            0,
            0x01,
            0x40,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        p.extend_from_slice(extra);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn plain_header_and_payload() {
        let p = packet(0x80, &[], &[1, 2, 3]);
        let (h, payload) = parse(&p).unwrap();
        assert!(h.marker);
        assert_eq!(
            (h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (8, 0x1234, 320, 0xdeadbeef)
        );
        assert_eq!(payload, &[1, 2, 3]);
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let extra = [
            0, 0, 0, 1, // one CSRC
            0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, // one-word extension
        ];
        let p = packet(0x80 | 0x20 | 0x10 | 1, &extra, &[9, 9, 0, 0, 3]);
        let (_, payload) = parse(&p).unwrap();
        assert_eq!(payload, &[9, 9]);
    }

    #[test]
    fn hostile_lengths_are_errors_not_panics() {
        // Extension claiming more words than the packet holds.
        let p = packet(0x90, &[0xbe, 0xde, 0, 1, 0x1f, 0, 0, 0], &[]);
        assert!(parse(&p).is_ok(), "exactly fits");
        let p = packet(0x90, &[0xbe, 0xde, 0xff, 0xff], &[]);
        assert_eq!(parse(&p), Err(RtpParseError::BadExtension));
        let p = packet(0x90, &[0xbe, 0xde], &[]);
        assert_eq!(parse(&p), Err(RtpParseError::BadExtension));
        let p = packet(0x8f, &[], &[]);
        assert_eq!(parse(&p), Err(RtpParseError::TooShort));
        let p = packet(0xa0, &[], &[1, 200]);
        assert_eq!(parse(&p), Err(RtpParseError::BadPadding));
        let p = packet(0xa0, &[], &[1, 0]);
        assert_eq!(parse(&p), Err(RtpParseError::BadPadding));
        assert_eq!(parse(&[0x40; 20]), Err(RtpParseError::BadVersion));
        // Every truncation of a full-featured packet.
        let full = packet(
            0xb1,
            &[0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4],
            &[5, 6, 2],
        );
        for len in 0..full.len() {
            let _ = parse(&full[..len]);
        }
    }
}
