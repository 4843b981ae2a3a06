use std::f64::consts::PI;

use super::*;
use crate::codec::conceal::RepeatFadeConcealer;

const FRAME: usize = 160;

/// Voiced speech stand-in: `f0` and its first eight harmonics, falling off
/// like a glottal source.
fn voiced(samples: usize, f0: f64, amplitude: f64) -> Vec<i16> {
    (0..samples)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let v: f64 = (1..=8)
                .map(|k| (2.0 * PI * f0 * k as f64 * t + k as f64).sin() / k as f64)
                .sum();
            (amplitude * v / 2.0).round() as i16
        })
        .collect()
}

fn snr_db(reference: &[i16], actual: &[i16]) -> f64 {
    let signal: f64 = reference.iter().map(|&s| (s as f64).powi(2)).sum();
    let noise: f64 = reference
        .iter()
        .zip(actual)
        .map(|(&r, &a)| (r as f64 - a as f64).powi(2))
        .sum();
    10.0 * (signal / noise.max(1e-9)).log10()
}

/// Plays `pcm` frame by frame through the concealer, with the frames in
/// `lost` concealed instead of passed; returns what came out.
fn through_plc(pcm: &[i16], lost: &[usize]) -> Vec<i16> {
    let mut plc = G711Plc::new();
    let mut out = Vec::with_capacity(pcm.len());
    let mut frame = [0i16; FRAME];
    for (n, chunk) in pcm.chunks_exact(FRAME).enumerate() {
        if lost.contains(&n) {
            assert_eq!(plc.conceal(&mut frame), FRAME);
        } else {
            frame.copy_from_slice(chunk);
            plc.good_frame(&mut frame);
        }
        out.extend_from_slice(&frame);
    }
    out
}

fn through_fade(pcm: &[i16], lost: &[usize]) -> Vec<i16> {
    let mut fade = RepeatFadeConcealer::new(FRAME);
    let mut out = Vec::with_capacity(pcm.len());
    let mut frame = [0i16; FRAME];
    for (n, chunk) in pcm.chunks_exact(FRAME).enumerate() {
        if lost.contains(&n) {
            fade.conceal(&mut frame);
        } else {
            frame.copy_from_slice(chunk);
            fade.remember(&frame);
        }
        out.extend_from_slice(&frame);
    }
    out
}

#[test]
fn finds_the_pitch_period_of_a_voiced_signal() {
    for (f0, period) in [(200.0, 40), (125.0, 64), (100.0, 80), (80.0, 100)] {
        let pcm = voiced(HISTORY_LEN, f0, 12_000.0);
        let history: [i16; HISTORY_LEN] = pcm.try_into().unwrap();
        assert_eq!(find_pitch(&history), period, "{f0} Hz");
    }
}

#[test]
fn one_lost_voiced_frame_is_much_closer_than_zeros_or_the_fade() {
    for f0 in [200.0, 125.0, 100.0] {
        let pcm = voiced(FRAME * 10, f0, 12_000.0);
        let lost = [5usize];
        // The lost frame and the one after it, where the cross-fade runs.
        let span = 5 * FRAME..7 * FRAME;
        let plc = snr_db(&pcm[span.clone()], &through_plc(&pcm, &lost)[span.clone()]);
        let fade = snr_db(&pcm[span.clone()], &through_fade(&pcm, &lost)[span.clone()]);
        // Zeros for the lost frame, the next frame exact.
        let mut zeros = pcm.clone();
        zeros[5 * FRAME..6 * FRAME].fill(0);
        let zero = snr_db(&pcm[span.clone()], &zeros[span]);
        assert!(plc > 15.0, "{f0} Hz: PLC SNR {plc:.1} dB");
        assert!(
            plc > fade + 6.0 && plc > zero + 10.0,
            "{f0} Hz: PLC {plc:.1} dB, fade {fade:.1} dB, zeros {zero:.1} dB"
        );
    }
}

#[test]
fn good_frames_pass_through_untouched() {
    let pcm = voiced(FRAME * 6, 150.0, 20_000.0);
    assert_eq!(through_plc(&pcm, &[]), pcm);
}

#[test]
fn eighty_ms_of_loss_goes_to_silence_and_fades_back_in() {
    let pcm = voiced(FRAME * 12, 125.0, 12_000.0);
    // Frames 4..8 lost: 80 ms.
    let out = through_plc(&pcm, &[4, 5, 6, 7]);
    let peak = |s: &[i16]| s.iter().map(|x| x.unsigned_abs() as u32).max().unwrap_or(0);
    let original = peak(&pcm[..4 * FRAME]);
    // Full level at first, −20 % per 10 ms after the first 10 ms.
    assert!(peak(&out[4 * FRAME..4 * FRAME + 80]) > original * 8 / 10);
    let at_30ms = 4 * FRAME + 240;
    assert!(peak(&out[at_30ms..at_30ms + 8]) < original * 7 / 10);
    // Silent from 60 ms after the loss began.
    assert!(out[4 * FRAME + 480..8 * FRAME].iter().all(|&s| s == 0));
    // The first good frame rises from silence over the 10 ms cross-fade
    // rather than jumping, then is the real signal.
    let first = &out[8 * FRAME..9 * FRAME];
    assert!((first[0].unsigned_abs() as u32) < original / 8);
    assert_eq!(&first[80..], &pcm[8 * FRAME + 80..9 * FRAME]);
    assert_eq!(&out[9 * FRAME..], &pcm[9 * FRAME..]);
}

#[test]
fn a_long_loss_replays_more_than_one_period() {
    // With one period only, 30 ms of concealment would repeat exactly;
    // the span grows to 2 and 3 periods, so later output differs from a
    // one-period loop (before attenuation is taken into account).
    let pcm = voiced(FRAME * 4, 100.0, 12_000.0);
    let mut plc = G711Plc::new();
    let mut frame = [0i16; FRAME];
    for chunk in pcm.chunks_exact(FRAME) {
        frame.copy_from_slice(chunk);
        plc.good_frame(&mut frame);
    }
    plc.conceal(&mut frame);
    assert_eq!(plc.pitch, 80);
    assert!(plc.periods >= 2, "span still {} period(s)", plc.periods);
    plc.conceal(&mut frame);
    assert_eq!(plc.periods, MAX_PERIODS);
}

#[test]
fn full_scale_input_neither_overflows_nor_makes_nan() {
    // A full-scale square wave, and a max/min alternation.
    let square: Vec<i16> = (0..FRAME * 6)
        .map(|i| {
            if (i / 20) % 2 == 0 {
                i16::MAX
            } else {
                i16::MIN
            }
        })
        .collect();
    let alternating: Vec<i16> = (0..FRAME * 6)
        .map(|i| if i % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    for pcm in [square, alternating] {
        let out = through_plc(&pcm, &[2, 4]);
        let original = pcm.iter().map(|&s| s as i64 * s as i64).sum::<i64>();
        let concealed: i64 = out[2 * FRAME..3 * FRAME]
            .iter()
            .map(|&s| s as i64 * s as i64)
            .sum();
        // Still loud (no wrap-around to small values) and never beyond range.
        assert!(concealed > original / 6 / 4);
    }
}

#[test]
fn silence_before_any_good_frame_and_after_reset() {
    let mut plc = G711Plc::new();
    let mut out = [7i16; FRAME];
    plc.conceal(&mut out);
    assert!(out.iter().all(|&s| s == 0));
    let mut frame: [i16; FRAME] = voiced(FRAME, 200.0, 10_000.0).try_into().unwrap();
    plc.good_frame(&mut frame);
    plc.reset();
    plc.conceal(&mut out);
    assert!(out.iter().all(|&s| s == 0));
}

#[test]
fn short_and_long_frames_work() {
    // 10 ms frames and 120 ms frames (longer than the history).
    for len in [80usize, 960, 37] {
        let pcm = voiced(len * 8, 125.0, 12_000.0);
        let mut plc = G711Plc::new();
        let mut frame = vec![0i16; len];
        for (n, chunk) in pcm.chunks_exact(len).enumerate() {
            if n == 5 {
                plc.conceal(&mut frame);
            } else {
                frame.copy_from_slice(chunk);
                plc.good_frame(&mut frame);
            }
        }
        assert_eq!(&frame[len.min(80)..], &pcm[7 * len + len.min(80)..]);
    }
}
