//! Speech through a transcoding chain, for quality scoring (benches/quality.sh).
//!
//! caller ──PCMU, lossy hop──▶ playout buffer → decode/conceal → resample →
//! middle codec (Opus 48 kHz, G.722 16 kHz or PCMU) → decode → resample to
//! 8 kHz → PCMU to the far end.
//!
//! The lossy hop follows a seeded trace (loss and jitter), with arrival times
//! fed to mediaplane's own `PlayoutBuffer` on a simulated clock; the rest of
//! the chain is clean. The degraded speech is written at the reference's
//! rate and length, with the chain's delay trimmed. Counters of the receive
//! path go to stderr as one `key=value` line.
//!
//!     cargo run --release --example quality_chain -- \
//!         --codec opus --loss 3 --jitter 20 --seed 1 --in ref.wav --out deg.wav

mod network;
mod receive;
mod transcode;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use mediaplane::codec::resample::resample;
use mediaplane::codec::{new_decoder, new_encoder, CodecKind};

use receive::{Receiver, Tick};
use transcode::Transcoder;

const PTIME: Duration = Duration::from_millis(20);
const PTIME_MS: u32 = 20;
/// Rate of the PCMU legs.
const NARROW_HZ: u32 = 8000;
/// Samples in one PCMU frame.
const FRAME: usize = 160;
/// Longest codec-chain delay searched for when aligning the output.
const MAX_CHAIN_DELAY: usize = NARROW_HZ as usize * 60 / 1000;
/// Silent frames sent after the speech, so that the stream outlasts the
/// output (which lags by the playout and chain delays) and its end does not
/// show up as an underrun.
const TAIL_FRAMES: usize = 10;
/// Ticks after the last frame's send time before giving up on playout.
const DRAIN_TICKS: usize = 200;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Middle {
    Opus,
    G722,
    Pcmu,
    /// No middle codec: only the resampling to 16 kHz and back.
    Resample16,
    /// No middle codec: only the resampling to 48 kHz and back.
    Resample48,
}

impl Middle {
    fn codec(self) -> Option<CodecKind> {
        match self {
            Middle::Opus => Some(CodecKind::Opus),
            Middle::G722 => Some(CodecKind::G722),
            Middle::Pcmu => Some(CodecKind::Pcmu),
            Middle::Resample16 | Middle::Resample48 => None,
        }
    }

    fn rate(self) -> u32 {
        match self {
            Middle::Resample16 => 16_000,
            Middle::Resample48 => 48_000,
            _ => self.codec().map_or(NARROW_HZ, CodecKind::audio_rate),
        }
    }

    fn transcoder(self) -> Result<Transcoder, Box<dyn Error>> {
        Transcoder::new(self.codec(), self.rate(), PTIME_MS)
    }
}

#[derive(Parser, Debug)]
#[command(
    about = "Runs speech through PCMU → middle codec → PCMU, with loss and jitter on the first hop"
)]
struct Args {
    /// Codec of the middle leg.
    #[arg(long, value_enum, default_value = "opus")]
    codec: Middle,
    /// Random packet loss on the first hop, in percent.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Spread of the first hop's per-packet delay (uniform over 0..=MS), in ms.
    #[arg(long, default_value_t = 0)]
    jitter: u64,
    /// Seed of the loss and jitter trace.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Target delay of the playout buffer, in ms (mediaplane's default).
    #[arg(long, default_value_t = 40)]
    playout_ms: u32,
    /// Reference speech: mono 16-bit WAV at 8 or 16 kHz.
    #[arg(long = "in")]
    input: PathBuf,
    /// Degraded speech, written at the reference's rate and length.
    #[arg(long = "out")]
    output: PathBuf,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let (reference, rate) = read_wav(&args.input)?;
    let narrow = resample(&reference, rate, NARROW_HZ)?;
    let frames = narrow.len().div_ceil(FRAME) + TAIL_FRAMES;
    let mut padded = narrow.clone();
    padded.resize(frames * FRAME, 0);

    let payloads = encode_pcmu(&padded)?;
    let (arrivals, trace) = network::trace(
        frames,
        PTIME,
        args.loss,
        Duration::from_millis(args.jitter),
        args.seed,
    );

    let chain_delay = chain_delay(args.codec, &payloads, &narrow)?;
    let mut receiver = Receiver::new(CodecKind::Pcmu, PTIME, args.playout_ms)?;
    let mut transcoder = args.codec.transcoder()?;
    let silence = [0i16; FRAME];
    let mut far_end: Vec<i16> = Vec::with_capacity(padded.len() * 2);
    let mut next_arrival = 0;
    let mut start = None;
    let mut latest = 0;
    let base = Instant::now();
    for tick in 0..frames + DRAIN_TICKS {
        // Half a frame after each send instant, so that a packet without
        // jitter waits in the buffer for half a frame rather than racing the tick.
        let now_offset = PTIME * tick as u32 + PTIME / 2;
        while let Some(arrival) = arrivals.get(next_arrival).filter(|a| a.at <= now_offset) {
            receiver.push(base + arrival.at, arrival.frame, &payloads[arrival.frame]);
            next_arrival += 1;
        }
        let pcm = match receiver.tick(base + now_offset) {
            Tick::Audio { pcm, frame } => {
                if let Some(frame) = frame {
                    // The output lags the input by the ticks before this
                    // frame played, less its place in the stream.
                    let lag = tick.saturating_sub(frame);
                    start.get_or_insert(lag);
                    latest = lag;
                }
                pcm
            }
            // Nothing is sent while idle; the far leg hears silence.
            Tick::Idle => &silence[..],
        };
        far_end.extend_from_slice(transcoder.process(pcm)?);
        if let Some(lag_frames) = start {
            if far_end.len() >= lag_frames * FRAME + chain_delay + narrow.len() {
                break;
            }
        }
    }
    let Some(lag_frames) = start else {
        return Err("no frame was ever played".into());
    };
    let offset = lag_frames * FRAME + chain_delay;
    let mut degraded: Vec<i16> = far_end.iter().skip(offset).copied().collect();
    degraded.resize(narrow.len(), 0);
    let mut degraded = resample(&degraded, NARROW_HZ, rate)?;
    degraded.resize(reference.len(), 0);
    write_wav(&args.output, &degraded, rate)?;

    let playout = receiver.playout_stats();
    let decode = receiver.decode_counts();
    eprintln!(
        "quality_chain: codec={:?} loss={} jitter_ms={} seed={} sent={} dropped={} \
         reordered={} too_late={} lost={} underrun_ticks={} overflow_dropped={} \
         concealed={} recovered={} shrink_dropped={} stretched={} target_delay_ms={} delay_start_ms={} \
         delay_end_ms={} chain_delay_ms={:.2}",
        args.codec,
        args.loss,
        args.jitter,
        args.seed,
        trace.sent,
        trace.dropped,
        trace.reordered,
        playout.too_late,
        playout.lost,
        playout.underrun_ticks,
        playout.overflow_dropped,
        decode.concealed,
        decode.recovered,
        playout.shrink_dropped,
        playout.stretched,
        u32::from(receiver.target_delay_frames()) * PTIME_MS,
        delay_ms(lag_frames),
        delay_ms(latest),
        chain_delay as f64 * 1000.0 / f64::from(NARROW_HZ),
    );
    Ok(())
}

/// Send-to-playout delay of a frame played `lag_frames` ticks after its
/// own: ticks fall half a frame after send instants.
fn delay_ms(lag_frames: usize) -> u32 {
    lag_frames as u32 * PTIME_MS + PTIME_MS / 2
}

fn read_wav(path: &Path) -> Result<(Vec<i16>, u32), Box<dyn Error>> {
    let mut reader =
        hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = reader.spec();
    if spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
        || !matches!(spec.sample_rate, 8000 | 16_000)
    {
        return Err(format!(
            "{}: need mono 16-bit PCM at 8 or 16 kHz, got {spec:?}",
            path.display()
        )
        .into());
    }
    let samples = reader.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
    Ok((samples, spec.sample_rate))
}

fn write_wav(path: &Path, samples: &[i16], rate: u32) -> Result<(), Box<dyn Error>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &sample in samples {
        writer.write_sample(sample)?;
    }
    writer.finalize()?;
    Ok(())
}

/// The caller's PCMU payloads, one per 20 ms frame.
fn encode_pcmu(pcm: &[i16]) -> Result<Vec<Vec<u8>>, Box<dyn Error>> {
    let mut encoder = new_encoder(CodecKind::Pcmu)?;
    let mut payload = [0u8; FRAME];
    pcm.chunks(FRAME)
        .map(|frame| {
            let len = encoder.encode(frame, &mut payload)?;
            Ok(payload[..len].to_vec())
        })
        .collect()
}

/// The delay of the codec chain alone (resamplers, codec look-ahead), in
/// 8 kHz samples: the lag that best aligns the chain's clean output with the
/// reference. Measured rather than summed from each part, since not every
/// codec reports its own.
fn chain_delay(
    middle: Middle,
    payloads: &[Vec<u8>],
    reference: &[i16],
) -> Result<usize, Box<dyn Error>> {
    let mut decoder = new_decoder(CodecKind::Pcmu)?;
    let mut transcoder = middle.transcoder()?;
    let mut pcm = [0i16; FRAME];
    let mut clean = Vec::with_capacity(payloads.len() * FRAME);
    for payload in payloads {
        decoder.decode(payload, &mut pcm)?;
        clean.extend_from_slice(transcoder.process(&pcm)?);
    }
    let score = |lag: usize| -> f64 {
        reference
            .iter()
            .zip(clean.iter().skip(lag))
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum()
    };
    let best = (0..=MAX_CHAIN_DELAY)
        .map(|lag| (lag, score(lag)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(lag, _)| lag);
    Ok(best)
}
