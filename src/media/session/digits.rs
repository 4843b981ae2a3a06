//! A session's key presses: telephone-events (RFC 4733) and inband tones
//! heard from the caller, and digits sent to the caller in whichever form
//! the leg negotiated. Everything is sized at creation: nothing allocates
//! per packet or per tick.

use std::time::{Duration, Instant};

use rtp::header::Header;
use webrtc_util::marshal::Marshal;

use super::render::FrameOrigin;
use super::{MediaParams, MediaSession, SessionEvent};
use crate::media::dtmf::rfc4733::{
    DigitEvent, EventPacket, ReceiverConfig, SenderConfig, TelephoneEventReceiver,
    TelephoneEventSender,
};
use crate::media::dtmf::{DtmfDetector, DtmfDigit, DtmfEventKind, DtmfGenerator, DtmfToneConfig};
use crate::media::stats::bump;

/// A block of silence for the detector (no allocation per tick).
static SILENCE: [i16; 480] = [0; 480];

/// Silence given to the tone detector for time the sender skipped: enough
/// to end a key (more would change nothing).
const SILENCE_FRAMES_FED: u32 = 5;

/// Digits that can wait to be played as tones.
const TONE_QUEUE: usize = 32;

/// How long each sent key is held down.
pub const SENT_KEY_DURATION: Duration = Duration::from_millis(100);

/// Volume of sent telephone-events, −dBm0 (RFC 4733 §2.3.4): the level
/// of the tones the generator plays.
const SENT_VOLUME: u8 = 10;

/// Why a digit was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendDigitError {
    #[error("too many digits are waiting to be sent")]
    QueueFull,
}

/// What became of a bridge peer's telephone-event on a leg without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RelayedTone {
    /// A new key press: its tones are queued.
    Queued,
    /// A later packet of the key press already queued.
    Continuing,
    /// Not a key press, or no room: nothing is played.
    NotADigit,
}

pub(super) struct SessionDigits {
    /// Present when telephone-event is negotiated.
    receiver: Option<TelephoneEventReceiver>,
    sender: Option<TelephoneEventSender>,
    /// Present when listening for inband tones on a leg without
    /// telephone-event.
    detector: Option<DtmfDetector>,
    listening: bool,
    generator: Option<DtmfGenerator>,
    tones: [Option<DtmfDigit>; TONE_QUEUE],
    head: usize,
    len: usize,
    /// Timestamp of the bridge peer's event being played as tones.
    relayed_event: Option<u32>,
}

impl SessionDigits {
    /// `listening`: key presses are wanted, so a leg without
    /// telephone-event listens for tones in its decoded audio.
    pub(super) fn new(params: &MediaParams, ptime: Duration, listening: bool) -> Self {
        let clock = params.codec.clock_rate();
        let audio_rate = params.codec.audio_rate();
        let events = params.telephone_event_pt.is_some();
        SessionDigits {
            receiver: events.then(|| TelephoneEventReceiver::new(ReceiverConfig::new(clock))),
            sender: events.then(|| {
                TelephoneEventSender::new(SenderConfig {
                    ptime,
                    ..SenderConfig::new(clock)
                })
            }),
            detector: (listening && !events)
                .then(|| DtmfDetector::new(audio_rate).ok())
                .flatten(),
            listening,
            generator: DtmfGenerator::new(audio_rate, DtmfToneConfig::default()).ok(),
            tones: [None; TONE_QUEUE],
            head: 0,
            len: 0,
            relayed_event: None,
        }
    }

    pub(super) fn listening(&self) -> bool {
        self.listening
    }

    /// Starts or stops listening. Only the tone detector is made or
    /// dropped: a key press the event receiver is in the middle of stays
    /// one key (rebuilding it would count its next packet as a new press).
    pub(super) fn set_listening(&mut self, on: bool, params: &MediaParams) {
        self.listening = on;
        let events = params.telephone_event_pt.is_some();
        self.detector = (on && !events)
            .then(|| DtmfDetector::new(params.codec.audio_rate()).ok())
            .flatten();
    }

    /// The decoded audio must pass through the tone detector.
    pub(super) fn detects_inband(&self) -> bool {
        self.detector.is_some()
    }

    /// A telephone-event packet from the caller.
    pub(super) fn heard_event(
        &mut self,
        now: Instant,
        timestamp: u32,
        sequence: u16,
        marker: bool,
        payload: &[u8],
    ) {
        if let Some(receiver) = self.receiver.as_mut() {
            receiver.handle_packet(now, timestamp, sequence, marker, payload);
        }
    }

    /// A decoded frame from the caller.
    pub(super) fn heard_audio(&mut self, pcm: &[i16]) {
        if let Some(detector) = self.detector.as_mut() {
            detector.push(pcm);
        }
    }

    /// `samples` of silence from the caller.
    pub(super) fn heard_silence(&mut self, samples: usize) {
        if let Some(detector) = self.detector.as_mut() {
            let mut left = samples;
            while left > 0 {
                let n = left.min(SILENCE.len());
                detector.push(&SILENCE[..n]);
                left -= n;
            }
        }
    }

    /// Runs the end-packet timeout of a telephone-event whose ends were lost.
    pub(super) fn tick(&mut self, now: Instant) {
        if let Some(receiver) = self.receiver.as_mut() {
            receiver.handle_timeout(now);
        }
    }

    /// The next key press heard, and whether it came as a telephone-event.
    pub(super) fn poll_digit(&mut self) -> Option<(DtmfDigit, bool)> {
        if let Some(receiver) = self.receiver.as_mut() {
            while let Some(event) = receiver.poll_event() {
                if let DigitEvent::Started { digit, .. } = event {
                    return Some((digit, true));
                }
            }
        }
        let detector = self.detector.as_mut()?;
        while let Some(event) = detector.poll_event() {
            if event.kind == DtmfEventKind::Begin {
                return Some((event.digit, false));
            }
        }
        None
    }

    /// Queues a key press for the caller: a telephone-event where one is
    /// negotiated, else tones.
    pub(super) fn send(&mut self, digit: DtmfDigit) -> Result<(), SendDigitError> {
        if let Some(sender) = self.sender.as_mut() {
            return sender
                .start(digit, SENT_KEY_DURATION, SENT_VOLUME)
                .map_err(|_| SendDigitError::QueueFull);
        }
        self.queue_tone(digit)
    }

    fn queue_tone(&mut self, digit: DtmfDigit) -> Result<(), SendDigitError> {
        if self.len == TONE_QUEUE {
            return Err(SendDigitError::QueueFull);
        }
        self.tones[(self.head + self.len) % TONE_QUEUE] = Some(digit);
        self.len += 1;
        Ok(())
    }

    /// A telephone-event the bridge peer received, for a leg that has none
    /// negotiated: the first packet of each event queues the digit's tones.
    pub(super) fn relay_as_tone(&mut self, timestamp: u32, payload: &[u8]) -> RelayedTone {
        let Some(digit) = payload
            .first()
            .and_then(|&code| DtmfDigit::from_event_code(code))
        else {
            return RelayedTone::NotADigit;
        };
        if self.relayed_event == Some(timestamp) {
            return RelayedTone::Continuing;
        }
        self.relayed_event = Some(timestamp);
        match self.queue_tone(digit) {
            Ok(()) => RelayedTone::Queued,
            Err(_) => RelayedTone::NotADigit,
        }
    }

    /// The key of a telephone-event the bridge peer received, once per
    /// event (its first packet); `None` for later packets and non-keys.
    pub(super) fn new_relayed_key(&mut self, timestamp: u32, payload: &[u8]) -> Option<DtmfDigit> {
        let digit = DtmfDigit::from_event_code(*payload.first()?)?;
        if self.relayed_event == Some(timestamp) {
            return None;
        }
        self.relayed_event = Some(timestamp);
        Some(digit)
    }

    /// The telephone-event packet for this tick, if a key is being sent.
    pub(super) fn poll_event_packet(&mut self, stream_timestamp: u32) -> Option<EventPacket> {
        let sender = self.sender.as_mut()?;
        if sender.is_idle() {
            return None;
        }
        sender.poll_packet(stream_timestamp)
    }

    /// Tones are playing (or waiting): they replace the frame's audio.
    pub(super) fn playing_tones(&self) -> bool {
        self.len > 0 || self.generator.as_ref().is_some_and(|g| !g.is_idle())
    }

    /// Writes this tick's tone frame into `pcm`; false when no tone plays.
    pub(super) fn fill_tones(&mut self, pcm: &mut [i16]) -> bool {
        let Some(generator) = self.generator.as_mut() else {
            return false;
        };
        if generator.is_idle() && self.len > 0 {
            if let Some(digit) = self.tones[self.head].take() {
                generator.start(digit);
            }
            self.head = (self.head + 1) % TONE_QUEUE;
            self.len -= 1;
        }
        if generator.is_idle() {
            return false;
        }
        generator.fill(pcm);
        true
    }
}

/// The session's side of key presses: feeding the detector, collecting
/// what was heard, and sending keys.
impl MediaSession {
    /// Gives the tone detector the sender's timeline: each received frame
    /// at its RTP time, with silence for time the sender skipped (DTX, a
    /// pause between keys); a lost frame's concealment in its place; but
    /// nothing for a stall the playout buffer waited out, so a key the
    /// sender was in the middle of stays one key.
    pub(super) fn feed_detector(&mut self) {
        let step = self.ts_per_frame;
        match self.origin {
            FrameOrigin::Received { timestamp } => {
                if let Some(expected) = self.detector_next {
                    let skipped = timestamp.wrapping_sub(expected);
                    if skipped < 0x8000_0000 {
                        for _ in 0..(skipped / step.max(1)).min(SILENCE_FRAMES_FED) {
                            self.digits.heard_silence(self.frame_samples);
                        }
                    }
                }
                self.digits.heard_audio(&self.pcm);
                self.detector_next = Some(timestamp.wrapping_add(step));
            }
            FrameOrigin::Lost if !self.playout.is_rebuffering() => {
                self.digits.heard_audio(&self.pcm);
                if let Some(next) = self.detector_next.as_mut() {
                    *next = next.wrapping_add(step);
                }
            }
            FrameOrigin::Lost | FrameOrigin::Inserted | FrameOrigin::Nothing => {}
        }
    }

    /// Writes one telephone-event packet of our own key press.
    pub(super) fn send_event_packet(&mut self, event: EventPacket) {
        let Some(payload_type) = self.params.telephone_event_pt else {
            return;
        };
        if self.destination().is_none() || !self.params.send {
            return;
        }
        let header = Header {
            version: 2,
            marker: event.marker,
            payload_type,
            sequence_number: self.out.sequence,
            timestamp: event.timestamp,
            ssrc: self.out.ssrc,
            ..Default::default()
        };
        let Ok(header_len) = header.marshal_to(&mut self.packet) else {
            return;
        };
        let end = header_len + event.payload.len();
        self.packet[header_len..end].copy_from_slice(&event.payload);
        self.packet_len = end;
        self.out.sequence = self.out.sequence.wrapping_add(1);
        // The audio after the key press starts a new talkspurt.
        self.out.marker = true;
    }

    /// The bridge peer's key presses are reported as
    /// [`SessionEvent::PeerDigit`] (to go out as SIP INFO) instead of being
    /// played as tones on this leg, which has no telephone-event.
    pub fn keys_by_signalling(&mut self) {
        self.keys_by_signalling = true;
    }

    /// Start listening for key presses (inband tones too, on a leg without
    /// telephone-event), or stop.
    pub fn listen_for_digits(&mut self, on: bool) {
        if on != self.digits.listening() {
            self.digits.set_listening(on, &self.params);
        }
    }

    /// Queues key presses to send to the caller; characters that are not
    /// keys are skipped. Returns how many were queued.
    pub fn send_digits(&mut self, keys: &str) -> Result<usize, SendDigitError> {
        let mut queued = 0;
        for digit in keys.chars().filter_map(DtmfDigit::from_char) {
            self.digits.send(digit)?;
            bump(&self.stats.digits_sent);
            queued += 1;
        }
        Ok(queued)
    }

    /// Moves key presses heard into the event queue.
    pub(super) fn collect_digits(&mut self) {
        while let Some((digit, as_event)) = self.digits.poll_digit() {
            if as_event {
                bump(&self.stats.digits_rfc4733);
            } else {
                bump(&self.stats.digits_inband);
            }
            self.push_event(SessionEvent::Digit(digit));
        }
    }
}
