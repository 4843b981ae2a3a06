//! Grouped names, other formats and rates, bad files in subfolders, and
//! rescans.

use super::tests::{tone_amplitude, write_tone, zero_crossing_hz};
use super::*;

fn tone(path: &Path, rate_hz: u32, seconds: f64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    write_tone(path, rate_hz, 1, &[], seconds, 440.0, 0.5);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prompts")
        .join(name)
}

#[test]
fn grouped_names_resolve_in_the_language_folder_then_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tone(&root.join("en/numbers/20.wav"), 16_000, 0.5);
    tone(&root.join("numbers/20.wav"), 8_000, 0.5);
    tone(&root.join("numbers/30.wav"), 8_000, 0.25);
    tone(&root.join("tones/ring/us.wav"), 8_000, 0.25);
    // Other languages' folders are not fallbacks, nor is the language's own.
    tone(&root.join("fr/numbers/40.wav"), 8_000, 0.25);
    tone(&root.join("en-GB/numbers/50.wav"), 8_000, 0.25);
    // Deeper than a name may go: not looked at.
    tone(&root.join("en/a/b/c/d/e.wav"), 8_000, 0.25);
    // Hidden folders are not looked at either.
    tone(&root.join("en/.cache/x.wav"), 8_000, 0.25);

    let catalogue = PromptCatalogue::load(root, "en").unwrap();
    assert_eq!(
        catalogue.names(),
        ["numbers/20", "numbers/30", "tones/ring/us"]
    );
    assert_eq!(catalogue.native_rate("numbers/20"), Some(16_000));
    assert_eq!(
        catalogue.source_path("numbers/30"),
        Some(root.join("numbers/30.wav"))
    );
    assert_eq!(
        catalogue.duration("tones/ring/us"),
        Some(Duration::from_millis(250))
    );
    for absent in ["fr/numbers/40", "en/numbers/20", "numbers/40", "numbers"] {
        assert!(!catalogue.contains(absent), "{absent}");
    }
    assert!(
        catalogue.problems().is_empty(),
        "{:?}",
        catalogue.problems()
    );
}

#[test]
fn bad_files_and_folder_names_in_subfolders_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    tone(&en.join("numbers/1.wav"), 8_000, 0.3);
    std::fs::write(en.join("numbers/2.wav"), b"").unwrap();
    let random: Vec<u8> = (0..4_096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(en.join("numbers/3.wav"), &random).unwrap();
    std::fs::write(en.join("numbers/4.ogg"), &random).unwrap();
    std::fs::write(en.join("numbers/5.flac"), b"fLaC").unwrap();
    // A WAV cut off in the middle of its samples keeps what is there.
    let whole = std::fs::read(en.join("numbers/1.wav")).unwrap();
    std::fs::write(en.join("numbers/6.wav"), &whole[..44 + 2 * 1_200]).unwrap();
    tone(&en.join("bad group/7.wav"), 8_000, 0.3);
    // Valid parts, but longer in all than a name may be.
    let long = format!("{}/{}.wav", "g".repeat(40), "n".repeat(40));
    tone(&en.join(&long), 8_000, 0.3);

    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert_eq!(catalogue.names(), ["numbers/1", "numbers/6"]);
    assert_eq!(
        catalogue.duration("numbers/6"),
        Some(Duration::from_millis(150))
    );
    let mut reported: Vec<_> = catalogue
        .problems()
        .iter()
        .map(|p| p.path.strip_prefix(&en).unwrap().to_owned())
        .collect();
    reported.sort();
    let expected: Vec<PathBuf> = [
        "bad group/7.wav",
        long.as_str(),
        "numbers/2.wav",
        "numbers/3.wav",
        "numbers/4.ogg",
        "numbers/5.flac",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(reported, expected);
    assert!(catalogue.get("numbers/3", 8_000).is_none());
    assert!(catalogue.get("numbers/1", 16_000).is_some());
}

#[test]
fn wav_at_any_rate_and_stereo_comes_out_mono_at_each_leg_rate() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    for rate in [8_000, 22_050, 44_100, 48_000] {
        // Left a half-scale 1 kHz sine, right silent: the mix is quarter scale.
        write_tone(
            &en.join(format!("tone-{rate}.wav")),
            rate,
            2,
            &[1],
            0.6,
            1_000.0,
            0.5,
        );
    }
    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    for source in [8_000, 22_050, 44_100, 48_000] {
        let name = format!("tone-{source}");
        assert_eq!(catalogue.native_rate(&name), Some(source));
        for rate in [8_000, 16_000, 48_000] {
            let samples = catalogue.get(&name, rate).unwrap();
            let expected = rate as usize * 6 / 10;
            assert!(
                samples.len().abs_diff(expected) <= 2,
                "{source}->{rate}: {} samples",
                samples.len()
            );
            let middle = &samples[rate as usize / 10..rate as usize / 2];
            let freq = zero_crossing_hz(middle, rate);
            assert!((freq - 1_000.0).abs() < 10.0, "{source}->{rate}: {freq} Hz");
            let amplitude = tone_amplitude(middle, rate, 1_000.0);
            assert!(
                (amplitude / 8_192.0 - 1.0).abs() < 0.05,
                "{source}->{rate}: amplitude {amplitude}"
            );
        }
    }
}

#[test]
fn flac_and_ogg_vorbis_prompts_decode() {
    let dir = tempfile::tempdir().unwrap();
    let en = dir.path().join("en");
    std::fs::create_dir(&en).unwrap();
    // Made with sox: 0.5 s of 1 kHz at -6 dBFS.
    for file in ["tone-22k-stereo.flac", "tone-44k-mono.ogg"] {
        std::fs::copy(fixture(file), en.join(file)).unwrap();
    }
    let catalogue = PromptCatalogue::load(dir.path(), "en").unwrap();
    assert!(
        catalogue.problems().is_empty(),
        "{:?}",
        catalogue.problems()
    );
    assert_eq!(catalogue.native_rate("tone-22k-stereo"), Some(22_050));
    assert_eq!(catalogue.native_rate("tone-44k-mono"), Some(44_100));
    for name in ["tone-22k-stereo", "tone-44k-mono"] {
        let duration = catalogue.duration(name).unwrap();
        assert!(
            duration.abs_diff(Duration::from_millis(500)) < Duration::from_millis(30),
            "{name}: {duration:?}"
        );
        let samples = catalogue.get(name, 8_000).unwrap();
        let middle = &samples[800..3_200];
        let freq = zero_crossing_hz(middle, 8_000);
        assert!((freq - 1_000.0).abs() < 10.0, "{name}: {freq} Hz");
        let amplitude = tone_amplitude(middle, 8_000, 1_000.0);
        assert!(
            (amplitude / 16_384.0 - 1.0).abs() < 0.1,
            "{name}: amplitude {amplitude}"
        );
    }
}

#[test]
fn a_rescan_picks_up_replaced_added_and_removed_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tone(&root.join("en/welcome.wav"), 8_000, 0.5);
    tone(&root.join("en/numbers/1.wav"), 8_000, 0.5);
    tone(&root.join("goodbye.wav"), 8_000, 0.5);
    let catalogue = PromptCatalogue::load(root, "en").unwrap();
    let before = catalogue.get("welcome", 8_000).unwrap();
    let one = catalogue.get("numbers/1", 16_000).unwrap();

    // Nothing changed: nothing decoded again, the same buffers are served.
    let summary = catalogue.reload_if_changed().unwrap();
    assert!(summary.is_unchanged(), "{summary:?}");
    assert!(Arc::ptr_eq(
        &before,
        &catalogue.get("welcome", 8_000).unwrap()
    ));
    assert!(Arc::ptr_eq(
        &one,
        &catalogue.get("numbers/1", 16_000).unwrap()
    ));

    // Replaced (by writing a new file and renaming it over the old one, as
    // an editor or deployment would), added, removed, and one made corrupt.
    tone(&root.join("en/welcome.new"), 16_000, 1.0);
    std::fs::rename(root.join("en/welcome.new"), root.join("en/welcome.wav")).unwrap();
    tone(&root.join("en/numbers/2.wav"), 8_000, 0.25);
    std::fs::remove_file(root.join("goodbye.wav")).unwrap();
    std::fs::write(root.join("en/numbers/1.wav"), b"not audio any more").unwrap();

    let summary = catalogue.reload_if_changed().unwrap();
    assert_eq!(summary.added, ["numbers/2"]);
    assert_eq!(summary.replaced, ["welcome"]);
    assert_eq!(summary.removed, ["goodbye", "numbers/1"]);
    assert_eq!(summary.problems, 1);
    assert_eq!(catalogue.duration("welcome"), Some(Duration::from_secs(1)));
    assert_eq!(catalogue.native_rate("welcome"), Some(16_000));
    assert!(!catalogue.contains("goodbye"));
    assert!(!catalogue.contains("numbers/1"));
    let problems = catalogue.problems();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].path.ends_with("numbers/1.wav"));
    // A call that started before the rescan still holds its old buffer.
    assert_eq!(before.len(), 4_000);

    // The fallback takes over when the language's own file goes away.
    tone(&root.join("welcome.wav"), 8_000, 0.25);
    std::fs::remove_file(root.join("en/welcome.wav")).unwrap();
    let summary = catalogue.reload_if_changed().unwrap();
    assert_eq!(summary.replaced, ["welcome"]);
    assert_eq!(
        catalogue.source_path("welcome"),
        Some(root.join("welcome.wav"))
    );

    // A fixed file comes back; the corrupt one is no longer reported.
    tone(&root.join("en/numbers/1.wav"), 8_000, 0.5);
    let summary = catalogue.reload_if_changed().unwrap();
    assert_eq!(summary.added, ["numbers/1"]);
    assert!(catalogue.problems().is_empty());
}

#[test]
fn a_rescan_of_a_vanished_folder_fails_and_keeps_the_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("prompts");
    tone(&root.join("en/welcome.wav"), 8_000, 0.5);
    let catalogue = PromptCatalogue::load(&root, "en").unwrap();
    std::fs::rename(&root, dir.path().join("elsewhere")).unwrap();
    assert!(matches!(
        catalogue.reload_if_changed(),
        Err(PromptError::MissingFolder(_))
    ));
    assert!(catalogue.get("welcome", 8_000).is_some());
}

#[test]
fn every_shipped_file_loads_under_its_grouped_name() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let catalogue = PromptCatalogue::load(&dir, "en").unwrap();
    assert!(
        catalogue.problems().is_empty(),
        "{:?}",
        catalogue.problems()
    );
    assert!(catalogue.len() >= 130, "{}", catalogue.len());
    for name in super::super::phrases::ALL {
        assert!(catalogue.contains(name), "{name}");
    }
    // Music on hold is the one long prompt, at telephone bandwidth.
    let moh = super::super::phrases::MOH;
    assert_eq!(catalogue.native_rate(moh), Some(8_000));
    let moh_length = catalogue.duration(moh).unwrap();
    assert!(
        (Duration::from_secs(15)..Duration::from_secs(30)).contains(&moh_length),
        "{moh_length:?}"
    );
    for name in catalogue.names().into_iter().filter(|n| n != moh) {
        assert_eq!(catalogue.native_rate(&name), Some(16_000), "{name}");
        let duration = catalogue.duration(&name).unwrap();
        assert!(
            (Duration::from_millis(200)..Duration::from_secs(10)).contains(&duration),
            "{name}: {duration:?}"
        );
    }
    // Words strung together are short; a digit is well under a second.
    for digit in 0..10 {
        let duration = catalogue.duration(&format!("numbers/{digit}")).unwrap();
        assert!(
            duration < Duration::from_millis(900),
            "{digit}: {duration:?}"
        );
    }
}
