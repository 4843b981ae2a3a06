//! Mutated offers must never panic the parser or the negotiation, and what
//! parses must build into text that parses back to the same model.

use super::samples::*;
use crate::sip::sdp::*;

/// xorshift64*: deterministic, so a failure reproduces from its iteration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to the grammar, plus invalid UTF-8 and controls.
const INTERESTING: &[u8] = b" \t\r\n=:/0917am\xff\xc3\x00\x7f";
const NUMBERS: &[&str] = &[
    "99999999999999999999",
    "65536",
    "65535",
    "128",
    "-1",
    "0",
    "",
];

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            bytes[i] = rng.next() as u8;
        }
        1 => {
            let i = rng.below(len + 1);
            bytes.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
        }
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(len);
            bytes.drain(start..end);
        }
        3 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let copy = bytes[start..end].to_vec();
            let at = rng.below(len + 1);
            bytes.splice(at..at, copy);
        }
        4 => bytes.truncate(rng.below(len + 1)),
        5 => {
            // Swap two lines.
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.split("\r\n").collect();
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(a, b);
            *bytes = lines.join("\r\n").into_bytes();
        }
        6 => {
            // Replace a run of digits with an edge-case number.
            let offset = rng.below(len);
            let digit = (0..len)
                .map(|k| (k + offset) % len)
                .find(|&i| bytes[i].is_ascii_digit());
            if let Some(start) = digit {
                let end = (start..len)
                    .find(|&i| !bytes[i].is_ascii_digit())
                    .unwrap_or(len);
                let number = NUMBERS[rng.below(NUMBERS.len())].as_bytes().to_vec();
                bytes.splice(start..end, number);
            }
        }
        _ => {
            // Duplicate a line elsewhere.
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.split("\r\n").collect();
            let line = lines[rng.below(lines.len())];
            let at = rng.below(lines.len() + 1);
            lines.insert(at, line);
            *bytes = lines.join("\r\n").into_bytes();
        }
    }
}

fn check(bytes: &[u8]) {
    let Ok(sdp) = SessionDescription::parse_bytes(bytes) else {
        return;
    };
    let built = sdp.to_string();
    let again = SessionDescription::parse(&built)
        .unwrap_or_else(|e| panic!("built SDP does not parse: {e}\n{built}"));
    assert_eq!(again, sdp, "round trip changed the model:\n{built}");
    if let Ok(negotiated) = answer(&sdp, &local_media(), &mut new_origin()) {
        let text = negotiated.answer.to_string();
        SessionDescription::parse(&text)
            .unwrap_or_else(|e| panic!("answer does not parse: {e}\n{text}"));
        assert_eq!(negotiated.answer.media.len(), sdp.media.len());
    }
    let _ = accept_answer(&sdp, &sdp);
}

#[test]
fn mutated_offers_never_panic() {
    let seeds = [
        softphone_offer(),
        wideband_softphone_offer(),
        sipp_offer(),
        webrtc_offer("RTP/AVPF"),
        srtp_offer(),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for iteration in 0..5000 {
        let mut bytes = seeds[iteration % seeds.len()].clone().into_bytes();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut bytes);
        }
        check(&bytes);
        parsed += usize::from(SessionDescription::parse_bytes(&bytes).is_ok());
    }
    // The mutations must leave some inputs valid, or the round-trip checks
    // above would never run.
    assert!(parsed > 500, "only {parsed} mutated inputs parsed");
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for _ in 0..2000 {
        let len = rng.below(300);
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| INTERESTING[rng.below(INTERESTING.len())])
            .collect();
        if rng.below(2) == 0 {
            bytes.splice(0..0, b"v=0\r\n".iter().copied());
        }
        check(&bytes);
    }
}
