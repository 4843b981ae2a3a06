//! Sizing and limits of a playout buffer.

use std::time::Duration;

use thiserror::Error;

/// The most frames a buffer may hold: 20 s at 20 ms, far beyond any useful delay.
pub const MAX_CAPACITY_FRAMES: u16 = 1024;

/// The largest payload a UDP datagram can carry over IPv4 (RFC 768, RFC 791),
/// rounded down to what an RTP header leaves.
pub const MAX_PAYLOAD_BYTES: usize = 65_495;

/// How a playout buffer is sized and when it gives up on a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayoutConfig {
    /// Time between two pops.
    pub ptime: Duration,
    /// RTP clock rate, to read timestamps as time.
    pub clock_rate: u32,
    /// Frames held before playout starts; the frame played is the oldest of them.
    pub target_delay_frames: u16,
    /// Slots; a packet further ahead than this makes the buffer drop its
    /// oldest frames back to the target delay.
    pub capacity_frames: u16,
    /// Largest payload kept; larger ones are refused.
    pub max_payload: usize,
    /// With nothing buffered and nothing received for this long, the stream
    /// is taken as stopped and playout goes idle.
    pub idle_after: Duration,
    /// A sequence jump forward beyond this is a new stream (RFC 3550 A.1 MAX_DROPOUT).
    pub max_dropout: u16,
    /// A sequence jump backward beyond this is a new stream (RFC 3550 A.1 MAX_MISORDER).
    pub max_misorder: u16,
    /// A timestamp jump beyond this (either way) is a new stream; sources
    /// that switch keep the SSRC but restart their timestamps at random.
    pub max_timestamp_jump: Duration,
}

impl Default for PlayoutConfig {
    fn default() -> Self {
        Self {
            ptime: Duration::from_millis(20),
            clock_rate: 8000,
            target_delay_frames: 3,
            capacity_frames: 16,
            max_payload: 1500,
            idle_after: Duration::from_millis(200),
            max_dropout: 3000,
            max_misorder: 100,
            max_timestamp_jump: Duration::from_secs(60),
        }
    }
}

/// A configuration the buffer cannot run with.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PlayoutConfigError {
    #[error("target delay must be at least one frame")]
    ZeroTargetDelay,
    #[error("capacity of {capacity} frames must be between the target delay ({target}) and {MAX_CAPACITY_FRAMES}")]
    BadCapacity { capacity: u16, target: u16 },
    #[error("max payload of {0} bytes must be between 1 and {MAX_PAYLOAD_BYTES}")]
    BadMaxPayload(usize),
    #[error("ptime must not be zero")]
    ZeroPtime,
    #[error("clock rate must not be zero")]
    ZeroClockRate,
}

impl PlayoutConfig {
    /// Checks that a buffer can run with this configuration.
    pub fn validate(&self) -> Result<(), PlayoutConfigError> {
        if self.target_delay_frames == 0 {
            return Err(PlayoutConfigError::ZeroTargetDelay);
        }
        if self.capacity_frames < self.target_delay_frames
            || self.capacity_frames > MAX_CAPACITY_FRAMES
        {
            return Err(PlayoutConfigError::BadCapacity {
                capacity: self.capacity_frames,
                target: self.target_delay_frames,
            });
        }
        if self.max_payload == 0 || self.max_payload > MAX_PAYLOAD_BYTES {
            return Err(PlayoutConfigError::BadMaxPayload(self.max_payload));
        }
        if self.ptime.is_zero() {
            return Err(PlayoutConfigError::ZeroPtime);
        }
        if self.clock_rate == 0 {
            return Err(PlayoutConfigError::ZeroClockRate);
        }
        Ok(())
    }

    /// `max_timestamp_jump` in RTP clock units, capped at the 2^31 beyond
    /// which a 32-bit timestamp difference loses its sign.
    pub(super) fn max_timestamp_jump_ticks(&self) -> i64 {
        let ticks = self.max_timestamp_jump.as_secs_f64() * self.clock_rate as f64;
        ticks.min(i32::MAX as f64) as i64
    }
}
