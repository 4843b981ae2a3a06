//! The SRTP replay list (RFC 3711 §3.3.2) of the streams a leg receives.
//!
//! Kept here rather than in `webrtc-srtp`: with its replay option on, that
//! crate builds a fresh boxed detector for every packet it decrypts (and
//! drops it unless the SSRC is new), an allocation per packet on the media
//! path. This list allocates nothing.

use super::context::{SrtpError, REPLAY_WINDOW};

/// Streams (SSRCs) remembered at once; a peer normally sends one, and a
/// new one after a restart. The oldest is forgotten beyond this.
const STREAMS: usize = 4;

/// Replay windows of the last few SSRCs received.
#[derive(Debug, Default)]
pub struct ReplayList {
    streams: [Option<StreamWindow>; STREAMS],
    /// The slot a new SSRC takes when all are in use.
    next_slot: usize,
}

/// One stream's window: the highest index accepted and which of the
/// `REPLAY_WINDOW` indexes below it were accepted too.
#[derive(Debug, Clone, Copy)]
struct StreamWindow {
    ssrc: u32,
    /// Highest packet index accepted: ROC << 16 | SEQ (RFC 3711 §3.3.1).
    top: u64,
    /// Bit i set: index `top - i` was accepted.
    seen: u64,
}

impl ReplayList {
    /// The packet index of sequence number `seq` on `ssrc` (RFC 3711
    /// Appendix A's estimate), or `Replayed` when that index was accepted
    /// already or lies behind the window. Checked before authentication
    /// (§3.3 step 2); [`Self::accept`] records it once the packet
    /// authenticates.
    pub fn check(&self, ssrc: u32, seq: u16) -> Result<u64, SrtpError> {
        let Some(window) = self.window(ssrc) else {
            // A stream's first packet: its ROC starts at 0 (§3.3.1).
            return Ok(u64::from(seq));
        };
        let index = estimate_index(window.top, seq).ok_or(SrtpError::Replayed)?;
        if index > window.top {
            return Ok(index);
        }
        let behind = window.top - index;
        if behind >= REPLAY_WINDOW as u64 || window.seen & (1 << behind) != 0 {
            return Err(SrtpError::Replayed);
        }
        Ok(index)
    }

    /// Records `index` of `ssrc` as received (§3.3.2: after authentication).
    pub fn accept(&mut self, ssrc: u32, index: u64) {
        match self.streams.iter_mut().flatten().find(|w| w.ssrc == ssrc) {
            Some(window) if index > window.top => {
                let ahead = index - window.top;
                window.seen = if ahead >= 64 { 0 } else { window.seen << ahead };
                window.seen |= 1;
                window.top = index;
            }
            Some(window) => window.seen |= 1 << (window.top - index),
            None => {
                let slot = match self.streams.iter().position(Option::is_none) {
                    Some(free) => free,
                    None => {
                        let oldest = self.next_slot;
                        self.next_slot = (oldest + 1) % STREAMS;
                        oldest
                    }
                };
                self.streams[slot] = Some(StreamWindow {
                    ssrc,
                    top: index,
                    seen: 1,
                });
            }
        }
    }

    fn window(&self, ssrc: u32) -> Option<&StreamWindow> {
        self.streams.iter().flatten().find(|w| w.ssrc == ssrc)
    }
}

/// RFC 3711 Appendix A: the index of `seq` given the highest index seen,
/// taking the ROC one below or above when `seq` is more than half the
/// sequence space away. None for an index before the stream's start.
fn estimate_index(top: u64, seq: u16) -> Option<u64> {
    let roc = top >> 16;
    let s_l = (top & 0xffff) as u16;
    let v = if s_l < 0x8000 {
        if seq > s_l && seq - s_l > 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        roc + 1
    } else {
        roc
    };
    Some(v << 16 | u64::from(seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_seq(list: &mut ReplayList, ssrc: u32, seq: u16) -> Result<u64, SrtpError> {
        let index = list.check(ssrc, seq)?;
        list.accept(ssrc, index);
        Ok(index)
    }

    #[test]
    fn each_index_is_accepted_once_within_the_window() {
        let mut list = ReplayList::default();
        assert_eq!(accept_seq(&mut list, 7, 100), Ok(100));
        assert_eq!(accept_seq(&mut list, 7, 100), Err(SrtpError::Replayed));
        assert_eq!(accept_seq(&mut list, 7, 200), Ok(200));
        // Late but within 64 of the top: once.
        assert_eq!(accept_seq(&mut list, 7, 150), Ok(150));
        assert_eq!(accept_seq(&mut list, 7, 150), Err(SrtpError::Replayed));
        assert_eq!(accept_seq(&mut list, 7, 137), Ok(137));
        // 64 or more behind the top: refused whether seen or not.
        assert_eq!(list.check(7, 136), Err(SrtpError::Replayed));
        assert_eq!(list.check(7, 101), Err(SrtpError::Replayed));
    }

    #[test]
    fn a_checked_packet_that_failed_authentication_may_come_again() {
        let mut list = ReplayList::default();
        accept_seq(&mut list, 7, 10).unwrap();
        // Checked, never accepted (its tag was wrong): the genuine one passes.
        assert_eq!(list.check(7, 11), Ok(11));
        assert_eq!(accept_seq(&mut list, 7, 11), Ok(11));
    }

    #[test]
    fn the_sequence_number_wraps_into_the_next_roc() {
        let mut list = ReplayList::default();
        accept_seq(&mut list, 7, 65_530).unwrap();
        assert_eq!(accept_seq(&mut list, 7, 3), Ok(1 << 16 | 3));
        // The packet just before the wrap, late: the previous ROC, once.
        assert_eq!(accept_seq(&mut list, 7, 65_534), Ok(65_534));
        assert_eq!(list.check(7, 65_534), Err(SrtpError::Replayed));
        assert_eq!(list.check(7, 65_530), Err(SrtpError::Replayed));
        // A packet from before the first one accepted at ROC 0 is refused.
        let mut fresh = ReplayList::default();
        accept_seq(&mut fresh, 9, 5).unwrap();
        assert_eq!(fresh.check(9, 40_000), Err(SrtpError::Replayed));
    }

    #[test]
    fn a_jump_past_the_window_forgets_what_was_behind() {
        let mut list = ReplayList::default();
        accept_seq(&mut list, 7, 1).unwrap();
        assert_eq!(accept_seq(&mut list, 7, 1000), Ok(1000));
        assert_eq!(accept_seq(&mut list, 7, 999), Ok(999));
        assert_eq!(list.check(7, 1000), Err(SrtpError::Replayed));
    }

    #[test]
    fn streams_are_apart_and_the_oldest_is_forgotten() {
        let mut list = ReplayList::default();
        for ssrc in 1..=4 {
            accept_seq(&mut list, ssrc, 50).unwrap();
        }
        for ssrc in 1..=4 {
            assert_eq!(list.check(ssrc, 50), Err(SrtpError::Replayed));
        }
        // A fifth stream takes the first one's place.
        accept_seq(&mut list, 5, 50).unwrap();
        assert_eq!(list.check(5, 50), Err(SrtpError::Replayed));
        assert_eq!(list.check(1, 50), Ok(50));
        assert_eq!(list.check(2, 50), Err(SrtpError::Replayed));
    }
}
