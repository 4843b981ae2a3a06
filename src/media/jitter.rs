//! Playout buffer: reorders RTP packets and releases one frame per ptime tick.
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
//! The playout point (the next sequence number out) is only moved by `store`
//! (choosing the first frame of a talkspurt), `play_next`, `trim_to` and
//! `go_idle`, and the target delay is read only by `filled` and `store`'s
//! overflow trim: adaptive delay and clock drift handling plug in there.

mod config;

use std::time::Instant;

pub use config::{PlayoutConfig, PlayoutConfigError, MAX_CAPACITY_FRAMES, MAX_PAYLOAD_BYTES};

/// Extended sequence numbers of a stream start here, so that packets
/// reordered before the first one stay positive.
const EXT_ORIGIN: u64 = 1 << 32;

/// The RTP header fields the buffer needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub marker: bool,
}

/// What became of a pushed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Accepted,
    /// Already held; dropped.
    Duplicate,
    /// Its frame was already played or given up; dropped.
    TooLate,
    /// Payload larger than the configured maximum; dropped.
    TooLarge,
    /// From a new SSRC or after a big jump: held aside until the next packet
    /// confirms a new stream (RFC 3550 A.1 probation), which then resets the buffer.
    Unconfirmed,
}

/// What to play for this tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The next frame's payload.
    Frame { payload: &'a [u8], info: PacketInfo },
    /// A frame that is not there: the decoder conceals it.
    Missing,
    /// Nothing is playing: not started yet, or the stream stopped.
    Idle,
}

/// Counters since construction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayoutStats {
    /// Packets pushed, whatever became of them.
    pub received: u64,
    /// Packets stored (including a confirmed new stream's first packet).
    pub accepted: u64,
    pub duplicates: u64,
    pub too_late: u64,
    pub too_large: u64,
    /// Unconfirmed packets dropped when another took their place.
    pub strays: u64,
    /// Accepted packets that arrived after a higher sequence number.
    pub reordered: u64,
    /// Frames handed out.
    pub played: u64,
    /// Missing frames whose sequence number never arrived in time.
    pub lost: u64,
    /// Missing frames because the buffer ran dry and is refilling.
    pub underrun_ticks: u64,
    /// Frames dropped to bring an overfull buffer back to the target delay.
    pub overflow_dropped: u64,
    /// Frames discarded by a reset.
    pub flushed: u64,
    /// New streams (SSRC change or jump) that replaced the current one.
    pub resets: u64,
    /// Frames from the playout point to the newest packet held.
    pub depth_frames: u16,
    /// Packets held.
    pub buffered: u16,
}

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
    target_delay_frames: u16,
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
            target_delay_frames: config.target_delay_frames,
            buffered: 0,
            last_arrival: None,
            candidate: None,
            stats: PlayoutStats::default(),
            config,
        })
    }

    /// Frames held before playout starts.
    pub fn target_delay_frames(&self) -> u16 {
        self.target_delay_frames
    }

    /// Changes the target delay (clamped to 1..=capacity); it applies the
    /// next time playout starts or the buffer overflows.
    pub fn set_target_delay_frames(&mut self, frames: u16) {
        self.target_delay_frames = frames.clamp(1, self.config.capacity_frames);
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
        match self.phase {
            Phase::Idle => Playout::Idle,
            Phase::Priming { first_arrival } => {
                if self.filled(now, first_arrival) {
                    self.phase = Phase::Playing;
                    self.play_next()
                } else {
                    Playout::Idle
                }
            }
            Phase::Rebuffering { first_arrival } => {
                let refilled = first_arrival.is_some_and(|first| self.filled(now, first));
                if refilled {
                    self.phase = Phase::Playing;
                    self.play_next()
                } else if self.buffered == 0 && self.stopped(now) {
                    self.go_idle();
                    Playout::Idle
                } else {
                    self.stats.underrun_ticks += 1;
                    Playout::Missing
                }
            }
            Phase::Playing => self.play_next(),
        }
    }

    fn continuity(&self, info: &PacketInfo) -> Continuity {
        let Some(ssrc) = self.ssrc else {
            return Continuity::First;
        };
        if info.ssrc != ssrc {
            return Continuity::Break;
        }
        // The 16-bit difference, read as signed, places the packet relative
        // to the newest one across the 65535 → 0 wrap (RFC 3550 A.1).
        let delta = info.sequence.wrapping_sub(self.highest as u16) as i16 as i64;
        let timestamp_delta = info.timestamp.wrapping_sub(self.highest_timestamp) as i32 as i64;
        if delta > self.config.max_dropout as i64
            || delta < -(self.config.max_misorder as i64)
            || timestamp_delta.abs() > self.max_timestamp_jump
        {
            return Continuity::Break;
        }
        Continuity::Same(self.highest.saturating_add_signed(delta))
    }

    fn start_stream(&mut self, info: &PacketInfo) {
        self.ssrc = Some(info.ssrc);
        self.highest = EXT_ORIGIN + info.sequence as u64;
        self.highest_timestamp = info.timestamp;
    }

    /// Holds a packet that breaks continuity until a second one, adjacent in
    /// sequence and from the same SSRC, confirms the new stream; a lone stray
    /// (an old duplicate, a misrouted packet) then cannot flush good audio.
    fn probation(&mut self, now: Instant, info: &PacketInfo, payload: &[u8]) -> PushOutcome {
        if let Some((held, held_len)) = self.candidate.take() {
            if self.confirms(&held, info) {
                self.reset(&held);
                // Moved out for the duration of the copy into a slot.
                let held_payload = std::mem::take(&mut self.candidate_payload);
                let ext = EXT_ORIGIN + held.sequence as u64;
                self.store(now, ext, &held, &held_payload[..held_len]);
                self.candidate_payload = held_payload;
                return match self.continuity(info) {
                    Continuity::Same(ext) => self.store(now, ext, info, payload),
                    // `confirms` checked the same bounds.
                    Continuity::First | Continuity::Break => PushOutcome::Unconfirmed,
                };
            }
            self.stats.strays += 1;
        }
        self.candidate_payload[..payload.len()].copy_from_slice(payload);
        self.candidate = Some((*info, payload.len()));
        PushOutcome::Unconfirmed
    }

    fn confirms(&self, held: &PacketInfo, info: &PacketInfo) -> bool {
        let delta = info.sequence.wrapping_sub(held.sequence) as i16 as i64;
        let timestamp_delta = info.timestamp.wrapping_sub(held.timestamp) as i32 as i64;
        info.ssrc == held.ssrc
            && delta != 0
            && delta.abs() < self.config.capacity_frames as i64
            && delta <= self.config.max_dropout as i64
            && delta >= -(self.config.max_misorder as i64)
            && timestamp_delta.abs() <= self.max_timestamp_jump
    }

    /// Drops the current stream for the one `first` starts.
    fn reset(&mut self, first: &PacketInfo) {
        self.stats.resets += 1;
        self.stats.flushed += self.buffered as u64;
        self.slots.fill(EMPTY_SLOT);
        self.buffered = 0;
        self.phase = Phase::Idle;
        self.floor = 0;
        self.start_stream(first);
    }

    fn store(&mut self, now: Instant, ext: u64, info: &PacketInfo, payload: &[u8]) -> PushOutcome {
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
            self.trim_to(ext + 1 - self.target_delay_frames as u64);
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
        let depth = self.highest + 1 - self.playout_point;
        let wait = self
            .config
            .ptime
            .saturating_mul(self.target_delay_frames as u32);
        depth >= self.target_delay_frames as u64
            || now.saturating_duration_since(first_arrival) >= wait
    }

    fn stopped(&self, now: Instant) -> bool {
        self.last_arrival
            .is_none_or(|last| now.saturating_duration_since(last) >= self.config.idle_after)
    }

    fn go_idle(&mut self) {
        self.phase = Phase::Idle;
        self.floor = self.playout_point;
    }

    fn play_next(&mut self) -> Playout<'_> {
        if self.buffered == 0 {
            // Ran dry: hold the playout point and refill to the target delay
            // rather than skip frames that are merely late.
            self.phase = Phase::Rebuffering {
                first_arrival: None,
            };
            self.stats.underrun_ticks += 1;
            return Playout::Missing;
        }
        let ext = self.playout_point;
        self.playout_point += 1;
        let index = (ext % self.config.capacity_frames as u64) as usize;
        let slot = &mut self.slots[index];
        if !(slot.occupied && slot.ext == ext) {
            self.stats.lost += 1;
            return Playout::Missing;
        }
        slot.occupied = false;
        let (len, info) = (slot.len, slot.info);
        self.buffered -= 1;
        self.stats.played += 1;
        let start = index * self.config.max_payload;
        Playout::Frame {
            payload: &self.payloads[start..start + len],
            info,
        }
    }
}

#[cfg(test)]
mod tests;
