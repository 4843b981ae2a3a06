//! Validated dates and clock times for the "say" helpers, with the weekday
//! worked out here so that no date library is needed for it.

/// Why a date or time cannot be spoken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("month {0} is not 1..=12")]
    Month(u8),
    #[error("day {day} does not exist in {year}-{month:02}")]
    Day { year: i32, month: u8, day: u8 },
    #[error("{hour:02}:{minute:02} is not a time of day")]
    Time { hour: u8, minute: u8 },
}

/// A day of the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CalendarDate {
    year: i32,
    month: u8,
    day: u8,
}

impl CalendarDate {
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, CalendarError> {
        if !(1..=12).contains(&month) {
            return Err(CalendarError::Month(month));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(CalendarError::Day { year, month, day });
        }
        Ok(CalendarDate { year, month, day })
    }

    /// The date `days` after 1970-01-01 (negative: before), which is what a
    /// Unix timestamp divided by 86 400 gives for UTC.
    pub fn from_days_since_epoch(days: i64) -> Self {
        // Howard Hinnant's civil-from-days: shift to eras of 400 years
        // starting on March 1st, where the leap day falls last.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        CalendarDate {
            // Saturates far outside any date a call carries.
            year: year.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Days since 1970-01-01 (the inverse of [`from_days_since_epoch`](Self::from_days_since_epoch)).
    pub fn days_since_epoch(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let month = i64::from(self.month);
        let shifted_month = if month > 2 { month - 3 } else { month + 9 };
        let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 (January) to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// 0 for Monday to 6 for Sunday (ISO 8601 order, minus one).
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        (self.days_since_epoch() + 3).rem_euclid(7) as u8
    }
}

fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A time of day to the minute, 00:00 to 23:59.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime {
    hour: u8,
    minute: u8,
}

impl ClockTime {
    pub fn new(hour: u8, minute: u8) -> Result<Self, CalendarError> {
        if hour > 23 || minute > 59 {
            return Err(CalendarError::Time { hour, minute });
        }
        Ok(ClockTime { hour, minute })
    }

    /// 0 to 23.
    pub fn hour(self) -> u8 {
        self.hour
    }

    /// 0 to 59.
    pub fn minute(self) -> u8 {
        self.minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_dates_and_times_are_refused() {
        assert_eq!(
            CalendarDate::new(2024, 13, 1),
            Err(CalendarError::Month(13))
        );
        assert_eq!(CalendarDate::new(2024, 0, 1), Err(CalendarError::Month(0)));
        assert!(CalendarDate::new(2023, 2, 29).is_err());
        assert!(CalendarDate::new(1900, 2, 29).is_err());
        assert!(CalendarDate::new(2000, 2, 29).is_ok());
        assert!(CalendarDate::new(2024, 4, 31).is_err());
        assert!(CalendarDate::new(2024, 4, 0).is_err());
        assert!(ClockTime::new(24, 0).is_err());
        assert!(ClockTime::new(23, 60).is_err());
        assert!(ClockTime::new(23, 59).is_ok());
    }

    #[test]
    fn weekdays_of_known_dates() {
        for ((year, month, day), weekday) in [
            ((1970, 1, 1), 3),   // Thursday
            ((2000, 2, 29), 1),  // Tuesday
            ((2024, 12, 25), 2), // Wednesday
            ((2025, 3, 3), 0),   // Monday
            ((1969, 7, 20), 6),  // Sunday
        ] {
            let date = CalendarDate::new(year, month, day).unwrap();
            assert_eq!(date.weekday(), weekday, "{date:?}");
        }
    }

    #[test]
    fn days_since_epoch_round_trips() {
        assert_eq!(
            CalendarDate::from_days_since_epoch(0),
            CalendarDate::new(1970, 1, 1).unwrap()
        );
        // 2026-11-21 is day 20 778.
        assert_eq!(
            CalendarDate::from_days_since_epoch(20_778),
            CalendarDate::new(2026, 11, 21).unwrap()
        );
        for days in (-800_000..800_000).step_by(97) {
            let date = CalendarDate::from_days_since_epoch(days);
            assert_eq!(date.days_since_epoch(), days);
            assert_eq!(
                CalendarDate::new(date.year(), date.month(), date.day()),
                Ok(date)
            );
        }
    }
}
