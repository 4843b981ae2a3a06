//! `vm-BOX`: leaving a message. The greeting (the owner's recording, the
//! operator's file, or "Mailbox 1 0 0 1. The person you are calling is not
//! available. Please leave a message after the tone, then press hash."),
//! a beep, then the recording until `#`, hang-up, silence or the maximum
//! length. `#` during the greeting skips it; `*` lets the owner log in.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::{load_audio, RecordingPurpose, Voicemail};
use crate::apps::ivr::PromptFetch;
use crate::apps::{join_prompts, play, AppAction, CallApp, RecordingRequest};
use crate::config::MailboxConfig;
use crate::media::dtmf::DtmfDigit;
use crate::media::session::SessionEvent;
use crate::media::{RecordingOutcome, RecordingSpec};
use crate::prompts::{phrases, say_digits};
use crate::store::mailbox::NewMessage;

/// Who is calling whom, and how, for the message's envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub caller: String,
    pub called: String,
    pub codec: String,
    pub rate_hz: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Greeting,
    Beep,
    Recording,
    /// The recording is over; waiting for the file to be written.
    Saving,
    /// The last prompts; hang up when they end.
    Closing,
    Done,
}

pub struct DepositApp {
    voicemail: Arc<Voicemail>,
    mailbox: MailboxConfig,
    fetch: PromptFetch,
    envelope: Envelope,
    phase: Phase,
}

impl DepositApp {
    pub fn new(
        voicemail: Arc<Voicemail>,
        mailbox: MailboxConfig,
        fetch: PromptFetch,
        envelope: Envelope,
    ) -> DepositApp {
        DepositApp {
            voicemail,
            mailbox,
            fetch,
            envelope,
            phase: Phase::Idle,
        }
    }

    fn say(&self, names: &[&str]) -> Option<Arc<[i16]>> {
        join_prompts(&self.fetch, names.iter().copied())
    }

    /// Plays the last words, then hangs up.
    fn close(&mut self, names: &[&str]) -> Vec<AppAction> {
        self.phase = Phase::Closing;
        match self.say(names) {
            Some(audio) => vec![play(audio)],
            None => {
                self.phase = Phase::Done;
                vec![AppAction::Hangup]
            }
        }
    }

    /// The owner's recorded greeting, else the configured file, else the
    /// default greeting naming the mailbox.
    fn greeting(&self) -> Option<Arc<[i16]>> {
        let rate = self.envelope.rate_hz;
        let recorded = self
            .voicemail
            .store()
            .greeting_path(&self.mailbox.number)
            .ok()
            .filter(|path| path.is_file());
        let custom = recorded
            .or_else(|| self.mailbox.greeting.clone())
            .and_then(|path| load_audio(&path, rate));
        if custom.is_some() {
            return custom;
        }
        let mut names = vec![phrases::MAILBOX.to_string()];
        names.extend(say_digits(&self.mailbox.number));
        names.push(phrases::NOT_AVAILABLE.into());
        names.push(phrases::LEAVE_MESSAGE_AFTER_TONE.into());
        join_prompts(&self.fetch, names.iter().map(String::as_str))
    }

    fn beep(&mut self) -> Vec<AppAction> {
        self.phase = Phase::Beep;
        match self.say(&[phrases::BEEP]) {
            Some(audio) => vec![play(audio)],
            None => self.record(),
        }
    }

    fn record(&mut self) -> Vec<AppAction> {
        let message = NewMessage {
            caller: self.envelope.caller.clone(),
            called: self.envelope.called.clone(),
            codec: self.envelope.codec.clone(),
            rate_hz: self.envelope.rate_hz,
            start: SystemTime::now(),
        };
        let draft = match self.voicemail.store().begin(&self.mailbox.number, message) {
            Ok(draft) => draft,
            Err(e) => {
                tracing::error!(mailbox = %self.mailbox.number, error = %e, "cannot start a message");
                return self.close(&[phrases::GOODBYE]);
            }
        };
        self.phase = Phase::Recording;
        let silence = self.voicemail.settings().silence_timeout_s;
        let spec = RecordingSpec {
            path: draft.wav_path.clone(),
            max: Duration::from_secs(u64::from(self.mailbox.max_message_s)),
            silence: (silence > 0).then(|| Duration::from_secs(u64::from(silence))),
        };
        vec![AppAction::Record(Box::new(RecordingRequest {
            spec,
            purpose: RecordingPurpose::Message { draft },
        }))]
    }
}

impl CallApp for DepositApp {
    fn name(&self) -> &'static str {
        "deposit"
    }

    fn wants_digits(&self) -> bool {
        true
    }

    fn start(&mut self, _now: Instant) -> Vec<AppAction> {
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        let counts = self.voicemail.counts(&self.mailbox.number);
        if counts.new + counts.old >= self.mailbox.max_messages {
            tracing::info!(mailbox = %self.mailbox.number, "mailbox full");
            return self.close(&[phrases::MAILBOX_FULL, phrases::GOODBYE]);
        }
        self.phase = Phase::Greeting;
        match self.greeting() {
            Some(audio) => vec![play(audio)],
            None => self.beep(),
        }
    }

    fn on_media_event(&mut self, _now: Instant, event: SessionEvent) -> Vec<AppAction> {
        match (self.phase, event) {
            (Phase::Greeting, SessionEvent::PlaybackFinished) => self.beep(),
            (Phase::Beep, SessionEvent::PlaybackFinished) => self.record(),
            (Phase::Recording, SessionEvent::RecordingEnded(_)) => {
                self.phase = Phase::Saving;
                Vec::new()
            }
            (Phase::Closing, SessionEvent::PlaybackFinished) => {
                self.phase = Phase::Done;
                vec![AppAction::Hangup]
            }
            _ => Vec::new(),
        }
    }

    fn on_digit(&mut self, _now: Instant, digit: DtmfDigit) -> Vec<AppAction> {
        match (self.phase, digit.to_char()) {
            (Phase::Greeting, '*') => {
                self.phase = Phase::Done;
                vec![AppAction::Dial(format!(
                    "voicemail-{}",
                    self.mailbox.number
                ))]
            }
            (Phase::Greeting, '#') => self.beep(),
            (Phase::Recording, '#') => {
                self.phase = Phase::Saving;
                vec![AppAction::StopRecording]
            }
            _ => Vec::new(),
        }
    }

    fn on_recorded(
        &mut self,
        _now: Instant,
        _outcome: &RecordingOutcome,
        kept: bool,
    ) -> Vec<AppAction> {
        if !matches!(self.phase, Phase::Recording | Phase::Saving) {
            return Vec::new();
        }
        if kept {
            self.close(&[phrases::MESSAGE_RECORDED, phrases::GOODBYE])
        } else {
            self.close(&[phrases::GOODBYE])
        }
    }
}
