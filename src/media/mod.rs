//! The data plane: port allocation, worker pool, per-leg sessions.

pub mod bridge;
pub mod conference;
pub mod dtmf;
pub mod jitter;
pub mod mixer;
pub mod pool;
pub mod ports;
pub mod recorder;
pub mod rtcp;
pub mod rtp_header;
pub mod session;
pub mod srtp;
pub mod stats;
pub mod worker;

pub use pool::MediaPool;
pub use ports::PortAllocator;
pub use recorder::{RecordingEnd, RecordingOutcome, RecordingSpec, RoomRecordingSpec};
pub use session::{MediaParams, SessionId, SessionSetup, Source};
pub use worker::{MediaEvent, MediaEventKind, WorkerCommand};
