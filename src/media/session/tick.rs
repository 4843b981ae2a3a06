//! The ptime clock: on each tick one frame leaves the playout buffer for
//! whoever listens (the echo, the bridge peer, the room, the recorder, the
//! key detector) and one frame of the session's source goes out.

use std::time::Instant;

use rtp::header::Header;
use webrtc_util::marshal::Marshal;

use super::conferenced::RoomFrame;
use super::{MediaSession, SessionEvent, Source, RTP_HEADER_LEN};
use crate::media::stats::bump;

/// Ticks later than this are skipped rather than sent in a burst: at most
/// one packet goes out early to catch up.
const MAX_TICK_LAG: u32 = 1;

impl MediaSession {
    /// When `handle_timeout` next has work.
    pub fn poll_timeout(&self) -> Instant {
        self.next_tick.min(self.rtcp.poll_timeout())
    }

    /// Runs every ptime tick that is due: one frame out of the playout buffer,
    /// one frame into the outgoing stream; and the RTCP report timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.rtcp_timeout(now);
        if now < self.next_tick {
            return;
        }
        if now > self.next_tick + self.ptime * MAX_TICK_LAG {
            // The worker stalled: skip the missed ticks instead of bursting.
            let missed = (now - self.next_tick).as_micros() / self.ptime.as_micros().max(1);
            self.out.timestamp = self
                .out
                .timestamp
                .wrapping_add(self.ts_per_frame.wrapping_mul(missed as u32));
            self.next_tick += self.ptime * missed as u32;
            self.out.marker = true;
            bump(&self.metrics.worker_late_ticks);
        }
        self.next_tick += self.ptime;
        self.packet_len = 0;
        self.check_media_timeout(now);
        // Only the echo and a transcoding bridge play what they hear; other
        // sources just keep the playout buffer moving (loss still counted)
        // without decoding.
        let decode = matches!(self.source, Source::Echo)
            || self.decodes_for_peer()
            || self.decodes_for_room()
            || self.records()
            || self.digits.detects_inband();
        let heard = if decode {
            self.receive_frame(now)
        } else {
            self.skip_frame(now)
        };
        if decode && heard {
            bump(&self.stats.decoded_frames);
        }
        if decode && self.digits.detects_inband() {
            self.feed_detector();
        }
        self.digits.tick(now);
        self.collect_digits();
        self.feed_peer(decode && heard);
        self.feed_room(decode && heard);
        self.record_frame(decode && heard);
        // The shared encode of the room's mix, when that is what comes.
        let mut encoded = None;
        let have_frame = match &mut self.source {
            Source::Silence => false,
            // Overwrites `pcm`, after `feed_peer` has used it.
            Source::Bridge => self.pull_peer_audio(now),
            Source::Conference => match self.pull_room_audio() {
                RoomFrame::Nothing => false,
                RoomFrame::Pcm => true,
                RoomFrame::Encoded(len) => {
                    encoded = Some(len);
                    true
                }
            },
            Source::Echo => heard,
            Source::Prompt { samples, position } => {
                let end = (*position + self.frame_samples).min(samples.len());
                let n = end - *position;
                self.pcm[..n].copy_from_slice(&samples[*position..end]);
                self.pcm[n..].fill(0);
                *position = end;
                if end == samples.len() {
                    self.source = Source::Silence;
                    self.push_event(SessionEvent::PlaybackFinished);
                }
                n > 0
            }
            Source::Loop { samples, position } => {
                let mut filled = 0;
                while filled < self.frame_samples && !samples.is_empty() {
                    if *position >= samples.len() {
                        *position = 0;
                    }
                    let n = (samples.len() - *position).min(self.frame_samples - filled);
                    self.pcm[filled..filled + n]
                        .copy_from_slice(&samples[*position..*position + n]);
                    filled += n;
                    *position += n;
                }
                filled > 0
            }
        };
        if let Some(packet) = self.digits.poll_event_packet(self.out.timestamp) {
            // RFC 4733 §2.5.1.1: a key press replaces the audio it covers.
            self.send_event_packet(packet);
        } else if let Some(len) = encoded.filter(|_| !self.digits.playing_tones()) {
            self.send_payload(len);
        } else if encoded.is_some() {
            // Key tones start over a shared frame: they go out alone.
            self.pcm.fill(0);
            self.digits.fill_tones(&mut self.pcm);
            self.send_frame();
        } else if self.digits.fill_tones(&mut self.pcm) || have_frame {
            self.send_frame();
        } else {
            self.out.marker = true;
        }
        self.out.timestamp = self.out.timestamp.wrapping_add(self.ts_per_frame);
    }

    fn send_frame(&mut self) {
        if self.destination().is_none() || !self.params.send {
            return;
        }
        let Some(header_len) = self.write_header() else {
            return;
        };
        let Ok(payload_len) = self
            .encoder
            .encode(&self.pcm, &mut self.packet[header_len..])
        else {
            return;
        };
        self.packet_len = header_len + payload_len;
        self.out.sequence = self.out.sequence.wrapping_add(1);
        self.out.marker = false;
    }

    /// Sends the `len` payload bytes already after the header's place in
    /// the packet buffer (the room's shared encode), under this leg's own
    /// sequence number, timestamp and SSRC.
    fn send_payload(&mut self, len: usize) {
        if self.destination().is_none() || !self.params.send {
            return;
        }
        if self.write_header() != Some(RTP_HEADER_LEN) {
            return;
        }
        self.packet_len = RTP_HEADER_LEN + len;
        self.out.sequence = self.out.sequence.wrapping_add(1);
        self.out.marker = false;
    }

    /// Writes the next audio packet's RTP header; its length.
    fn write_header(&mut self) -> Option<usize> {
        let header = Header {
            version: 2,
            marker: self.out.marker,
            payload_type: self.params.payload_type,
            sequence_number: self.out.sequence,
            timestamp: self.out.timestamp,
            ssrc: self.out.ssrc,
            ..Default::default()
        };
        header.marshal_to(&mut self.packet).ok()
    }
}
