//! Prompt catalogue: decode prompt files once, cache per sample rate.
//!
//! Prompts live in a folder per language with a shared fallback folder above
//! them (`prompts/en/welcome.wav`, `prompts/beep.wav`), and may be grouped in
//! subfolders (`prompts/en/numbers/20.wav` is `numbers/20`); see
//! `prompts/README.md`. The `say` helpers turn numbers, dates and times into
//! sequences of those names.

mod calendar;
mod catalogue;
mod decode;
mod name;
pub mod phrases;
mod say;
mod scan;

pub use calendar::{CalendarDate, CalendarError, ClockTime};
pub use catalogue::{ProblemKind, PromptCatalogue, PromptError, PromptProblem, ReloadSummary};
pub use decode::{decode_file, DecodeError, DecodedAudio, MAX_PROMPT_SECONDS, PROMPT_EXTENSIONS};
pub use name::{is_valid_name_part, is_valid_prompt_name, MAX_NAME_LEN, MAX_NAME_PARTS};
pub use say::{
    say_count, say_date, say_date_with_year, say_digits, say_number, say_ordinal, say_time,
    say_year, MAX_SPOKEN_NUMBER,
};
pub(crate) use scan::prompt_names;
