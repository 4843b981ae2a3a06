//! Prompt catalogue: decode prompt files once, cache per sample rate.
