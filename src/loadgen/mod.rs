//! Load generator and the test user agent it is built from.

pub mod frame_tag;
pub mod rtp;
mod rtp_capture;
pub mod rtp_receive_stats;
pub mod stats;
