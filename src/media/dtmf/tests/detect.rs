use super::*;
use crate::codec::g711::{ulaw_decode, ulaw_encode};

const RATE: u32 = 8000;

fn one(digit: DtmfDigit, low_dbm0: f32, high_dbm0: f32, on_ms: u32, deviation: f64) -> String {
    let tone = digit_tone(RATE, digit, low_dbm0, high_dbm0, on_ms, deviation);
    detect_digits(RATE, &padded(RATE, &tone, 60))
}

/// Every digit once: the ones that must pass here pass for all sixteen.
fn all(low_dbm0: f32, high_dbm0: f32, on_ms: u32, deviation: f64) -> Vec<(char, String)> {
    DtmfDigit::ALL
        .iter()
        .map(|&d| (d.to_char(), one(d, low_dbm0, high_dbm0, on_ms, deviation)))
        .collect()
}

fn assert_all_detected(low_dbm0: f32, high_dbm0: f32, on_ms: u32, deviation: f64) {
    for (want, got) in all(low_dbm0, high_dbm0, on_ms, deviation) {
        assert_eq!(
            got,
            want.to_string(),
            "{low_dbm0}/{high_dbm0} dBm0, {on_ms} ms, deviation {deviation}"
        );
    }
}

fn assert_none_detected(low_dbm0: f32, high_dbm0: f32, on_ms: u32, deviation: f64) {
    for (digit, got) in all(low_dbm0, high_dbm0, on_ms, deviation) {
        assert_eq!(
            got, "",
            "digit {digit}: {low_dbm0}/{high_dbm0} dBm0, {on_ms} ms, deviation {deviation}"
        );
    }
}

#[test]
fn all_sixteen_from_the_generator_at_each_rate() {
    for rate in [8000, 16_000, 48_000] {
        let mut generator = DtmfGenerator::new(rate, DtmfToneConfig::default()).expect("gen");
        let mut signal = vec![0i16; ms(rate, 100)];
        let mut frame = vec![0i16; ms(rate, 20)];
        for digit in DtmfDigit::ALL {
            generator.start(digit);
            while !generator.is_idle() {
                generator.fill(&mut frame);
                signal.extend_from_slice(&frame);
            }
        }
        let events = detect(rate, &signal);
        assert_eq!(digits(&events), "0123456789*#ABCD", "{rate} Hz");
        // Each reported duration is the 100 ms sent, within half a block.
        for event in events.iter().filter(|e| e.kind == DtmfEventKind::End) {
            let duration_ms = event.duration * 1000 / u64::from(rate);
            assert!((92..=108).contains(&duration_ms), "{event:?} at {rate} Hz");
        }
    }
}

#[test]
fn digit_string_at_50_ms_on_50_ms_off() {
    let mut signal = vec![0.0; ms(RATE, 50)];
    for c in "0123456789*#ABCD".chars() {
        let digit = DtmfDigit::from_char(c).expect("digit");
        signal.extend(digit_tone(RATE, digit, -10.0, -10.0, 50, 0.0));
        signal.extend(vec![0.0; ms(RATE, 50)]);
    }
    assert_eq!(detect_digits(RATE, &signal), "0123456789*#ABCD");
}

#[test]
fn levels_from_minus_3_to_minus_25_dbm0_are_accepted() {
    for level in [-3.0, -10.0, -15.0, -20.0, -25.0] {
        assert_all_detected(level, level, 60, 0.0);
    }
}

#[test]
fn levels_of_minus_35_dbm0_and_below_are_refused() {
    for level in [-35.0, -40.0] {
        assert_none_detected(level, level, 100, 0.0);
    }
}

#[test]
fn twist_within_limits_is_accepted() {
    // High group 4 dB over low; low group 8 dB over high.
    assert_all_detected(-12.0, -8.0, 60, 0.0);
    assert_all_detected(-6.0, -14.0, 60, 0.0);
}

#[test]
fn twist_of_10_db_either_way_is_refused() {
    assert_none_detected(-16.0, -6.0, 100, 0.0);
    assert_none_detected(-6.0, -16.0, 100, 0.0);
}

#[test]
fn frequency_within_1_5_percent_is_accepted() {
    assert_all_detected(-10.0, -10.0, 60, 0.015);
    assert_all_detected(-10.0, -10.0, 60, -0.015);
}

#[test]
fn frequency_3_5_percent_off_is_refused() {
    assert_none_detected(-10.0, -10.0, 100, 0.035);
    assert_none_detected(-10.0, -10.0, 100, -0.035);
}

#[test]
fn one_tone_3_5_percent_off_is_refused() {
    // Off in one group only, the pair keeps most of the energy in the
    // filters: only the frequency measured from phase refuses it.
    for digit in DtmfDigit::ALL {
        let (low, high) = digit.frequencies();
        let (low, high) = (f64::from(low), f64::from(high));
        for (l, h) in [
            (low * 1.035, high),
            (low * 0.965, high),
            (low, high * 1.035),
        ] {
            let tone = dual_tone(RATE, l, h, -10.0, -10.0, 100);
            let got = detect_digits(RATE, &padded(RATE, &tone, 60));
            assert_eq!(got, "", "{l:.1} + {h:.1} Hz");
        }
    }
}

#[test]
fn tones_of_40_ms_count_and_of_20_ms_do_not() {
    assert_all_detected(-10.0, -10.0, 40, 0.0);
    // Every alignment against the blocks: shift by a few samples each time.
    for shift in 0..8 {
        let mut signal = vec![0.0; 60 + shift * 9];
        signal.extend(digit_tone(RATE, DtmfDigit::Digit5, -10.0, -10.0, 40, 0.0));
        signal.extend(vec![0.0; ms(RATE, 60)]);
        signal.extend(digit_tone(RATE, DtmfDigit::Digit7, -10.0, -10.0, 20, 0.0));
        assert_eq!(detect_digits(RATE, &signal), "5", "shift {shift}");
    }
    assert_none_detected(-10.0, -10.0, 20, 0.0);
    assert_none_detected(-3.0, -3.0, 22, 0.0);
    for shift in 0..17 {
        let mut signal = vec![0.0; shift * 4];
        signal.extend(digit_tone(RATE, DtmfDigit::Digit1, -3.0, -3.0, 22, 0.0));
        assert_eq!(detect_digits(RATE, &signal), "", "22 ms, shift {shift}");
    }
}

#[test]
fn a_second_tone_4_db_down_in_a_group_is_no_digit() {
    // 941 + 1209 Hz with 852 Hz 4 dB under 941: the pair still holds 83 % of
    // the energy, but the row tone does not stand 5 dB clear of its group.
    let mut signal = dual_tone(RATE, 941.0, 1209.0, -10.0, -10.0, 200);
    for (x, y) in signal
        .iter_mut()
        .zip(dual_tone(RATE, 852.0, 0.0, -14.0, -90.0, 200))
    {
        *x += y;
    }
    assert_eq!(detect_digits(RATE, &padded(RATE, &signal, 60)), "");
    // The same 6 dB down passes: the digit is clear.
    let mut signal = dual_tone(RATE, 941.0, 1209.0, -10.0, -10.0, 200);
    for (x, y) in signal
        .iter_mut()
        .zip(dual_tone(RATE, 852.0, 0.0, -17.0, -90.0, 200))
    {
        *x += y;
    }
    assert_eq!(detect_digits(RATE, &padded(RATE, &signal, 60)), "*");
}

#[test]
fn a_third_tone_in_a_group_is_no_digit() {
    // 697 + 770 + 1336 Hz, and 852 + 1209 + 1477 Hz, each tone at −10 dBm0.
    let mut signal = dual_tone(RATE, 697.0, 1336.0, -10.0, -10.0, 200);
    for (x, y) in signal
        .iter_mut()
        .zip(dual_tone(RATE, 770.0, 0.0, -10.0, -90.0, 200))
    {
        *x += y;
    }
    let mut other = dual_tone(RATE, 852.0, 1209.0, -10.0, -10.0, 200);
    for (x, y) in other
        .iter_mut()
        .zip(dual_tone(RATE, 0.0, 1477.0, -90.0, -10.0, 200))
    {
        *x += y;
    }
    signal.extend(vec![0.0; ms(RATE, 100)]);
    signal.extend(other);
    assert_eq!(detect_digits(RATE, &padded(RATE, &signal, 60)), "");
}

#[test]
fn a_10_ms_dropout_does_not_split_a_key_press() {
    let tone = digit_tone(RATE, DtmfDigit::Digit8, -10.0, -10.0, 200, 0.0);
    for at in [300, 700, 1000] {
        let mut signal = tone.clone();
        signal[at..at + ms(RATE, 10)].fill(0.0);
        let events = detect(RATE, &to_i16(&padded(RATE, &signal, 60)));
        assert_eq!(digits(&events), "8", "dropout at {at}");
    }
}

#[test]
fn detected_in_white_noise_at_15_db_snr() {
    let mut rng = Rng::new(15);
    let mut signal = vec![0.0; ms(RATE, 50)];
    for digit in DtmfDigit::ALL {
        signal.extend(digit_tone(RATE, digit, -15.0, -15.0, 60, 0.0));
        signal.extend(vec![0.0; ms(RATE, 60)]);
    }
    // Noise power 15 dB under that of the two tones (each A²/2).
    let a = f64::from(dbm0_to_amplitude(-15.0));
    let sigma = (a * a * 10f64.powf(-15.0 / 10.0)).sqrt();
    for x in &mut signal {
        *x += sigma * rng.gaussian();
    }
    assert_eq!(detect_digits(RATE, &signal), "0123456789*#ABCD");
}

#[test]
fn detected_through_g711_mu_law() {
    for level in [-3.0, -10.0, -25.0] {
        let mut signal = vec![0.0; ms(RATE, 50)];
        for digit in DtmfDigit::ALL {
            signal.extend(digit_tone(RATE, digit, level, level, 50, 0.0));
            signal.extend(vec![0.0; ms(RATE, 50)]);
        }
        let coded: Vec<i16> = to_i16(&signal)
            .into_iter()
            .map(|s| ulaw_decode(ulaw_encode(s)))
            .collect();
        assert_eq!(
            digits(&detect(RATE, &coded)),
            "0123456789*#ABCD",
            "{level} dBm0"
        );
    }
}

#[test]
fn odd_frame_sizes_give_the_same_events() {
    let mut signal = vec![0.0; 123];
    for digit in [DtmfDigit::Digit1, DtmfDigit::Star, DtmfDigit::D] {
        signal.extend(digit_tone(RATE, digit, -10.0, -10.0, 70, 0.0));
        signal.extend(vec![0.0; ms(RATE, 70)]);
    }
    let samples = to_i16(&signal);
    let reference = detect(RATE, &samples);
    let mut detector = DtmfDetector::new(RATE).expect("rate");
    let mut events = Vec::new();
    let mut rest = samples.as_slice();
    let mut size = 1;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        detector.push(chunk);
        rest = tail;
        size = size % 97 + 13;
        while let Some(event) = detector.poll_event() {
            events.push(event);
        }
    }
    detector.push(&vec![0i16; ms(RATE, 200)]);
    while let Some(event) = detector.poll_event() {
        events.push(event);
    }
    assert_eq!(events, reference);
    assert_eq!(digits(&events), "1*D");
}

#[test]
fn unsupported_rates_are_errors() {
    assert_eq!(
        DtmfDetector::new(4000).err(),
        Some(DtmfError::UnsupportedSampleRate(4000))
    );
    assert!(DtmfDetector::new(96_000).is_err());
}
