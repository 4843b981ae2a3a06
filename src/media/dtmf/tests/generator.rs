use super::*;

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

#[test]
fn tone_then_pause_then_idle_with_configured_lengths() {
    let config = DtmfToneConfig {
        low_dbm0: -10.0,
        high_dbm0: -8.0,
        on_ms: 70,
        off_ms: 30,
    };
    let mut generator = DtmfGenerator::new(8000, config).expect("gen");
    assert!(generator.is_idle());
    generator.start(DtmfDigit::Hash);
    let mut out = vec![0i16; 1000];
    assert_eq!(generator.fill(&mut out), 800);
    assert!(generator.is_idle());
    assert_eq!(generator.digit(), None);
    assert!(out[560..].iter().all(|&s| s == 0));
    // Power is the sum of both tones' A²/2.
    let a = f64::from(dbm0_to_amplitude(-10.0));
    let b = f64::from(dbm0_to_amplitude(-8.0));
    let want = ((a * a + b * b) / 2.0).sqrt();
    let got = rms(&out[..560]);
    assert!((got / want - 1.0).abs() < 0.02, "rms {got}, want {want}");
}

#[test]
fn frames_join_with_continuous_phase() {
    let mut whole = DtmfGenerator::new(8000, DtmfToneConfig::default()).expect("gen");
    let mut framed = whole.clone();
    whole.start(DtmfDigit::Digit9);
    framed.start(DtmfDigit::Digit9);
    let mut reference = vec![0i16; 1600];
    whole.fill(&mut reference);
    let mut joined = Vec::new();
    let mut frame = [0i16; 160];
    for _ in 0..10 {
        framed.fill(&mut frame);
        joined.extend_from_slice(&frame);
    }
    assert_eq!(joined, reference);
    // No step at any frame edge larger than the tone's own largest step.
    let max_step = reference[..800]
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap_or(0);
    for edge in (160..800).step_by(160) {
        let step = (i32::from(joined[edge]) - i32::from(joined[edge - 1])).abs();
        assert!(step <= max_step, "edge {edge}: {step} > {max_step}");
    }
}

#[test]
fn stop_cuts_the_tone_and_keeps_the_pause() {
    let mut generator = DtmfGenerator::new(8000, DtmfToneConfig::default()).expect("gen");
    generator.start_for(DtmfDigit::A, 1000);
    let mut frame = [0i16; 160];
    generator.fill(&mut frame);
    assert!(rms(&frame) > 1000.0);
    generator.stop();
    let mut rest = vec![0i16; 2000];
    assert_eq!(generator.fill(&mut rest), 800);
    assert!(rest.iter().all(|&s| s == 0));
    assert!(generator.is_idle());
}

#[test]
fn bad_configs_are_errors() {
    let loud = DtmfToneConfig {
        low_dbm0: 6.0,
        ..DtmfToneConfig::default()
    };
    assert_eq!(
        DtmfGenerator::new(8000, loud).err(),
        Some(DtmfError::InvalidLevel(6.0))
    );
    let empty = DtmfToneConfig {
        on_ms: 0,
        ..DtmfToneConfig::default()
    };
    assert_eq!(
        DtmfGenerator::new(8000, empty).err(),
        Some(DtmfError::ZeroDuration)
    );
    assert!(DtmfGenerator::new(1000, DtmfToneConfig::default()).is_err());
}
