use super::*;
use std::collections::BTreeSet;
use std::path::Path;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn n(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| format!("numbers/{s}")).collect()
}

fn date(year: i32, month: u8, day: u8) -> CalendarDate {
    CalendarDate::new(year, month, day).unwrap()
}

fn time(hour: u8, minute: u8) -> ClockTime {
    ClockTime::new(hour, minute).unwrap()
}

#[test]
fn numbers_are_said_word_by_word() {
    let cases: &[(i64, &[&str])] = &[
        (0, &["0"]),
        (7, &["7"]),
        (13, &["13"]),
        (20, &["20"]),
        (21, &["20", "1"]),
        (99, &["90", "9"]),
        (100, &["1", "hundred"]),
        (101, &["1", "hundred", "1"]),
        (110, &["1", "hundred", "10"]),
        (115, &["1", "hundred", "15"]),
        (999, &["9", "hundred", "90", "9"]),
        (1000, &["1", "thousand"]),
        (1001, &["1", "thousand", "1"]),
        (2024, &["2", "thousand", "20", "4"]),
        (10_000, &["10", "thousand"]),
        (100_200, &["1", "hundred", "thousand", "2", "hundred"]),
        (1_000_000, &["1", "million"]),
        (1_000_017, &["1", "million", "17"]),
        (
            123_456_789,
            &[
                "1", "hundred", "20", "3", "million", "4", "hundred", "50", "6", "thousand", "7",
                "hundred", "80", "9",
            ],
        ),
        (
            999_999_999,
            &[
                "9", "hundred", "90", "9", "million", "9", "hundred", "90", "9", "thousand", "9",
                "hundred", "90", "9",
            ],
        ),
    ];
    for &(number, expected) in cases {
        assert_eq!(say_number(number), n(expected), "{number}");
    }
}

#[test]
fn negative_and_huge_numbers() {
    assert_eq!(say_number(-3), n(&["minus", "3"]));
    assert_eq!(say_number(-1_000), n(&["minus", "1", "thousand"]));
    assert_eq!(
        say_number(1_000_000_000),
        n(&["1", "0", "0", "0", "0", "0", "0", "0", "0", "0"])
    );
    let min = say_number(i64::MIN);
    assert_eq!(min[0], "numbers/minus");
    assert_eq!(min.len(), 1 + "9223372036854775808".len());
}

#[test]
fn digit_strings_are_read_key_by_key() {
    assert_eq!(
        say_digits("0123*#"),
        names(&[
            "numbers/0",
            "numbers/1",
            "numbers/2",
            "numbers/3",
            "keys/star",
            "keys/hash",
        ])
    );
    assert_eq!(
        say_digits("+1 (555) 0-Ab"),
        names(&[
            "keys/plus",
            "numbers/1",
            "numbers/5",
            "numbers/5",
            "numbers/5",
            "numbers/0",
            "keys/a",
            "keys/b",
        ])
    );
    assert!(say_digits("").is_empty());
    assert!(say_digits("xyz é").is_empty());
}

#[test]
fn dates_say_weekday_month_and_ordinal_day() {
    assert_eq!(
        say_date(date(2025, 3, 3)),
        names(&["weekdays/monday", "months/march", "ordinals/3rd"])
    );
    assert_eq!(
        say_date(date(2024, 12, 25)),
        names(&["weekdays/wednesday", "months/december", "ordinals/25th"])
    );
    assert_eq!(
        say_date(date(2026, 1, 31)),
        names(&["weekdays/saturday", "months/january", "ordinals/31st"])
    );
    assert_eq!(
        say_date_with_year(date(2024, 2, 29)),
        names(&[
            "weekdays/thursday",
            "months/february",
            "ordinals/29th",
            "numbers/20",
            "numbers/20",
            "numbers/4",
        ])
    );
}

#[test]
fn ordinals_have_the_right_suffix() {
    let said: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 30, 31]
        .into_iter()
        .map(|d| say_ordinal(d).unwrap())
        .collect();
    assert_eq!(
        said,
        [
            "ordinals/1st",
            "ordinals/2nd",
            "ordinals/3rd",
            "ordinals/4th",
            "ordinals/11th",
            "ordinals/12th",
            "ordinals/13th",
            "ordinals/21st",
            "ordinals/22nd",
            "ordinals/23rd",
            "ordinals/30th",
            "ordinals/31st",
        ]
    );
    assert_eq!(say_ordinal(0), None);
    assert_eq!(say_ordinal(32), None);
}

#[test]
fn years_are_read_in_pairs() {
    let cases: &[(i32, &[&str])] = &[
        (1999, &["19", "90", "9"]),
        (2024, &["20", "20", "4"]),
        (2010, &["20", "10"]),
        (2000, &["2", "thousand"]),
        (2005, &["2", "thousand", "5"]),
        (1900, &["19", "hundred"]),
        (1905, &["19", "oh", "5"]),
        (800, &["8", "hundred"]),
    ];
    for &(year, expected) in cases {
        assert_eq!(say_year(year), n(expected), "{year}");
    }
}

#[test]
fn times_use_the_twelve_hour_clock() {
    let cases: &[((u8, u8), &[&str])] = &[
        ((0, 0), &["numbers/12", "time/oclock", "time/am"]),
        ((0, 30), &["numbers/12", "numbers/30", "time/am"]),
        ((9, 0), &["numbers/9", "time/oclock", "time/am"]),
        ((9, 5), &["numbers/9", "numbers/oh", "numbers/5", "time/am"]),
        (
            (11, 59),
            &["numbers/11", "numbers/50", "numbers/9", "time/am"],
        ),
        ((12, 0), &["numbers/12", "time/oclock", "time/pm"]),
        (
            (12, 45),
            &["numbers/12", "numbers/40", "numbers/5", "time/pm"],
        ),
        ((14, 15), &["numbers/2", "numbers/15", "time/pm"]),
        ((23, 10), &["numbers/11", "numbers/10", "time/pm"]),
    ];
    for &((hour, minute), expected) in cases {
        assert_eq!(
            say_time(time(hour, minute)),
            names(expected),
            "{hour}:{minute}"
        );
    }
}

#[test]
fn counts_pick_singular_or_plural() {
    assert_eq!(
        say_count(1, "new-message", "new-messages"),
        names(&["numbers/1", "new-message"])
    );
    assert_eq!(
        say_count(3, "new-message", "new-messages"),
        names(&["numbers/3", "new-messages"])
    );
    assert_eq!(
        say_count(0, "old-message", "old-messages"),
        names(&["numbers/0", "old-messages"])
    );
    assert_eq!(
        say_count(21, "new-message", "new-messages"),
        names(&["numbers/20", "numbers/1", "new-messages"])
    );
}

/// Every name a helper can produce, over wide input ranges, is a shipped
/// file, and so is every phrase constant.
#[test]
fn every_name_said_is_a_shipped_prompt() {
    let mut said = BTreeSet::new();
    let mut add = |list: Vec<String>| said.extend(list);
    for number in (-1_000..=3_000).chain((0..=999_999_999).step_by(7_777_777)) {
        add(say_number(number));
    }
    add(say_number(i64::MAX));
    add(say_digits("0123456789*#+ABCDabcd"));
    for year in 1000..=2100 {
        add(say_year(year));
    }
    let first = CalendarDate::new(2024, 1, 1).unwrap().days_since_epoch();
    for days in first..first + 366 {
        add(say_date(CalendarDate::from_days_since_epoch(days)));
    }
    for hour in 0..24 {
        for minute in 0..60 {
            add(say_time(time(hour, minute)));
        }
    }
    add(say_count(
        1,
        super::super::phrases::NEW_MESSAGE,
        super::super::phrases::NEW_MESSAGES,
    ));
    said.extend(super::super::phrases::ALL.iter().map(|s| (*s).to_owned()));

    let en = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/en");
    let missing: Vec<_> = said
        .iter()
        .filter(|name| !en.join(format!("{name}.wav")).is_file())
        .collect();
    assert!(missing.is_empty(), "no file for {missing:?}");
    // Everything in the number, ordinal, weekday and month folders is used.
    assert_eq!(
        said.iter().filter(|s| s.starts_with("numbers/")).count(),
        33
    );
    assert_eq!(
        said.iter().filter(|s| s.starts_with("ordinals/")).count(),
        31
    );
    assert_eq!(
        said.iter().filter(|s| s.starts_with("weekdays/")).count(),
        7
    );
    assert_eq!(said.iter().filter(|s| s.starts_with("months/")).count(), 12);
    assert_eq!(said.iter().filter(|s| s.starts_with("keys/")).count(), 7);
}
