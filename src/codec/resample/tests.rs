use super::*;
use std::f64::consts::PI;

const FRAME_MS: u32 = 20;
const AMPLITUDE: f64 = 10_000.0;

const RATE_PAIRS: [(u32, u32); 6] = [
    (8_000, 48_000),
    (48_000, 8_000),
    (16_000, 8_000),
    (8_000, 16_000),
    (16_000, 48_000),
    (48_000, 16_000),
];

fn sine(rate_hz: u32, freq_hz: f64, amplitude: f64, len: usize) -> Vec<i16> {
    (0..len)
        .map(|n| {
            (amplitude * (2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz)).sin()).round() as i16
        })
        .collect()
}

/// A 300 Hz → 3 kHz linear sweep with 5 ms fades: broadband and never
/// repeating, so its cross-correlation has one sharp peak. Sampled
/// analytically, so the same call at another rate is the ideal resampling.
fn chirp(rate_hz: u32, seconds: f64) -> Vec<i16> {
    let (f0, f1) = (300.0, 3_000.0);
    let len = (seconds * f64::from(rate_hz)).round() as usize;
    let fade = 0.005;
    (0..len)
        .map(|n| {
            let t = n as f64 / f64::from(rate_hz);
            let phase = 2.0 * PI * (f0 * t + (f1 - f0) * t * t / (2.0 * seconds));
            let gain = (t / fade).min((seconds - t) / fade).clamp(0.0, 1.0);
            (AMPLITUDE * gain * phase.sin()).round() as i16
        })
        .collect()
}

/// Feeds `input` frame by frame (zero-padded to whole frames, plus one frame
/// of silence to flush the delay) and concatenates the output frames.
fn stream(resampler: &mut FrameResampler, input: &[i16]) -> Vec<i16> {
    let (in_len, out_len) = (resampler.input_len(), resampler.output_len());
    let frames = input.len().div_ceil(in_len) + 1;
    let mut padded = input.to_vec();
    padded.resize(frames * in_len, 0);
    let mut output = vec![0i16; frames * out_len];
    for (frame_in, frame_out) in padded.chunks(in_len).zip(output.chunks_mut(out_len)) {
        resampler.process(frame_in, frame_out).unwrap();
    }
    output
}

/// Amplitude of the `freq_hz` component (a single DFT bin).
fn tone_amplitude(samples: &[i16], rate_hz: u32, freq_hz: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let w = 2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz);
        re += f64::from(s) * w.cos();
        im -= f64::from(s) * w.sin();
    }
    2.0 * (re * re + im * im).sqrt() / samples.len() as f64
}

/// Frequency estimated from the number of sign changes.
fn zero_crossing_hz(samples: &[i16], rate_hz: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate_hz))
}

/// The lag (in samples, within ±`max_lag`) at which `signal` best matches `reference`.
fn best_lag(signal: &[i16], reference: &[i16], max_lag: isize) -> isize {
    (-max_lag..=max_lag)
        .max_by(|&a, &b| {
            correlation(signal, reference, a).total_cmp(&correlation(signal, reference, b))
        })
        .unwrap()
}

fn correlation(signal: &[i16], reference: &[i16], lag: isize) -> f64 {
    reference
        .iter()
        .enumerate()
        .filter_map(|(n, &r)| {
            let i = usize::try_from(n as isize + lag).ok()?;
            signal.get(i).map(|&s| f64::from(s) * f64::from(r))
        })
        .sum()
}

/// The steady-state part of a streamed output: skips the start-up and keeps
/// a whole number of 1 kHz periods.
fn steady(output: &[i16], rate_hz: u32, latency: usize) -> &[i16] {
    let start = latency + rate_hz as usize / 50;
    &output[start..start + rate_hz as usize / 5]
}

#[test]
fn tone_keeps_frequency_and_amplitude_for_every_rate_pair() {
    for (from, to) in RATE_PAIRS {
        let mut resampler = FrameResampler::new(from, to, FRAME_MS).unwrap();
        let input = sine(from, 1_000.0, AMPLITUDE, from as usize / 2);
        let output = stream(&mut resampler, &input);
        let window = steady(&output, to, resampler.latency_samples());

        let freq = zero_crossing_hz(window, to);
        assert!((freq - 1_000.0).abs() < 5.0, "{from}->{to}: {freq} Hz");
        let amplitude = tone_amplitude(window, to, 1_000.0);
        assert!(
            (amplitude / AMPLITUDE - 1.0).abs() < 0.02,
            "{from}->{to}: amplitude {amplitude}"
        );
        // Upsampling must not leave the spectral image of the tone around
        // the input rate (e.g. 7 kHz for 8 kHz input).
        if to > from {
            let image = tone_amplitude(window, to, f64::from(from) - 1_000.0);
            assert!(image < AMPLITUDE * 0.001, "{from}->{to}: image {image}");
        }
    }
}

#[test]
fn downsampling_filters_out_what_would_alias() {
    // 5 kHz cannot be carried at 8 kHz; unfiltered it would fold to 3 kHz.
    for from in [16_000, 48_000] {
        let mut resampler = FrameResampler::new(from, 8_000, FRAME_MS).unwrap();
        let input = sine(from, 5_000.0, AMPLITUDE, from as usize / 2);
        let output = stream(&mut resampler, &input);
        let window = steady(&output, 8_000, resampler.latency_samples());
        let alias = tone_amplitude(window, 8_000, 3_000.0);
        assert!(alias < AMPLITUDE * 0.001, "{from}->8000: alias {alias}");
    }
}

#[test]
fn output_follows_the_ideal_delayed_sine_across_frame_boundaries() {
    for (from, to) in RATE_PAIRS {
        let mut resampler = FrameResampler::new(from, to, FRAME_MS).unwrap();
        let latency = resampler.latency_samples();
        let input = sine(from, 1_000.0, AMPLITUDE, from as usize / 2);
        let output = stream(&mut resampler, &input);
        let ideal = sine(to, 1_000.0, AMPLITUDE, to as usize / 2);
        let start = latency + to as usize / 50;
        let end = to as usize / 2 - to as usize / 50;
        let worst = (start..end)
            .map(|n| (i32::from(output[n]) - i32::from(ideal[n - latency])).abs())
            .max()
            .unwrap();
        assert!(
            f64::from(worst) < AMPLITUDE * 0.01,
            "{from}->{to}: off by {worst}"
        );
    }
}

#[test]
fn frame_boundaries_do_not_click() {
    for (from, to) in RATE_PAIRS {
        let mut resampler = FrameResampler::new(from, to, FRAME_MS).unwrap();
        let frame = resampler.output_len();
        let input = sine(from, 1_000.0, AMPLITUDE, from as usize / 2);
        let output = stream(&mut resampler, &input);
        // From the first frame wholly inside the tone to the last one.
        let first = (resampler.latency_samples() / frame + 2) * frame;
        let last = input.len() * to as usize / from as usize - frame;
        let mut inside = 0;
        let mut across = 0;
        for n in first..last {
            let step = (i32::from(output[n + 1]) - i32::from(output[n])).abs();
            if (n + 1) % frame == 0 {
                across = across.max(step);
            } else {
                inside = inside.max(step);
            }
        }
        // The steepest step of a sine: 2·A·sin(π·f/fs).
        let steepest = 2.0 * AMPLITUDE * (PI * 1_000.0 / f64::from(to)).sin();
        assert!(
            f64::from(inside) <= steepest * 1.01 + 2.0,
            "{from}->{to}: inside {inside}"
        );
        assert!(
            f64::from(across) <= steepest * 1.01 + 2.0,
            "{from}->{to}: across {across}"
        );
        assert!(across > 0, "{from}->{to}: no boundary measured");
    }
}

#[test]
fn reported_latency_matches_cross_correlation() {
    for (from, to) in RATE_PAIRS {
        let mut resampler = FrameResampler::new(from, to, FRAME_MS).unwrap();
        let output = stream(&mut resampler, &chirp(from, 0.3));
        let reference = chirp(to, 0.3);
        let measured = best_lag(&output, &reference, to as isize / 100);
        let reported = resampler.latency_samples() as isize;
        assert!(
            (measured - reported).abs() <= 1,
            "{from}->{to}: measured {measured}, reported {reported}"
        );
        // Small: at most 5 ms.
        assert!(
            reported <= to as isize / 200,
            "{from}->{to}: {reported} samples"
        );
        assert!(reported > 0);
    }
}

#[test]
fn round_trip_8k_48k_8k_returns_the_input_delayed() {
    let mut up = FrameResampler::new(8_000, 48_000, FRAME_MS).unwrap();
    let mut down = FrameResampler::new(48_000, 8_000, FRAME_MS).unwrap();
    assert_eq!(up.latency_samples() % 6, 0);
    let delay = up.latency_samples() / 6 + down.latency_samples();

    let input = sine(8_000, 1_000.0, AMPLITUDE, 4_000);
    let output = stream(&mut down, &stream(&mut up, &input));

    let window = steady(&output, 8_000, delay);
    let freq = zero_crossing_hz(window, 8_000);
    assert!((freq - 1_000.0).abs() < 5.0, "{freq} Hz");
    let amplitude = tone_amplitude(window, 8_000, 1_000.0);
    assert!(
        (amplitude / AMPLITUDE - 1.0).abs() < 0.02,
        "amplitude {amplitude}"
    );

    let worst = (delay + 160..input.len() - 160)
        .map(|n| (i32::from(output[n]) - i32::from(input[n - delay])).abs())
        .max()
        .unwrap();
    assert!(f64::from(worst) < AMPLITUDE * 0.01, "off by {worst}");

    // The chirp comes back at the same total delay.
    let output = stream(&mut down, &stream(&mut up, &chirp(8_000, 0.3)));
    let measured = best_lag(&output, &chirp(8_000, 0.3), 200);
    assert!(
        (measured - delay as isize).abs() <= 1,
        "measured {measured}, expected {delay}"
    );
}

#[test]
fn round_trip_16k_8k_16k_keeps_the_tone() {
    let mut down = FrameResampler::new(16_000, 8_000, FRAME_MS).unwrap();
    let mut up = FrameResampler::new(8_000, 16_000, FRAME_MS).unwrap();
    let delay = down.latency_samples() * 2 + up.latency_samples();
    let input = sine(16_000, 1_000.0, AMPLITUDE, 8_000);
    let output = stream(&mut up, &stream(&mut down, &input));
    let window = steady(&output, 16_000, delay);
    assert!((zero_crossing_hz(window, 16_000) - 1_000.0).abs() < 5.0);
    let amplitude = tone_amplitude(window, 16_000, 1_000.0);
    assert!(
        (amplitude / AMPLITUDE - 1.0).abs() < 0.02,
        "amplitude {amplitude}"
    );
}

#[test]
fn frame_sizes_follow_the_rates() {
    let resampler = FrameResampler::new(8_000, 48_000, 20).unwrap();
    assert_eq!((resampler.input_len(), resampler.output_len()), (160, 960));
    let resampler = FrameResampler::new(48_000, 16_000, 20).unwrap();
    assert_eq!((resampler.input_len(), resampler.output_len()), (960, 320));
    let resampler = FrameResampler::new(16_000, 8_000, 30).unwrap();
    assert_eq!((resampler.input_len(), resampler.output_len()), (480, 240));
}

#[test]
fn equal_rates_pass_through_unchanged() {
    let mut resampler = FrameResampler::new(16_000, 16_000, FRAME_MS).unwrap();
    assert_eq!(resampler.latency_samples(), 0);
    let input = chirp(16_000, 0.1);
    let output = stream(&mut resampler, &input);
    assert_eq!(&output[..input.len()], &input[..]);
}

#[test]
fn reset_forgets_past_input() {
    let mut resampler = FrameResampler::new(8_000, 16_000, FRAME_MS).unwrap();
    let loud = sine(8_000, 1_000.0, AMPLITUDE, 160);
    let mut out = vec![0i16; 320];
    resampler.process(&loud, &mut out).unwrap();
    resampler.reset();
    resampler.process(&[0; 160], &mut out).unwrap();
    assert!(
        out.iter().all(|&s| s == 0),
        "tail of the earlier frame leaked"
    );
}

#[test]
fn rejects_bad_rates_frames_and_lengths() {
    assert!(matches!(
        FrameResampler::new(0, 8_000, 20),
        Err(ResampleError::UnsupportedRate(0))
    ));
    assert!(matches!(
        FrameResampler::new(8_000, 8_000, 0),
        Err(ResampleError::UnsupportedFrame(0))
    ));
    assert!(matches!(
        FrameResampler::new(44_100, 8_000, 1),
        Err(ResampleError::FractionalFrame { .. })
    ));
    let mut resampler = FrameResampler::new(8_000, 48_000, 20).unwrap();
    let mut out = vec![0i16; 960];
    assert!(matches!(
        resampler.process(&[0; 159], &mut out),
        Err(ResampleError::InputLength {
            expected: 160,
            actual: 159
        })
    ));
    assert!(matches!(
        resampler.process(&[0; 160], &mut out[..959]),
        Err(ResampleError::OutputLength {
            expected: 960,
            actual: 959
        })
    ));
    assert!(resample(&[1, 2, 3], 8_000, 0).is_err());
}

#[test]
fn one_shot_length_is_the_scaled_input_length_rounded() {
    let cases = [
        (22_050, 22_050, 16_000, 16_000),
        (1_001, 44_100, 8_000, 182), // 181.59
        (1_003, 44_100, 8_000, 182), // 181.95
        (999, 44_100, 8_000, 181),   // 181.22
        (160, 8_000, 48_000, 960),
        (3, 48_000, 8_000, 1), // 0.5 rounds up
        (7, 16_000, 8_000, 4), // 3.5 rounds up
    ];
    for (len, from, to, expected) in cases {
        let output = resample(&vec![1_000; len], from, to).unwrap();
        assert_eq!(output.len(), expected, "{len} samples {from}->{to}");
    }
    assert!(resample(&[], 8_000, 16_000).unwrap().is_empty());
    assert_eq!(resample(&[5, -5, 7], 8_000, 8_000).unwrap(), vec![5, -5, 7]);
}

#[test]
fn one_shot_output_is_aligned_with_the_input() {
    for (from, to) in [
        (44_100, 16_000),
        (22_050, 8_000),
        (8_000, 48_000),
        (48_000, 8_000),
    ] {
        let output = resample(&chirp(from, 0.3), from, to).unwrap();
        let reference = chirp(to, 0.3);
        assert_eq!(output.len(), reference.len());
        assert_eq!(best_lag(&output, &reference, 40), 0, "{from}->{to}");
        let worst = output
            .iter()
            .zip(&reference)
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
            .max()
            .unwrap();
        assert!(
            f64::from(worst) < AMPLITUDE * 0.01,
            "{from}->{to}: off by {worst}"
        );
    }
}

#[test]
fn other_frame_durations_and_rates_keep_latency_and_level() {
    for (from, to, frame_ms) in [
        (8_000, 48_000, 10),
        (8_000, 48_000, 30),
        (44_100, 48_000, 20),
        (48_000, 44_100, 20),
    ] {
        let mut resampler = FrameResampler::new(from, to, frame_ms).unwrap();
        let output = stream(&mut resampler, &chirp(from, 0.3));
        let measured = best_lag(&output, &chirp(to, 0.3), to as isize / 100);
        let reported = resampler.latency_samples() as isize;
        assert!(
            (measured - reported).abs() <= 1,
            "{from}->{to} {frame_ms} ms: measured {measured}, reported {reported}"
        );
        resampler.reset();
        let output = stream(
            &mut resampler,
            &sine(from, 1_000.0, AMPLITUDE, from as usize / 2),
        );
        let window = steady(&output, to, resampler.latency_samples());
        let amplitude = tone_amplitude(window, to, 1_000.0);
        assert!(
            (amplitude / AMPLITUDE - 1.0).abs() < 0.02,
            "{from}->{to} {frame_ms} ms: amplitude {amplitude}"
        );
    }
}

#[test]
fn frame_resampler_can_move_to_a_media_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<FrameResampler>();
}
