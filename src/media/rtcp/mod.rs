//! RTCP for one leg, sans-IO (RFC 3550 §6): what we received and sent,
//! when to report, the compound packets themselves, and the quality the two
//! ends see. Times come in from the caller; nothing here reads a clock or
//! owns a socket.
//!
//! - [`receive_stats`]: one incoming source's sequence, loss and jitter
//!   (RFC 3550 Appendix A.1, A.3, A.8).
//! - [`send_stats`]: what we sent, for Sender Reports (RFC 3550 §6.4.1).
//! - [`interval`]: when the next report is due (RFC 3550 §6.3, A.7).
//! - [`report`]: building and parsing compound packets (RFC 3550 §6.1,
//!   RFC 5761 §4 demultiplexing).
//! - [`quality`]: the E-model MOS estimate (ITU-T G.107, G.113).
//! - [`leg`]: [`RtcpLeg`], the engine tying them together.

pub mod interval;
pub mod leg;
pub mod quality;
pub mod receive_stats;
pub mod report;
pub mod send_stats;

pub use interval::{IntervalConfig, ReportInterval};
pub use leg::{LegQuality, PeerActivity, RtcpLeg, RtcpLegConfig};
pub use quality::{CodecImpairment, QualityInputs};
pub use receive_stats::{ReceiveStatistics, ReportBlock};
pub use report::{
    build_compound, is_rtcp, parse_compound, RemoteReport, ReportContents, RtcpError, SrHistory,
};
pub use send_stats::{ntp_middle, ntp_time, SendStatistics, SenderInfo};
