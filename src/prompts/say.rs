//! Turning numbers, digit strings, dates and times into the sequence of
//! shipped prompt names that speaks them (English, US style: "one hundred
//! one", no "and"). Pure functions: the caller plays the names in order.

use super::calendar::{CalendarDate, ClockTime};

const HUNDRED: &str = "numbers/hundred";
const THOUSAND: &str = "numbers/thousand";
const MILLION: &str = "numbers/million";
const MINUS: &str = "numbers/minus";
const OH: &str = "numbers/oh";
const AM: &str = "time/am";
const PM: &str = "time/pm";
const OCLOCK: &str = "time/oclock";

/// The largest magnitude [`say_number`] reads as a number; beyond it there
/// is no "billion" prompt, so the digits are read one by one instead.
pub const MAX_SPOKEN_NUMBER: u64 = 999_999_999;

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The prompts that say `n`: 21 is `numbers/20 numbers/1`, 115 is
/// `numbers/1 numbers/hundred numbers/15`, -3 is `numbers/minus numbers/3`.
/// Magnitudes above [`MAX_SPOKEN_NUMBER`] are read digit by digit.
pub fn say_number(n: i64) -> Vec<String> {
    let mut names = Vec::new();
    if n < 0 {
        names.push(MINUS.to_owned());
    }
    let magnitude = n.unsigned_abs();
    if magnitude > MAX_SPOKEN_NUMBER {
        names.extend(say_digits(&magnitude.to_string()));
        return names;
    }
    if magnitude == 0 {
        names.push(number(0));
        return names;
    }
    let millions = magnitude / 1_000_000;
    let thousands = magnitude / 1_000 % 1_000;
    let rest = magnitude % 1_000;
    for (group, scale) in [(millions, Some(MILLION)), (thousands, Some(THOUSAND))] {
        if group > 0 {
            push_below_thousand(&mut names, group);
            names.extend(scale.map(str::to_owned));
        }
    }
    push_below_thousand(&mut names, rest);
    names
}

/// Appends 1..=999 (nothing for 0, which is only said on its own).
fn push_below_thousand(names: &mut Vec<String>, n: u64) {
    let hundreds = n / 100;
    if hundreds > 0 {
        names.push(number(hundreds));
        names.push(HUNDRED.to_owned());
    }
    push_below_hundred(names, n % 100);
}

/// Appends 1..=99: a single word below 20 and for whole tens, otherwise the
/// tens then the unit.
fn push_below_hundred(names: &mut Vec<String>, n: u64) {
    match n {
        0 => {}
        1..=19 => names.push(number(n)),
        _ => {
            names.push(number(n / 10 * 10));
            if !n.is_multiple_of(10) {
                names.push(number(n % 10));
            }
        }
    }
}

fn number(n: u64) -> String {
    format!("numbers/{n}")
}

/// The prompts that read `digits` key by key, as a caller would dial them:
/// `0`-`9`, `*` (star), `#` (hash), `+` (plus) and `A`-`D`. Anything else
/// (spaces, dashes, brackets of a written phone number) is not spoken.
pub fn say_digits(digits: &str) -> Vec<String> {
    digits
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(format!("numbers/{c}")),
            '*' => Some("keys/star".to_owned()),
            '#' => Some("keys/hash".to_owned()),
            '+' => Some("keys/plus".to_owned()),
            'A'..='D' | 'a'..='d' => Some(format!("keys/{}", c.to_ascii_lowercase())),
            _ => None,
        })
        .collect()
}

/// The prompt for a day of the month: `ordinals/1st` ... `ordinals/31st`.
pub fn say_ordinal(day: u8) -> Option<String> {
    let suffix = match day {
        1 | 21 | 31 => "st",
        2 | 22 => "nd",
        3 | 23 => "rd",
        4..=20 | 24..=30 => "th",
        _ => return None,
    };
    Some(format!("ordinals/{day}{suffix}"))
}

/// "Monday, March 3rd": weekday, month, ordinal day; the year is left out,
/// as in a voicemail envelope (see [`say_date_with_year`]).
pub fn say_date(date: CalendarDate) -> Vec<String> {
    let weekday = WEEKDAYS[usize::from(date.weekday())];
    let month = MONTHS[usize::from(date.month() - 1)];
    let mut names = vec![format!("weekdays/{weekday}"), format!("months/{month}")];
    names.extend(say_ordinal(date.day()));
    names
}

/// "Monday, March 3rd, twenty twenty five".
pub fn say_date_with_year(date: CalendarDate) -> Vec<String> {
    let mut names = say_date(date);
    names.extend(say_year(date.year()));
    names
}

/// A year as people read it: 1999 is "nineteen ninety nine", 2005 "two
/// thousand five", 2024 "twenty twenty four", 1900 "nineteen hundred",
/// 1905 "nineteen oh five". Years outside 1100..=9999 (and whole thousands)
/// are read as plain numbers.
pub fn say_year(year: i32) -> Vec<String> {
    let (century, rest) = (year / 100, year % 100);
    let plain = !(1100..=9999).contains(&year) || year % 1000 < 10;
    if plain {
        return say_number(i64::from(year));
    }
    let mut names = Vec::new();
    push_below_hundred(&mut names, century.unsigned_abs().into());
    match rest {
        0 => names.push(HUNDRED.to_owned()),
        1..=9 => {
            names.push(OH.to_owned());
            names.push(number(rest.unsigned_abs().into()));
        }
        _ => push_below_hundred(&mut names, rest.unsigned_abs().into()),
    }
    names
}

/// A time on the 12-hour clock: 9:00 is "nine o'clock A M", 14:05 "two oh
/// five P M", 0:30 "twelve thirty A M", 12:45 "twelve forty five P M".
pub fn say_time(time: ClockTime) -> Vec<String> {
    let (hour, minute) = (time.hour(), time.minute());
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let mut names = vec![number(hour12.into())];
    match minute {
        0 => names.push(OCLOCK.to_owned()),
        1..=9 => {
            names.push(OH.to_owned());
            names.push(number(minute.into()));
        }
        _ => push_below_hundred(&mut names, minute.into()),
    }
    names.push(if hour < 12 { AM } else { PM }.to_owned());
    names
}

/// "1 new message", "3 new messages", "0 new messages": the number, then
/// `singular` for exactly one and `plural` otherwise.
pub fn say_count(n: i64, singular: &str, plural: &str) -> Vec<String> {
    let mut names = say_number(n);
    names.push(if n == 1 { singular } else { plural }.to_owned());
    names
}

#[cfg(test)]
mod tests;
