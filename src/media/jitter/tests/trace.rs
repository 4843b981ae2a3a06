//! Synthetic packet traces on a timeline: a sender with its own clock, a
//! network that delays, drops and duplicates, and a receiver that pops every
//! ptime of our clock and takes the buffer's offers in "quiet" frames.

use super::*;

/// A small deterministic generator for the network simulations.
pub(super) struct XorShift(pub(super) u64);

impl XorShift {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One packet on the wire: when it reaches us, and its header.
#[derive(Clone, Copy, Debug)]
pub(super) struct Arrival {
    pub(super) at: Duration,
    pub(super) info: PacketInfo,
}

/// `count` packets of 20 ms from a sender whose clock is `ppm` parts per
/// million fast (negative: slow) against ours, starting at `first_sequence`;
/// `delay` gives each packet's network delay, None to lose it.
pub(super) fn send(
    count: u32,
    ppm: f64,
    first_sequence: u16,
    mut delay: impl FnMut(u32) -> Option<Duration>,
) -> Vec<Arrival> {
    // A fast clock counts 20 ms in less than 20 ms of ours.
    let interval = PTIME.as_secs_f64() / (1.0 + ppm * 1e-6);
    let mut arrivals: Vec<Arrival> = (0..count)
        .filter_map(|n| {
            let sent = Duration::from_secs_f64(interval * n as f64);
            delay(n).map(|d| Arrival {
                at: sent + d,
                info: PacketInfo {
                    sequence: first_sequence.wrapping_add(n as u16),
                    timestamp: n.wrapping_mul(160),
                    ssrc: SSRC,
                    marker: n == 0,
                },
            })
        })
        .collect();
    // Stable: packets due together keep their sending order.
    arrivals.sort_by_key(|a| a.at);
    arrivals
}

/// What a run produced, one entry per tick.
#[derive(Default)]
pub(super) struct Run {
    pub(super) outs: Vec<Out>,
    /// The buffer's measured delay after each tick, in frames.
    pub(super) delays: Vec<f64>,
    pub(super) targets: Vec<u16>,
    /// For each Missing tick, the sequence number of the payload offered
    /// for FEC, if any.
    pub(super) fec_next: Vec<Option<u16>>,
}

impl Run {
    pub(super) fn count(&self, out: Out) -> usize {
        self.outs.iter().filter(|&&o| o == out).count()
    }

    pub(super) fn frames(&self) -> Vec<u16> {
        self.outs
            .iter()
            .filter_map(|o| match o {
                Out::Frame(s) => Some(*s),
                _ => None,
            })
            .collect()
    }
}

fn out_of(playout: &Playout<'_>) -> (Out, Adjust) {
    match playout {
        Playout::Frame {
            payload: p,
            info: i,
            adjust,
        } => {
            assert_eq!(*p, payload(i.sequence, i.ssrc), "payload of another packet");
            (Out::Frame(i.sequence), *adjust)
        }
        Playout::Missing { .. } => (Out::Missing, Adjust::Keep),
        Playout::Stretch => (Out::Stretch, Adjust::Keep),
        Playout::Idle => (Out::Idle, Adjust::Keep),
    }
}

/// Pushes `arrivals` at their times and pops every 20 ms for `ticks` ticks;
/// `quiet(tick)` says whether that tick's frame may be dropped or stretched.
pub(super) fn run(
    h: &mut Harness,
    arrivals: &[Arrival],
    ticks: usize,
    quiet: impl Fn(usize) -> bool,
) -> Run {
    let start = h.now;
    let mut run = Run::default();
    let mut next = 0;
    for tick in 0..ticks {
        // Pops fall midway between the sender's nominal send times.
        let pop_at = PTIME * tick as u32 + PTIME / 2;
        while let Some(a) = arrivals.get(next).filter(|a| a.at <= pop_at) {
            let body = payload(a.info.sequence, a.info.ssrc);
            h.buffer.push(start + a.at, &a.info, &body);
            next += 1;
        }
        let now = start + pop_at;
        let playout = h.buffer.pop(now);
        if let Playout::Missing { next } = &playout {
            run.fec_next
                .push(next.map(|p| u16::from_be_bytes([p[0], p[1]])));
        }
        let (mut out, adjust) = out_of(&playout);
        if quiet(tick) {
            match adjust {
                Adjust::MayDrop => {
                    let replacement = h.buffer.drop_and_pop(now);
                    out = out_of(&replacement).0;
                }
                Adjust::MayStretch => assert!(h.buffer.stretch()),
                Adjust::Keep => {}
            }
        }
        run.outs.push(out);
        run.delays.push(h.buffer.current_delay_frames());
        run.targets.push(h.buffer.target_delay_frames());
    }
    h.now = start + PTIME * ticks as u32;
    run
}

/// A buffer adapting between `min` and `max` frames.
pub(super) fn adaptive(min: u16, max: u16) -> Harness {
    Harness::with(PlayoutConfig {
        min_delay_frames: min,
        max_delay_frames: max,
        capacity_frames: max * 2,
        ..PlayoutConfig::default()
    })
}
