//! Call applications: event-driven state machines. They see the media plane
//! only through the actions they return and the media events they are given.

pub mod bridge;
pub mod echo;
pub mod playback;

use crate::media::session::{SessionEvent, Source};

pub use bridge::BridgeApp;
pub use echo::EchoApp;
pub use playback::PlaybackApp;

/// What an application asks of its leg.
#[derive(Debug, Clone)]
pub enum AppAction {
    /// Change what the leg sends.
    SetSource(Source),
    /// End the call (BYE).
    Hangup,
}

/// A call application attached to one answered leg.
pub trait CallApp: Send {
    /// The application's name, for the API and logs.
    fn name(&self) -> &'static str;
    /// The leg is answered and its media session exists.
    fn start(&mut self) -> Vec<AppAction>;
    /// The leg's media session reported something.
    fn on_media_event(&mut self, event: SessionEvent) -> Vec<AppAction>;
}
