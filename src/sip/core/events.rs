//! What arrives at the core besides SIP messages: media workers' reports
//! about sessions, and time.

use std::cmp::Reverse;
use std::time::Instant;

use super::{metrics, SipCore};
use crate::media::session::SessionEvent;
use crate::media::{MediaEvent, MediaEventKind};

impl SipCore {
    /// A media worker reported something about a session.
    pub fn handle_media_event(&mut self, now: Instant, event: MediaEvent) {
        match event.kind {
            MediaEventKind::Session(session_event) => {
                let Some(leg) = self.legs.get_mut(&event.session) else {
                    return;
                };
                match session_event {
                    SessionEvent::MediaTimeout => {
                        tracing::info!(call_id = %leg.dialog.call_id, "media timeout, hanging up");
                        self.end_call(now, event.session, 408);
                    }
                    SessionEvent::Digit(digit) => self.digit_pressed(now, event.session, digit),
                    SessionEvent::PeerDigit(digit) => {
                        self.send_info_digit(now, event.session, digit)
                    }
                    SessionEvent::Speaking(speaking) => {
                        leg.speaking = speaking;
                        if speaking {
                            metrics::bump(&self.metrics.room_speaking_starts);
                        }
                        tracing::info!(
                            room = leg.room.as_deref().unwrap_or(""),
                            member = event.session,
                            speaking,
                            "speaking"
                        );
                    }
                    SessionEvent::PlaybackFinished if event.generation != leg.source_generation => {
                        // The end of a prompt the application already replaced.
                    }
                    _ if !leg.app_started => {}
                    _ => {
                        let actions = leg.app.on_media_event(now, session_event);
                        self.apply_actions(now, event.session, actions);
                    }
                }
            }
            MediaEventKind::Failed(reason) => {
                tracing::warn!(session = event.session, %reason, "media session failed");
                self.end_call(now, event.session, 500);
            }
            MediaEventKind::Closed => {}
            MediaEventKind::Recorded(outcome) => {
                if !self.room_recorded(event.session, &outcome) {
                    self.recorded(now, event.session, outcome);
                }
            }
        }
        self.drain_layer(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        while let Some(&Reverse((at, id))) = self.answer_timers.peek() {
            if at > now {
                break;
            }
            self.answer_timers.pop();
            self.answer(now, id);
        }
        while let Some(&Reverse((at, id))) = self.no_answer_timers.peek() {
            if at > now {
                break;
            }
            self.no_answer_timers.pop();
            self.bridge_deadline(now, id);
        }
        self.expire_cancelled(now);
        self.run_keepalives(now);
        self.run_app_timers(now);
        self.run_subscription_timers(now);
        while let Some(&Reverse((at, id))) = self.relay_retries.peek() {
            if at > now {
                break;
            }
            self.relay_retries.pop();
            self.retry_relay(now, id);
        }
        self.drain_layer(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let answer = self.answer_timers.peek().map(|Reverse((at, _))| *at);
        let no_answer = self.no_answer_timers.peek().map(|Reverse((at, _))| *at);
        let cancelled = self.cancel_deadlines.front().map(|(at, _)| *at);
        let relay = self.relay_retries.peek().map(|Reverse((at, _))| *at);
        let app = self.app_timers.peek().map(|Reverse((at, _))| *at);
        [
            app,
            self.layer.poll_timeout(),
            answer,
            no_answer,
            cancelled,
            relay,
            self.mwi.poll_timeout(),
            self.registrar.poll_keepalive(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
