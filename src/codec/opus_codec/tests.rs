use std::f64::consts::PI;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const RATE: f64 = 48_000.0;

fn tone(samples: usize, hz: f64, amplitude: f64) -> Vec<i16> {
    (0..samples)
        .map(|i| (amplitude * (2.0 * PI * hz * i as f64 / RATE).sin()).round() as i16)
        .collect()
}

/// Voiced speech stand-in: a pitch gliding between 110 and 190 Hz with
/// twelve harmonics falling off like a glottal source, under a syllabic
/// (4 Hz) envelope so level and spectrum keep changing.
fn speech_like(samples: usize) -> Vec<i16> {
    let mut phase = 0.0f64;
    (0..samples)
        .map(|i| {
            let t = i as f64 / RATE;
            let f0 = 150.0 + 40.0 * (2.0 * PI * 1.3 * t).sin();
            phase += 2.0 * PI * f0 / RATE;
            let voiced: f64 = (1..=12).map(|k| (k as f64 * phase).sin() / k as f64).sum();
            let envelope = 0.15 + 0.85 * (PI * 4.0 * t).sin().abs();
            (7000.0 * envelope * voiced).round() as i16
        })
        .collect()
}

/// Encodes and decodes `pcm` frame by frame with fresh codecs.
fn round_trip(pcm: &[i16], config: OpusConfig) -> Vec<i16> {
    let mut encoder = OpusEncoder::new(config).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut decoded = Vec::with_capacity(pcm.len());
    for chunk in pcm.chunks_exact(FRAME_SAMPLES) {
        let n = encoder.encode(chunk, &mut payload).unwrap();
        assert!(n > 0 && n <= MAX_PAYLOAD);
        let m = decoder.decode(&payload[..n], &mut frame).unwrap();
        assert_eq!(m, FRAME_SAMPLES);
        decoded.extend_from_slice(&frame);
    }
    decoded
}

/// Normalised cross-correlation of `reference` against `decoded` shifted by
/// `lag` samples, over the samples both cover.
fn correlation(reference: &[i16], decoded: &[i16], lag: usize) -> f64 {
    let pairs = reference.iter().zip(&decoded[lag..]);
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (&x, &y) in pairs {
        let (x, y) = (x as f64, y as f64);
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    xy / (xx * yy).sqrt()
}

/// The codec delay: the lag that best aligns the output with the input.
fn best_lag(reference: &[i16], decoded: &[i16]) -> (usize, f64) {
    (0..1200)
        .map(|lag| (lag, correlation(reference, decoded, lag)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

fn snr_db(reference: &[i16], decoded: &[i16]) -> f64 {
    let signal: f64 = reference.iter().map(|&s| (s as f64).powi(2)).sum();
    let noise: f64 = reference
        .iter()
        .zip(decoded)
        .map(|(&r, &d)| (r as f64 - d as f64).powi(2))
        .sum();
    10.0 * (signal / noise).log10()
}

/// Rising zero crossings per second.
fn frequency(pcm: &[i16]) -> f64 {
    let rising = pcm.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
    rising as f64 * RATE / pcm.len() as f64
}

/// Compares input and output after removing the codec delay, skipping the
/// first 100 ms in which the encoder settles.
fn aligned_quality(pcm: &[i16], decoded: &[i16]) -> (usize, f64, f64) {
    let settle = 4800;
    let reference = &pcm[settle..pcm.len() - 2400];
    let (lag, corr) = best_lag(reference, &decoded[settle..]);
    let snr = snr_db(reference, &decoded[settle + lag..]);
    (lag, corr, snr)
}

#[test]
fn a_1_khz_tone_keeps_its_frequency_and_shape() {
    let pcm = tone(48_000, 1000.0, 10_000.0);
    let decoded = round_trip(&pcm, OpusConfig::default());
    let (lag, corr, snr) = aligned_quality(&pcm, &decoded);
    let lookahead = OpusEncoder::new(OpusConfig::default())
        .unwrap()
        .lookahead()
        .unwrap() as usize;
    // The delay is the encoder's look-ahead (312 samples, 6.5 ms) up to
    // whole periods of the tone (48 samples).
    // A tone only fixes the delay modulo its period (48 samples).
    let offset = (lag as isize - lookahead as isize).rem_euclid(48);
    assert!(
        offset.min(48 - offset) <= 6,
        "lag {lag}, lookahead {lookahead}"
    );
    let hz = frequency(&decoded[4800..]);
    assert!((hz - 1000.0).abs() < 5.0, "{hz} Hz");
    assert!(corr > 0.98, "correlation {corr:.4}");
    assert!(snr > 15.0, "SNR {snr:.1} dB");
}

#[test]
fn speech_like_signal_survives_with_its_pitch_and_envelope() {
    let pcm = speech_like(96_000);
    let decoded = round_trip(&pcm, OpusConfig::default());
    let (lag, corr, snr) = aligned_quality(&pcm, &decoded);
    // The delay is about the encoder's look-ahead (312 samples, 6.5 ms).
    assert!((290..=330).contains(&lag), "lag {lag}");
    // SILK codes speech for how it sounds, not sample by sample, so the
    // waveform SNR is modest (about 5 dB measured at 24 kbit/s) while the
    // correlation stays high (about 0.85).
    assert!(corr > 0.8, "correlation {corr:.4}");
    assert!(snr > 3.0, "SNR {snr:.1} dB");
    // Level per 20 ms follows the envelope.
    let energy = |f: &[i16]| f.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
    let input: Vec<f64> = pcm[4800..].chunks(960).map(energy).collect();
    let output: Vec<f64> = decoded[4800 + lag..].chunks(960).map(energy).collect();
    for (i, (a, b)) in input.iter().zip(&output).enumerate() {
        let ratio = b / a;
        assert!(
            (0.5..2.0).contains(&ratio),
            "frame {i}: energy ratio {ratio:.2}"
        );
    }
}

/// Error energy of one decoded frame against the frame a loss-free decoder
/// produced at the same position.
fn error_energy(expected: &[i16], actual: &[i16]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| (e as f64 - a as f64).powi(2))
        .sum()
}

#[test]
fn fec_recovers_a_lost_frame_better_than_concealment() {
    let config = OpusConfig {
        inband_fec: true,
        packet_loss_percent: 20,
        ..OpusConfig::default()
    };
    let pcm = speech_like(48_000);
    let mut encoder = OpusEncoder::new(config).unwrap();
    let packets: Vec<Vec<u8>> = pcm
        .chunks_exact(FRAME_SAMPLES)
        .map(|chunk| {
            let mut payload = [0u8; MAX_PAYLOAD];
            let n = encoder.encode(chunk, &mut payload).unwrap();
            payload[..n].to_vec()
        })
        .collect();

    let mut frame = [0i16; FRAME_SAMPLES];
    let mut compared = 0;
    let (mut fec_total, mut plc_total) = (0.0, 0.0);
    // Several losses at different points of the envelope; each run starts
    // from fresh decoders so the losses do not interact.
    for lost in [10usize, 17, 23, 31, 38, 44] {
        let mut clean = OpusDecoder::new().unwrap();
        let mut with_fec = OpusDecoder::new().unwrap();
        let mut with_plc = OpusDecoder::new().unwrap();
        assert!(with_fec.supports_fec());
        for packet in &packets[..lost] {
            clean.decode(packet, &mut frame).unwrap();
            with_fec.decode(packet, &mut frame).unwrap();
            with_plc.decode(packet, &mut frame).unwrap();
        }
        let mut expected = [0i16; FRAME_SAMPLES];
        clean.decode(&packets[lost], &mut expected).unwrap();

        let mut recovered = [0i16; FRAME_SAMPLES];
        let n = with_fec
            .decode_fec(&packets[lost + 1], &mut recovered)
            .unwrap();
        assert_eq!(n, FRAME_SAMPLES);
        let mut concealed = [0i16; FRAME_SAMPLES];
        assert_eq!(with_plc.conceal(&mut concealed), FRAME_SAMPLES);

        let fec = error_energy(&expected, &recovered);
        let plc = error_energy(&expected, &concealed);
        fec_total += fec;
        plc_total += plc;
        compared += 1;
        // After FEC the next packet is decoded normally as well.
        assert_eq!(
            with_fec.decode(&packets[lost + 1], &mut frame).unwrap(),
            FRAME_SAMPLES
        );
    }
    assert_eq!(compared, 6);
    let gain_db = 10.0 * (plc_total / fec_total).log10();
    assert!(
        gain_db > 3.0,
        "FEC error {fec_total:.3e}, PLC error {plc_total:.3e}: gain {gain_db:.1} dB"
    );
}

#[test]
fn without_fec_the_encoder_sends_no_redundancy() {
    // DEPENDENCIES: LBRR needs both settings; with the default config,
    // decode_fec can only conceal, so its output equals plain concealment.
    let pcm = speech_like(48_000);
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut a = OpusDecoder::new().unwrap();
    let mut b = OpusDecoder::new().unwrap();
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut packets = Vec::new();
    for chunk in pcm.chunks_exact(FRAME_SAMPLES).take(22) {
        let n = encoder.encode(chunk, &mut payload).unwrap();
        packets.push(payload[..n].to_vec());
    }
    for packet in &packets[..20] {
        a.decode(packet, &mut frame).unwrap();
        b.decode(packet, &mut frame).unwrap();
    }
    let mut via_fec = [0i16; FRAME_SAMPLES];
    let mut via_plc = [0i16; FRAME_SAMPLES];
    a.decode_fec(&packets[21], &mut via_fec).unwrap();
    b.conceal(&mut via_plc);
    assert_eq!(via_fec, via_plc);
}

#[test]
fn random_payloads_never_panic() {
    let mut rng = StdRng::seed_from_u64(7587);
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = [0i16; MAX_PACKET_SAMPLES];
    let mut payload = [0u8; 400];
    let (mut ok, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let len = rng.random_range(1..payload.len());
        rng.fill(&mut payload[..len]);
        match decoder.decode(&payload[..len], &mut out) {
            Ok(n) => {
                assert!(
                    n <= MAX_PACKET_SAMPLES && n.is_multiple_of(GRANULE),
                    "{n} samples"
                );
                ok += 1;
            }
            Err(e) => {
                assert!(
                    matches!(e, CodecError::InvalidPayload(CodecKind::Opus)),
                    "{e:?}"
                );
                rejected += 1;
            }
        }
        let _ = decoder.decode_fec(&payload[..len], &mut out[..FRAME_SAMPLES]);
        if rng.random_ratio(1, 10) {
            decoder.conceal(&mut out[..FRAME_SAMPLES]);
        }
    }
    // Both outcomes occur, so the test exercises both paths.
    assert!(ok > 0 && rejected > 0, "ok {ok}, rejected {rejected}");
}

#[test]
fn wrong_frame_sizes_are_typed_errors() {
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    for samples in [0usize, 160, 959, 961, 1440, 5760] {
        assert_eq!(
            encoder.encode(&vec![0; samples], &mut payload),
            Err(CodecError::FrameSize {
                kind: CodecKind::Opus,
                samples
            }),
            "{samples} samples"
        );
    }
    // The other Opus durations are accepted.
    for samples in ENCODER_FRAME_SIZES {
        assert!(encoder.encode(&vec![0; samples], &mut payload).unwrap() > 0);
    }
    assert_eq!(
        encoder.encode(&[0; FRAME_SAMPLES], &mut []),
        Err(CodecError::OutputTooSmall {
            needed: 1,
            available: 0
        })
    );

    let n = encoder.encode(&[0; FRAME_SAMPLES], &mut payload).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut short = [0i16; 480];
    assert_eq!(
        decoder.decode(&payload[..n], &mut short),
        Err(CodecError::OutputTooSmall {
            needed: FRAME_SAMPLES,
            available: 480
        })
    );
    assert_eq!(
        decoder.decode(&[], &mut short),
        Err(CodecError::EmptyPayload)
    );
    assert_eq!(
        decoder.decode_fec(&payload[..n], &mut [0i16; 1000]),
        Err(CodecError::FrameSize {
            kind: CodecKind::Opus,
            samples: 1000
        })
    );
    assert_eq!(
        decoder.decode_fec(&[], &mut [0i16; FRAME_SAMPLES]),
        Err(CodecError::EmptyPayload)
    );
    // A longer buffer than the packet needs is fine: the packet's length counts.
    let mut long = [0i16; 2 * FRAME_SAMPLES];
    assert_eq!(decoder.decode(&payload[..n], &mut long), Ok(FRAME_SAMPLES));
}

#[test]
fn bad_settings_are_rejected() {
    let bad = [
        OpusConfig {
            complexity: 11,
            ..OpusConfig::default()
        },
        OpusConfig {
            bitrate_bps: 1000,
            ..OpusConfig::default()
        },
        OpusConfig {
            packet_loss_percent: 101,
            ..OpusConfig::default()
        },
    ];
    for config in bad {
        assert!(
            matches!(
                OpusEncoder::new(config),
                Err(CodecError::Library {
                    kind: CodecKind::Opus,
                    ..
                })
            ),
            "{config:?}"
        );
    }
}

#[test]
fn concealment_handles_any_length_and_fresh_state() {
    let mut decoder = OpusDecoder::new().unwrap();
    // Nothing decoded yet: concealment is silence.
    let mut out = [1i16; FRAME_SAMPLES];
    assert_eq!(decoder.conceal(&mut out), FRAME_SAMPLES);
    assert!(out.iter().all(|&s| s == 0));
    // Not a whole number of 2.5 ms granules: still fills the buffer.
    let mut odd = [1i16; 1000];
    assert_eq!(decoder.conceal(&mut odd), 1000);
    assert!(odd[960..].iter().all(|&s| s == 0));
}

#[test]
fn reset_forgets_the_stream() {
    let pcm = speech_like(9600);
    let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut frame = [0i16; FRAME_SAMPLES];
    for chunk in pcm.chunks_exact(FRAME_SAMPLES) {
        let n = encoder.encode(chunk, &mut payload).unwrap();
        decoder.decode(&payload[..n], &mut frame).unwrap();
    }
    decoder.reset();
    decoder.conceal(&mut frame);
    assert!(frame.iter().all(|&s| s == 0));
}

#[test]
fn peer_params_map_to_encoder_settings() {
    // RFC 7587 §6.1: no fmtp means no FEC, full band, our own bit rate.
    assert_eq!(
        OpusConfig::for_peer(&OpusParams::default()),
        OpusConfig::default()
    );
    let peer = OpusParams::parse("useinbandfec=1; maxplaybackrate=16000; maxaveragebitrate=12000");
    let config = OpusConfig::for_peer(&peer);
    assert!(config.inband_fec);
    assert_eq!(config.packet_loss_percent, FEC_LOSS_PERCENT);
    assert_eq!(config.max_bandwidth, OpusBandwidth::Wide);
    assert_eq!(config.bitrate_bps, 12_000);
    // A cap above our rate does not raise it.
    let generous = OpusConfig::for_peer(&OpusParams::parse("maxaveragebitrate=128000"));
    assert_eq!(generous.bitrate_bps, OpusConfig::default().bitrate_bps);
    for (hz, band) in [
        (8000, OpusBandwidth::Narrow),
        (12_000, OpusBandwidth::Medium),
        (16_000, OpusBandwidth::Wide),
        (24_000, OpusBandwidth::SuperWide),
        (48_000, OpusBandwidth::Full),
    ] {
        assert_eq!(OpusBandwidth::for_playback_rate(hz), band, "{hz} Hz");
    }
}

/// The bandwidth each packet's TOC byte declares (RFC 6716 §3.1).
fn packet_bandwidths(config: OpusConfig) -> Vec<Bandwidth> {
    let pcm = speech_like(24_000);
    let mut encoder = OpusEncoder::new(config).unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    pcm.chunks_exact(FRAME_SAMPLES)
        .map(|chunk| {
            let n = encoder.encode(chunk, &mut payload).unwrap();
            packet::bandwidth(Packet::try_from(&payload[..n]).unwrap()).unwrap()
        })
        .collect()
}

#[test]
fn max_playback_rate_limits_the_coded_band() {
    let narrow = OpusConfig::for_peer(&OpusParams::parse("maxplaybackrate=8000"));
    let bands = packet_bandwidths(narrow);
    assert!(
        bands.iter().all(|&b| b == Bandwidth::Narrowband),
        "{bands:?}"
    );
    let wide = OpusConfig::for_peer(&OpusParams::parse("maxplaybackrate=16000"));
    let bands = packet_bandwidths(wide);
    assert!(
        bands.iter().all(|&b| matches!(
            b,
            Bandwidth::Narrowband | Bandwidth::Mediumband | Bandwidth::Wideband
        )),
        "{bands:?}"
    );
    // Unlimited, speech at 24 kbit/s goes wider than narrowband.
    let bands = packet_bandwidths(OpusConfig::default());
    assert!(
        bands.iter().any(|&b| b != Bandwidth::Narrowband),
        "{bands:?}"
    );
}

#[test]
fn a_peer_asking_for_fec_gets_redundancy_it_can_decode() {
    // Same setup as the no-FEC test, but configured from the peer's fmtp:
    // the frame rebuilt from the next packet's LBRR differs from plain
    // concealment, which it equals when no FEC is sent.
    let config = OpusConfig::for_peer(&OpusParams::parse("useinbandfec=1"));
    let pcm = speech_like(48_000);
    let mut encoder = OpusEncoder::new(config).unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut a = OpusDecoder::new().unwrap();
    let mut b = OpusDecoder::new().unwrap();
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut packets = Vec::new();
    for chunk in pcm.chunks_exact(FRAME_SAMPLES).take(22) {
        let n = encoder.encode(chunk, &mut payload).unwrap();
        packets.push(payload[..n].to_vec());
    }
    for packet in &packets[..20] {
        a.decode(packet, &mut frame).unwrap();
        b.decode(packet, &mut frame).unwrap();
    }
    let mut via_fec = [0i16; FRAME_SAMPLES];
    let mut via_plc = [0i16; FRAME_SAMPLES];
    a.decode_fec(&packets[21], &mut via_fec).unwrap();
    b.conceal(&mut via_plc);
    assert_ne!(via_fec, via_plc);
}

#[test]
fn a_stereo_stream_decodes_to_mono() {
    // RFC 7587 §6.1: stereo=0 is only a preference, a peer may still send
    // stereo; our mono decoder downmixes it (RFC 6716 §2.1.2).
    let stereo = Encoder::new(SampleRate::Hz48000, Channels::Stereo, Application::Voip).unwrap();
    let left = tone(FRAME_SAMPLES * 25, 1000.0, 8000.0);
    let interleaved: Vec<i16> = left.iter().flat_map(|&s| [s, s]).collect();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut decoded = Vec::new();
    for chunk in interleaved.chunks_exact(2 * FRAME_SAMPLES) {
        let n = stereo.encode(chunk, &mut payload).unwrap();
        let packet = &payload[..n];
        assert_eq!(
            packet::nb_channels(Packet::try_from(packet).unwrap()).unwrap(),
            Channels::Stereo
        );
        assert_eq!(decoder.decode(packet, &mut frame), Ok(FRAME_SAMPLES));
        decoded.extend_from_slice(&frame);
    }
    let steady = &decoded[4800..];
    let hz = frequency(steady);
    assert!((950.0..1050.0).contains(&hz), "{hz} Hz");
    let rms =
        (steady.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / steady.len() as f64).sqrt();
    assert!(rms > 8000.0 / 2f64.sqrt() * 0.6, "level {rms}");
}
