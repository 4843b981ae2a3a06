//! Adaptive playout buffer: reorders RTP packets and releases one frame per
//! ptime tick, holding as much delay as the network's jitter calls for.
//!
//! Sans-IO: the caller pushes each received packet with its arrival time and
//! pops once per ptime tick. All storage (one slot per frame of capacity, each
//! with room for the largest payload) is allocated at construction; pushing
//! copies the payload into its slot, so the packet path never allocates.
//!
//! Frames are ordered by extended sequence number (RFC 3550 §3, A.1): one
//! packet is one frame, whatever its timestamp says, so a sender that stops
//! during silence (RFC 3551 §4.1) resumes without a gap to conceal.
//!
//! The target delay comes from [`delay`]: a high percentile of how late
//! packets arrive. The buffer moves towards it only where no one hears it:
//! - when playout starts or refills after running dry (a talkspurt start or
//!   a silence gap), it waits for the target delay's worth of frames;
//! - before a talkspurt's first frame (marker bit or a timestamp gap,
//!   RFC 3551 §4.1) it inserts silence to grow;
//! - mid-talkspurt it offers [`Adjust::MayDrop`] or [`Adjust::MayStretch`]
//!   with a frame and the caller, which decodes it, takes the offer only
//!   when the frame is quiet.
//!
//! The delay is measured against each packet's due time (when it would have
//! arrived with no queueing), not by counting frames held, so jitter does
//! not read as delay change while clock drift does: a sender 100 ppm fast
//! adds one frame every 200 s, which the buffer offers to drop. If the
//! caller never finds a quiet frame, frames are dropped without asking once
//! the delay has stayed two frames above the maximum for
//! [`FORCE_AFTER_TICKS`]; a slow sender that drains the buffer makes it run
//! dry and refill, concealed.

mod adapt;
mod config;
mod delay;
mod stream;
mod types;

use std::time::{Duration, Instant};

pub use config::{PlayoutConfig, PlayoutConfigError, MAX_CAPACITY_FRAMES, MAX_PAYLOAD_BYTES};
pub use types::{Adjust, PacketInfo, Playout, PlayoutStats, PushOutcome};

use delay::DelayEstimator;

/// Extended sequence numbers of a stream start here, so that packets
/// reordered before the first one stay positive.
const EXT_ORIGIN: u64 = 1 << 32;

/// Ticks the delay may stay two frames above the maximum, with every
/// offer to drop refused, before a frame is dropped regardless: 5 s at 20 ms.
pub const FORCE_AFTER_TICKS: u32 = 250;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Nothing held, nothing playing.
    Idle,
    /// Filling up to the target delay before the first frame goes out.
    Priming { first_arrival: Instant },
    /// Handing out one frame per tick.
    Playing,
    /// Ran dry while playing: concealing until the target delay is back.
    Rebuffering { first_arrival: Option<Instant> },
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    ext: u64,
    info: PacketInfo,
    len: usize,
    occupied: bool,
}

const EMPTY_SLOT: Slot = Slot {
    ext: 0,
    info: PacketInfo {
        sequence: 0,
        timestamp: 0,
        ssrc: 0,
        marker: false,
    },
    len: 0,
    occupied: false,
};

/// How a packet relates to the current stream.
enum Continuity {
    First,
    Same(u64),
    Break,
}

/// Reorders packets of one RTP stream and releases them at the playout rate.
#[derive(Debug)]
pub struct PlayoutBuffer {
    config: PlayoutConfig,
    /// `max_timestamp_jump` in RTP clock units.
    max_timestamp_jump: i64,
    slots: Box<[Slot]>,
    /// `capacity × max_payload` bytes; slot i owns the i-th chunk.
    payloads: Box<[u8]>,
    phase: Phase,
    /// The SSRC packets are accepted from; none before the first packet.
    ssrc: Option<u32>,
    /// Extended sequence number and timestamp of the newest packet accepted.
    highest: u64,
    highest_timestamp: u32,
    /// Extended sequence number of the next frame out.
    playout_point: u64,
    /// Lowest sequence number a new talkspurt may start from: everything
    /// below it was played or given up.
    floor: u64,
    delay: DelayEstimator,
    /// RTP clock units per frame.
    frame_units: i64,
    /// The delay measured at the last frame played, in frames.
    current_delay: f64,
    /// What the last pop offered, so only an offered change is taken.
    offered: Adjust,
    /// The caller took a stretch: the next pop plays [`Playout::Stretch`].
    hold: bool,
    /// Consecutive pops with the delay two frames above the maximum.
    over_max_ticks: u32,
    /// Extended sequence number and timestamp of the last frame played,
    /// to see a talkspurt start.
    last_played: Option<(u64, u32)>,
    buffered: u16,
    /// When the last packet was accepted.
    last_arrival: Option<Instant>,
    /// A packet on probation, and its payload's room.
    candidate: Option<(PacketInfo, usize)>,
    candidate_payload: Box<[u8]>,
    stats: PlayoutStats,
}

impl PlayoutBuffer {
    /// A buffer with all its storage allocated.
    pub fn new(config: PlayoutConfig) -> Result<Self, PlayoutConfigError> {
        config.validate()?;
        let capacity = config.capacity_frames as usize;
        Ok(Self {
            max_timestamp_jump: config.max_timestamp_jump_ticks(),
            slots: vec![EMPTY_SLOT; capacity].into_boxed_slice(),
            payloads: vec![0; capacity * config.max_payload].into_boxed_slice(),
            candidate_payload: vec![0; config.max_payload].into_boxed_slice(),
            phase: Phase::Idle,
            ssrc: None,
            highest: 0,
            highest_timestamp: 0,
            playout_point: 0,
            floor: 0,
            delay: DelayEstimator::new(
                config.frame_units(),
                config.clock_rate,
                config.min_delay_frames,
                config.max_delay_frames,
                config.delay_quantile_permille,
            ),
            frame_units: config.frame_units().max(1),
            current_delay: 0.0,
            offered: Adjust::Keep,
            hold: false,
            over_max_ticks: 0,
            last_played: None,
            buffered: 0,
            last_arrival: None,
            candidate: None,
            stats: PlayoutStats::default(),
            config,
        })
    }

    /// The delay aimed for now, in frames, between the configured min and max.
    pub fn target_delay_frames(&self) -> u16 {
        self.delay.target_frames()
    }

    /// The playout delay at the last frame played, in frames: from the
    /// arrival of a packet that met no queueing to the end of its frame's
    /// playout (so a frame played as it arrives counts one). Zero while idle.
    pub fn current_delay_frames(&self) -> f64 {
        self.current_delay
    }

    /// [`Self::current_delay_frames`] as time.
    pub fn current_delay(&self) -> Duration {
        // Clamped: a wild timestamp must not make the conversion overflow.
        self.config
            .ptime
            .mul_f64(self.current_delay.clamp(0.0, 1e6))
    }

    /// The buffer ran dry and holds its playout point until it refills:
    /// the frames it returns meanwhile fill a pause in the sender's
    /// timeline, not lost packets.
    pub fn is_rebuffering(&self) -> bool {
        matches!(self.phase, Phase::Rebuffering { .. })
    }

    /// How many times a new stream replaced the one playing; when this
    /// changes, the decoder's state belongs to a stream that is gone.
    pub fn resets(&self) -> u64 {
        self.stats.resets
    }

    /// Counters, plus the current depth.
    pub fn stats(&self) -> PlayoutStats {
        let depth = if self.buffered > 0 {
            self.highest + 1 - self.playout_point
        } else {
            0
        };
        PlayoutStats {
            depth_frames: depth as u16,
            buffered: self.buffered,
            target_frames: self.delay.target_frames(),
            ..self.stats
        }
    }

    /// Offers one received packet.
    pub fn push(&mut self, now: Instant, info: &PacketInfo, payload: &[u8]) -> PushOutcome {
        self.stats.received += 1;
        if payload.len() > self.config.max_payload {
            self.stats.too_large += 1;
            return PushOutcome::TooLarge;
        }
        let ext = match self.continuity(info) {
            Continuity::Same(ext) => ext,
            Continuity::First => {
                self.start_stream(info);
                EXT_ORIGIN + info.sequence as u64
            }
            Continuity::Break => return self.probation(now, info, payload),
        };
        self.store(now, ext, info, payload)
    }

    /// Takes the frame for this tick; call once per ptime.
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        self.offered = Adjust::Keep;
        if std::mem::take(&mut self.hold) {
            self.stats.stretched += 1;
            return Playout::Stretch;
        }
        match self.phase {
            Phase::Idle => Playout::Idle,
            Phase::Priming { first_arrival } => {
                if self.filled(now, first_arrival) {
                    self.phase = Phase::Playing;
                    self.play_next(now, false)
                } else {
                    Playout::Idle
                }
            }
            Phase::Rebuffering { first_arrival } => {
                let refilled = first_arrival.is_some_and(|first| self.filled(now, first));
                if refilled {
                    self.phase = Phase::Playing;
                    self.play_next(now, false)
                } else if self.buffered == 0 && self.stopped(now) {
                    self.go_idle();
                    Playout::Idle
                } else {
                    self.stats.underrun_ticks += 1;
                    Playout::Missing { next: None }
                }
            }
            Phase::Playing => self.play_next(now, true),
        }
    }

    /// The caller dropped the frame the last pop offered with
    /// [`Adjust::MayDrop`] (it was quiet): plays the next one in its place,
    /// in the same tick, one frame closer to the target delay. Idle, and
    /// nothing changes, when the last pop offered no drop.
    pub fn drop_and_pop(&mut self, now: Instant) -> Playout<'_> {
        if self.offered != Adjust::MayDrop {
            return Playout::Idle;
        }
        self.offered = Adjust::Keep;
        self.stats.shrink_dropped += 1;
        self.play_next(now, false)
    }

    /// The caller takes the [`Adjust::MayStretch`] the last pop offered (the
    /// frame was quiet): the next pop plays [`Playout::Stretch`] and the
    /// frames after wait one tick. False, and nothing changes, when the last
    /// pop offered no stretch.
    pub fn stretch(&mut self) -> bool {
        if self.offered != Adjust::MayStretch {
            return false;
        }
        self.offered = Adjust::Keep;
        self.hold = true;
        true
    }

    fn store(&mut self, now: Instant, ext: u64, info: &PacketInfo, payload: &[u8]) -> PushOutcome {
        let outcome = self.store_in_slot(now, ext, info, payload);
        // Late packets count most: they are what the delay must cover.
        if matches!(outcome, PushOutcome::Accepted | PushOutcome::TooLate) {
            self.delay.observe(now, info.timestamp);
        }
        outcome
    }

    fn store_in_slot(
        &mut self,
        now: Instant,
        ext: u64,
        info: &PacketInfo,
        payload: &[u8],
    ) -> PushOutcome {
        let capacity = self.config.capacity_frames as u64;
        // Where the window of playable frames starts, and whether this packet
        // moves it: before the first frame goes out an earlier packet may
        // still become the first one.
        let mut new_point = self.playout_point;
        match self.phase {
            Phase::Idle => {
                if ext < self.floor {
                    return self.too_late();
                }
                new_point = ext;
            }
            Phase::Priming { .. } if ext < self.playout_point => {
                let window_start = self.highest.saturating_sub(capacity - 1);
                if ext < self.floor || ext < window_start {
                    return self.too_late();
                }
                new_point = ext;
            }
            _ if ext < self.playout_point => return self.too_late(),
            _ => {}
        }
        let index = (ext % capacity) as usize;
        let slot = self.slots[index];
        if slot.occupied && slot.ext == ext {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        self.playout_point = new_point;
        if ext >= self.playout_point + capacity {
            // Sender faster than our clock, or a burst: keep the newest
            // target-delay frames.
            self.trim_to(ext + 1 - self.delay.target_frames() as u64);
        }

        let start = index * self.config.max_payload;
        self.payloads[start..start + payload.len()].copy_from_slice(payload);
        self.slots[index] = Slot {
            ext,
            info: *info,
            len: payload.len(),
            occupied: true,
        };
        self.buffered += 1;
        self.stats.accepted += 1;
        // Only playable packets count as the stream being alive: a sender
        // whose packets all come too late must still end in Idle.
        self.last_arrival = Some(now);
        if ext < self.highest {
            self.stats.reordered += 1;
        } else {
            self.highest = ext;
            self.highest_timestamp = info.timestamp;
        }
        match self.phase {
            Phase::Idle => {
                self.phase = Phase::Priming { first_arrival: now };
            }
            Phase::Rebuffering {
                first_arrival: None,
            } => {
                self.phase = Phase::Rebuffering {
                    first_arrival: Some(now),
                };
            }
            _ => {}
        }
        PushOutcome::Accepted
    }

    fn too_late(&mut self) -> PushOutcome {
        self.stats.too_late += 1;
        PushOutcome::TooLate
    }

    /// Moves the playout point forward to `new_point`, dropping what lies before it.
    fn trim_to(&mut self, new_point: u64) {
        for slot in self.slots.iter_mut() {
            if slot.occupied && slot.ext < new_point {
                slot.occupied = false;
                self.buffered -= 1;
                self.stats.overflow_dropped += 1;
            }
        }
        self.playout_point = new_point;
        self.floor = self.floor.max(new_point);
    }

    /// True once the buffer holds the target delay, or its first packet has
    /// waited as long as that many frames take (a talkspurt shorter than the
    /// target delay must still come out).
    fn filled(&self, now: Instant, first_arrival: Instant) -> bool {
        if self.buffered == 0 {
            return false;
        }
        let target = self.delay.target_frames();
        let depth = self.highest + 1 - self.playout_point;
        let wait = self.config.ptime.saturating_mul(target as u32);
        depth >= target as u64 || now.saturating_duration_since(first_arrival) >= wait
    }

    fn stopped(&self, now: Instant) -> bool {
        self.last_arrival
            .is_none_or(|last| now.saturating_duration_since(last) >= self.config.idle_after)
    }

    fn go_idle(&mut self) {
        self.phase = Phase::Idle;
        self.floor = self.playout_point;
        self.current_delay = 0.0;
        self.last_played = None;
    }
    /// Plays the frame at the playout point; `adapt` lets the delay
    /// control act first (not on the first frame after a refill, which the
    /// refill already sized, nor on a frame replacing a dropped one).
    fn play_next(&mut self, now: Instant, adapt: bool) -> Playout<'_> {
        if self.buffered == 0 {
            // Ran dry: hold the playout point and refill to the target delay
            // rather than skip frames that are merely late.
            self.phase = Phase::Rebuffering {
                first_arrival: None,
            };
            self.stats.underrun_ticks += 1;
            return Playout::Missing { next: None };
        }
        if adapt {
            if let Some(stretch) = self.adapt(now) {
                return stretch;
            }
            if self.buffered == 0 {
                // A forced drop took the last frame held.
                self.phase = Phase::Rebuffering {
                    first_arrival: None,
                };
                self.stats.underrun_ticks += 1;
                return Playout::Missing { next: None };
            }
        } else {
            self.current_delay = self.measure(now);
        }
        let ext = self.playout_point;
        self.playout_point += 1;
        let capacity = self.config.capacity_frames as u64;
        let index = (ext % capacity) as usize;
        let slot = self.slots[index];
        if !(slot.occupied && slot.ext == ext) {
            self.stats.lost += 1;
            self.offered = Adjust::Keep;
            let next_index = ((ext + 1) % capacity) as usize;
            let next = self.slots[next_index];
            let next = (next.occupied && next.ext == ext + 1).then(|| {
                let start = next_index * self.config.max_payload;
                &self.payloads[start..start + next.len]
            });
            return Playout::Missing { next };
        }
        self.slots[index].occupied = false;
        self.buffered -= 1;
        self.stats.played += 1;
        self.last_played = Some((ext, slot.info.timestamp));
        let start = index * self.config.max_payload;
        Playout::Frame {
            payload: &self.payloads[start..start + slot.len],
            info: slot.info,
            adjust: self.offered,
        }
    }
}

#[cfg(test)]
mod tests;
