//! `play-NAME`: plays one prompt, then hangs up.

use std::sync::Arc;
use std::time::Instant;

use super::{AppAction, CallApp};
use crate::media::session::{SessionEvent, Source};

#[derive(Debug)]
pub struct PlaybackApp {
    samples: Arc<[i16]>,
}

impl PlaybackApp {
    /// `samples` are at the leg's codec audio rate.
    pub fn new(samples: Arc<[i16]>) -> Self {
        PlaybackApp { samples }
    }
}

impl CallApp for PlaybackApp {
    fn name(&self) -> &'static str {
        "play"
    }

    fn start(&mut self, _now: Instant) -> Vec<AppAction> {
        vec![AppAction::SetSource(Source::Prompt {
            samples: self.samples.clone(),
            position: 0,
        })]
    }

    fn on_media_event(&mut self, _now: Instant, event: SessionEvent) -> Vec<AppAction> {
        match event {
            SessionEvent::PlaybackFinished => vec![AppAction::Hangup],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_then_hangs_up() {
        let mut app = PlaybackApp::new(Arc::from(vec![1i16; 480]));
        match app.start(Instant::now()).as_slice() {
            [AppAction::SetSource(Source::Prompt {
                samples,
                position: 0,
            })] => {
                assert_eq!(samples.len(), 480)
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            app.on_media_event(Instant::now(), SessionEvent::PlaybackFinished)
                .as_slice(),
            [AppAction::Hangup]
        ));
    }
}
