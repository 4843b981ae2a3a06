use super::*;

mod churn;
mod limiter;
mod selection;

pub(super) const RATE: u32 = 8000;
pub(super) const FRAME: usize = 160;

/// SplitMix64: a seeded, portable source of test noise.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Standard normal (Box–Muller).
    pub(super) fn gaussian(&mut self) -> f64 {
        let u1 = ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let u2 = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Peak amplitude of a sine at `dbfs` (a full-scale sine is 0 dBFS).
pub(super) fn amplitude(dbfs: f64) -> f64 {
    32767.0 * 10f64.powf(dbfs / 20.0)
}

/// Frame `tick` of a continuous sine.
pub(super) fn tone(hz: f64, amp: f64, tick: usize) -> Vec<i16> {
    (0..FRAME)
        .map(|i| {
            let t = (tick * FRAME + i) as f64 / f64::from(RATE);
            (amp * (std::f64::consts::TAU * hz * t).sin()).round() as i16
        })
        .collect()
}

/// Frame `tick` of a full-scale square wave of `period` samples.
pub(super) fn square(period: usize, tick: usize) -> Vec<i16> {
    (0..FRAME)
        .map(|i| {
            if (tick * FRAME + i) % period < period / 2 {
                32767
            } else {
                -32767
            }
        })
        .collect()
}

/// Amplitude of the `hz` component of `x` (one DFT bin; exact for a whole
/// number of periods).
pub(super) fn amplitude_at(x: &[i16], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / f64::from(RATE);
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in x.iter().enumerate() {
        re += f64::from(s) * (w * n as f64).cos();
        im -= f64::from(s) * (w * n as f64).sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

pub(super) fn db(ratio: f64) -> f64 {
    20.0 * ratio.max(1e-12).log10()
}

pub(super) fn mixer(max_speakers: usize) -> Mixer {
    let config = MixerConfig {
        max_speakers,
        ..MixerConfig::new(RATE)
    };
    Mixer::new(config).expect("mixer")
}

pub(super) fn events(m: &mut Mixer) -> Vec<MixerEvent> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

pub(super) fn speakers(m: &Mixer) -> Vec<MemberId> {
    let mut s: Vec<_> = m.speakers().collect();
    s.sort_unstable();
    s
}

pub(super) fn samples(m: &Mixer, id: MemberId) -> Vec<i16> {
    m.output(id).expect("member").samples().to_vec()
}

use MixerEvent::{StartedSpeaking as Started, StoppedSpeaking as Stopped};

#[test]
fn every_member_hears_the_others_but_not_itself() {
    let freqs = [300.0, 500.0, 700.0, 1100.0, 1300.0];
    let mut m = mixer(5);
    for id in 0..5 {
        m.add_member(id).expect("add");
    }
    let mut heard = vec![Vec::new(); 5];
    for tick in 0..50 {
        for (id, &f) in freqs.iter().enumerate() {
            m.push(id as u64, &tone(f, 6000.0, tick));
        }
        m.mix();
        if tick >= 40 {
            for (id, out) in heard.iter_mut().enumerate() {
                out.extend(samples(&m, id as u64));
            }
        }
    }
    assert_eq!(speakers(&m), vec![0, 1, 2, 3, 4]);
    for (id, out) in heard.iter().enumerate() {
        assert!(matches!(
            m.output(id as u64),
            Some(MemberOutput::Personal(_))
        ));
        let own = amplitude_at(out, freqs[id]);
        for (other, &f) in freqs.iter().enumerate().filter(|&(o, _)| o != id) {
            let a = amplitude_at(out, f);
            assert!((a - 6000.0).abs() < 60.0, "{id} hears {other} at {a}");
            assert!(db(a / own) > 30.0, "{id} hears itself at {own}");
        }
    }
}

#[test]
fn the_full_mix_holds_every_speaker_even_with_no_listener() {
    let mut m = mixer(3);
    m.add_member(0).expect("add");
    m.add_member(1).expect("add");
    let full = |m: &mut Mixer, tick: usize| {
        m.push(0, &tone(400.0, 6000.0, tick));
        m.push(1, &tone(1000.0, 6000.0, tick));
        m.mix();
        m.full_mix().to_vec()
    };
    // Both members speak: nobody hears the shared mix, so it is not made.
    let mut unkept = Vec::new();
    for tick in 0..50 {
        unkept.extend(full(&mut m, tick));
    }
    assert_eq!(speakers(&m), vec![0, 1]);
    assert!(amplitude_at(&unkept[unkept.len() - 1600..], 400.0) < 1.0);
    m.keep_full_mix(true);
    let mut kept = Vec::new();
    for tick in 50..100 {
        kept.extend(full(&mut m, tick));
    }
    let last = &kept[kept.len() - 1600..];
    for hz in [400.0, 1000.0] {
        let a = amplitude_at(last, hz);
        assert!((a - 6000.0).abs() < 60.0, "{hz} Hz at {a}");
    }
}

#[test]
fn listeners_share_one_buffer_and_speakers_get_their_own() {
    let mut m = mixer(3);
    for id in 0..6 {
        m.add_member(id).expect("add");
    }
    let mut heard: Vec<Vec<i16>> = vec![Vec::new(); 6];
    for tick in 0..20 {
        m.push(0, &tone(400.0, 5000.0, tick));
        m.push(1, &tone(900.0, 5000.0, tick));
        for id in 2..6 {
            m.push(id, &[0; FRAME]);
        }
        m.mix();
        if tick >= 10 {
            for (id, out) in heard.iter_mut().enumerate() {
                out.extend(samples(&m, id as u64));
            }
        }
    }
    let Some(MemberOutput::Shared { samples, variant }) = m.output(2) else {
        panic!("a listener gets the shared mix");
    };
    assert_eq!(variant, 0);
    for id in 3..6 {
        let Some(MemberOutput::Shared { samples: other, .. }) = m.output(id) else {
            panic!("a listener gets the shared mix");
        };
        assert!(std::ptr::eq(samples, other), "one buffer for all listeners");
    }
    for out in &heard[2..] {
        assert!((amplitude_at(out, 400.0) - 5000.0).abs() < 50.0);
        assert!((amplitude_at(out, 900.0) - 5000.0).abs() < 50.0);
    }
    for (speaker, own, other) in [(0, 400.0, 900.0), (1, 900.0, 400.0)] {
        assert!(matches!(m.output(speaker), Some(MemberOutput::Personal(_))));
        let out = &heard[speaker as usize];
        assert!(amplitude_at(out, own) < 1.0);
        assert!((amplitude_at(out, other) - 5000.0).abs() < 50.0);
    }
}

#[test]
fn a_silent_line_never_stalls_the_room() {
    let mut m = mixer(3);
    for id in 0..4 {
        m.add_member(id).expect("add");
    }
    for tick in 0..60 {
        m.push(0, &tone(400.0, 5000.0, tick));
        // Member 1's packets stop for ticks 20..40.
        if !(20..40).contains(&tick) {
            m.push(1, &tone(1000.0, 5000.0, tick));
        }
        m.mix();
        let out = samples(&m, 3);
        assert!(
            (amplitude_at(&out, 400.0) - 5000.0).abs() < 50.0,
            "tick {tick}"
        );
        let other = amplitude_at(&out, 1000.0);
        if (20..40).contains(&tick) {
            assert!(other < 1.0, "tick {tick}: {other}");
        } else {
            assert!((other - 5000.0).abs() < 50.0, "tick {tick}: {other}");
        }
    }
}

#[test]
fn a_removed_member_disappears() {
    let mut m = mixer(3);
    for id in 0..5 {
        m.add_member(id).expect("add");
    }
    let freqs = [400.0, 1000.0, 1400.0];
    let mut tick = 0;
    let run = |m: &mut Mixer, tick: &mut usize| {
        for (id, &f) in freqs.iter().enumerate() {
            m.push(id as u64, &tone(f, 5000.0, *tick));
        }
        m.mix();
        *tick += 1;
    };
    run(&mut m, &mut tick);
    assert_eq!(speakers(&m), vec![0, 1, 2]);
    events(&mut m);
    m.remove_member(0);
    assert_eq!(events(&mut m), vec![Stopped(0)]);
    assert_eq!(m.len(), 4);
    assert!(m.output(0).is_none());
    run(&mut m, &mut tick);
    // The member moved into the freed place is still itself.
    assert_eq!(speakers(&m), vec![1, 2]);
    for listener in [3, 4] {
        let out = samples(&m, listener);
        assert!(amplitude_at(&out, 400.0) < 1.0);
        assert!((amplitude_at(&out, 1000.0) - 5000.0).abs() < 50.0);
        assert!((amplitude_at(&out, 1400.0) - 5000.0).abs() < 50.0);
    }
    let out = samples(&m, 1);
    assert!(amplitude_at(&out, 1000.0) < 1.0);
    assert!((amplitude_at(&out, 1400.0) - 5000.0).abs() < 50.0);
    m.remove_member(42);
    assert_eq!(m.len(), 4);
}

#[test]
fn listeners_at_other_volumes_get_their_own_shared_variant() {
    let mut m = mixer(3);
    for id in 0..5 {
        m.add_member(id).expect("add");
    }
    m.set_volume(2, 6.0);
    m.set_volume(3, -6.0);
    m.set_volume(4, 6.2);
    for tick in 0..10 {
        m.push(0, &tone(400.0, 8000.0, tick));
        m.mix();
    }
    let shared = |id| match m.output(id) {
        Some(MemberOutput::Shared { samples, variant }) => (samples, variant),
        other => panic!("{other:?}"),
    };
    let (base, v0) = shared(1);
    let (louder, v_up) = shared(2);
    let (softer, v_down) = shared(3);
    let (same, v_same) = shared(4);
    assert_eq!((v0, v_up, v_down, v_same), (0, 24, 23, 24));
    assert!(std::ptr::eq(louder, same));
    let a = amplitude_at(base, 400.0);
    assert!((db(amplitude_at(louder, 400.0) / a) - 6.0).abs() < 0.05);
    assert!((db(amplitude_at(softer, 400.0) / a) + 6.0).abs() < 0.05);
    // The speaker hears nobody, at any volume.
    m.set_volume(0, 12.0);
    m.push(0, &tone(400.0, 8000.0, 10));
    m.mix();
    assert!(samples(&m, 0).iter().all(|&s| s == 0));
}

#[test]
fn volume_variants_are_stable_numbers() {
    assert_eq!(volume_variant(0.0), 0);
    assert_eq!(volume_variant(-0.5), 1);
    assert_eq!(volume_variant(0.5), 2);
    assert_eq!(volume_variant(-12.0), 47);
    assert_eq!(volume_variant(12.0), 48);
    assert_eq!(volume_variant(40.0), 48);
    assert_eq!(volume_variant(f32::NAN), 0);
    for v in 0..VARIANTS {
        let gain_db = 20.0 * variant_gain(v).log10();
        assert_eq!(volume_variant(gain_db) as usize, v);
    }
}

#[test]
fn bad_configuration_and_duplicates_are_refused() {
    let bad = |f: fn(&mut MixerConfig)| {
        let mut c = MixerConfig::new(RATE);
        f(&mut c);
        Mixer::new(c).err()
    };
    assert_eq!(
        bad(|c| c.sample_rate = 4000),
        Some(MixerError::UnsupportedSampleRate(4000))
    );
    assert_eq!(
        bad(|c| c.frame_len = 0),
        Some(MixerError::InvalidFrameLength(0))
    );
    assert_eq!(
        bad(|c| c.max_speakers = 0),
        Some(MixerError::InvalidMaxSpeakers(0))
    );
    assert!(matches!(
        bad(|c| c.vad.onset_db = f32::NAN),
        Some(MixerError::InvalidVad(_))
    ));
    assert!(matches!(
        bad(|c| c.switch_margin_db = -1.0),
        Some(MixerError::InvalidSwitchMargin(_))
    ));
    for rate in [8000, 16000, 48000] {
        let m = Mixer::new(MixerConfig::new(rate)).expect("mixer");
        assert_eq!(m.config().frame_len, rate as usize / 50);
    }
    let mut m = mixer(3);
    m.add_member(7).expect("add");
    assert_eq!(m.add_member(7), Err(MixerError::DuplicateMember(7)));
    assert!(!m.is_empty());
}
