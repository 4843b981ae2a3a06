//! Conference rooms in the media plane: many legs on one worker, each
//! hearing the room's mix without itself (`crate::media::mixer`).
//!
//! The control plane places every member of a room on the room's worker
//! (affinity by room name) and sends `WorkerCommand::JoinRoom`. The worker
//! owns the room: its mixer at the room's rate (the highest member audio
//! rate) and a 20 ms tick of its own. Each member session keeps its own
//! ptime clock, as a transcoding bridge leg does:
//!
//! * on its tick a member pulls one frame through its playout buffer and
//!   decoder (with concealment), resamples it to the room's rate and leaves
//!   it for the worker, which queues it in the member's input FIFO at the
//!   room;
//! * on the room's tick each member's next input frame (or silence, when
//!   its packets stopped: a member never stalls the room) goes into the
//!   mixer; what each member hears comes back, is resampled to its rate and
//!   queued in its [`ConferenceLink::fifo`];
//! * the member's next tick encodes one frame from that queue.
//!
//! Everything is sized when a member joins or the room's rate changes;
//! nothing allocates on the tick.

use crate::codec::resample::{FrameResampler, ResampleError};
use crate::media::bridge::fifo::PcmFifo;
use crate::media::session::MediaParams;

/// The room's frame: 20 ms, whatever the members' ptimes.
pub const ROOM_PTIME_MS: u32 = 20;

/// One member's half of the room: its audio into the room, the room's mix
/// back out.
#[derive(Debug)]
pub struct ConferenceLink {
    pub room_rate: u32,
    /// Own decoded frames at the room's rate.
    pub to_room: FrameResampler,
    pub to_room_frame: Box<[i16]>,
    pub to_room_ready: bool,
    /// The last tick had a frame (the resampler holds its tail).
    pub to_room_streaming: bool,
    /// The room's mix at the room's rate, to this member's rate.
    pub from_room: FrameResampler,
    pub from_room_frame: Box<[i16]>,
    /// The mix at this member's rate, waiting to be encoded.
    pub fifo: PcmFifo,
}

impl ConferenceLink {
    pub fn new(own: &MediaParams, room_rate: u32) -> Result<Self, ResampleError> {
        let own_rate = own.codec.audio_rate();
        let to_room = FrameResampler::new(own_rate, room_rate, own.ptime_ms)?;
        let from_room = FrameResampler::new(room_rate, own_rate, ROOM_PTIME_MS)?;
        let to_len = to_room.output_len();
        let from_len = from_room.output_len();
        // The room pushes 20 ms at this leg's rate per room tick; the leg
        // pops one of its frames per own tick.
        let pop = (own_rate * own.ptime_ms / 1000) as usize;
        Ok(ConferenceLink {
            room_rate,
            to_room,
            to_room_frame: vec![0; to_len].into_boxed_slice(),
            to_room_ready: false,
            to_room_streaming: false,
            from_room,
            from_room_frame: vec![0; from_len].into_boxed_slice(),
            fifo: PcmFifo::new(from_len, pop),
        })
    }
}
