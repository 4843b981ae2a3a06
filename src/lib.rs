//! mediaplane: a SIP media-plane server — media server, transcoding B2BUA and
//! audio MCU in one process.
//!
//! Layers, data flowing top to bottom (see README.md):
//! `sip` (signalling) → `routing` (dial plan) → `apps` (call applications) →
//! `media` (data plane) → `codec` (sans-IO codecs). `prompts` is the prompt
//! catalogue, `store` the voicemail storage, `api` the HTTP admin surface,
//! `config` the typed configuration and `loadgen` the load generator and test
//! user agent.

pub mod api;
pub mod apps;
pub mod codec;
pub mod config;
pub mod loadgen;
pub mod media;
pub mod prompts;
pub mod routing;
pub mod server;
pub mod sip;
pub mod store;
