//! Percentiles and the latency summaries the load report is made of.

use serde::Serialize;

/// The nearest-rank percentile of an ascending slice: the smallest value
/// with at least `pct` % of the samples at or below it. `None` when empty.
pub fn percentile(sorted: &[u32], pct: f64) -> Option<u32> {
    let last = sorted.len().checked_sub(1)?;
    let pct = if pct.is_nan() {
        0.0
    } else {
        pct.clamp(0.0, 100.0)
    };
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.saturating_sub(1).min(last)])
}

/// Distribution of a set of durations, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LatencySummary {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises samples in microseconds (sorted in place); `None` when empty.
    pub fn from_micros(samples: &mut [u32]) -> Option<LatencySummary> {
        samples.sort_unstable();
        let ms = |pct: f64| percentile(samples, pct).map(|us| f64::from(us) / 1000.0);
        Some(LatencySummary {
            samples: samples.len(),
            p50_ms: ms(50.0)?,
            p95_ms: ms(95.0)?,
            p99_ms: ms(99.0)?,
            max_ms: ms(100.0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 95.0), Some(95));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
        assert_eq!(percentile(&values, 99.5), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // Five samples: p50 is the third, p95 and p99 the fifth.
        let five = [10, 20, 30, 40, 50];
        assert_eq!(percentile(&five, 50.0), Some(30));
        assert_eq!(percentile(&five, 95.0), Some(50));
        assert_eq!(percentile(&five, 20.0), Some(10));
        assert_eq!(percentile(&five, 21.0), Some(20));
    }

    #[test]
    fn summary_sorts_and_converts_to_milliseconds() {
        let mut micros = vec![5_000, 1_000, 3_000, 2_000, 4_000];
        let summary = LatencySummary::from_micros(&mut micros).unwrap();
        assert_eq!(summary.samples, 5);
        assert_eq!(summary.p50_ms, 3.0);
        assert_eq!(summary.p95_ms, 5.0);
        assert_eq!(summary.max_ms, 5.0);
        assert!(LatencySummary::from_micros(&mut []).is_none());
    }
}
