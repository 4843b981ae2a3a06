//! A seeded trace of what the network does to each packet of one hop.
//!
//! Losses are independent per packet (Bernoulli), delays uniform over
//! `0..=jitter`: with a spread wider than the packet interval, later packets
//! overtake earlier ones. Loss and delay draw from separate generators, so
//! the same seed loses the same packets whatever the jitter, and every codec
//! of a run sees exactly the same trace.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mixed into the seed of the delay generator so it is not the loss one's.
const DELAY_STREAM: u64 = 0x6a09_e667_f3bc_c908;

/// One packet that reaches the receiver.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    /// Frame number, in sending order.
    pub frame: usize,
    /// Arrival time, from the moment the first frame was sent.
    pub at: Duration,
}

/// What the trace did, for the report.
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceSummary {
    pub sent: usize,
    pub dropped: usize,
    /// Packets that arrive after one sent later than them.
    pub reordered: usize,
}

/// Builds the arrivals of `frames` packets sent every `interval`, sorted by
/// arrival time.
pub fn trace(
    frames: usize,
    interval: Duration,
    loss_percent: f64,
    jitter: Duration,
    seed: u64,
) -> (Vec<Arrival>, TraceSummary) {
    let mut loss_rng = StdRng::seed_from_u64(seed);
    let mut delay_rng = StdRng::seed_from_u64(seed ^ DELAY_STREAM);
    let loss = (loss_percent / 100.0).clamp(0.0, 1.0);
    let jitter_us = jitter.as_micros() as u64;
    let mut arrivals = Vec::with_capacity(frames);
    for frame in 0..frames {
        // Both draws happen for every packet so that neither stream's
        // sequence depends on the other's outcome.
        let lost = loss_rng.random_bool(loss);
        let delay = Duration::from_micros(delay_rng.random_range(0..=jitter_us));
        if !lost {
            arrivals.push(Arrival {
                frame,
                at: interval * frame as u32 + delay,
            });
        }
    }
    // Stable, so equal arrival times keep sending order.
    arrivals.sort_by_key(|a| a.at);
    let mut newest = None;
    let mut reordered = 0;
    for arrival in &arrivals {
        match newest {
            Some(n) if arrival.frame < n => reordered += 1,
            _ => newest = Some(arrival.frame),
        }
    }
    let summary = TraceSummary {
        sent: frames,
        dropped: frames - arrivals.len(),
        reordered,
    };
    (arrivals, summary)
}
