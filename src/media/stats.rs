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
        /// RTCP compounds sent (reports and the final BYE).
        rtcp_sent,
        /// RTCP datagrams received from the peer (malformed ones too).
        rtcp_received,
        /// RTCP datagrams that were not a usable compound.
        rtcp_malformed,
        /// The last round-trip time (RFC 3550 §6.4.1), in µs; valid once
        /// `rtt_known` is 1.
        rtt_us,
        rtt_known,
        /// 1 once the peer reported on our stream: the `tx_*` gauges are
        /// valid.
        far_report_known,
        /// Fraction of our packets lost in the peer's last report interval,
        /// in 1/256 (RFC 3550 §6.4.1).
        tx_fraction_lost,
        /// Our packets the peer counts lost since the start.
        tx_lost,
        /// Interarrival jitter of our stream as the peer reports it, in µs.
        tx_jitter_us,
        /// The peer's packets lost since the start, in 1/100 of a percent.
        rx_loss_basis_points,
        /// Estimated MOS ×100 of what we hear and of what the peer hears
        /// (0 until known).
        mos_rx_x100,
        mos_tx_x100,
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
        /// Sessions handed to another worker (to join a room mixed there).
        sessions_moved,
        rx_packets,
        tx_packets,
        rx_garbage,
        /// RTP from a source the leg does not latch (RFC 4961 latching).
        rx_foreign_source,
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
        /// RTCP compounds sent, on every leg.
        rtcp_sent,
        /// RTCP datagrams received from peers.
        rtcp_received,
        /// RTCP datagrams dropped as malformed.
        rtcp_malformed,
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

/// A leg's quality both ways, as `GET /api/v1/calls` shows it: what the
/// session last published at an RTCP report sent or received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CallQuality {
    /// Round-trip time (RFC 3550 §6.4.1), once the peer reported on us.
    pub rtt_ms: Option<f64>,
    /// Interarrival jitter of the stream we receive.
    pub jitter_rx_ms: f64,
    /// Interarrival jitter of our stream, as the peer reports it.
    pub jitter_tx_ms: Option<f64>,
    /// The peer's packets lost since the start.
    pub loss_rx_percent: f64,
    /// Our packets lost in the peer's last report interval.
    pub loss_tx_percent: Option<f64>,
    /// Our packets the peer counts lost since the start.
    pub lost_tx: Option<u64>,
    /// Estimated MOS (ITU-T G.107) of what we hear, of what the peer
    /// hears, and the lower of the two.
    pub mos_rx: Option<f64>,
    pub mos_tx: Option<f64>,
    pub mos: Option<f64>,
    pub rtcp_sent: u64,
    pub rtcp_received: u64,
    pub rtcp_malformed: u64,
}

impl SessionStatsSnapshot {
    pub fn quality(&self) -> CallQuality {
        let far = self.far_report_known != 0;
        let mos = |x100: u64| (x100 != 0).then(|| x100 as f64 / 100.0);
        let (mos_rx, mos_tx) = (mos(self.mos_rx_x100), mos(self.mos_tx_x100));
        CallQuality {
            rtt_ms: (self.rtt_known != 0).then(|| self.rtt_us as f64 / 1000.0),
            jitter_rx_ms: self.jitter_us as f64 / 1000.0,
            jitter_tx_ms: far.then(|| self.tx_jitter_us as f64 / 1000.0),
            loss_rx_percent: self.rx_loss_basis_points as f64 / 100.0,
            loss_tx_percent: far.then(|| self.tx_fraction_lost as f64 * 100.0 / 256.0),
            lost_tx: far.then_some(self.tx_lost),
            mos_rx,
            mos_tx,
            mos: match (mos_rx, mos_tx) {
                (Some(rx), Some(tx)) => Some(rx.min(tx)),
                (one, other) => one.or(other),
            },
            rtcp_sent: self.rtcp_sent,
            rtcp_received: self.rtcp_received,
            rtcp_malformed: self.rtcp_malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_is_null_until_known_and_mos_is_the_lower() {
        let none = SessionStatsSnapshot::default().quality();
        assert_eq!(
            (none.rtt_ms, none.loss_tx_percent, none.mos),
            (None, None, None)
        );
        let snapshot = SessionStatsSnapshot {
            rtt_us: 50_000,
            rtt_known: 1,
            far_report_known: 1,
            tx_fraction_lost: 64,
            tx_lost: 7,
            tx_jitter_us: 2_500,
            rx_loss_basis_points: 990,
            mos_rx_x100: 420,
            mos_tx_x100: 390,
            ..SessionStatsSnapshot::default()
        };
        let q = snapshot.quality();
        assert_eq!(q.rtt_ms, Some(50.0));
        assert_eq!(q.loss_tx_percent, Some(25.0));
        assert_eq!(q.lost_tx, Some(7));
        assert_eq!(q.jitter_tx_ms, Some(2.5));
        assert_eq!(q.loss_rx_percent, 9.9);
        assert_eq!(q.mos, Some(3.9));
    }
}
