//! UTC timestamps for message metadata and IDs, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::prompts::CalendarDate;

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// RFC 3339 in UTC, e.g. `2026-11-21T21:45:00Z`.
pub(super) fn rfc3339(unix_s: i64) -> String {
    let [y, mo, d, h, mi, se] = fields(unix_s);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}Z")
}

/// A message ID: UTC time then a counter, so names sort by deposit time,
/// e.g. `20261121-214500-0001`.
pub(super) fn message_id(unix_s: i64, counter: u32) -> String {
    format!("{}-{:04}", compact_utc(unix_s), counter % 10_000)
}

/// UTC time for file names that sort by time, e.g. `20261121-214500`.
pub(crate) fn compact_utc(unix_s: i64) -> String {
    let [y, mo, d, h, mi, se] = fields(unix_s);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{se:02}")
}

/// Year, month, day, hour, minute and second of `unix_s` in UTC.
fn fields(unix_s: i64) -> [i64; 6] {
    let date = CalendarDate::from_days_since_epoch(unix_s.div_euclid(86_400));
    let secs = unix_s.rem_euclid(86_400);
    [
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
    ]
}
