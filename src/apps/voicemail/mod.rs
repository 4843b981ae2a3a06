//! Voicemail: leaving a message (`vm-BOX`, [`DepositApp`]) and listening
//! to them (`voicemail`, [`RetrievalApp`]), over a [`MessageStore`].
//!
//! [`Voicemail`] is what every call shares: the mailboxes, the store, the
//! PIN lockouts and the counters. The store is called from the control
//! plane; recording itself happens on the recorder thread, never on a
//! media worker.

mod deposit;
mod listening;
mod pins;
mod retrieval;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::codec::resample;
use crate::config::{MailboxConfig, VoicemailConfig};
use crate::media::stats::bump;
use crate::media::RecordingOutcome;
use crate::prompts::decode_file;
use crate::store::mailbox::{MailboxCounts, MessageDraft, MessageStore};

pub use deposit::{DepositApp, Envelope};
pub use pins::{PinCheck, PinGuard};
pub use retrieval::RetrievalApp;

/// Counters of the voicemail service, for /metrics.
#[derive(Debug, Default)]
pub struct VoicemailMetrics {
    /// Messages kept.
    pub messages_deposited: AtomicU64,
    /// Recordings discarded as too short.
    pub messages_discarded: AtomicU64,
    pub pin_failures: AtomicU64,
    pub pin_lockouts: AtomicU64,
}

/// The voicemail service every voicemail call shares.
#[derive(Debug)]
pub struct Voicemail {
    store: Arc<dyn MessageStore>,
    mailboxes: HashMap<String, MailboxConfig>,
    /// Mailbox number by owner user.
    by_owner: HashMap<String, String>,
    settings: VoicemailConfig,
    pins: Mutex<PinGuard>,
    metrics: Arc<VoicemailMetrics>,
}

/// What a recording is for, kept by the core until the recorder reports it
/// (the call may be gone by then).
#[derive(Debug, Clone)]
pub enum RecordingPurpose {
    /// A message: kept if long enough, else discarded.
    Message { draft: MessageDraft },
    /// The owner's greeting: recorded aside, then put in place.
    Greeting { staging: PathBuf, target: PathBuf },
    /// A conference member's name: kept as recorded, deleted when the
    /// member leaves its room.
    Name { path: PathBuf },
}

impl Voicemail {
    pub fn new(
        store: Arc<dyn MessageStore>,
        mailboxes: &[MailboxConfig],
        settings: &VoicemailConfig,
    ) -> Voicemail {
        Voicemail {
            store,
            mailboxes: mailboxes
                .iter()
                .map(|m| (m.number.clone(), m.clone()))
                .collect(),
            by_owner: mailboxes
                .iter()
                .filter_map(|m| Some((m.owner.clone()?, m.number.clone())))
                .collect(),
            pins: Mutex::new(PinGuard::new(
                settings.pin_attempts,
                Duration::from_secs(u64::from(settings.lockout_s)),
            )),
            settings: settings.clone(),
            metrics: Arc::new(VoicemailMetrics::default()),
        }
    }

    pub fn store(&self) -> &Arc<dyn MessageStore> {
        &self.store
    }

    pub fn settings(&self) -> &VoicemailConfig {
        &self.settings
    }

    pub fn metrics(&self) -> Arc<VoicemailMetrics> {
        self.metrics.clone()
    }

    pub fn mailbox(&self, number: &str) -> Option<&MailboxConfig> {
        self.mailboxes.get(number)
    }

    pub fn mailbox_numbers(&self) -> impl Iterator<Item = &str> {
        self.mailboxes.keys().map(String::as_str)
    }

    /// The mailbox `user` owns.
    pub fn mailbox_of(&self, user: &str) -> Option<&MailboxConfig> {
        self.mailboxes.get(self.by_owner.get(user)?)
    }

    /// New and old messages; a mailbox the store cannot read counts as
    /// empty (the reason is logged).
    pub fn counts(&self, mailbox: &str) -> MailboxCounts {
        self.store.counts(mailbox).unwrap_or_else(|e| {
            tracing::warn!(mailbox, error = %e, "cannot count messages");
            MailboxCounts::default()
        })
    }

    pub fn check_pin(&self, now: Instant, mailbox: &str, entered: &str) -> PinCheck {
        let Some(config) = self.mailboxes.get(mailbox) else {
            return PinCheck::Wrong { left: 0 };
        };
        // The owner's own PIN, else the configured one. An unreadable PIN
        // file must not open the mailbox with the configured PIN, which the
        // owner replaced: the login is refused (not counted as a failure).
        let pin = match self.store.pin(mailbox) {
            Ok(Some(pin)) => pin,
            Ok(None) => config.pin.clone(),
            Err(e) => {
                tracing::error!(mailbox, error = %e, "cannot read the mailbox PIN");
                return PinCheck::Wrong { left: 0 };
            }
        };
        let mut pins = self
            .pins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let check = pins.check(now, mailbox, &pin, entered);
        match check {
            PinCheck::Wrong { .. } => bump(&self.metrics.pin_failures),
            PinCheck::LockedOut => {
                bump(&self.metrics.pin_failures);
                bump(&self.metrics.pin_lockouts);
                tracing::warn!(mailbox, "mailbox locked after wrong PINs");
            }
            PinCheck::Accepted | PinCheck::Locked => {}
        }
        check
    }

    /// Sets the owner's new PIN (1 to 16 digits); false if refused or not
    /// stored.
    pub fn change_pin(&self, mailbox: &str, pin: &str) -> bool {
        let valid = (1..=crate::config::MAX_PIN_DIGITS).contains(&pin.len())
            && pin.chars().all(|c| c.is_ascii_digit());
        if !valid {
            return false;
        }
        match self.store.set_pin(mailbox, pin) {
            Ok(()) => {
                tracing::info!(mailbox, "PIN changed by the owner");
                true
            }
            Err(e) => {
                tracing::warn!(mailbox, error = %e, "cannot store the new PIN");
                false
            }
        }
    }

    pub fn is_locked(&self, now: Instant, mailbox: &str) -> bool {
        let pins = self
            .pins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pins.is_locked(now, mailbox)
    }

    /// Settles a finished recording: a message is completed or discarded,
    /// a greeting put in place. Returns whether it was kept, and the
    /// mailbox whose messages changed.
    pub fn finish_recording(
        &self,
        purpose: RecordingPurpose,
        outcome: &RecordingOutcome,
    ) -> (bool, Option<String>) {
        let min = Duration::from_millis(u64::from(self.settings.min_message_ms));
        match purpose {
            RecordingPurpose::Message { draft } => {
                if let Some(error) = &outcome.error {
                    tracing::warn!(mailbox = %draft.mailbox, id = %draft.id, %error, "message recording failed");
                }
                let kept = outcome.duration >= min && outcome.path.exists();
                let result = if kept {
                    let ms = outcome.duration.as_millis() as u64;
                    self.store.complete(&draft, ms).map(|_| ())
                } else {
                    self.store.discard(&draft)
                };
                if let Err(e) = &result {
                    tracing::warn!(mailbox = %draft.mailbox, id = %draft.id, error = %e, "cannot settle message");
                }
                if kept {
                    bump(&self.metrics.messages_deposited);
                    tracing::info!(mailbox = %draft.mailbox, id = %draft.id, duration_ms = outcome.duration.as_millis() as u64, "message deposited");
                    (true, Some(draft.mailbox))
                } else {
                    bump(&self.metrics.messages_discarded);
                    (false, None)
                }
            }
            RecordingPurpose::Greeting { staging, target } => {
                let kept = outcome.error.is_none() && outcome.duration >= min;
                let result = if kept {
                    std::fs::rename(&staging, &target)
                } else {
                    std::fs::remove_file(&staging)
                };
                if let Err(e) = result {
                    tracing::warn!(path = %staging.display(), error = %e, "cannot settle greeting");
                    return (false, None);
                }
                (kept, None)
            }
            // The core settles names itself (its rooms, not a mailbox).
            RecordingPurpose::Name { .. } => (outcome.error.is_none(), None),
        }
    }
}

/// Reads a recorded file (a message or greeting) at `rate_hz`.
pub fn load_audio(path: &Path, rate_hz: u32) -> Option<Arc<[i16]>> {
    let decoded = decode_file(path)
        .map_err(|e| tracing::warn!(path = %path.display(), error = %e, "cannot read recording"))
        .ok()?;
    if decoded.rate_hz == rate_hz {
        return Some(decoded.samples.into());
    }
    resample::resample(&decoded.samples, decoded.rate_hz, rate_hz)
        .map_err(
            |e| tracing::warn!(path = %path.display(), error = %e, "cannot resample recording"),
        )
        .ok()
        .map(Into::into)
}

#[cfg(test)]
mod tests;
