//! A session's side of a conference room (design in
//! `crate::media::conference`): its decoded audio for the room, and the
//! room's mix to send.

use super::{MediaSession, Source};
use crate::codec::resample::ResampleError;
use crate::media::bridge::fifo::FifoPop;
use crate::media::conference::ConferenceLink;
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

    /// Queues one room frame (20 ms at the room's rate) of what this member
    /// hears.
    pub fn push_room_audio(&mut self, samples: &[i16]) {
        let Some(link) = self.conference.as_mut() else {
            return;
        };
        if !matches!(self.source, Source::Conference) {
            // A prompt plays to this member meanwhile: the room is not
            // queued up behind it (it would come back late).
            link.fifo.clear();
            return;
        }
        if link
            .from_room
            .process(samples, &mut link.from_room_frame)
            .is_err()
        {
            return;
        }
        if link.fifo.push(&link.from_room_frame) > 0 {
            bump(&self.stats.bridge_overflows);
        }
    }

    /// Fills `pcm` with the room's next frame for this member; false when
    /// there is nothing to send this tick.
    pub(super) fn pull_room_audio(&mut self) -> bool {
        let Some(link) = self.conference.as_mut() else {
            return false;
        };
        match link.fifo.pop(&mut self.pcm) {
            FifoPop::Frame => true,
            FifoPop::Priming => false,
            FifoPop::Underrun => {
                bump(&self.stats.bridge_underruns);
                false
            }
        }
    }
}
