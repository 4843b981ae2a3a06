//! Counters a media session shares with the control plane. Relaxed atomics:
//! the packet path increments them without locks, the API reads snapshots.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

macro_rules! counters {
    ($name:ident, $snapshot:ident { $($(#[$doc:meta])* $field:ident),* $(,)? }) => {
        #[derive(Debug, Default)]
        pub struct $name { $($(#[$doc])* pub $field: AtomicU64,)* }

        #[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
        pub struct $snapshot { $($(#[$doc])* pub $field: u64,)* }

        impl $name {
            pub fn snapshot(&self) -> $snapshot {
                $snapshot { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters!(
    SessionStats,
    SessionStatsSnapshot {
        rx_packets,
        rx_bytes,
        tx_packets,
        tx_bytes,
        rx_garbage,
        rx_wrong_payload_type,
        rx_rtcp,
        rx_foreign_source,
        lost,
        late,
        duplicates,
        concealed,
        jitter_us,
        /// The playout delay at the last frame played: from when an
        /// on-time packet arrives to the end of its frame's playout.
        playout_delay_ms,
        /// Frames out of the decoder (decoded or concealed): stays 0 on a
        /// pass-through bridge.
        decoded_frames,
        /// Packets a pass-through bridge forwarded out of this leg.
        forwarded,
        /// telephone-event packets sent on this leg for its bridge peer.
        events_forwarded,
        /// The peer's events this leg could not send (no telephone-event
        /// negotiated here, or a malformed event).
        events_dropped,
        /// The peer's events played here as inband tones (no
        /// telephone-event negotiated on this leg).
        events_as_tones,
        /// Key presses heard on this leg as telephone-events.
        digits_rfc4733,
        /// Key presses heard on this leg as inband tones.
        digits_inband,
        /// Key presses sent on this leg (as telephone-events or tones).
        digits_sent,
        /// Pushes of the peer's audio that overflowed the bridge queue.
        bridge_overflows,
        /// Ticks that found the bridge queue short after it had started.
        bridge_underruns,
        /// The negotiated payload type (gauge): with the SDP, names the codec.
        payload_type,
        /// Lost frames rebuilt from the next packet's in-band FEC.
        recovered,
        /// The playout delay the jitter buffer aims for.
        playout_target_ms,
        /// Quiet frames dropped to shrink the playout delay.
        delay_dropped,
        /// Frames inserted in quiet passages to grow the playout delay.
        delay_stretched,
        /// SRTP/SRTCP packets dropped because their authentication tag did
        /// not verify (RFC 3711 §3.3 step 5).
        srtp_auth_failures,
        /// SRTP/SRTCP packets dropped as replays (RFC 3711 §3.3.2).
        srtp_replays,
    }
);

counters!(
    MediaMetrics,
    MediaMetricsSnapshot {
        sessions_created,
        sessions_closed,
        rx_packets,
        tx_packets,
        rx_garbage,
        media_timeouts,
        worker_late_ticks,
        send_errors,
        /// Recordings opened by the recorder thread.
        recordings_started,
        /// Recordings closed (finished or failed).
        recordings_finished,
        /// Recorded audio chunks dropped because the recorder fell behind.
        recording_chunks_dropped,
        /// Chunk buffers allocated because none was spare.
        recording_buffer_allocations,
        /// Recording files that could not be written or finished.
        recording_write_errors,
        /// Encodes of a room's shared mix, each sent to every listener
        /// with that codec.
        room_shared_encodes,
        /// Room frames members were sent from a shared encode.
        room_shared_frames,
        /// Room frames members encoded for themselves (speakers, other
        /// ptimes, members the announcement is about).
        room_personal_frames,
        /// SRTP/SRTCP packets that failed authentication, all sessions.
        srtp_auth_failures,
        /// SRTP/SRTCP packets dropped as replays, all sessions.
        srtp_replays,
    }
);

/// Adds one to a counter.
#[inline]
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
#[inline]
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Stores a gauge value.
#[inline]
pub fn set(counter: &AtomicU64, value: u64) {
    counter.store(value, Ordering::Relaxed);
}
