//! Voicemail in the core: building the deposit and retrieval applications
//! for a call, sending an unanswered call to the called user's mailbox,
//! settling recordings when the recorder reports them (the call may have
//! ended by then), and telling message-waiting subscribers of changes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rsip::prelude::*;
use rsip::Request;

use super::invite::Refusal;
use super::SipCore;
use crate::apps::voicemail::{Envelope, RecordingPurpose};
use crate::apps::{CallApp, DepositApp, PromptFetch, RetrievalApp, Voicemail};
use crate::codec::CodecKind;
use crate::config::Application;
use crate::media::{RecordingOutcome, SessionId};
use crate::routing::RouteTarget;
use crate::sip::dialog::angle_uri;

/// The route of a call that goes straight to `mailbox` (its owner is not
/// registered anywhere).
pub(super) fn deposit_target(mailbox: String) -> RouteTarget {
    RouteTarget {
        route_index: usize::MAX,
        application: Application::Deposit { mailbox },
        ring: Duration::ZERO,
        codecs: None,
        no_answer: None,
        dtmf: crate::config::DtmfMode::Rfc4733,
        srtp: Default::default(),
    }
}

/// The user part of a header's URI (`"Bob" <sip:1002@host>;tag=x` gives
/// `1002`).
fn header_user(value: &str) -> Option<String> {
    let uri = angle_uri(value).unwrap_or_else(|| value.to_string());
    let rest = uri.split_once(':')?.1;
    let (userinfo, _) = rest.split_once('@')?;
    let user = userinfo.split([':', ';']).next()?;
    (!user.is_empty()).then(|| user.to_string())
}

fn caller_user(request: &Request) -> Option<String> {
    request
        .from_header()
        .ok()
        .and_then(|from| header_user(from.value()))
}

impl SipCore {
    /// Turns voicemail on: `vm-BOX`, `voicemail` and the mailbox fallback
    /// of unanswered calls to users. Call after [`SipCore::set_mailboxes`]:
    /// message-waiting starts from the stored counts.
    pub fn set_voicemail(&mut self, voicemail: Arc<Voicemail>) {
        let now = Instant::now();
        let numbers: Vec<String> = voicemail.mailbox_numbers().map(str::to_string).collect();
        self.voicemail = Some(voicemail);
        for number in numbers {
            self.mailbox_changed(now, &number);
        }
    }

    fn voicemail_service(&self) -> Result<Arc<Voicemail>, Refusal> {
        self.voicemail
            .clone()
            .ok_or_else(|| Refusal::new(404, Some("No voicemail".into())))
    }

    /// The mailbox a registered user owns.
    pub(super) fn mailbox_of_user(&self, user: &str) -> Option<String> {
        let voicemail = self.voicemail.as_ref()?;
        voicemail.mailbox_of(user).map(|m| m.number.clone())
    }

    fn prompt_fetch(&self, rate: u32) -> PromptFetch {
        let catalogue = self.prompts.clone();
        Arc::new(move |name: &str| catalogue.get(name, rate))
    }

    pub(super) fn deposit_app(
        &self,
        mailbox: &str,
        request: &Request,
        codec: CodecKind,
    ) -> Result<Box<dyn CallApp>, Refusal> {
        let voicemail = self.voicemail_service()?;
        let Some(config) = voicemail.mailbox(mailbox).cloned() else {
            return Err(Refusal::new(404, Some(format!("No mailbox {mailbox}"))));
        };
        let envelope = Envelope {
            caller: caller_user(request).unwrap_or_else(|| "unknown".into()),
            called: mailbox.to_string(),
            codec: codec.config_name().to_string(),
            rate_hz: codec.audio_rate(),
        };
        let fetch = self.prompt_fetch(codec.audio_rate());
        Ok(Box::new(DepositApp::new(
            voicemail, config, fetch, envelope,
        )))
    }

    pub(super) fn retrieval_app(
        &self,
        mailbox: Option<&str>,
        request: &Request,
        codec: CodecKind,
    ) -> Result<Box<dyn CallApp>, Refusal> {
        let voicemail = self.voicemail_service()?;
        let config = match mailbox {
            Some(number) => match voicemail.mailbox(number) {
                Some(config) => Some(config.clone()),
                None => return Err(Refusal::new(404, Some(format!("No mailbox {number}")))),
            },
            // The caller's own mailbox, by owner or by number; else asked.
            None => caller_user(request).and_then(|user| {
                voicemail
                    .mailbox_of(&user)
                    .or_else(|| voicemail.mailbox(&user))
                    .cloned()
            }),
        };
        let fetch = self.prompt_fetch(codec.audio_rate());
        Ok(Box::new(RetrievalApp::new(
            voicemail,
            config,
            fetch,
            codec.audio_rate(),
        )))
    }

    /// Nobody answered leg `a`'s call: it leaves a message in `mailbox`
    /// instead. False if that cannot be done (the caller gets the failure).
    pub(super) fn divert_to_mailbox(&mut self, now: Instant, a: SessionId, mailbox: &str) -> bool {
        let Some((invite, codec)) = self
            .legs
            .get(&a)
            .map(|leg| (leg.invite.clone(), leg.params.codec))
        else {
            return false;
        };
        let app = match self.deposit_app(mailbox, &invite, codec) {
            Ok(app) => app,
            Err(refusal) => {
                tracing::warn!(mailbox, reason = ?refusal.reason, "cannot divert to the mailbox");
                return false;
            }
        };
        tracing::info!(session = a, mailbox, "no answer: to the mailbox");
        // Cancels the forks and drops the outgoing session.
        self.unbridge(now, a, None);
        if let Some(leg) = self.legs.get_mut(&a) {
            leg.bridge_peer = None;
        }
        self.hand_on(now, a, app, None);
        true
    }

    /// The recorder wrote (or failed) a recording of leg `session`.
    pub(super) fn recorded(&mut self, now: Instant, session: SessionId, outcome: RecordingOutcome) {
        let purpose = self
            .recordings
            .get_mut(&session)
            .and_then(|q| q.pop_front());
        if self.recordings.get(&session).is_some_and(|q| q.is_empty()) {
            self.recordings.remove(&session);
        }
        let Some(purpose) = purpose else {
            tracing::warn!(session, path = %outcome.path.display(), "a recording nobody asked for");
            return;
        };
        let (kept, changed) = match purpose {
            RecordingPurpose::Name { path } => (self.name_recorded(session, path, &outcome), None),
            purpose => {
                let Some(voicemail) = self.voicemail.clone() else {
                    return;
                };
                voicemail.finish_recording(purpose, &outcome)
            }
        };
        if let Some(mailbox) = changed {
            self.mailbox_changed(now, &mailbox);
        }
        let Some(leg) = self.legs.get_mut(&session) else {
            return;
        };
        if !leg.app_started {
            return;
        }
        let actions = leg.app.on_recorded(now, &outcome, kept);
        self.apply_actions(now, session, actions);
    }

    /// A mailbox's messages changed: its message-waiting subscribers hear
    /// the new counts.
    pub fn mailbox_changed(&mut self, now: Instant, mailbox: &str) {
        let Some(voicemail) = self.voicemail.clone() else {
            return;
        };
        let counts = voicemail.counts(mailbox);
        self.set_message_counts(now, mailbox, counts.new, counts.old);
    }
}

#[cfg(test)]
mod tests {
    use super::header_user;

    #[test]
    fn users_come_out_of_from_headers() {
        assert_eq!(
            header_user("\"Bob\" <sip:1002@h>;tag=x").as_deref(),
            Some("1002")
        );
        assert_eq!(header_user("<sip:alice;x=y@h>").as_deref(), Some("alice"));
        assert_eq!(header_user("sip:carol@h;tag=1").as_deref(), Some("carol"));
        assert_eq!(header_user("<sip:h>"), None);
    }
}
