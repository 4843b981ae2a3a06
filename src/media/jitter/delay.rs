//! The target playout delay, from how late packets arrive.
//!
//! Each packet's transit time (arrival on our clock minus its RTP timestamp,
//! RFC 3550 §6.4.1 and A.8) is compared with the lowest transit seen
//! recently, the transit of a packet that met no queueing. The excess, in
//! quarter frames, goes into a histogram whose old entries decay, and the
//! target is the delay that covers a high percentile of it, plus the frame
//! being played and a quarter frame of margin. Absolute
//! transit values are never trusted beyond a few seconds: the floor is a
//! windowed minimum, so a sender clock that runs fast or slow against ours
//! (drift moves every transit the same way) shifts the floor with it
//! instead of reading as growing lateness.

use std::time::Instant;

/// Packets per floor window: about 2.5 s at 20 ms. The floor is the minimum
/// over the current and the previous window, so it follows drift (or a
/// route change) within two windows.
const FLOOR_WINDOW: u32 = 128;

/// Per-packet decay of the histogram: an old packet weighs half after
/// about 350 packets (7 s at 20 ms), so the delay shrinks back some seconds
/// after a jitter spike, yet one late packet does not move it.
const FORGET: f64 = 0.998;

/// Growing weights are scaled back to one before they could overflow
/// (about every 11 000 packets).
const RESCALE_ABOVE: f64 = 1e10;

/// Histogram resolution: a quarter frame (5 ms at 20 ms), so the target
/// is not rounded up by most of a frame.
const STEPS_PER_FRAME: i64 = 4;

/// Margin over the measured percentile, in frames: playout that is exactly
/// on the percentile would lose to any clock noise.
const MARGIN_FRAMES: f64 = 0.25;

#[derive(Debug)]
pub(super) struct DelayEstimator {
    /// RTP clock units per frame.
    frame_units: i64,
    clock_rate: u64,
    /// Our clock's origin for arrival times; set by the first packet.
    epoch: Option<Instant>,
    /// The newest timestamp seen, extended to 64 bits.
    reference: Option<(u32, i64)>,
    window_min: i64,
    previous_min: i64,
    window_count: u32,
    /// Decaying weight of packets per lateness in frames; the last bucket
    /// also holds everything later.
    histogram: Box<[f64]>,
    total: f64,
    /// The weight the next packet adds.
    increment: f64,
    /// The bucket holding the quantile, and the weight of the buckets below
    /// it; kept up to date per packet rather than summed afresh.
    quantile_bucket: usize,
    weight_below: f64,
    /// Permille of packets the target must cover.
    quantile: f64,
    min: f64,
    max: f64,
    /// The delay aimed for, in frames.
    target: f64,
}

impl DelayEstimator {
    pub(super) fn new(
        frame_units: i64,
        clock_rate: u32,
        min: u16,
        max: u16,
        permille: u16,
    ) -> Self {
        Self {
            frame_units: frame_units.max(1),
            clock_rate: clock_rate as u64,
            epoch: None,
            reference: None,
            window_min: i64::MAX,
            previous_min: i64::MAX,
            window_count: 0,
            histogram: vec![0.0; max as usize * STEPS_PER_FRAME as usize + 1].into_boxed_slice(),
            total: 0.0,
            increment: 1.0,
            quantile_bucket: 0,
            weight_below: 0.0,
            quantile: permille as f64 / 1000.0,
            min: min as f64,
            max: max as f64,
            target: min as f64,
        }
    }

    /// The delay aimed for, in frames, between the configured min and max.
    pub(super) fn target(&self) -> f64 {
        self.target
    }

    /// [`Self::target`] rounded up to whole frames, what a refill waits for.
    pub(super) fn target_frames(&self) -> u16 {
        self.target.ceil() as u16
    }

    /// A new stream (SSRC change or jump) has its own timestamps: forget
    /// the transit reference, keep what was learnt about the network.
    pub(super) fn restart_stream(&mut self) {
        self.reference = None;
        self.window_min = i64::MAX;
        self.previous_min = i64::MAX;
        self.window_count = 0;
    }

    /// Our clock in RTP units since the epoch.
    fn units(&mut self, now: Instant) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        let since = now.saturating_duration_since(epoch);
        // Whole seconds and the fraction apart: 64-bit arithmetic is
        // enough and far cheaper than a 128-bit division per packet.
        let whole = since.as_secs().saturating_mul(self.clock_rate);
        let fraction = since.subsec_nanos() as u64 * self.clock_rate / 1_000_000_000;
        whole.saturating_add(fraction).min(i64::MAX as u64) as i64
    }

    /// Extends a 32-bit timestamp against the newest one seen (RFC 3550
    /// A.1 applied to timestamps): differences within 2^31 either way.
    fn extend(&mut self, timestamp: u32) -> i64 {
        match self.reference {
            None => {
                let extended = timestamp as i64;
                self.reference = Some((timestamp, extended));
                extended
            }
            Some((last, last_extended)) => {
                let extended = last_extended + timestamp.wrapping_sub(last) as i32 as i64;
                if extended > last_extended {
                    self.reference = Some((timestamp, extended));
                }
                extended
            }
        }
    }

    fn floor(&self) -> i64 {
        self.window_min.min(self.previous_min)
    }

    /// Takes one packet's arrival (played or too late) and updates the target.
    pub(super) fn observe(&mut self, now: Instant, timestamp: u32) {
        let transit = self.units(now) - self.extend(timestamp);
        self.window_min = self.window_min.min(transit);
        self.window_count += 1;
        if self.window_count == FLOOR_WINDOW {
            self.previous_min = self.window_min;
            self.window_min = i64::MAX;
            self.window_count = 0;
        }
        let late = (transit - self.floor()).max(0) * STEPS_PER_FRAME;
        let steps = (late + self.frame_units - 1) / self.frame_units;
        let bucket = (steps as usize).min(self.histogram.len() - 1);
        // Rather than decay every bucket, each new packet weighs 1/FORGET
        // more than the one before; only the ratios matter.
        self.histogram[bucket] += self.increment;
        self.total += self.increment;
        if bucket < self.quantile_bucket {
            self.weight_below += self.increment;
        }
        self.increment /= FORGET;
        if self.increment > RESCALE_ABOVE {
            for weight in self.histogram.iter_mut() {
                *weight /= self.increment;
            }
            self.total /= self.increment;
            self.increment = 1.0;
            // Summed afresh now and then, so rounding cannot pile up.
            self.weight_below = self.histogram[..self.quantile_bucket].iter().sum();
        }
        self.move_quantile();
        let late_frames = self.quantile_bucket as f64 / STEPS_PER_FRAME as f64;
        self.target = (late_frames + 1.0 + MARGIN_FRAMES).clamp(self.min, self.max);
    }

    /// Moves the quantile to the lowest bucket up to which the configured
    /// share of the weight lies; one packet moves it a step or two at most.
    fn move_quantile(&mut self) {
        let needed = self.quantile * self.total;
        let last = self.histogram.len() - 1;
        while self.quantile_bucket > 0 && self.weight_below >= needed {
            self.quantile_bucket -= 1;
            self.weight_below -= self.histogram[self.quantile_bucket];
        }
        while self.quantile_bucket < last
            && self.weight_below + self.histogram[self.quantile_bucket] < needed
        {
            self.weight_below += self.histogram[self.quantile_bucket];
            self.quantile_bucket += 1;
        }
    }

    /// The quantile bucket found by summing the whole histogram, to check
    /// the running one against.
    #[cfg(test)]
    pub(super) fn quantile_by_scan(&self) -> (usize, usize) {
        let needed = self.quantile * self.total;
        let mut sum = 0.0;
        let scanned = self
            .histogram
            .iter()
            .position(|&weight| {
                sum += weight;
                sum >= needed
            })
            .unwrap_or(self.histogram.len() - 1);
        (scanned, self.quantile_bucket)
    }

    /// How long ago, in frames, the packet with `timestamp` would have
    /// arrived had it met no queueing; None before any packet.
    pub(super) fn frames_since_due(&mut self, now: Instant, timestamp: u32) -> Option<f64> {
        let (last, last_extended) = self.reference?;
        let floor = self.floor();
        if floor == i64::MAX {
            return None;
        }
        let extended = last_extended + timestamp.wrapping_sub(last) as i32 as i64;
        let due = extended + floor;
        Some((self.units(now) - due) as f64 / self.frame_units as f64)
    }
}
