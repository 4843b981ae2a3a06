//! Frame tags: a frame counter written into the first payload bytes of a
//! G.711 frame, so an echoed frame can be matched to its send time.
//!
//! Tags are made of G.711 codes chosen directly (not encoded from samples),
//! each of which survives a decode→encode round trip in both μ-law and A-law.
//! μ-law 0x7F (negative zero) decodes to the same sample as 0xFF and comes
//! back as 0xFF, so it is never used.

/// Bytes at the start of a payload a tag occupies.
pub const TAG_LEN: usize = 9;

/// Tags count modulo 2^24 (93 hours of 20 ms frames).
pub const TAG_MODULUS: u32 = 1 << 24;

const MAGIC: [u8; 2] = [0xD3, 0x2C];
const NIBBLE_BASE: u8 = 0xC0;
const NIBBLES: usize = 6;

/// Writes `counter` (modulo 2^24) into the first [`TAG_LEN`] bytes of `payload`.
/// Payloads shorter than a tag are left untouched.
pub fn write_tag(counter: u32, payload: &mut [u8]) {
    let Some(tag) = payload.get_mut(..TAG_LEN) else {
        return;
    };
    tag[..2].copy_from_slice(&MAGIC);
    let mut check = 0u8;
    for i in 0..NIBBLES {
        let nibble = ((counter >> (4 * (NIBBLES - 1 - i))) & 0x0F) as u8;
        check ^= nibble;
        tag[2 + i] = NIBBLE_BASE | nibble;
    }
    tag[2 + NIBBLES] = NIBBLE_BASE | (check ^ 0x05);
}

/// Reads the counter back, or `None` when the payload carries no valid tag.
pub fn read_tag(payload: &[u8]) -> Option<u32> {
    let tag = payload.get(..TAG_LEN)?;
    if tag[..2] != MAGIC {
        return None;
    }
    let mut counter = 0u32;
    let mut check = 0u8;
    for &code in &tag[2..2 + NIBBLES] {
        if code & 0xF0 != NIBBLE_BASE {
            return None;
        }
        let nibble = code & 0x0F;
        check ^= nibble;
        counter = (counter << 4) | u32::from(nibble);
    }
    (tag[2 + NIBBLES] == NIBBLE_BASE | (check ^ 0x05)).then_some(counter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};

    #[test]
    fn tags_round_trip() {
        let mut payload = [0xFFu8; 160];
        for counter in [0, 1, 0xABCDEF, TAG_MODULUS - 1] {
            write_tag(counter, &mut payload);
            assert_eq!(read_tag(&payload), Some(counter));
        }
        write_tag(TAG_MODULUS + 5, &mut payload);
        assert_eq!(read_tag(&payload), Some(5));
    }

    #[test]
    fn corrupted_or_untagged_payloads_are_rejected() {
        let mut payload = [0xFFu8; 160];
        assert_eq!(read_tag(&payload), None);
        write_tag(0x123456, &mut payload);
        payload[4] ^= 0x01;
        assert_eq!(read_tag(&payload), None);
        assert_eq!(read_tag(&payload[..4]), None);
    }

    #[test]
    fn tag_codes_survive_g711_transcoding() {
        let mut payload = [0xFFu8; TAG_LEN];
        for counter in [0, 0x5A5A5A, 0xFFFFFF, 0x0F0F0F] {
            write_tag(counter, &mut payload);
            let via_ulaw: Vec<u8> = payload
                .iter()
                .map(|c| ulaw_encode(ulaw_decode(*c)))
                .collect();
            let via_alaw: Vec<u8> = payload
                .iter()
                .map(|c| alaw_encode(alaw_decode(*c)))
                .collect();
            assert_eq!(read_tag(&via_ulaw), Some(counter));
            assert_eq!(read_tag(&via_alaw), Some(counter));
        }
    }
}
