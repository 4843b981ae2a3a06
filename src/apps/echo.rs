//! `echo`: the caller hears their own audio, through the full receive path
//! (playout buffer, decode, encode).

use std::time::Instant;

use super::{AppAction, CallApp};
use crate::media::session::{SessionEvent, Source};

#[derive(Debug, Default)]
pub struct EchoApp;

impl CallApp for EchoApp {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn start(&mut self, _now: Instant) -> Vec<AppAction> {
        vec![AppAction::SetSource(Source::Echo)]
    }

    fn on_media_event(&mut self, _now: Instant, _event: SessionEvent) -> Vec<AppAction> {
        Vec::new()
    }
}
