//! Talk-off: speech, music and noise must give no digit at all.

use super::*;
use crate::codec::resample::resample;

const RATE: u32 = 8000;

fn prompt(name: &str) -> Vec<i16> {
    let path = format!("{}/prompts/en/{name}.wav", env!("CARGO_MANIFEST_DIR"));
    let mut reader = hound::WavReader::open(&path).expect("prompt");
    let rate = reader.spec().sample_rate;
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    resample(&samples, rate, RATE).expect("resample")
}

const PROMPTS: [&str; 7] = [
    "beep",
    "goodbye",
    "invalid",
    "moh",
    "not-found",
    "please-wait",
    "welcome",
];

fn assert_no_digits(what: &str, samples: &[i16]) {
    let events = detect(RATE, samples);
    let false_digits = events
        .iter()
        .filter(|e| e.kind == DtmfEventKind::Begin)
        .count();
    assert_eq!(
        false_digits,
        0,
        "{what}: {false_digits} false digits in {} s: {events:?}",
        samples.len() / RATE as usize
    );
}

/// `samples` scaled so their peak is `peak`.
fn normalized(samples: &[i16], peak: f64) -> Vec<i16> {
    let max = samples
        .iter()
        .map(|&s| f64::from(s).abs())
        .fold(1.0, f64::max);
    samples
        .iter()
        .map(|&s| (f64::from(s) * peak / max).round() as i16)
        .collect()
}

#[test]
fn prompts_give_no_digits_at_any_loudness() {
    for name in PROMPTS {
        let speech = prompt(name);
        for peak in [32000.0, 8000.0, 2000.0] {
            assert_no_digits(
                &format!("{name} at peak {peak}"),
                &normalized(&speech, peak),
            );
        }
    }
}

#[test]
fn all_prompts_back_to_back_give_no_digits() {
    let mut speech = Vec::new();
    for _ in 0..3 {
        for name in PROMPTS {
            speech.extend(prompt(name));
        }
    }
    assert!(speech.len() > 20 * RATE as usize);
    assert_no_digits("prompts concatenated", &speech);
}

/// A note with harmonics (2nd at −6 dB, 3rd at −10 dB, 4th at −14 dB) and
/// a 20 ms attack, as a plucked or bowed instrument.
fn add_note(out: &mut [f64], start: usize, len: usize, hz: f64, amplitude: f64) {
    let harmonics = [1.0, 0.5, 0.316, 0.2];
    for n in 0..len.min(out.len().saturating_sub(start)) {
        let t = n as f64 / f64::from(RATE);
        let envelope = (n as f64 / 160.0).min(1.0) * (-t * 1.5).exp();
        let mut value = 0.0;
        for (h, weight) in harmonics.iter().enumerate() {
            let f = hz * (h + 1) as f64;
            if f < 3900.0 {
                value += weight * (std::f64::consts::TAU * f * t).sin();
            }
        }
        out[start + n] += amplitude * envelope * value;
    }
}

fn semitone(n: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(n) / 12.0)
}

#[test]
fn music_gives_no_digits() {
    let mut rng = Rng::new(7);
    let mut music = vec![0.0; RATE as usize * 30];
    // A seeded melody over chords, 250 ms per step.
    let step = ms(RATE, 250);
    for (i, start) in (0..music.len()).step_by(step).enumerate() {
        let root = (rng.next_u64() % 12) as i32 - 12;
        if i % 4 == 0 {
            for interval in [0, 4, 7] {
                add_note(
                    &mut music,
                    start,
                    step * 4,
                    semitone(root + interval),
                    3000.0,
                );
            }
        }
        let melody = (rng.next_u64() % 24) as i32;
        add_note(&mut music, start, step, semitone(melody), 6000.0);
    }
    // Hard cases: two-note chords near DTMF pairs (F5+E6 ~ 697+1336, A#5+F#6
    // ~ 941+1477, F5+D6, G5+G#6), notes with harmonics, sustained 1 s.
    let hard = [
        (698.5, 1318.5),
        (932.3, 1480.0),
        (698.5, 1174.7),
        (784.0, 1661.2),
    ];
    let mut tail = vec![0.0; RATE as usize * 5];
    for (i, (low, high)) in hard.iter().enumerate() {
        let start = i * RATE as usize;
        add_note(&mut tail, start, RATE as usize, *low, 8000.0);
        add_note(&mut tail, start, RATE as usize, *high, 8000.0);
    }
    music.extend(tail);
    assert_no_digits("music", &to_i16(&music));
}

#[test]
fn white_and_pink_noise_give_no_digits() {
    let mut rng = Rng::new(99);
    for sigma in [300.0, 3000.0, 10_000.0] {
        let white: Vec<f64> = (0..RATE * 10).map(|_| sigma * rng.gaussian()).collect();
        assert_no_digits(&format!("white noise σ {sigma}"), &to_i16(&white));
        // Pink noise: Paul Kellet's three-pole approximation of 1/f.
        let (mut b0, mut b1, mut b2) = (0.0, 0.0, 0.0);
        let pink: Vec<f64> = (0..RATE * 10)
            .map(|_| {
                let w = rng.uniform();
                b0 = 0.99765 * b0 + w * 0.0990460;
                b1 = 0.96300 * b1 + w * 0.2965164;
                b2 = 0.57000 * b2 + w * 1.0526913;
                sigma * (b0 + b1 + b2 + w * 0.1848)
            })
            .collect();
        assert_no_digits(&format!("pink noise σ {sigma}"), &to_i16(&pink));
    }
}
