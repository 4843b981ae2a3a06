//! Cost of the codecs per 20 ms frame (G.711: 160 samples at 8 kHz; G.722:
//! 320 samples at 16 kHz; L16: 320 samples at 16 kHz; Opus: 960 samples at
//! 48 kHz), through the same trait objects the media path uses; and the
//! streaming resampler per 20 ms frame between the rates those codecs carry.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mediaplane::codec::resample::FrameResampler;
use mediaplane::codec::{new_decoder, new_encoder, CodecKind};

const FRAME: usize = 160;

/// 20 ms at 16 kHz, G.722's audio rate (RFC 3551 §4.5.2).
const WIDEBAND_FRAME: usize = 320;
const OPUS_FRAME: usize = 960;
fn speech_like_frame<const N: usize>(rate: f64) -> [i16; N] {
    // Two tones at a speech-like level; G.711's cost does not depend on
    // content, but constant input would flatter branch prediction (and
    // silence would let Opus take shortcuts).
    let mut frame = [0i16; N];
    for (i, s) in frame.iter_mut().enumerate() {
        let t = i as f64 / rate;
        let v = 6000.0 * (2.0 * std::f64::consts::PI * 310.0 * t).sin()
            + 3000.0 * (2.0 * std::f64::consts::PI * 1230.0 * t).sin();
        *s = v as i16;
    }
    frame
}

fn g711(c: &mut Criterion) {
    let pcm = speech_like_frame::<FRAME>(8000.0);
    for kind in [CodecKind::Pcmu, CodecKind::Pcma] {
        let name = kind.encoding_name();
        let mut encoder = new_encoder(kind).expect("G.711 encoder");
        let mut decoder = new_decoder(kind).expect("G.711 decoder");
        let mut payload = [0u8; FRAME];
        let mut out = [0i16; FRAME];

        c.bench_function(&format!("{name} encode 20 ms"), |b| {
            b.iter(|| encoder.encode(black_box(&pcm), &mut payload))
        });
        encoder.encode(&pcm, &mut payload).expect("encode");
        c.bench_function(&format!("{name} decode 20 ms"), |b| {
            b.iter(|| decoder.decode(black_box(&payload), &mut out))
        });
        c.bench_function(&format!("{name} encode+decode 20 ms"), |b| {
            b.iter(|| {
                let n = encoder.encode(black_box(&pcm), &mut payload)?;
                decoder.decode(&payload[..n], &mut out)
            })
        });
        c.bench_function(&format!("{name} conceal 20 ms"), |b| {
            b.iter(|| {
                // A good frame first, so every concealment does the fade work.
                let n = decoder.decode(black_box(&payload), &mut out);
                let m = decoder.conceal(&mut out);
                (n, m)
            })
        });
    }
}

fn g722(c: &mut Criterion) {
    let pcm = speech_like_frame::<WIDEBAND_FRAME>(16_000.0);
    let mut encoder = new_encoder(CodecKind::G722).expect("G.722 encoder");
    let mut decoder = new_decoder(CodecKind::G722).expect("G.722 decoder");
    // One octet per sample pair.
    let mut payload = [0u8; WIDEBAND_FRAME / 2];
    let mut out = [0i16; WIDEBAND_FRAME];

    c.bench_function("G722 encode 20 ms", |b| {
        b.iter(|| encoder.encode(black_box(&pcm), &mut payload))
    });
    encoder.encode(&pcm, &mut payload).expect("encode");
    c.bench_function("G722 decode 20 ms", |b| {
        b.iter(|| decoder.decode(black_box(&payload), &mut out))
    });
    c.bench_function("G722 encode+decode 20 ms", |b| {
        b.iter(|| {
            let n = encoder.encode(black_box(&pcm), &mut payload)?;
            decoder.decode(&payload[..n], &mut out)
        })
    });
    c.bench_function("G722 conceal 20 ms", |b| {
        b.iter(|| {
            let n = decoder.decode(black_box(&payload), &mut out);
            let m = decoder.conceal(&mut out);
            (n, m)
        })
    });
}

fn l16(c: &mut Criterion) {
    let pcm = speech_like_frame::<WIDEBAND_FRAME>(16_000.0);
    let mut encoder = new_encoder(CodecKind::L16At16000).expect("L16 encoder");
    let mut decoder = new_decoder(CodecKind::L16At16000).expect("L16 decoder");
    // Two octets per sample (RFC 3551 §4.5.11).
    let mut payload = [0u8; 2 * WIDEBAND_FRAME];
    let mut out = [0i16; WIDEBAND_FRAME];
    c.bench_function("L16/16000 encode+decode 20 ms", |b| {
        b.iter(|| {
            let n = encoder.encode(black_box(&pcm), &mut payload)?;
            decoder.decode(&payload[..n], &mut out)
        })
    });
}

fn opus(c: &mut Criterion) {
    // A run of frames so the encoder works on changing input, as in a call.
    let pcm: Vec<[i16; OPUS_FRAME]> = (0..50)
        .map(|i| {
            let mut frame = speech_like_frame::<OPUS_FRAME>(48_000.0);
            let gain = 0.3 + 0.7 * (i as f64 / 50.0 * std::f64::consts::PI).sin();
            frame
                .iter_mut()
                .for_each(|s| *s = (*s as f64 * gain) as i16);
            frame
        })
        .collect();
    let mut encoder = new_encoder(CodecKind::Opus).expect("Opus encoder");
    let mut decoder = new_decoder(CodecKind::Opus).expect("Opus decoder");
    let mut payload = [0u8; 1275];
    let mut out = [0i16; OPUS_FRAME];

    let mut next = pcm.iter().cycle();
    c.bench_function("opus encode 20 ms", |b| {
        b.iter(|| encoder.encode(black_box(next.next().expect("cycle")), &mut payload))
    });
    let payloads: Vec<Vec<u8>> = pcm
        .iter()
        .map(|frame| {
            let n = encoder.encode(frame, &mut payload).expect("encode");
            payload[..n].to_vec()
        })
        .collect();
    let mut next = payloads.iter().cycle();
    c.bench_function("opus decode 20 ms", |b| {
        b.iter(|| decoder.decode(black_box(next.next().expect("cycle")), &mut out))
    });
    c.bench_function("opus conceal 20 ms", |b| {
        b.iter(|| {
            let n = decoder.decode(black_box(&payloads[0]), &mut out);
            let m = decoder.conceal(&mut out);
            (n, m)
        })
    });
}

fn resample(c: &mut Criterion) {
    let input_8k = speech_like_frame::<FRAME>(8000.0);
    let input_16k = speech_like_frame::<WIDEBAND_FRAME>(16_000.0);
    let input_48k = speech_like_frame::<OPUS_FRAME>(48_000.0);
    for (from, to) in [
        (8_000, 48_000),
        (48_000, 8_000),
        (8_000, 16_000),
        (16_000, 8_000),
        (16_000, 48_000),
        (48_000, 16_000),
    ] {
        let mut resampler = FrameResampler::new(from, to, 20).expect("resampler");
        let input: &[i16] = match from {
            8_000 => &input_8k,
            16_000 => &input_16k,
            _ => &input_48k,
        };
        let mut output = vec![0i16; resampler.output_len()];
        c.bench_function(&format!("resample {from}→{to} Hz 20 ms"), |b| {
            b.iter(|| resampler.process(black_box(input), &mut output))
        });
    }
}

criterion_group!(benches, g711, g722, l16, opus, resample);
criterion_main!(benches);
