//! What a 20 ms member of a room waits to send: one frame per room tick,
//! either PCM of its own mix-minus (a speaker, or a member hearing
//! something personal) or the payload of the shared mix, already encoded
//! once for every listener with the same codec (`crate::media::worker`'s
//! shared encodes). The member's own tick sends one frame per pop.
//!
//! The member's ptime equals the room's, so one frame in per room tick
//! and one out per member tick: the queue plays from its first frame
//! (less than a frame of added delay) and holds a few frames so a room
//! tick that comes late is absorbed. All storage is made at construction;
//! a payload slot grows to its codec's payload size once and is reused.

/// Frames held at most; beyond, the oldest is dropped (latency stays
/// bounded, as in [`crate::media::bridge::fifo::PcmFifo`]).
const SLOTS: usize = 6;

/// Largest encoded payload kept (an Opus frame is at most 1275 bytes,
/// RFC 6716 §3.2.1).
pub const MAX_PAYLOAD: usize = 1275;

#[derive(Debug)]
struct Slot {
    encoded: bool,
    pcm: Box<[i16]>,
    payload: Vec<u8>,
}

/// What a pop produced.
#[derive(Debug, PartialEq, Eq)]
pub enum MixPop<'a> {
    /// PCM at the member's rate, to encode.
    Pcm(&'a [i16]),
    /// A payload ready to send.
    Encoded(&'a [u8]),
    /// Nothing queued yet.
    Priming,
    /// Was playing but nothing came this tick: the room is late or stopped.
    Underrun,
}

#[derive(Debug)]
pub struct MixQueue {
    slots: Box<[Slot]>,
    head: usize,
    len: usize,
    playing: bool,
}

impl MixQueue {
    /// A queue of frames of `frame_len` samples (the member's 20 ms).
    pub fn new(frame_len: usize) -> Self {
        let slots = (0..SLOTS)
            .map(|_| Slot {
                encoded: false,
                pcm: vec![0; frame_len].into_boxed_slice(),
                payload: Vec::new(),
            })
            .collect();
        MixQueue {
            slots,
            head: 0,
            len: 0,
            playing: false,
        }
    }

    /// The next slot to fill, making room by dropping the oldest frame when
    /// full; true in the second place when one was dropped.
    fn next_slot(&mut self) -> (&mut Slot, bool) {
        let dropped = self.len == SLOTS;
        if dropped {
            self.head = (self.head + 1) % SLOTS;
            self.len -= 1;
        }
        let tail = (self.head + self.len) % SLOTS;
        self.len += 1;
        (&mut self.slots[tail], dropped)
    }

    /// Queues a PCM frame, written by `fill` into the slot; true when an
    /// old frame was dropped to make room.
    pub fn push_pcm(&mut self, fill: impl FnOnce(&mut [i16])) -> bool {
        let (slot, dropped) = self.next_slot();
        slot.encoded = false;
        fill(&mut slot.pcm);
        dropped
    }

    /// Queues an encoded frame (cut to [`MAX_PAYLOAD`]); true when an old
    /// frame was dropped to make room.
    pub fn push_encoded(&mut self, payload: &[u8]) -> bool {
        let (slot, dropped) = self.next_slot();
        slot.encoded = true;
        slot.payload.clear();
        slot.payload
            .extend_from_slice(&payload[..payload.len().min(MAX_PAYLOAD)]);
        dropped
    }

    /// The oldest frame, once.
    pub fn pop(&mut self) -> MixPop<'_> {
        if self.len == 0 {
            return if std::mem::take(&mut self.playing) {
                MixPop::Underrun
            } else {
                MixPop::Priming
            };
        }
        self.playing = true;
        let slot = &self.slots[self.head];
        self.head = (self.head + 1) % SLOTS;
        self.len -= 1;
        if slot.encoded {
            MixPop::Encoded(&slot.payload)
        } else {
            MixPop::Pcm(&slot.pcm)
        }
    }

    /// Forgets everything held.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.playing = false;
    }

    /// Frames held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order_whatever_their_kind() {
        let mut queue = MixQueue::new(4);
        assert_eq!(queue.pop(), MixPop::Priming);
        queue.push_pcm(|pcm| pcm.fill(7));
        queue.push_encoded(&[1, 2, 3]);
        queue.push_pcm(|pcm| pcm.fill(9));
        assert_eq!(queue.pop(), MixPop::Pcm(&[7; 4]));
        assert_eq!(queue.pop(), MixPop::Encoded(&[1, 2, 3]));
        assert_eq!(queue.pop(), MixPop::Pcm(&[9; 4]));
        assert_eq!(queue.pop(), MixPop::Underrun, "was playing");
        assert_eq!(queue.pop(), MixPop::Priming);
    }

    #[test]
    fn a_full_queue_drops_its_oldest_frame() {
        let mut queue = MixQueue::new(2);
        for n in 0..SLOTS as u8 {
            assert!(!queue.push_encoded(&[n]));
        }
        assert!(queue.push_encoded(&[99]), "the oldest made room");
        assert_eq!(queue.len(), SLOTS);
        assert_eq!(queue.pop(), MixPop::Encoded(&[1]));
        let oversized = vec![5u8; MAX_PAYLOAD + 10];
        queue.push_encoded(&oversized);
        while let MixPop::Encoded(p) = queue.pop() {
            if p.len() > 1 {
                assert_eq!(p.len(), MAX_PAYLOAD);
            }
        }
        assert!(queue.is_empty());
    }
}
