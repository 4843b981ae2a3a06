//! A session's receive path: the playout buffer's sizing, one frame out of
//! it per tick (decoded, or only counted), and the interarrival jitter.

use std::time::{Duration, Instant};

use super::render::{quiet, render};
use super::{MediaParams, MediaSession, MAX_DATAGRAM};
use crate::media::jitter::{
    Adjust, Playout, PlayoutBuffer, PlayoutConfig, PlayoutConfigError, MAX_CAPACITY_FRAMES,
};
use crate::media::stats::bump;

/// RFC 3550 §6.4.1 / A.8 interarrival jitter, in RTP timestamp units.
#[derive(Debug, Default)]
pub(super) struct JitterEstimate {
    last: Option<(Instant, u32)>,
    jitter: f64,
}

impl JitterEstimate {
    pub(super) fn update(&mut self, now: Instant, timestamp: u32, clock_rate: u32) -> f64 {
        if let Some((then, last_ts)) = self.last {
            let arrival = now.duration_since(then).as_secs_f64() * clock_rate as f64;
            let sent = timestamp.wrapping_sub(last_ts) as i32 as f64;
            let d = (arrival - sent).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last = Some((now, timestamp));
        self.jitter
    }
}

/// The most playout delay the buffer grows to on a jittery network.
const MAX_PLAYOUT_DELAY_MS: u32 = 200;

/// The configured jitter delay is where the buffer starts and the least it
/// holds; it grows with measured jitter up to [`MAX_PLAYOUT_DELAY_MS`].
pub fn playout_buffer(
    params: &MediaParams,
    jitter_delay_ms: u32,
) -> Result<PlayoutBuffer, PlayoutConfigError> {
    let ptime_ms = params.ptime_ms.max(1);
    let min = jitter_delay_ms.div_ceil(ptime_ms).max(1);
    let max = MAX_PLAYOUT_DELAY_MS.div_ceil(ptime_ms).max(min);
    let clamp = |frames: u32| frames.min(MAX_CAPACITY_FRAMES as u32) as u16;
    PlayoutBuffer::new(PlayoutConfig {
        ptime: Duration::from_millis(params.ptime_ms as u64),
        clock_rate: params.codec.clock_rate(),
        min_delay_frames: clamp(min),
        max_delay_frames: clamp(max),
        // Room for a burst as long again as the largest delay.
        capacity_frames: clamp((max * 2).max(16)),
        max_payload: MAX_DATAGRAM,
        ..PlayoutConfig::default()
    })
}

impl MediaSession {
    /// Pulls one frame through the playout buffer and the decoder into `pcm`;
    /// false when nothing is playing out. A quiet frame is where the buffer's
    /// offer to shrink or grow its delay is taken.
    pub(super) fn receive_frame(&mut self, now: Instant) -> bool {
        let decoder = &mut *self.decoder;
        let mut rendered = render(decoder, &mut self.pcm, &self.stats, self.playout.pop(now));
        match rendered.adjust {
            Adjust::MayDrop if quiet(&self.pcm) => {
                bump(&self.stats.delay_dropped);
                let next = self.playout.drop_and_pop(now);
                rendered = render(decoder, &mut self.pcm, &self.stats, next);
            }
            Adjust::MayStretch if quiet(&self.pcm) && self.playout.stretch() => {
                bump(&self.stats.delay_stretched);
            }
            _ => {}
        }
        self.publish_delay();
        self.origin = rendered.origin;
        rendered.heard
    }
    /// Advances the playout buffer by one frame without decoding it. No one
    /// hears this audio, so every offer to adapt the delay is taken.
    pub(super) fn skip_frame(&mut self, now: Instant) -> bool {
        let (heard, adjust) = match self.playout.pop(now) {
            Playout::Frame { adjust, .. } => (true, adjust),
            Playout::Missing { .. } => {
                bump(&self.stats.lost);
                (true, Adjust::Keep)
            }
            Playout::Stretch => (true, Adjust::Keep),
            Playout::Idle => (false, Adjust::Keep),
        };
        match adjust {
            Adjust::MayDrop => {
                bump(&self.stats.delay_dropped);
                if let Playout::Missing { .. } = self.playout.drop_and_pop(now) {
                    bump(&self.stats.lost);
                }
            }
            Adjust::MayStretch => {
                if self.playout.stretch() {
                    bump(&self.stats.delay_stretched);
                }
            }
            Adjust::Keep => {}
        }
        self.publish_delay();
        heard
    }
}
