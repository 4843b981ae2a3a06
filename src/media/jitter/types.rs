//! What goes into and comes out of a playout buffer.

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

/// How the buffer would like its delay changed at this frame.
///
/// The buffer cannot hear the audio, so it only offers: the caller decodes
/// the frame and takes the offer when the frame is quiet, where dropping or
/// repeating a frame's worth of sound is inaudible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjust {
    /// The delay is on target.
    Keep,
    /// A frame above target: the caller may discard this frame and call
    /// [`PlayoutBuffer::drop_and_pop`](super::PlayoutBuffer::drop_and_pop)
    /// to play the next one in its place.
    MayDrop,
    /// A frame below target: the caller may call
    /// [`PlayoutBuffer::stretch`](super::PlayoutBuffer::stretch) so that the
    /// next tick plays [`Playout::Stretch`] and this frame's successor waits.
    MayStretch,
}

/// What to play for this tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The next frame's payload, and whether its delay could be adjusted here.
    Frame {
        payload: &'a [u8],
        info: PacketInfo,
        adjust: Adjust,
    },
    /// A frame that is not there: the decoder conceals it. `next` is the
    /// following frame's payload when it is already held, from which a
    /// codec with in-band FEC (RFC 7587 §3.3) can rebuild the lost one.
    Missing { next: Option<&'a [u8]> },
    /// A frame inserted to grow the delay (a stretch the caller asked for,
    /// or silence before a talkspurt): play concealment, nothing was lost.
    Stretch,
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
    /// Frames handed out and then dropped by the caller to shrink the delay
    /// (counted in `played` too).
    pub shrink_dropped: u64,
    /// Frames dropped without asking after the delay stayed above the
    /// maximum with no quiet frame to drop.
    pub forced_dropped: u64,
    /// Ticks inserted to grow the delay.
    pub stretched: u64,
    /// Frames discarded by a reset.
    pub flushed: u64,
    /// New streams (SSRC change or jump) that replaced the current one.
    pub resets: u64,
    /// Frames from the playout point to the newest packet held.
    pub depth_frames: u16,
    /// Packets held.
    pub buffered: u16,
    /// The delay aimed for now, in frames.
    pub target_frames: u16,
}
