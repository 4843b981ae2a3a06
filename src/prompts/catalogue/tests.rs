use super::*;
use std::f64::consts::PI;

fn shipped() -> PromptCatalogue {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    PromptCatalogue::load(&dir, "en").unwrap()
}

/// Writes a 16-bit WAV whose every channel carries a sine of `freq_hz` at
/// `amplitude` (0..1), except the channels listed in `silent`.
pub(super) fn write_tone(
    path: &Path,
    rate_hz: u32,
    channels: u16,
    silent: &[u16],
    seconds: f64,
    freq_hz: f64,
    amplitude: f64,
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let frames = (seconds * f64::from(rate_hz)).round() as usize;
    for n in 0..frames {
        let value = amplitude * (2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz)).sin();
        for channel in 0..channels {
            let sample = if silent.contains(&channel) {
                0.0
            } else {
                value
            };
            writer
                .write_sample((sample * 32767.0).round() as i16)
                .unwrap();
        }
    }
    writer.finalize().unwrap();
}

pub(super) fn rms(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (energy / samples.len() as f64).sqrt()
}

pub(super) fn zero_crossing_hz(samples: &[i16], rate_hz: u32) -> f64 {
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    crossings as f64 / 2.0 / (samples.len() as f64 / f64::from(rate_hz))
}

pub(super) fn tone_amplitude(samples: &[i16], rate_hz: u32, freq_hz: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in samples.iter().enumerate() {
        let w = 2.0 * PI * freq_hz * n as f64 / f64::from(rate_hz);
        re += f64::from(s) * w.cos();
        im -= f64::from(s) * w.sin();
    }
    2.0 * (re * re + im * im).sqrt() / samples.len() as f64
}

#[test]
fn shipped_prompts_load_without_problems() {
    let catalogue = shipped();
    assert!(
        catalogue.problems().is_empty(),
        "{:?}",
        catalogue.problems()
    );
    for name in [
        "welcome",
        "goodbye",
        "beep",
        "please-wait",
        "invalid",
        "not-found",
    ] {
        assert!(catalogue.contains(name), "{name} missing");
        assert_eq!(catalogue.native_rate(name), Some(16_000), "{name}");
    }
}

#[test]
fn shipped_welcome_is_a_few_seconds_of_speech() {
    let catalogue = shipped();
    let duration = catalogue.duration("welcome").unwrap();
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(4)).contains(&duration),
        "{duration:?}"
    );
    let samples = catalogue.get("welcome", 16_000).unwrap();
    assert!((samples.len() as f64 / 16_000.0 - duration.as_secs_f64()).abs() < 1e-4);
    // Normalised to -3 dBFS peak; speech averages far below its peak.
    let peak = samples.iter().map(|s| s.saturating_abs()).max().unwrap();
    assert!(peak > 16_000, "peak {peak}");
    assert!(rms(&samples) > 1_000.0, "rms {}", rms(&samples));
}

#[test]
fn shipped_beep_is_a_quarter_second_of_1_khz() {
    let catalogue = shipped();
    let duration = catalogue.duration("beep").unwrap();
    assert!(duration.abs_diff(Duration::from_millis(250)) < Duration::from_millis(5));
    let samples = catalogue.get("beep", 8_000).unwrap();
    let freq = zero_crossing_hz(&samples, 8_000);
    assert!((freq - 1_000.0).abs() < 20.0, "{freq} Hz");
    // The fades: it starts and ends quietly.
    assert!(samples[0].abs() < 200 && samples[samples.len() - 1].abs() < 200);
}

#[test]
fn resampled_copies_have_the_scaled_length_and_are_cached() {
    let catalogue = shipped();
    let native = catalogue.get("welcome", 16_000).unwrap();
    let narrow = catalogue.get("welcome", 8_000).unwrap();
    assert!(
        narrow.len().abs_diff(native.len() / 2) <= 1,
        "{} vs {}",
        narrow.len(),
        native.len()
    );
    let wide = catalogue.get("welcome", 48_000).unwrap();
    assert_eq!(wide.len(), native.len() * 3);
    // Resampling keeps the level of the speech.
    let ratio = rms(&narrow) / rms(&native);
    assert!((0.85..=1.05).contains(&ratio), "rms ratio {ratio}");

    assert!(Arc::ptr_eq(
        &narrow,
        &catalogue.get("welcome", 8_000).unwrap()
    ));
    assert!(Arc::ptr_eq(
        &native,
        &catalogue.get("welcome", 16_000).unwrap()
    ));
    assert!(catalogue.get("welcome", 0).is_none());
}

#[test]
fn language_folder_wins_and_the_root_is_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    write_tone(
        &dir.path().join("only-root.wav"),
        8_000,
        1,
        &[],
        0.5,
        440.0,
        0.5,
    );
    write_tone(&dir.path().join("both.wav"), 8_000, 1, &[], 0.5, 440.0, 0.5);
    write_tone(&en.join("both.wav"), 16_000, 1, &[], 1.0, 440.0, 0.5);
    write_tone(&en.join("only-en.wav"), 16_000, 1, &[], 0.5, 440.0, 0.5);
    // Another language's folder is not looked at.
    let fr = dir.path().join("fr");
    std::fs::create_dir(&fr).unwrap();
    write_tone(&fr.join("only-fr.wav"), 16_000, 1, &[], 0.5, 440.0, 0.5);

    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert_eq!(catalogue.names(), ["both", "only-en", "only-root"]);
    assert_eq!(catalogue.native_rate("both"), Some(16_000));
    assert_eq!(catalogue.duration("both"), Some(Duration::from_secs(1)));
    assert_eq!(catalogue.source_path("both"), Some(en.join("both.wav")));
    assert_eq!(catalogue.native_rate("only-root"), Some(8_000));
    assert!(catalogue.get("only-root", 16_000).is_some());
    assert!(!catalogue.contains("only-fr"));
    assert!(catalogue.problems().is_empty());
}

#[test]
fn corrupt_and_empty_files_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    write_tone(&en.join("good.wav"), 8_000, 1, &[], 0.5, 440.0, 0.5);
    std::fs::write(
        en.join("corrupt.wav"),
        b"this is not audio at all, just text",
    )
    .unwrap();
    std::fs::write(en.join("empty.mp3"), b"").unwrap();
    // Header promises audio, the data chunk is cut off inside the header.
    let mut truncated = std::fs::read(en.join("good.wav")).unwrap();
    truncated.truncate(30);
    std::fs::write(en.join("truncated.wav"), truncated).unwrap();
    // Not prompts at all: neither loaded nor reported.
    std::fs::write(en.join("notes.txt"), b"remember to re-record").unwrap();
    write_tone(
        &dir.path().join("shared.wav"),
        8_000,
        1,
        &[],
        0.5,
        440.0,
        0.5,
    );
    std::fs::write(dir.path().join("README.md"), b"# prompts").unwrap();

    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert_eq!(catalogue.names(), ["good", "shared"]);
    let problems = catalogue.problems();
    let mut reported: Vec<_> = problems
        .iter()
        .map(|p| p.path.file_name().unwrap().to_str().unwrap())
        .collect();
    reported.sort();
    assert_eq!(reported, ["corrupt.wav", "empty.mp3", "truncated.wav"]);
    assert!(catalogue
        .problems()
        .iter()
        .all(|p| matches!(p.kind, ProblemKind::Decode(_))));
    assert!(catalogue.get("corrupt", 8_000).is_none());
    assert!(catalogue.get("good", 8_000).is_some());
}

#[test]
fn unusable_and_duplicate_file_names_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    write_tone(&en.join("hello world.wav"), 8_000, 1, &[], 0.2, 440.0, 0.5);
    write_tone(&en.join("twice.wav"), 8_000, 1, &[], 0.2, 440.0, 0.5);
    std::fs::copy(en.join("twice.wav"), en.join("twice.WAV")).unwrap();

    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert_eq!(catalogue.names(), ["twice"]);
    let problems = catalogue.problems();
    let kinds: Vec<_> = problems.iter().map(|p| &p.kind).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::InvalidName)));
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::Duplicate(_))));
}

#[test]
fn names_that_look_like_paths_find_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    let en = prompts.join("en");
    std::fs::create_dir_all(&en).unwrap();
    write_tone(&en.join("ok.wav"), 8_000, 1, &[], 0.2, 440.0, 0.5);
    // Files outside the catalogue's folders, reachable by a relative path.
    write_tone(
        &dir.path().join("secret.wav"),
        8_000,
        1,
        &[],
        0.2,
        440.0,
        0.5,
    );
    write_tone(&prompts.join("ok.wav"), 8_000, 1, &[], 0.2, 440.0, 0.5);

    let catalogue = PromptCatalogue::load(&prompts, "en").unwrap();
    for name in [
        "../etc/passwd",
        "../secret",
        "../../secret",
        "en/ok",
        "./ok",
        "ok.wav",
        "",
    ] {
        assert!(catalogue.get(name, 8_000).is_none(), "{name:?}");
        assert!(!catalogue.contains(name), "{name:?}");
        assert!(catalogue.duration(name).is_none(), "{name:?}");
    }
    assert!(catalogue.get("ok", 8_000).is_some());
}

#[test]
fn stereo_44k1_file_comes_out_mono_at_the_requested_rate() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    // Left: a 1 kHz sine at half scale; right: silence. Averaged: quarter scale.
    write_tone(&en.join("stereo.wav"), 44_100, 2, &[1], 1.5, 1_000.0, 0.5);

    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert_eq!(catalogue.native_rate("stereo"), Some(44_100));
    assert_eq!(
        catalogue.duration("stereo"),
        Some(Duration::from_millis(1_500))
    );
    for rate in [8_000, 16_000, 48_000] {
        let samples = catalogue.get("stereo", rate).unwrap();
        let expected = rate as usize * 3 / 2;
        assert!(
            samples.len().abs_diff(expected) <= 1,
            "{rate}: {} samples",
            samples.len()
        );
        let middle = &samples[rate as usize / 10..rate as usize * 14 / 10];
        let freq = zero_crossing_hz(middle, rate);
        assert!((freq - 1_000.0).abs() < 5.0, "{rate}: {freq} Hz");
        let amplitude = tone_amplitude(middle, rate, 1_000.0);
        assert!(
            (amplitude / 8_192.0 - 1.0).abs() < 0.03,
            "{rate}: amplitude {amplitude}"
        );
    }
}

#[test]
fn missing_folders_and_bad_languages_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    assert!(matches!(
        PromptCatalogue::load(&missing, "en"),
        Err(PromptError::MissingFolder(_))
    ));
    // The root exists but the language folder does not.
    assert!(matches!(
        PromptCatalogue::load(dir.path(), "en"),
        Err(PromptError::MissingFolder(p)) if p.ends_with("en")
    ));
    std::fs::create_dir(dir.path().join("en")).unwrap();
    for language in ["", "..", "../en", "en/"] {
        assert!(
            matches!(
                PromptCatalogue::load(dir.path(), language),
                Err(PromptError::InvalidLanguage(_))
            ),
            "{language:?}"
        );
    }
    // Empty folders are a valid, empty catalogue.
    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert!(catalogue.is_empty());
    assert_eq!(catalogue.language(), "en");
}
