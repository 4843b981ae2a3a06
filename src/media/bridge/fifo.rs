//! The bounded PCM queue between a transcoded leg's decoder (via the
//! resampler) and its peer's encoder.
//!
//! The two legs tick independently, each at its own ptime, so frames go in
//! at one size and come out at another. The queue holds back its first frame
//! until enough is buffered that, given one push per producer tick and one
//! pop per consumer tick, a pop never finds less than a frame (see
//! [`PcmFifo::new`]); it then releases a frame per pop. All storage is
//! allocated at construction.

/// What a pop produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FifoPop {
    /// A full frame was copied out.
    Frame,
    /// Still filling up to the start level: nothing to send.
    Priming,
    /// Was playing, but less than a frame was held: nothing to send, and the
    /// queue primes again (the producer stopped or missed a tick).
    Underrun,
}

/// A fixed-capacity ring of mono samples.
#[derive(Debug)]
pub struct PcmFifo {
    ring: Box<[i16]>,
    /// Index of the oldest sample.
    head: usize,
    len: usize,
    /// Level needed before the first frame of a talkspurt goes out.
    start_level: usize,
    playing: bool,
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl PcmFifo {
    /// A queue fed `push_len` samples per producer tick and drained
    /// `pop_len` samples per consumer tick (both at the consumer's rate).
    ///
    /// With equal rates of flow, the level just before a pop stays within a
    /// window `push_len` wide whose position is fixed by the tick phases and
    /// the level at the first pop; levels are multiples of
    /// `g = gcd(push_len, pop_len)`. Starting at `pop_len + push_len - g`
    /// therefore keeps every later pre-pop level at or above `pop_len`: no
    /// underrun in steady state. With equal ptimes that start level is one
    /// frame, so the queue adds less than one frame of delay. The level never
    /// exceeds `start + pop_len + push_len`, which sizes the ring (twice
    /// that, so a producer catching up after a stalled tick is absorbed).
    pub fn new(push_len: usize, pop_len: usize) -> Self {
        let push_len = push_len.max(1);
        let pop_len = pop_len.max(1);
        let start_level = pop_len + push_len - gcd(push_len, pop_len);
        let capacity = 2 * (start_level + pop_len + push_len);
        PcmFifo {
            ring: vec![0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
            start_level,
            playing: false,
        }
    }

    /// Appends `samples`; when full, the oldest samples are dropped to make
    /// room (the newest audio matters, and latency stays bounded). Returns
    /// how many were dropped.
    pub fn push(&mut self, samples: &[i16]) -> usize {
        let capacity = self.ring.len();
        let dropped = (self.len + samples.len()).saturating_sub(capacity);
        // More than the whole ring: only its newest part can stay.
        let samples = &samples[samples.len().saturating_sub(capacity)..];
        let evicted = (self.len + samples.len()).saturating_sub(capacity);
        self.head = (self.head + evicted) % capacity;
        self.len -= evicted;
        let tail = (self.head + self.len) % capacity;
        let first = samples.len().min(capacity - tail);
        self.ring[tail..tail + first].copy_from_slice(&samples[..first]);
        self.ring[..samples.len() - first].copy_from_slice(&samples[first..]);
        self.len += samples.len();
        dropped
    }

    /// Fills `out` with the oldest `out.len()` samples when the queue is
    /// playing and holds that many.
    pub fn pop(&mut self, out: &mut [i16]) -> FifoPop {
        if !self.playing {
            if self.len < self.start_level.max(out.len()) {
                return FifoPop::Priming;
            }
            self.playing = true;
        }
        if self.len < out.len() {
            self.playing = false;
            return FifoPop::Underrun;
        }
        let capacity = self.ring.len();
        let first = out.len().min(capacity - self.head);
        let rest = out.len() - first;
        out[..first].copy_from_slice(&self.ring[self.head..self.head + first]);
        out[first..].copy_from_slice(&self.ring[..rest]);
        self.head = (self.head + out.len()) % capacity;
        self.len -= out.len();
        FifoPop::Frame
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Level at which the first frame of a talkspurt goes out.
    pub fn start_level(&self) -> usize {
        self.start_level
    }

    /// Most samples ever held.
    pub fn capacity(&self) -> usize {
        self.ring.len()
    }

    /// Forgets everything held.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.playing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a producer of `push` samples every `push_ms` and a consumer of
    /// `pop` samples every `pop_ms` (phase `phase_ms`) for `ms`, the samples
    /// numbered in order; returns what came out and the underruns after the
    /// first frame.
    fn simulate(
        push: usize,
        push_ms: u32,
        pop: usize,
        pop_ms: u32,
        phase_ms: u32,
        ms: u32,
    ) -> (Vec<i16>, usize, usize) {
        let mut fifo = PcmFifo::new(push, pop);
        let mut next = 0i16;
        let mut out = Vec::new();
        let mut frame = vec![0i16; pop];
        let (mut underruns, mut max_level) = (0, 0);
        for t in 0..ms {
            if t.is_multiple_of(push_ms) {
                let chunk: Vec<i16> = (0..push).map(|i| next.wrapping_add(i as i16)).collect();
                next = next.wrapping_add(push as i16);
                assert_eq!(fifo.push(&chunk), 0, "no overflow in steady state");
                max_level = max_level.max(fifo.len());
            }
            if t >= phase_ms && (t - phase_ms).is_multiple_of(pop_ms) {
                match fifo.pop(&mut frame) {
                    FifoPop::Frame => out.extend_from_slice(&frame),
                    FifoPop::Underrun => underruns += 1,
                    FifoPop::Priming => assert!(out.is_empty(), "primes only at the start"),
                }
            }
        }
        (out, underruns, max_level)
    }

    #[test]
    fn equal_frames_add_less_than_one_frame_and_never_underrun() {
        for phase in [0, 1, 10, 19] {
            let (out, underruns, max_level) = simulate(160, 20, 160, 20, phase, 2000);
            assert_eq!(underruns, 0, "phase {phase}");
            assert!(max_level <= 160 * 2, "phase {phase}: level {max_level}");
            // Samples come out in order, none lost or repeated.
            assert!(out.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
            // The first frame leaves at the first pop after the first push.
            assert!(out.len() >= 160 * 99, "phase {phase}: {}", out.len());
        }
    }

    #[test]
    fn ptime_20_into_30_never_underruns_and_stays_bounded() {
        for phase in [0, 5, 13, 29] {
            let (out, underruns, max_level) = simulate(160, 20, 240, 30, phase, 3000);
            assert_eq!(underruns, 0, "phase {phase}");
            assert!(out.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
            let fifo = PcmFifo::new(160, 240);
            assert_eq!(fifo.start_level(), 320);
            assert!(max_level <= fifo.start_level() + 160 + 240, "{max_level}");
        }
        for phase in [0, 7, 19] {
            let (_, underruns, _) = simulate(240, 30, 160, 20, phase, 3000);
            assert_eq!(underruns, 0, "30 into 20, phase {phase}");
        }
    }

    #[test]
    fn overflow_drops_the_oldest() {
        let mut fifo = PcmFifo::new(4, 4);
        let capacity = fifo.capacity();
        let data: Vec<i16> = (0..capacity as i16 + 6).collect();
        assert_eq!(fifo.push(&data), 6);
        assert_eq!(fifo.len(), capacity);
        let mut out = [0i16; 4];
        assert_eq!(fifo.pop(&mut out), FifoPop::Frame);
        assert_eq!(out, [6, 7, 8, 9], "the six oldest went");
    }

    #[test]
    fn wraps_around_the_ring() {
        let mut fifo = PcmFifo::new(5, 3);
        let mut next = 0i16;
        let mut got = Vec::new();
        let mut out = [0i16; 3];
        for _ in 0..100 {
            let chunk: Vec<i16> = (next..next + 5).collect();
            next += 5;
            fifo.push(&chunk);
            while fifo.pop(&mut out) == FifoPop::Frame {
                got.extend_from_slice(&out);
            }
        }
        assert_eq!(got, (0..got.len() as i16).collect::<Vec<_>>());
        assert!(got.len() >= 490);
    }

    #[test]
    fn an_empty_queue_underruns_then_primes_again() {
        let mut fifo = PcmFifo::new(160, 160);
        let mut out = [0i16; 160];
        assert_eq!(fifo.pop(&mut out), FifoPop::Priming);
        fifo.push(&[1; 160]);
        assert_eq!(fifo.pop(&mut out), FifoPop::Frame);
        assert_eq!(fifo.pop(&mut out), FifoPop::Underrun);
        assert_eq!(fifo.pop(&mut out), FifoPop::Priming);
        fifo.push(&[2; 160]);
        assert_eq!(fifo.pop(&mut out), FifoPop::Frame);
        assert_eq!(out, [2; 160]);
        fifo.push(&[3; 10]);
        fifo.clear();
        assert!(fifo.is_empty());
    }
}
