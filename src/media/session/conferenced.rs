//! A session's side of a conference room (design in
//! `crate::media::conference`): its decoded audio for the room, and the
//! room's mix to send.

use super::{MediaSession, Source, RTP_HEADER_LEN};
use crate::codec::resample::ResampleError;
use crate::codec::{CodecKind, CodecOptions};
use crate::media::bridge::fifo::FifoPop;
use crate::media::conference::{ConferenceLink, MixPop, RoomOutput};
use crate::media::stats::bump;

impl MediaSession {
    /// Joins a room mixing at `room_rate` (or follows a new room rate, or
    /// this leg's new codec): the leg now sends the room's mix.
    pub fn join_room(&mut self, room_rate: u32) -> Result<(), ResampleError> {
        let link = ConferenceLink::new(&self.params, room_rate)?;
        self.keep_stream_continuous();
        self.bridge = None;
        self.conference = Some(Box::new(link));
        self.source = Source::Conference;
        self.out.marker = true;
        Ok(())
    }

    /// Leaves the room: the leg falls silent.
    pub fn leave_room(&mut self) {
        self.conference = None;
        if matches!(self.source, Source::Conference) {
            self.source = Source::Silence;
        }
        self.out.marker = true;
    }

    /// The rate of the room this leg is in.
    pub fn room_rate(&self) -> Option<u32> {
        self.conference.as_ref().map(|link| link.room_rate)
    }

    /// True when this tick must decode for the room.
    pub(super) fn decodes_for_room(&self) -> bool {
        self.conference.is_some()
    }

    /// After the tick's decode: the frame at the room's rate. A tick with
    /// nothing heard resets the resampler, so the next talkspurt does not
    /// start with the tail of the last one.
    pub(super) fn feed_room(&mut self, heard: bool) {
        let Some(link) = self.conference.as_mut() else {
            return;
        };
        link.to_room_ready = false;
        if !heard {
            if link.to_room_streaming {
                link.to_room.reset();
                link.to_room_streaming = false;
            }
            return;
        }
        link.to_room_streaming = true;
        link.to_room_ready = link
            .to_room
            .process(&self.pcm, &mut link.to_room_frame)
            .is_ok();
    }

    /// The frame the last tick produced for the room, once.
    pub fn take_room_audio(&mut self) -> Option<&[i16]> {
        let link = self.conference.as_mut()?;
        if !std::mem::take(&mut link.to_room_ready) {
            return None;
        }
        Some(&link.to_room_frame)
    }

    /// What this member can be sent instead of its own encode of the
    /// shared mix: the same codec and settings at the room's ptime. None
    /// when the member must encode itself (another ptime, a prompt or key
    /// tones playing to it, not sending).
    pub fn shared_mix_key(&self) -> Option<SharedMixKey> {
        let link = self.conference.as_ref()?;
        let shareable = matches!(link.out, RoomOutput::Frames(_))
            && matches!(self.source, Source::Conference)
            && self.params.send
            && !self.digits.playing_tones();
        shareable.then_some(SharedMixKey {
            codec: self.params.codec,
            options: self.params.codec_options,
        })
    }

    /// Queues one room frame (20 ms at the room's rate) of what this member
    /// hears, to be encoded by the member.
    pub fn push_room_audio(&mut self, samples: &[i16]) {
        let Some(link) = self.conference.as_mut() else {
            return;
        };
        if !matches!(self.source, Source::Conference) {
            // A prompt plays to this member meanwhile: the room is not
            // queued up behind it (it would come back late).
            link.out.clear();
            return;
        }
        if std::mem::take(&mut link.from_room_skipped) {
            // Frames went by as shared payloads: no stale tail.
            link.from_room.reset();
        }
        let overflowed = match &mut link.out {
            RoomOutput::Frames(queue) => {
                let mut resampled = Ok(());
                let overflowed =
                    queue.push_pcm(|pcm| resampled = link.from_room.process(samples, pcm));
                overflowed || resampled.is_err()
            }
            RoomOutput::Pcm(fifo) => {
                if link
                    .from_room
                    .process(samples, &mut link.from_room_frame)
                    .is_err()
                {
                    return;
                }
                fifo.push(&link.from_room_frame) > 0
            }
        };
        if overflowed {
            bump(&self.stats.bridge_overflows);
        }
    }

    /// Queues one frame of the shared mix, encoded once for every member
    /// with this member's [`SharedMixKey`].
    pub fn push_room_payload(&mut self, payload: &[u8]) {
        let Some(link) = self.conference.as_mut() else {
            return;
        };
        let RoomOutput::Frames(queue) = &mut link.out else {
            return;
        };
        link.from_room_skipped = true;
        if queue.push_encoded(payload) {
            bump(&self.stats.bridge_overflows);
        }
    }

    /// The room's next frame for this member: PCM into `pcm`, or a payload
    /// into the packet after the RTP header.
    pub(super) fn pull_room_audio(&mut self) -> RoomFrame {
        let Some(link) = self.conference.as_mut() else {
            return RoomFrame::Nothing;
        };
        let popped = match &mut link.out {
            RoomOutput::Frames(queue) => match queue.pop() {
                MixPop::Pcm(pcm) => {
                    self.pcm.copy_from_slice(pcm);
                    FifoPop::Frame
                }
                MixPop::Encoded(payload) => {
                    let end = RTP_HEADER_LEN + payload.len();
                    self.packet[RTP_HEADER_LEN..end].copy_from_slice(payload);
                    return RoomFrame::Encoded(payload.len());
                }
                MixPop::Priming => FifoPop::Priming,
                MixPop::Underrun => FifoPop::Underrun,
            },
            RoomOutput::Pcm(fifo) => fifo.pop(&mut self.pcm),
        };
        match popped {
            FifoPop::Frame => RoomFrame::Pcm,
            FifoPop::Priming => RoomFrame::Nothing,
            FifoPop::Underrun => {
                bump(&self.stats.bridge_underruns);
                RoomFrame::Nothing
            }
        }
    }
}

/// What a member needs to be sent the shared encode of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedMixKey {
    pub codec: CodecKind,
    pub options: CodecOptions,
}

/// The room's frame for one member tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RoomFrame {
    Nothing,
    /// In the session's PCM buffer, to encode.
    Pcm,
    /// This many payload bytes after the RTP header in the packet buffer.
    Encoded(usize),
}
