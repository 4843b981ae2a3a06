//! Music on hold: while one party of a bridged call holds the other
//! (RFC 3264 §8.4: its offer makes its media sendonly or inactive, or the
//! old `c=0.0.0.0` of RFC 2543), the held party hears the configured
//! prompt over and over instead of the holder; on resume it hears the
//! holder again.
//!
//! The media is anchored here, so the music comes from us: the held party
//! is offered `sendonly` from our side whatever the holder wrote (an
//! `inactive` mirrored to it would stop our RTP, and the music with it).

use crate::media::session::Source;
use crate::media::SessionId;
use crate::sip::sdp::Direction;

use super::super::SipCore;

impl SipCore {
    /// Music on hold is configured.
    fn moh_enabled(&self) -> bool {
        self.settings.moh_prompt.is_some()
    }

    /// The direction to offer the held party: `mirrored` is what the
    /// holder's own direction maps to (RFC 3264 §8.4). With music on hold,
    /// a held party keeps receiving from us.
    pub(in crate::sip::core) fn held_party_direction(
        &self,
        mirrored: Direction,
        holding: bool,
    ) -> Direction {
        if holding && self.moh_enabled() {
            Direction::SendOnly
        } else {
            mirrored
        }
    }

    /// The peer of `held` started (`holding`) or stopped holding it: it
    /// hears music on hold, or the bridge again.
    pub(in crate::sip::core) fn peer_hold_changed(&mut self, held: SessionId, holding: bool) {
        if !self.moh_enabled() {
            return;
        }
        let Some(leg) = self.legs.get_mut(&held) else {
            return;
        };
        if leg.held_by_peer == holding {
            return;
        }
        leg.held_by_peer = holding;
        if holding {
            self.play_moh(held);
        } else {
            self.set_source(held, Source::Bridge);
        }
    }

    /// The audio rate of a held leg changed (a codec change while held):
    /// the music restarts at the new rate.
    pub(in crate::sip::core) fn moh_rate_changed(&mut self, leg_id: SessionId) {
        if self.legs.get(&leg_id).is_some_and(|l| l.held_by_peer) {
            self.play_moh(leg_id);
        }
    }

    /// Starts the music on `held` at its audio rate; silence (logged once
    /// per call) when the prompt is missing.
    fn play_moh(&mut self, held: SessionId) {
        let Some(name) = self.settings.moh_prompt.as_deref() else {
            return;
        };
        let Some(leg) = self.legs.get(&held) else {
            return;
        };
        let peer = leg.bridge_peer;
        let rate = leg.params.codec.audio_rate();
        let source = match self.prompts.get(name, rate) {
            Some(samples) if !samples.is_empty() => Source::Loop {
                samples,
                position: 0,
            },
            _ => {
                let logged = self.legs.get(&held).is_some_and(|l| l.moh_missing_logged)
                    || peer
                        .and_then(|p| self.legs.get(&p))
                        .is_some_and(|l| l.moh_missing_logged);
                if !logged {
                    tracing::warn!(
                        session = held,
                        prompt = name,
                        rate,
                        "music-on-hold prompt not found; the held party hears silence"
                    );
                }
                for id in [Some(held), peer].into_iter().flatten() {
                    if let Some(leg) = self.legs.get_mut(&id) {
                        leg.moh_missing_logged = true;
                    }
                }
                Source::Silence
            }
        };
        self.set_source(held, source);
    }
}
