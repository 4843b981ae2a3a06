//! Audio of the voice tests: speech made with espeak-ng, what a PCMU leg
//! makes of it, the shipped prompts as a PCMU caller hears them, and
//! finding sent audio in what came back.

use mediaplane::codec::{new_decoder, new_encoder, resample::resample, CodecKind};

/// The audio rate of the PCMU calls these tests place.
pub const RATE: u32 = 8000;

/// Speech made by espeak-ng at 8 kHz.
pub fn speech(text: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    let status = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng runs (scripts/test installs it)");
    assert!(status.success());
    let mut reader = hound::WavReader::open(&path).unwrap();
    let rate = reader.spec().sample_rate;
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    resample(&samples, rate, RATE).unwrap()
}

/// What the far end hears of `pcm` after one PCMU encode and decode.
pub fn through_pcmu(pcm: &[i16]) -> Vec<i16> {
    let mut encoder = new_encoder(CodecKind::Pcmu).unwrap();
    let mut decoder = new_decoder(CodecKind::Pcmu).unwrap();
    let mut out = Vec::new();
    for frame in pcm.chunks(160) {
        let mut bytes = [0u8; 200];
        let n = encoder.encode(frame, &mut bytes).unwrap();
        let mut decoded = [0i16; 960];
        let k = decoder.decode(&bytes[..n], &mut decoded).unwrap();
        out.extend_from_slice(&decoded[..k]);
    }
    out
}

/// Whether `needle` is found somewhere in `haystack` with a normalised
/// correlation above `threshold` (a recording starts a little before or
/// after the speech). Integer sums and a sliding window energy keep the
/// search fast enough to run while listening.
pub fn correlates(haystack: &[i16], needle: &[i16], threshold: f64) -> bool {
    if haystack.len() < needle.len() || needle.is_empty() {
        return false;
    }
    let energy = |s: &[i16]| s.iter().map(|&x| i64::from(x) * i64::from(x)).sum::<i64>();
    let needle_norm = (energy(needle) as f64).sqrt();
    let mut window_energy = energy(&haystack[..needle.len()]);
    for offset in 0..=haystack.len() - needle.len() {
        if offset > 0 {
            let gone = i64::from(haystack[offset - 1]);
            let new = i64::from(haystack[offset + needle.len() - 1]);
            window_energy += new * new - gone * gone;
        }
        let denominator = (window_energy as f64).sqrt() * needle_norm;
        if denominator <= 0.0 {
            continue;
        }
        let dot: i64 = haystack[offset..offset + needle.len()]
            .iter()
            .zip(needle)
            .map(|(&a, &b)| i64::from(a) * i64::from(b))
            .sum();
        if dot as f64 / denominator > threshold {
            return true;
        }
    }
    false
}

/// How much of `sent` is found in `heard`: the share of its loud 100 ms
/// pieces that each correlate above `threshold` somewhere in `heard`. Piece
/// by piece, because the playout buffer may drop or add a quiet frame
/// (more often on a loaded machine), which shifts what follows: short
/// pieces keep the share of pieces such a shift straddles small.
pub fn share_found(heard: &[i16], sent: &[i16], threshold: f64) -> f64 {
    let pieces: Vec<&[i16]> = sent
        .chunks_exact(RATE as usize / 10)
        .filter(|piece| {
            let mean_square =
                piece.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / piece.len() as f64;
            mean_square > 1e5
        })
        .collect();
    assert!(pieces.len() >= 4, "enough speech to compare");
    let found = pieces
        .iter()
        .filter(|piece| correlates(heard, piece, threshold))
        .count();
    found as f64 / pieces.len() as f64
}

/// Prompt `name` of the shipped catalogue as a PCMU caller hears it.
pub fn prompt_heard(name: &str) -> Vec<i16> {
    let path = format!("{}/prompts/en/{name}.wav", env!("CARGO_MANIFEST_DIR"));
    let mut reader = hound::WavReader::open(&path).unwrap();
    let rate = reader.spec().sample_rate;
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    through_pcmu(&resample(&samples, rate, RATE).unwrap())
}
