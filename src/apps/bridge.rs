//! `bridge`: a leg of a bridged call. Its audio comes from the other leg,
//! connected in the media worker, so the application has nothing to do.

use std::time::Instant;

use super::{AppAction, CallApp};
use crate::media::session::SessionEvent;

#[derive(Debug, Default)]
pub struct BridgeApp;

impl CallApp for BridgeApp {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn start(&mut self, _now: Instant) -> Vec<AppAction> {
        Vec::new()
    }

    fn on_media_event(&mut self, _now: Instant, _event: SessionEvent) -> Vec<AppAction> {
        Vec::new()
    }
}
