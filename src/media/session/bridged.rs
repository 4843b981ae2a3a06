//! A session's side of a bridged call (design in `crate::media::bridge`):
//! what it hands to its peer, and what it sends on its peer's behalf.

use std::time::Instant;

use super::digits::RelayedTone;
use super::{MediaParams, MediaSession, SessionId, Source, MAX_DATAGRAM};
use crate::media::bridge::events::{parse_block, set_duration};
use crate::media::bridge::fifo::FifoPop;
use crate::media::bridge::rewrite::{OutgoingPosition, MAX_DROPOUT};
use crate::media::bridge::{
    BridgeError, BridgeLink, BridgeMode, Forward, ForwardKind, LinkShape, EVENT_HOLD,
};
use crate::media::rtp_header::RtpHeader;
use crate::media::stats::{add, bump};

const RTP_HEADER: usize = 12;

/// True when `a` is after `b` in 16-bit serial arithmetic (RFC 1982).
fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

impl MediaSession {
    /// This leg's negotiated parameters.
    pub fn params(&self) -> &MediaParams {
        &self.params
    }

    /// The session this leg is bridged to.
    pub fn bridge_peer(&self) -> Option<SessionId> {
        self.bridge.as_ref().map(|link| link.peer)
    }

    /// How the bridge moves audio, when bridged.
    pub fn bridge_mode(&self) -> Option<BridgeMode> {
        self.bridge.as_ref().map(|link| link.mode)
    }

    /// Bridges this leg to `peer` (whose parameters are `peer_params`),
    /// replacing any earlier link; the leg now sends what the peer receives
    /// (unless it is re-linked to the same peer while looping music on hold).
    /// Also the way to re-decide the path after either leg's `update`: a
    /// link to the same peer that neither codec nor ptime change affects is
    /// kept as it is (no glitch on a re-INVITE that only holds or moves).
    pub fn bridge_to(
        &mut self,
        peer: SessionId,
        peer_params: &MediaParams,
    ) -> Result<(), BridgeError> {
        let shape = LinkShape::new(&self.params, peer_params);
        if self
            .bridge
            .as_ref()
            .is_some_and(|link| link.peer == peer && link.shape == shape)
        {
            return Ok(());
        }
        let link = BridgeLink::new(peer, &self.params, peer_params)?;
        self.keep_stream_continuous();
        // A leg is in a bridge or in a room, never both.
        self.conference = None;
        let relink = self.bridge.as_ref().is_some_and(|l| l.peer == peer);
        self.bridge = Some(Box::new(link));
        // A held leg keeps its music on hold through a codec change; the
        // control plane sets the bridge again on resume.
        if !(relink && matches!(self.source, Source::Loop { .. })) {
            self.source = Source::Bridge;
        }
        self.out.marker = true;
        Ok(())
    }

    /// Ends the bridge on this side; a leg that was sending its peer's audio
    /// falls silent.
    pub fn unbridge(&mut self) {
        self.keep_stream_continuous();
        self.bridge = None;
        if matches!(self.source, Source::Bridge) {
            self.source = Source::Silence;
        }
        self.out.marker = true;
    }

    /// The outgoing stream switches between forwarded packets and frames of
    /// its own: the frames must not step back behind what was forwarded
    /// (RFC 3550 §5.1), and forwarding re-bases afterwards.
    pub(super) fn keep_stream_continuous(&mut self) {
        let Some(link) = self.bridge.as_mut() else {
            return;
        };
        if let Some((_, timestamp)) = link.rewriter.last_out() {
            let ahead = timestamp.wrapping_sub(self.out.timestamp);
            if ahead < 0x8000_0000 {
                self.out.timestamp = timestamp.wrapping_add(self.ts_per_frame);
            }
        }
        link.rewriter.forget_base();
        link.events.reset();
        link.event_until = None;
        link.fifo.clear();
    }

    /// Called by `handle_rtp` for a packet that passed the source and
    /// payload type checks: in a bridge, queues it for the peer and returns
    /// true (it is not played out here).
    pub(super) fn divert(
        &mut self,
        datagram: &[u8],
        header: &RtpHeader,
        payload: &[u8],
        kind: ForwardKind,
    ) -> bool {
        let Some(link) = self.bridge.as_mut() else {
            return false;
        };
        if kind == ForwardKind::Audio {
            if link.mode != BridgeMode::PassThrough {
                return false;
            }
            // Loss as seen on the way through (nothing is played out here).
            match link.rx_newest {
                Some((ssrc, newest)) if ssrc == header.ssrc => {
                    let ahead = header.sequence.wrapping_sub(newest);
                    if (1..=MAX_DROPOUT).contains(&ahead) {
                        add(&self.stats.lost, u64::from(ahead - 1));
                        link.rx_newest = Some((ssrc, header.sequence));
                    }
                }
                _ => link.rx_newest = Some((header.ssrc, header.sequence)),
            }
        }
        // The payload is a subslice of the datagram (rtp_header::parse).
        let payload_start = (payload.as_ptr() as usize).saturating_sub(datagram.as_ptr() as usize);
        link.forward = Some(Forward {
            kind,
            header: *header,
            payload_start,
            payload_end: payload_start + payload.len(),
            clock_rate: self.params.codec.clock_rate(),
        });
        true
    }

    /// What the last received datagram left for the peer, once.
    pub fn take_forward(&mut self) -> Option<Forward> {
        self.bridge.as_mut().and_then(|link| link.forward.take())
    }

    /// Sends, on this leg, a packet the peer received (`datagram` is the
    /// peer's datagram, `forward` what the peer made of it). The result is
    /// collected with [`MediaSession::poll_transmit`].
    pub fn relay(&mut self, now: Instant, forward: &Forward, datagram: &[u8]) {
        self.packet_len = 0;
        let sending = matches!(self.source, Source::Bridge)
            && self.params.send
            && self.destination().is_some();
        let Some(payload) = datagram.get(forward.payload_start..forward.payload_end) else {
            return;
        };
        let Some(link) = self.bridge.as_mut() else {
            return;
        };
        if !sending || RTP_HEADER + payload.len() > MAX_DATAGRAM {
            return;
        }
        let position = OutgoingPosition {
            next_sequence: self.out.sequence,
            timestamp: self.out.timestamp,
            frame_ticks: self.ts_per_frame,
            clock_rate: self.params.codec.clock_rate(),
        };
        let (payload_type, sequence, timestamp, marker, duration) = match forward.kind {
            ForwardKind::Audio => {
                if link.mode != BridgeMode::PassThrough || self.digits.playing_tones() {
                    return;
                }
                let r = link.rewriter.rewrite(&forward.header, position);
                bump(&self.stats.forwarded);
                (
                    self.params.payload_type,
                    r.sequence,
                    r.timestamp,
                    r.marker,
                    None,
                )
            }
            ForwardKind::Event if self.params.telephone_event_pt.is_none() => {
                if self.keys_by_signalling {
                    // The control plane sends it (SIP INFO).
                    if let Some(digit) = self
                        .digits
                        .new_relayed_key(forward.header.timestamp, payload)
                    {
                        bump(&self.stats.events_forwarded);
                        self.push_event(super::SessionEvent::PeerDigit(digit));
                    }
                    return;
                }
                // No telephone-event here: the key press goes out as tones.
                match self.digits.relay_as_tone(forward.header.timestamp, payload) {
                    RelayedTone::Queued => {
                        bump(&self.stats.events_as_tones);
                        if link.mode == BridgeMode::PassThrough {
                            // Our own frames now: forwarding re-bases after.
                            self.keep_stream_continuous();
                        }
                    }
                    RelayedTone::Continuing => {}
                    RelayedTone::NotADigit => bump(&self.stats.events_dropped),
                }
                return;
            }
            ForwardKind::Event => {
                let (Some(pt), Some(block)) =
                    (self.params.telephone_event_pt, parse_block(payload))
                else {
                    bump(&self.stats.events_dropped);
                    return;
                };
                bump(&self.stats.events_forwarded);
                match link.mode {
                    // Same clock, same stream as the audio: same rewrite.
                    BridgeMode::PassThrough => {
                        let r = link.rewriter.rewrite(&forward.header, position);
                        (pt, r.sequence, r.timestamp, r.marker, None)
                    }
                    BridgeMode::Transcode => {
                        let e = link.events.retime(
                            forward.header.ssrc,
                            forward.header.timestamp,
                            block,
                            forward.clock_rate,
                            position.clock_rate,
                            self.out.timestamp,
                        );
                        link.event_until = (!e.end).then(|| now + EVENT_HOLD);
                        (
                            pt,
                            self.out.sequence,
                            e.timestamp,
                            e.marker,
                            Some(e.duration),
                        )
                    }
                }
            }
        };
        let packet = &mut self.packet;
        packet[0] = 0x80; // RFC 3550 §5.1: V=2, no padding, extension or CSRC
        packet[1] = (u8::from(marker) << 7) | (payload_type & 0x7f);
        packet[2..4].copy_from_slice(&sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.out.ssrc.to_be_bytes());
        let end = RTP_HEADER + payload.len();
        packet[RTP_HEADER..end].copy_from_slice(payload);
        if let Some(duration) = duration {
            set_duration(&mut packet[RTP_HEADER..end], duration);
        }
        self.packet_len = end;
        if !seq_after(self.out.sequence, sequence) {
            self.out.sequence = sequence.wrapping_add(1);
        }
    }

    /// True when this tick must decode for the peer.
    pub(super) fn decodes_for_peer(&self) -> bool {
        self.bridge
            .as_ref()
            .is_some_and(|link| link.mode == BridgeMode::Transcode)
    }

    /// After the tick's decode: resamples the frame for the peer. A tick
    /// with nothing heard resets the resampler, so the next talkspurt does
    /// not start with the filter tail of the last one.
    pub(super) fn feed_peer(&mut self, heard: bool) {
        let Some(link) = self.bridge.as_mut() else {
            return;
        };
        link.to_peer_ready = false;
        let Some(resampler) = link.to_peer.as_mut() else {
            return;
        };
        if !heard {
            if link.to_peer_streaming {
                resampler.reset();
                link.to_peer_streaming = false;
            }
            return;
        }
        link.to_peer_streaming = true;
        link.to_peer_ready = resampler
            .process(&self.pcm, &mut link.to_peer_frame)
            .is_ok();
    }

    /// The frame the last tick produced for the peer, once.
    pub fn take_peer_audio(&mut self) -> Option<&[i16]> {
        let link = self.bridge.as_mut()?;
        if !std::mem::take(&mut link.to_peer_ready) {
            return None;
        }
        Some(&link.to_peer_frame)
    }

    /// Queues the peer's audio (at this leg's rate) for sending.
    pub fn push_peer_audio(&mut self, samples: &[i16]) {
        if !matches!(self.source, Source::Bridge) {
            return;
        }
        let Some(link) = self.bridge.as_mut() else {
            return;
        };
        if link.mode == BridgeMode::Transcode && link.fifo.push(samples) > 0 {
            bump(&self.stats.bridge_overflows);
        }
    }

    /// Fills `pcm` with the peer's next frame; false when there is nothing
    /// to send this tick.
    pub(super) fn pull_peer_audio(&mut self, now: Instant) -> bool {
        let Some(link) = self.bridge.as_mut() else {
            return false;
        };
        if link.mode != BridgeMode::Transcode {
            return false;
        }
        match link.fifo.pop(&mut self.pcm) {
            // Dequeued either way, so the delay does not grow during events.
            FifoPop::Frame => !link.event_active(now),
            FifoPop::Priming => false,
            FifoPop::Underrun => {
                bump(&self.stats.bridge_underruns);
                false
            }
        }
    }
}
