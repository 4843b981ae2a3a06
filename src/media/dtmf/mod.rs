//! DTMF: the sixteen digits, and their inband form (dual tones per ITU-T
//! Q.23) detected and generated on decoded audio, for callers who offer no
//! telephone-event (RFC 4733).

use std::fmt;

mod detector;
mod error;
mod generator;
mod goertzel;
pub mod rfc4733;

pub use detector::{
    DtmfDetector, DtmfEvent, DtmfEventKind, CONFIRM_BLOCKS, END_BLOCKS, GROUP_DOMINANCE_DB,
    MAX_FREQUENCY_DEVIATION, MAX_REVERSE_TWIST_DB, MAX_TWIST_DB, MIN_LEVEL_DBM0,
    MIN_TONE_ENERGY_SHARE,
};
pub use error::DtmfError;
pub use generator::{DtmfGenerator, DtmfToneConfig};

/// Level of a full-scale sine in 16-bit linear audio: ITU-T G.711 puts the
/// μ-law coder's overload point at +3.17 dBm0.
pub const FULL_SCALE_DBM0: f32 = 3.17;

/// Peak amplitude, in 16-bit sample units, of a sine at `dbm0`.
pub fn dbm0_to_amplitude(dbm0: f32) -> f32 {
    32767.0 * 10f32.powf((dbm0 - FULL_SCALE_DBM0) / 20.0)
}

/// Low-group (row) frequencies in Hz, ITU-T Q.23.
pub const ROW_FREQUENCIES: [u16; 4] = [697, 770, 852, 941];
/// High-group (column) frequencies in Hz, ITU-T Q.23.
pub const COLUMN_FREQUENCIES: [u16; 4] = [1209, 1336, 1477, 1633];

/// One DTMF key. The keypad layout (ITU-T Q.23) maps each to one
/// row and one column frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtmfDigit {
    Digit0,
    Digit1,
    Digit2,
    Digit3,
    Digit4,
    Digit5,
    Digit6,
    Digit7,
    Digit8,
    Digit9,
    /// `*`
    Star,
    /// `#`
    Hash,
    A,
    B,
    C,
    D,
}

/// Keypad by [row][column], ITU-T Q.23.
const KEYPAD: [[DtmfDigit; 4]; 4] = {
    use DtmfDigit::*;
    [
        [Digit1, Digit2, Digit3, A],
        [Digit4, Digit5, Digit6, B],
        [Digit7, Digit8, Digit9, C],
        [Star, Digit0, Hash, D],
    ]
};

impl DtmfDigit {
    /// All sixteen, in RFC 4733 event code order.
    pub const ALL: [DtmfDigit; 16] = {
        use DtmfDigit::*;
        [
            Digit0, Digit1, Digit2, Digit3, Digit4, Digit5, Digit6, Digit7, Digit8, Digit9, Star,
            Hash, A, B, C, D,
        ]
    };

    /// `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'` (lower case accepted).
    pub fn from_char(c: char) -> Option<Self> {
        use DtmfDigit::*;
        Some(match c {
            '0' => Digit0,
            '1' => Digit1,
            '2' => Digit2,
            '3' => Digit3,
            '4' => Digit4,
            '5' => Digit5,
            '6' => Digit6,
            '7' => Digit7,
            '8' => Digit8,
            '9' => Digit9,
            '*' => Star,
            '#' => Hash,
            'A' | 'a' => A,
            'B' | 'b' => B,
            'C' | 'c' => C,
            'D' | 'd' => D,
            _ => return None,
        })
    }

    pub fn to_char(self) -> char {
        use DtmfDigit::*;
        match self {
            Digit0 => '0',
            Digit1 => '1',
            Digit2 => '2',
            Digit3 => '3',
            Digit4 => '4',
            Digit5 => '5',
            Digit6 => '6',
            Digit7 => '7',
            Digit8 => '8',
            Digit9 => '9',
            Star => '*',
            Hash => '#',
            A => 'A',
            B => 'B',
            C => 'C',
            D => 'D',
        }
    }

    /// RFC 4733 §3 event codes: 0–9 the digits, 10 `*`, 11 `#`, 12–15 A–D.
    pub fn from_event_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// RFC 4733 §3 event code (0–15).
    pub fn event_code(self) -> u8 {
        use DtmfDigit::*;
        match self {
            Digit0 => 0,
            Digit1 => 1,
            Digit2 => 2,
            Digit3 => 3,
            Digit4 => 4,
            Digit5 => 5,
            Digit6 => 6,
            Digit7 => 7,
            Digit8 => 8,
            Digit9 => 9,
            Star => 10,
            Hash => 11,
            A => 12,
            B => 13,
            C => 14,
            D => 15,
        }
    }

    /// The key at `row` (0–3, low group) and `column` (0–3, high group).
    pub fn from_row_column(row: usize, column: usize) -> Option<Self> {
        KEYPAD.get(row)?.get(column).copied()
    }

    /// Indices of this key's row and column in [`ROW_FREQUENCIES`] and
    /// [`COLUMN_FREQUENCIES`].
    pub fn row_column(self) -> (usize, usize) {
        use DtmfDigit::*;
        match self {
            Digit1 => (0, 0),
            Digit2 => (0, 1),
            Digit3 => (0, 2),
            A => (0, 3),
            Digit4 => (1, 0),
            Digit5 => (1, 1),
            Digit6 => (1, 2),
            B => (1, 3),
            Digit7 => (2, 0),
            Digit8 => (2, 1),
            Digit9 => (2, 2),
            C => (2, 3),
            Star => (3, 0),
            Digit0 => (3, 1),
            Hash => (3, 2),
            D => (3, 3),
        }
    }

    /// Low- and high-group frequencies in Hz.
    pub fn frequencies(self) -> (u16, u16) {
        let (row, column) = self.row_column();
        (ROW_FREQUENCIES[row], COLUMN_FREQUENCIES[column])
    }
}

impl fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_char())
    }
}

#[cfg(test)]
mod tests;
