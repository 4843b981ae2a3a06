//! Driving call applications: carrying out their actions, running their
//! timers, giving them the caller's key presses (from the media plane and
//! from SIP INFO), handing a call on to the next application through the
//! dial plan, and making the application a route names.

use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Instant;

use rsip::Request;

use super::invite::Refusal;
use super::{LegState, SipCore};
use crate::apps::conference::{RoomOptions, RoomPins};
use crate::apps::{
    AppAction, BridgeApp, CallApp, ConferenceApp, EchoApp, IvrApp, PlaybackApp, PromptFetch,
    RecordingRequest,
};
use crate::codec::CodecKind;
use crate::config::Application;
use crate::media::dtmf::DtmfDigit;
use crate::media::session::Source;
use crate::media::{SessionId, WorkerCommand};
use crate::routing::RouteTarget;

impl SipCore {
    /// Starts a leg's application: it listens for digits if it wants them.
    pub(super) fn start_app(&mut self, now: Instant, id: SessionId) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        leg.app_started = true;
        let listen = leg.app.wants_digits();
        let worker = leg.worker;
        let actions = leg.app.start(now);
        let _ = self
            .media
            .send(worker, WorkerCommand::ListenForDigits { id, on: listen });
        self.apply_actions(now, id, actions);
    }

    /// Changes what leg `id` sends. Each change is numbered, so that the
    /// end of a playback already replaced is not taken for the end of the
    /// new one.
    pub(super) fn set_source(&mut self, id: SessionId, source: Source) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        leg.source_generation = leg.source_generation.wrapping_add(1);
        let command = WorkerCommand::SetSource {
            id,
            source,
            generation: leg.source_generation,
        };
        let _ = self.media.send(leg.worker, command);
    }

    pub(super) fn apply_actions(&mut self, now: Instant, id: SessionId, actions: Vec<AppAction>) {
        for action in actions {
            let Some(worker) = self.legs.get(&id).map(|l| l.worker) else {
                return;
            };
            match action {
                AppAction::SetSource(source) => self.set_source(id, source),
                AppAction::Hangup => self.end_call(now, id, 480),
                AppAction::Answer => self.answer(now, id),
                AppAction::SendDigits(digits) => {
                    let _ = self
                        .media
                        .send(worker, WorkerCommand::SendDigits { id, digits });
                }
                AppAction::Dial(user) => self.dial_from(now, id, &user),
                AppAction::JoinRoom { room, moderator } => {
                    self.join_room(now, id, worker, room, moderator)
                }
                AppAction::SayRoomCount => self.say_room_count(id),
                AppAction::SetMuted(muted) => {
                    if let Some(leg) = self.legs.get_mut(&id) {
                        leg.muted = muted;
                    }
                    let _ = self
                        .media
                        .send(worker, WorkerCommand::SetMuted { id, muted });
                }
                AppAction::SetVolume(gain_db) => {
                    let _ = self
                        .media
                        .send(worker, WorkerCommand::SetVolume { id, gain_db });
                }
                AppAction::Record(request) => {
                    let RecordingRequest { spec, purpose } = *request;
                    self.recordings.entry(id).or_default().push_back(purpose);
                    let _ = self.media.send(worker, WorkerCommand::Record { id, spec });
                }
                AppAction::StopRecording => {
                    let _ = self.media.send(worker, WorkerCommand::StopRecording { id });
                }
                AppAction::MailboxChanged(mailbox) => self.mailbox_changed(now, &mailbox),
            }
        }
        if let Some(at) = self.legs.get(&id).and_then(|l| l.app.poll_timeout()) {
            self.app_timers.push(Reverse((at, id)));
        }
    }

    /// Runs the application timers that are due. An entry whose
    /// application has since moved its deadline is skipped; the later
    /// deadline has its own entry.
    pub(super) fn run_app_timers(&mut self, now: Instant) {
        while let Some(&Reverse((at, id))) = self.app_timers.peek() {
            if at > now {
                break;
            }
            self.app_timers.pop();
            let Some(leg) = self.legs.get_mut(&id) else {
                continue;
            };
            if !leg.app_started || leg.app.poll_timeout().is_none_or(|due| due > now) {
                continue;
            }
            let actions = leg.app.handle_timeout(now);
            self.apply_actions(now, id, actions);
        }
    }

    /// The caller of leg `id` pressed a key.
    pub(super) fn digit_pressed(&mut self, now: Instant, id: SessionId, digit: DtmfDigit) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        tracing::debug!(session = id, %digit, "key pressed");
        if let Some(peer) = leg.bridge_peer {
            // A bridged leg's telephone-events cross in the media plane;
            // what arrives here (SIP INFO) is sent on as the other leg
            // negotiated.
            match self.legs.get(&peer).map(|l| (l.worker, l.dtmf_info)) {
                Some((_, true)) => self.send_info_digit(now, peer, digit),
                Some((worker, false)) => {
                    let digits = digit.to_char().to_string();
                    let _ = self
                        .media
                        .send(worker, WorkerCommand::SendDigits { id: peer, digits });
                }
                None => {}
            }
            return;
        }
        if !leg.app_started {
            return;
        }
        let actions = leg.app.on_digit(now, digit);
        self.apply_actions(now, id, actions);
    }

    /// Hands the call on as if its caller had dialled `user`: another
    /// application on the same leg, or a bridge to the route's target.
    pub(super) fn dial_from(&mut self, now: Instant, id: SessionId, user: &str) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let invite = leg.invite.clone();
        let codec = leg.params.codec;
        let planned =
            self.plan_call(now, &invite, user)
                .and_then(|(target, bridge)| match bridge {
                    Some(plan) => Ok((Box::new(BridgeApp) as Box<dyn CallApp>, Some(plan))),
                    None => self
                        .make_app(&target, &invite, codec)
                        .map(|app| (app, None)),
                });
        let (app, bridge) = match planned {
            Ok(planned) => planned,
            Err(refusal) => {
                tracing::info!(
                    session = id,
                    user,
                    code = refusal.code,
                    "dial from application refused"
                );
                self.end_call(now, id, refusal.code);
                return;
            }
        };
        tracing::info!(
            session = id,
            user,
            application = app.name(),
            "call handed on"
        );
        self.hand_on(now, id, app, bridge);
    }

    /// Gives leg `id` a new application (or a bridge), answering a ringing
    /// leg if the application needs it.
    pub(super) fn hand_on(
        &mut self,
        now: Instant,
        id: SessionId,
        app: Box<dyn CallApp>,
        bridge: Option<super::bridge::BridgePlan>,
    ) {
        self.set_source(id, Source::Silence);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let worker = leg.worker;
        leg.app = app;
        leg.app_started = false;
        match bridge {
            Some(plan) => {
                leg.app_started = true;
                let _ = self
                    .media
                    .send(worker, WorkerCommand::ListenForDigits { id, on: false });
                self.start_bridge(now, id, plan);
            }
            None if leg.state == LegState::Ringing && !leg.app.early_media() => {
                self.answer(now, id)
            }
            None => self.start_app(now, id),
        }
    }

    /// The application a route names, for a leg whose audio is at `rate`.
    pub(super) fn make_app(
        &self,
        target: &RouteTarget,
        request: &Request,
        codec: CodecKind,
    ) -> Result<Box<dyn CallApp>, Refusal> {
        let rate = codec.audio_rate();
        Ok(match &target.application {
            Application::Echo => Box::new(EchoApp),
            Application::Bridge { .. } => Box::new(BridgeApp),
            Application::Play { prompt } => match self.prompts.get(prompt, rate) {
                Some(samples) => Box::new(PlaybackApp::new(samples)),
                None => return Err(Refusal::new(404, Some(format!("No prompt {prompt}")))),
            },
            Application::Conference { room } => {
                let catalogue = self.prompts.clone();
                let fetch: PromptFetch = Arc::new(move |name: &str| catalogue.get(name, rate));
                let config = self.room_options.get(room);
                let options = RoomOptions {
                    pins: RoomPins {
                        member: config.and_then(|o| o.pin.clone()),
                        moderator: config.and_then(|o| o.moderator_pin.clone()),
                    },
                    admission: self.room_admission(room),
                    wait_music: self.settings.moh_prompt.clone(),
                    name_path: self.name_path(room),
                };
                Box::new(ConferenceApp::with_options(room.clone(), fetch, options))
            }
            Application::Ivr { menu } => {
                let catalogue = self.prompts.clone();
                let fetch: PromptFetch = Arc::new(move |name: &str| catalogue.get(name, rate));
                match IvrApp::new(self.menus.clone(), menu, fetch) {
                    Ok(app) => Box::new(app),
                    Err(e) => return Err(Refusal::new(404, Some(e.to_string()))),
                }
            }
            Application::Deposit { mailbox } => self.deposit_app(mailbox, request, codec)?,
            Application::Voicemail { mailbox } => {
                self.retrieval_app(mailbox.as_deref(), request, codec)?
            }
        })
    }
}
