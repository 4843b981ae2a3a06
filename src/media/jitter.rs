//! Playout buffer: reorders RTP packets and releases one frame per ptime tick.
