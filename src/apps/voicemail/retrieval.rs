//! `voicemail`: the owner listens to the messages. The mailbox comes from
//! the route, or from the caller's user, or is asked for; the PIN is always
//! asked (ended by `#`), with a lockout shared by every call. Then "You have
//! N new messages and M old messages", and the main menu: `1` new messages,
//! `2` old ones, `0` mailbox options (`1` record the greeting, `2` change
//! the PIN), `#` leaves. Every prompt gives way to
//! the first key pressed (barge-in). Browsing the messages is in
//! `listening.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::listening::Browse;
use super::{PinCheck, RecordingPurpose, Voicemail};
use crate::apps::ivr::PromptFetch;
use crate::apps::{join_prompts, play, AppAction, CallApp, RecordingRequest};
use crate::config::{MailboxConfig, MAX_PIN_DIGITS};
use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};
use crate::media::{RecordingOutcome, RecordingSpec};
use crate::prompts::{phrases, say_count};
use crate::store::mailbox::Folder;

/// How long the caller has to start and to finish an entry or choice.
const ENTRY_TIMEOUT: Duration = Duration::from_secs(10);
/// Unanswered or wrong mailbox numbers, and unanswered menus, before the
/// call is ended.
const MAX_TRIES: u32 = 3;
/// Longest greeting the owner may record.
const MAX_GREETING: Duration = Duration::from_secs(120);

/// What keys are being collected for (ended by `#`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    Mailbox,
    Pin,
    /// The owner's new PIN (mailbox options, `2`).
    NewPin,
}

#[derive(Debug)]
pub(super) enum Phase {
    Idle,
    /// A prompt asking for an entry plays; keys are collected meanwhile.
    Entering(Entry),
    /// The main menu (after its prompt): waiting for one key.
    MainMenu,
    /// The options menu: `1` record the greeting, `2` change the PIN, `#`
    /// back.
    Options,
    /// "Record your greeting after the tone": then the beep, then recording.
    GreetingPrompt,
    GreetingBeep,
    RecordingGreeting,
    /// Browsing a folder's messages.
    Listening(Browse),
    /// A notice plays; then `then`.
    Notice(Then),
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    Ask(Entry),
    MainMenu,
    Options,
    Hangup,
}

pub struct RetrievalApp {
    pub(super) voicemail: Arc<Voicemail>,
    pub(super) fetch: PromptFetch,
    pub(super) rate_hz: u32,
    pub(super) mailbox: Option<MailboxConfig>,
    pub(super) phase: Phase,
    pub(super) digits: String,
    pub(super) deadline: Option<Instant>,
    /// Failed mailbox entries, or unanswered menus, in a row.
    pub(super) tries: u32,
}

impl RetrievalApp {
    /// `mailbox`: the one to open (from the route or the caller's user);
    /// `None` asks for it.
    pub fn new(
        voicemail: Arc<Voicemail>,
        mailbox: Option<MailboxConfig>,
        fetch: PromptFetch,
        rate_hz: u32,
    ) -> RetrievalApp {
        RetrievalApp {
            voicemail,
            fetch,
            rate_hz,
            mailbox,
            phase: Phase::Idle,
            digits: String::new(),
            deadline: None,
            tries: 0,
        }
    }

    pub(super) fn say<'n>(&self, names: impl Iterator<Item = &'n str>) -> Option<Arc<[i16]>> {
        join_prompts(&self.fetch, names)
    }

    /// Plays prompts (or nothing, if none could be fetched) in `phase`.
    pub(super) fn prompt(&mut self, names: &[&str], phase: Phase) -> Vec<AppAction> {
        self.phase = phase;
        match self.say(names.iter().copied()) {
            Some(audio) => vec![play(audio)],
            None => vec![AppAction::SetSource(Source::Silence)],
        }
    }

    /// Plays a notice, then goes on with `then`.
    pub(super) fn notice(&mut self, now: Instant, names: &[&str], then: Then) -> Vec<AppAction> {
        self.deadline = None;
        match self.say(names.iter().copied()) {
            Some(audio) => {
                self.phase = Phase::Notice(then);
                vec![play(audio)]
            }
            None => self.follow(now, then),
        }
    }

    fn ask(&mut self, now: Instant, entry: Entry) -> Vec<AppAction> {
        self.digits.clear();
        self.deadline = Some(now + ENTRY_TIMEOUT);
        let name = match entry {
            Entry::Mailbox => phrases::ENTER_MAILBOX,
            Entry::Pin => phrases::ENTER_PIN,
            Entry::NewPin => phrases::ENTER_NEW_PIN,
        };
        self.prompt(&[name], Phase::Entering(entry))
    }

    pub(super) fn follow(&mut self, now: Instant, then: Then) -> Vec<AppAction> {
        match then {
            Then::Ask(entry) => self.ask(now, entry),
            Then::MainMenu => self.main_menu(now),
            Then::Options => self.options(now),
            Then::Hangup => {
                self.phase = Phase::Done;
                vec![AppAction::Hangup]
            }
        }
    }

    fn begin(&mut self, now: Instant) -> Vec<AppAction> {
        match &self.mailbox {
            Some(mailbox) if self.voicemail.is_locked(now, &mailbox.number) => self.notice(
                now,
                &[phrases::MAILBOX_LOCKED, phrases::GOODBYE],
                Then::Hangup,
            ),
            Some(_) => self.ask(now, Entry::Pin),
            None => self.ask(now, Entry::Mailbox),
        }
    }

    fn entered(&mut self, now: Instant, entry: Entry) -> Vec<AppAction> {
        let digits = std::mem::take(&mut self.digits);
        match entry {
            Entry::Mailbox => match self.voicemail.mailbox(&digits).cloned() {
                Some(mailbox) => {
                    self.tries = 0;
                    self.mailbox = Some(mailbox);
                    self.begin(now)
                }
                None => {
                    self.tries += 1;
                    tracing::info!(mailbox = %digits, "no such mailbox");
                    if self.tries >= MAX_TRIES {
                        self.notice(
                            now,
                            &[phrases::NO_SUCH_MAILBOX, phrases::GOODBYE],
                            Then::Hangup,
                        )
                    } else {
                        self.notice(now, &[phrases::NO_SUCH_MAILBOX], Then::Ask(Entry::Mailbox))
                    }
                }
            },
            Entry::NewPin => {
                let changed = self
                    .mailbox_number()
                    .is_some_and(|number| self.voicemail.change_pin(&number, &digits));
                if changed {
                    self.notice(now, &[phrases::PIN_CHANGED], Then::Options)
                } else {
                    self.notice(now, &[phrases::INVALID], Then::Options)
                }
            }
            Entry::Pin => {
                let Some(number) = self.mailbox.as_ref().map(|m| m.number.clone()) else {
                    return self.ask(now, Entry::Mailbox);
                };
                match self.voicemail.check_pin(now, &number, &digits) {
                    PinCheck::Accepted => {
                        tracing::info!(mailbox = %number, "mailbox opened");
                        self.summary(now)
                    }
                    PinCheck::Wrong { .. } => {
                        self.notice(now, &[phrases::PIN_INVALID], Then::Ask(Entry::Pin))
                    }
                    PinCheck::LockedOut | PinCheck::Locked => self.notice(
                        now,
                        &[phrases::MAILBOX_LOCKED, phrases::GOODBYE],
                        Then::Hangup,
                    ),
                }
            }
        }
    }

    /// "You have N new messages and M old messages", then the main menu.
    fn summary(&mut self, now: Instant) -> Vec<AppAction> {
        self.tries = 0;
        self.deadline = Some(now + ENTRY_TIMEOUT);
        let counts = self.mailbox_number().map(|m| self.voicemail.counts(&m));
        let counts = counts.unwrap_or_default();
        let mut names: Vec<String> = Vec::new();
        if counts.new + counts.old == 0 {
            names.push(phrases::NO_MESSAGES.into());
        } else {
            names.push(phrases::YOU_HAVE.into());
            names.extend(say_count(
                counts.new.into(),
                phrases::NEW_MESSAGE,
                phrases::NEW_MESSAGES,
            ));
            names.push(phrases::AND.into());
            names.extend(say_count(
                counts.old.into(),
                phrases::OLD_MESSAGE,
                phrases::OLD_MESSAGES,
            ));
        }
        names.push(phrases::PRESS_1_NEW_PRESS_2_OLD.into());
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.prompt(&names, Phase::MainMenu)
    }

    pub(super) fn main_menu(&mut self, now: Instant) -> Vec<AppAction> {
        self.deadline = Some(now + ENTRY_TIMEOUT);
        self.prompt(&[phrases::PRESS_1_NEW_PRESS_2_OLD], Phase::MainMenu)
    }

    fn options(&mut self, now: Instant) -> Vec<AppAction> {
        self.deadline = Some(now + ENTRY_TIMEOUT);
        self.prompt(&[phrases::MAILBOX_OPTIONS], Phase::Options)
    }

    pub(super) fn mailbox_number(&self) -> Option<String> {
        self.mailbox.as_ref().map(|m| m.number.clone())
    }

    fn record_greeting(&mut self, now: Instant) -> Vec<AppAction> {
        let Some(number) = self.mailbox_number() else {
            return Vec::new();
        };
        let target = match self.voicemail.store().greeting_path(&number) {
            Ok(path) => path,
            Err(e) => {
                tracing::warn!(mailbox = %number, error = %e, "no greeting path");
                return self.notice(now, &[phrases::TRY_AGAIN], Then::Options);
            }
        };
        let staging = target.with_file_name("greeting-new.wav");
        if let Some(folder) = target.parent() {
            if let Err(e) = std::fs::create_dir_all(folder) {
                tracing::warn!(mailbox = %number, error = %e, "cannot create the mailbox folder");
            }
        }
        // A greeting abandoned by an earlier call (hung up mid-recording).
        let _ = std::fs::remove_file(&staging);
        self.phase = Phase::RecordingGreeting;
        let silence = self.voicemail.settings().silence_timeout_s;
        vec![AppAction::Record(Box::new(RecordingRequest {
            spec: RecordingSpec {
                path: staging.clone(),
                max: MAX_GREETING,
                silence: (silence > 0).then(|| Duration::from_secs(u64::from(silence))),
            },
            purpose: RecordingPurpose::Greeting { staging, target },
        }))]
    }

    fn menu_key(&mut self, now: Instant, key: char) -> Vec<AppAction> {
        self.deadline = None;
        match key {
            '1' => self.browse(now, Folder::Inbox),
            '2' => self.browse(now, Folder::Old),
            '0' => self.options(now),
            '#' => self.notice(now, &[phrases::GOODBYE], Then::Hangup),
            _ => self.notice(now, &[phrases::INVALID], Then::MainMenu),
        }
    }

    fn options_key(&mut self, now: Instant, key: char) -> Vec<AppAction> {
        self.deadline = None;
        match key {
            '1' => self.prompt(&[phrases::RECORD_GREETING], Phase::GreetingPrompt),
            '2' => self.ask(now, Entry::NewPin),
            '#' => self.main_menu(now),
            _ => self.notice(now, &[phrases::INVALID], Then::Options),
        }
    }
}

impl CallApp for RetrievalApp {
    fn name(&self) -> &'static str {
        "voicemail"
    }

    fn wants_digits(&self) -> bool {
        true
    }

    fn start(&mut self, now: Instant) -> Vec<AppAction> {
        if !matches!(self.phase, Phase::Idle) {
            return Vec::new();
        }
        self.begin(now)
    }

    fn on_media_event(&mut self, now: Instant, event: SessionEvent) -> Vec<AppAction> {
        if event != SessionEvent::PlaybackFinished {
            return Vec::new();
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Notice(then) => self.follow(now, then),
            Phase::GreetingPrompt => {
                self.phase = Phase::GreetingBeep;
                match self.say([phrases::BEEP].into_iter()) {
                    Some(beep) => vec![play(beep)],
                    None => self.record_greeting(now),
                }
            }
            Phase::GreetingBeep => self.record_greeting(now),
            Phase::Listening(browse) => self.browse_part_ended(now, browse),
            other => {
                self.phase = other;
                Vec::new()
            }
        }
    }

    fn on_digit(&mut self, now: Instant, digit: DtmfDigit) -> Vec<AppAction> {
        let key = digit.to_char();
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Entering(entry) => {
                self.phase = Phase::Entering(entry);
                self.deadline = Some(now + ENTRY_TIMEOUT);
                // Barge-in: the first key silences the prompt.
                let mut actions = if self.digits.is_empty() {
                    vec![AppAction::SetSource(Source::Silence)]
                } else {
                    Vec::new()
                };
                if key == '#' {
                    actions.extend(self.entered(now, entry));
                } else if key != '*' && self.digits.len() < MAX_PIN_DIGITS.max(32) {
                    self.digits.push(key);
                }
                actions
            }
            Phase::MainMenu => self.menu_key(now, key),
            Phase::Options => self.options_key(now, key),
            Phase::RecordingGreeting if key == '#' => {
                self.phase = Phase::RecordingGreeting;
                vec![AppAction::StopRecording]
            }
            Phase::Listening(browse) => self.browse_key(now, browse, key),
            // Barge-in: a key during a notice is the start of what follows.
            Phase::Notice(Then::Ask(entry)) => {
                self.digits.clear();
                self.phase = Phase::Entering(entry);
                self.on_digit(now, digit)
            }
            Phase::Notice(Then::MainMenu) => self.menu_key(now, key),
            Phase::Notice(Then::Options) => self.options_key(now, key),
            other => {
                self.phase = other;
                Vec::new()
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn handle_timeout(&mut self, now: Instant) -> Vec<AppAction> {
        if self.deadline.is_none_or(|at| at > now) {
            return Vec::new();
        }
        self.deadline = None;
        self.tries += 1;
        if self.tries >= MAX_TRIES {
            return self.notice(now, &[phrases::NO_INPUT, phrases::GOODBYE], Then::Hangup);
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Entering(entry) => self.notice(now, &[phrases::NO_INPUT], Then::Ask(entry)),
            Phase::MainMenu => self.main_menu(now),
            Phase::Options => self.options(now),
            Phase::Listening(browse) => self.browse_timeout(now, browse),
            other => {
                self.phase = other;
                Vec::new()
            }
        }
    }

    fn on_recorded(
        &mut self,
        now: Instant,
        _outcome: &RecordingOutcome,
        kept: bool,
    ) -> Vec<AppAction> {
        if !matches!(self.phase, Phase::RecordingGreeting) {
            return Vec::new();
        }
        if kept {
            self.notice(now, &[phrases::GREETING_SAVED], Then::Options)
        } else {
            self.notice(now, &[phrases::TRY_AGAIN], Then::Options)
        }
    }
}
