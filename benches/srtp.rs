//! Cost of SRTP per packet: protect and unprotect of a 172-octet RTP packet
//! (12-octet header, 160 octets of G.711 at 20 ms) for each crypto-suite.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mediaplane::media::srtp::{SrtpSession, SrtpSuite};

const PAYLOAD: usize = 160;
const PACKET: usize = 12 + PAYLOAD;

fn key_salt(suite: SrtpSuite, fill: u8) -> Vec<u8> {
    (0..suite.key_salt_len()).map(|i| i as u8 ^ fill).collect()
}

/// Our end and the peer's, with each other's keys.
fn pair(suite: SrtpSuite) -> (SrtpSession, SrtpSession) {
    let (ours, theirs) = (key_salt(suite, 0x5a), key_salt(suite, 0xa5));
    (
        SrtpSession::new(suite, &ours, &theirs).expect("valid keys"),
        SrtpSession::new(suite, &theirs, &ours).expect("valid keys"),
    )
}

fn rtp(sequence: u16) -> [u8; PACKET] {
    let mut packet = [0x55u8; PACKET];
    packet[..12].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78]);
    packet[2..4].copy_from_slice(&sequence.to_be_bytes());
    packet
}

fn protect(c: &mut Criterion) {
    for suite in SrtpSuite::OFFER_ORDER {
        let (mut ours, _) = pair(suite);
        let mut plain = rtp(0);
        let mut out = [0u8; PACKET + 16];
        let mut sequence = 0u16;
        c.bench_function(&format!("srtp protect_rtp {suite} (172 B)"), |b| {
            b.iter(|| {
                sequence = sequence.wrapping_add(1);
                plain[2..4].copy_from_slice(&sequence.to_be_bytes());
                black_box(
                    ours.protect_rtp(black_box(&plain), &mut out)
                        .expect("protect"),
                )
            })
        });
    }
}

/// Each packet can be unprotected once (replay protection), so every
/// sample protects fresh packets first, untimed, then times unprotecting them.
fn unprotect(c: &mut Criterion) {
    for suite in SrtpSuite::OFFER_ORDER {
        let stride = PACKET + suite.rtp_tag_len();
        c.bench_function(&format!("srtp unprotect_rtp {suite} (172 B)"), |b| {
            b.iter_custom(|iters| {
                let (mut ours, mut theirs) = pair(suite);
                let mut wire = vec![0u8; stride * iters as usize];
                for (i, slot) in wire.chunks_exact_mut(stride).enumerate() {
                    ours.protect_rtp(&rtp(i as u16), slot).expect("protect");
                }
                let mut out = [0u8; PACKET + 16];
                let start = Instant::now();
                for packet in wire.chunks_exact(stride) {
                    black_box(
                        theirs
                            .unprotect_rtp(black_box(packet), &mut out)
                            .expect("unprotect"),
                    );
                }
                start.elapsed()
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3));
    targets = protect, unprotect
}
criterion_main!(benches);
