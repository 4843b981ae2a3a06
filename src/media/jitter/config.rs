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
    /// The least delay, in frames, the buffer aims for, and its aim before
    /// it has measured any jitter.
    pub min_delay_frames: u16,
    /// The most delay the buffer aims for however late packets come; with
    /// `min_delay_frames` equal to it the delay is fixed.
    pub max_delay_frames: u16,
    /// Share of packets, in permille, that the target delay is to play in
    /// time; the rest arrive too late and are concealed.
    pub delay_quantile_permille: u16,
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
            min_delay_frames: 3,
            // 200 ms: beyond it a conversation suffers more from the delay
            // than from the loss (ITU-T G.114 asks for one-way delay under
            // 150 ms where possible and 400 ms at most, network included).
            max_delay_frames: 10,
            delay_quantile_permille: 950,
            capacity_frames: 32,
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
    #[error("minimum delay must be at least one frame")]
    ZeroTargetDelay,
    #[error("maximum delay of {max} frames is below the minimum of {min}")]
    BadMaxDelay { min: u16, max: u16 },
    #[error("capacity of {capacity} frames must be between the maximum delay ({target}) and {MAX_CAPACITY_FRAMES}")]
    BadCapacity { capacity: u16, target: u16 },
    #[error("delay quantile of {0} permille must be between 1 and 1000")]
    BadQuantile(u16),
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
        if self.min_delay_frames == 0 {
            return Err(PlayoutConfigError::ZeroTargetDelay);
        }
        if self.max_delay_frames < self.min_delay_frames {
            return Err(PlayoutConfigError::BadMaxDelay {
                min: self.min_delay_frames,
                max: self.max_delay_frames,
            });
        }
        if self.capacity_frames < self.max_delay_frames
            || self.capacity_frames > MAX_CAPACITY_FRAMES
        {
            return Err(PlayoutConfigError::BadCapacity {
                capacity: self.capacity_frames,
                target: self.max_delay_frames,
            });
        }
        if !(1..=1000).contains(&self.delay_quantile_permille) {
            return Err(PlayoutConfigError::BadQuantile(
                self.delay_quantile_permille,
            ));
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

    /// RTP clock units per frame.
    pub(super) fn frame_units(&self) -> i64 {
        (self.ptime.as_nanos() * self.clock_rate as u128 / 1_000_000_000) as i64
    }

    /// `max_timestamp_jump` in RTP clock units, capped at the 2^31 beyond
    /// which a 32-bit timestamp difference loses its sign.
    pub(super) fn max_timestamp_jump_ticks(&self) -> i64 {
        let ticks = self.max_timestamp_jump.as_secs_f64() * self.clock_rate as f64;
        ticks.min(i32::MAX as f64) as i64
    }
}
