//! The data plane: port allocation, worker pool, per-leg sessions.

pub mod jitter;
