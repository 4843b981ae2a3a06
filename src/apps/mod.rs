//! Call applications: event-driven state machines. They see the media plane
//! only through the actions they return and the media events they are given,
//! and time only through the `now` they are handed (sans-IO).

pub mod bridge;
pub mod conference;
pub mod echo;
pub mod ivr;
pub mod playback;
pub mod voicemail;

use std::sync::Arc;
use std::time::Instant;

use crate::media::dtmf::DtmfDigit;
use crate::media::session::{SessionEvent, Source};
use crate::media::{RecordingOutcome, RecordingSpec};

pub use bridge::BridgeApp;
pub use conference::ConferenceApp;
pub use echo::EchoApp;
pub use ivr::{IvrApp, IvrError, IvrMenus, PromptFetch};
pub use playback::PlaybackApp;
pub use voicemail::{DepositApp, RetrievalApp, Voicemail};

/// What an application asks of its leg.
#[derive(Debug, Clone)]
pub enum AppAction {
    /// Change what the leg sends.
    SetSource(Source),
    /// End the call (BYE, or a final error response while ringing).
    Hangup,
    /// Answer a leg that is playing early media (200 after the 183).
    Answer,
    /// Send key presses to the caller, as the leg negotiated them
    /// (telephone-event, else inband tones).
    SendDigits(String),
    /// Hand the call on as if the caller had dialled `user`: the dial plan
    /// picks the next application, or a bridge target.
    Dial(String),
    /// Join a conference room (created on first join) as a member or a
    /// moderator; the leg then sends the room's mix, unless the room waits
    /// for its moderator ([`CallApp::on_room_event`]).
    JoinRoom { room: String, moderator: bool },
    /// In a room: whether the others hear this member.
    SetMuted(bool),
    /// In a room: the gain, in dB, of what this member hears.
    SetVolume(i8),
    /// In a room: tell this member how many are in it (a prompt; the
    /// application hears `PlaybackFinished` when it ends).
    SayRoomCount,
    /// Record what the caller says; the application hears
    /// [`CallApp::on_recorded`] when the file is written, and the core
    /// settles it for `purpose` even if the call has ended by then.
    Record(Box<RecordingRequest>),
    /// End the recording (a key press).
    StopRecording,
    /// A mailbox's messages changed (listened, deleted): message-waiting
    /// subscribers are told.
    MailboxChanged(String),
}

/// What [`AppAction::Record`] records, and what for.
#[derive(Debug, Clone)]
pub struct RecordingRequest {
    pub spec: RecordingSpec,
    pub purpose: voicemail::RecordingPurpose,
}

/// A call application attached to one leg.
pub trait CallApp: Send {
    /// The application's name, for the API and logs.
    fn name(&self) -> &'static str;
    /// The leg's media may flow: it is answered, or, for an application
    /// that plays early media, the 183 is sent.
    fn start(&mut self, now: Instant) -> Vec<AppAction>;
    /// The leg's media session reported something.
    fn on_media_event(&mut self, now: Instant, event: SessionEvent) -> Vec<AppAction>;
    /// The caller pressed a key (telephone-event, inband tone or SIP INFO).
    fn on_digit(&mut self, _now: Instant, _digit: DtmfDigit) -> Vec<AppAction> {
        Vec::new()
    }
    /// When [`CallApp::handle_timeout`] next has work.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    /// Time has reached [`CallApp::poll_timeout`].
    fn handle_timeout(&mut self, _now: Instant) -> Vec<AppAction> {
        Vec::new()
    }
    /// Start on a 183 with SDP, before answering; the application answers
    /// with [`AppAction::Answer`].
    fn early_media(&self) -> bool {
        false
    }
    /// Key presses matter to this application: inband tones are listened
    /// for on a leg without telephone-event.
    fn wants_digits(&self) -> bool {
        false
    }
    /// In a conference room that waits for its moderator: this member
    /// waits, or has been put in the room.
    fn on_room_event(&mut self, _now: Instant, _event: conference::RoomEvent) -> Vec<AppAction> {
        Vec::new()
    }
    /// A recording this application asked for is written; `kept` is false
    /// when it was discarded (too short, or failed).
    fn on_recorded(
        &mut self,
        _now: Instant,
        _outcome: &RecordingOutcome,
        _kept: bool,
    ) -> Vec<AppAction> {
        Vec::new()
    }
}

/// Prompts fetched and joined into one buffer for gapless playback;
/// missing ones are skipped (and logged).
pub fn join_prompts<'n>(
    fetch: &ivr::PromptFetch,
    names: impl Iterator<Item = &'n str>,
) -> Option<Arc<[i16]>> {
    let mut parts = Vec::new();
    for name in names {
        match fetch(name) {
            Some(samples) => parts.push(samples),
            None => tracing::warn!(prompt = name, "prompt missing; skipped"),
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(parts.concat().into()),
    }
}

/// Plays `samples` from the start.
pub fn play(samples: Arc<[i16]>) -> AppAction {
    AppAction::SetSource(Source::Prompt {
        samples,
        position: 0,
    })
}
