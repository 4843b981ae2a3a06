//! Building and parsing compounds, garbage included, and the RTT record.

use super::*;

const US: u32 = 0x1111_1111;
const THEM: u32 = 0x2222_2222;

fn block() -> ReportBlock {
    ReportBlock {
        ssrc: US,
        fraction_lost: 25,
        cumulative_lost: -3,
        extended_highest_seq: 0x0001_0005,
        jitter: 42,
        lsr: 0xabcd_0123,
        dlsr: 65536,
    }
}

fn sender() -> SenderInfo {
    SenderInfo {
        ntp_time: 0x1234_5678_9abc_def0,
        rtp_time: 160,
        packet_count: 10,
        octet_count: 1600,
    }
}

fn compound(sender_info: Option<SenderInfo>, bye: Option<&str>) -> Vec<u8> {
    let mut buf = [0u8; 1500];
    let len = build_compound(
        &mut buf,
        &ReportContents {
            ssrc: THEM,
            sender: sender_info,
            block: Some(block()),
            cname: "far@example.net",
            bye,
        },
    )
    .unwrap();
    buf[..len].to_vec()
}

#[test]
fn sr_with_sdes_round_trips() {
    let bytes = compound(Some(sender()), None);
    assert_eq!(bytes[1], PT_SR);
    assert_eq!(bytes.len() % 4, 0);
    let report = parse_compound(&bytes, US).unwrap();
    assert_eq!(report.sender_ssrc, THEM);
    assert_eq!(report.sender_info, Some(sender()));
    assert_eq!(report.about_us, Some(block()));
    assert_eq!(report.cname.as_deref(), Some("far@example.net"));
    assert_eq!((report.packets, report.unknown, report.bye), (2, 0, false));
}

#[test]
fn rr_and_bye_round_trip() {
    for reason in ["", "hangup", "call ended now"] {
        let bytes = compound(None, Some(reason));
        assert_eq!(bytes[1], PT_RR);
        let report = parse_compound(&bytes, US).unwrap();
        assert!(report.bye);
        assert_eq!(report.sender_info, None);
        assert_eq!(report.packets, 3);
    }
}

#[test]
fn blocks_about_others_are_counted_not_taken() {
    let report = parse_compound(&compound(None, None), 0x3333_3333).unwrap();
    assert_eq!(report.about_us, None);
    assert_eq!(report.other_blocks, 1);
}

#[test]
fn unknown_packet_types_are_skipped_and_counted() {
    let mut bytes = compound(None, None);
    // An APP packet (RFC 3550 §6.7): name and 4 octets of data.
    bytes.extend_from_slice(&[0x80, 204, 0, 3, 0, 0, 0, 1, b't', b'e', b's', b't']);
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    let report = parse_compound(&bytes, US).unwrap();
    assert_eq!((report.packets, report.unknown), (3, 1));
    assert_eq!(report.about_us, Some(block()));
}

#[test]
fn structural_errors() {
    let good = compound(Some(sender()), None);
    assert_eq!(parse_compound(&good[..3], US), Err(RtcpError::TooShort));
    assert_eq!(
        parse_compound(&good[..good.len() - 4], US),
        Err(RtcpError::BadLength)
    );
    let mut lying = good.clone();
    lying[3] = lying[3].wrapping_add(1);
    assert!(parse_compound(&lying, US).is_err());
    let mut version = good.clone();
    version[0] = (version[0] & 0x3f) | 0x40;
    assert_eq!(parse_compound(&version, US), Err(RtcpError::BadVersion));
    let mut padded_first = good.clone();
    padded_first[0] |= 0x20;
    assert_eq!(
        parse_compound(&padded_first, US),
        Err(RtcpError::BadPadding)
    );
    let sdes_at = 4 * (usize::from(good[3]) + 1);
    assert_eq!(
        parse_compound(&good[sdes_at..], US),
        Err(RtcpError::NotCompound)
    );
    // An SR whose count claims more blocks than its length holds.
    let mut count = good.clone();
    count[0] = (count[0] & 0xe0) | 2;
    assert_eq!(parse_compound(&count, US), Err(RtcpError::Malformed(PT_SR)));
}

/// xorshift64*: a fixed sequence, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let good = compound(Some(sender()), Some("bye"));
    // Where the packets of the good compound end: a cut there leaves a
    // shorter but valid compound.
    let mut ends = vec![0];
    while let Some(&at) = ends.last().filter(|&&at| at < good.len()) {
        ends.push(at + 4 * (usize::from(good[at + 3]) + 1));
    }
    let mut accepted = 0;
    for round in 0..8000 {
        let bytes: Vec<u8> = match round % 4 {
            // Random bytes that look like RTCP in their first octets.
            0 => {
                let len = rng.below(120);
                let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if len >= 2 {
                    bytes[0] = 0x80 | (bytes[0] & 0x3f);
                    bytes[1] = 200 + (bytes[1] % 8);
                }
                bytes
            }
            // A good compound cut short.
            1 => {
                let cut = rng.below(good.len());
                let bytes = good[..cut].to_vec();
                if !ends.contains(&cut) {
                    assert!(parse_compound(&bytes, US).is_err(), "cut at {cut}");
                }
                bytes
            }
            // Well-framed packets (right version, length within the
            // datagram) with random counts and bodies: what reaches the
            // packet parsers.
            2 => {
                let mut bytes = vec![0x80u8, 201, 0, 1, 1, 2, 3, 4];
                for _ in 0..1 + rng.below(3) {
                    let words = rng.below(12);
                    let count = rng.below(32) as u8;
                    let packet_type = 200 + rng.below(4) as u8;
                    bytes.extend_from_slice(&[0x80 | count, packet_type, 0, words as u8]);
                    for _ in 0..words * 4 {
                        bytes.push(match rng.below(3) {
                            0 => 0,
                            1 => rng.below(8) as u8,
                            _ => rng.next() as u8,
                        });
                    }
                }
                bytes
            }
            // A good compound with a few octets changed (lengths,
            // counts, item lengths...).
            _ => {
                let mut bytes = good.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next() as u8;
                }
                bytes
            }
        };
        if parse_compound(&bytes, US).is_ok() {
            accepted += 1;
        }
    }
    // Mutations of payload octets (NTP time, counts) stay valid; random
    // bytes almost never are.
    assert!(accepted < 4000, "{accepted}");
}

#[test]
fn lying_lengths_are_errors() {
    let good = compound(Some(sender()), Some("bye"));
    for words in [0u16, 1, 5, 7, 100, u16::MAX] {
        let mut bytes = good.clone();
        bytes[2..4].copy_from_slice(&words.to_be_bytes());
        if usize::from(words) != usize::from(good[3]) {
            assert!(parse_compound(&bytes, US).is_err(), "length {words}");
        }
    }
}

#[test]
fn rtcp_or_rtp_on_a_muxed_port() {
    assert!(is_rtcp(&[0x80, 200]));
    assert!(is_rtcp(&[0x81, 201, 0, 7]));
    assert!(is_rtcp(&[0x80, 223]));
    assert!(!is_rtcp(&[0x80, 0])); // PCMU
    assert!(!is_rtcp(&[0x80, 0x80 | 8])); // PCMA with marker
    assert!(!is_rtcp(&[0x80, 0x80 | 101])); // telephone-event, marker
    assert!(!is_rtcp(&[0x80, 224]));
    assert!(!is_rtcp(&[0x80]));
}

#[test]
fn small_buffer_is_an_error() {
    let mut buf = [0u8; 40];
    let contents = ReportContents {
        ssrc: US,
        sender: Some(sender()),
        block: Some(block()),
        cname: "x",
        bye: None,
    };
    assert_eq!(
        build_compound(&mut buf, &contents),
        Err(RtcpError::BufferTooSmall)
    );
}

#[test]
fn long_cname_is_cut_at_255_octets() {
    let cname = "é".repeat(200);
    let mut buf = [0u8; 1500];
    let contents = ReportContents {
        ssrc: THEM,
        sender: None,
        block: None,
        cname: &cname,
        bye: None,
    };
    let len = build_compound(&mut buf, &contents).unwrap();
    let report = parse_compound(&buf[..len], US).unwrap();
    assert_eq!(report.cname.unwrap().len(), 254);
}

#[test]
fn rtt_from_our_sr_record() {
    let t0 = Instant::now();
    let mut history = SrHistory::default();
    for i in 0..20u32 {
        history.record(1000 + i, t0 + Duration::from_secs(u64::from(i)));
    }
    let answer = |lsr, dlsr| ReportBlock {
        lsr,
        dlsr,
        ..ReportBlock::default()
    };
    // SR 19 left at 19 s; the answer arrives at 19.54 s after 0.5 s held.
    let now = t0 + Duration::from_millis(19_540);
    let rtt = history.rtt(now, &answer(1019, 32768)).unwrap();
    assert_eq!(rtt, Duration::from_millis(40));
    // Too old to remember, never sent, none named, held too long.
    assert_eq!(history.rtt(now, &answer(1005, 0)), None);
    assert_eq!(history.rtt(now, &answer(7, 0)), None);
    assert_eq!(history.rtt(now, &answer(0, 0)), None);
    assert_eq!(history.rtt(now, &answer(1019, 65536)), None);
}
