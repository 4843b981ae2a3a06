//! Streaming resampling between 8, 16 and 48 kHz in 20 ms frames.
