//! Cost of inband DTMF per 20 ms frame at 8 kHz (160 samples): the
//! detector on speech-like noise and on a digit, and the generator.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mediaplane::media::dtmf::{DtmfDetector, DtmfDigit, DtmfGenerator, DtmfToneConfig};

const RATE: u32 = 8000;
const FRAME: usize = 160;

/// One second of frames: a repeating digit, 100 ms on / 100 ms off.
fn digits() -> Vec<i16> {
    let mut generator = DtmfGenerator::new(RATE, DtmfToneConfig::default()).expect("generator");
    let mut out = vec![0i16; RATE as usize];
    for (i, frame) in out.chunks_mut(FRAME).enumerate() {
        if generator.is_idle() {
            generator.start(DtmfDigit::ALL[i % 16]);
        }
        generator.fill(frame);
    }
    out
}

/// One second of seeded noise, as a stand-in for speech (every test runs).
fn noise() -> Vec<i16> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..RATE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 48) as i16) / 4
        })
        .collect()
}

fn detector(c: &mut Criterion) {
    for (name, signal) in [("digits", digits()), ("noise", noise())] {
        let mut detector = DtmfDetector::new(RATE).expect("detector");
        let mut frames = signal.chunks(FRAME).cycle();
        c.bench_function(&format!("DTMF detect 20 ms, {name}"), |b| {
            b.iter(|| {
                let frame = frames.next().unwrap_or(&[]);
                detector.push(black_box(frame));
                while let Some(event) = detector.poll_event() {
                    black_box(event);
                }
            })
        });
    }
}

fn generator(c: &mut Criterion) {
    let mut generator = DtmfGenerator::new(RATE, DtmfToneConfig::default()).expect("generator");
    let mut frame = [0i16; FRAME];
    c.bench_function("DTMF generate 20 ms", |b| {
        b.iter(|| {
            if generator.is_idle() {
                generator.start(DtmfDigit::Digit5);
            }
            generator.fill(black_box(&mut frame));
        })
    });
}

criterion_group!(benches, detector, generator);
criterion_main!(benches);
