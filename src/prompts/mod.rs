//! Prompt catalogue: decode prompt files once, cache per sample rate.
//!
//! Prompts live in a folder per language with a shared fallback folder above
//! them (`prompts/en/welcome.wav`, `prompts/beep.wav`); see `prompts/README.md`.

mod catalogue;
mod decode;
mod name;

pub use catalogue::{ProblemKind, PromptCatalogue, PromptError, PromptProblem};
pub use decode::{decode_file, DecodeError, DecodedAudio, MAX_PROMPT_SECONDS, PROMPT_EXTENSIONS};
pub use name::{is_valid_prompt_name, MAX_NAME_LEN};
