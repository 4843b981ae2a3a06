//! The load report: what a run measured, as a readable table or JSON.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::call_task::CallOutcome;
use super::stats::LatencySummary;

/// Interarrival jitter of the received streams (RFC 3550 §6.4.1), across calls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct JitterSummary {
    /// Calls whose stream had at least two packets.
    pub calls: usize,
    pub mean_ms: f64,
    pub max_ms: f64,
}

/// Everything a run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadReport {
    pub target: String,
    pub transport: String,
    pub codec: String,
    /// The SRTP suite offered, if any.
    pub srtp: Option<String>,
    pub duration_s: f64,
    pub rate: f64,
    pub wall_time_s: f64,
    pub calls_attempted: u32,
    pub calls_set_up: u32,
    pub calls_failed: u32,
    /// Set-up failures by final status code or cause ("486", "timeout", ...).
    pub failures: BTreeMap<String, u32>,
    /// Calls set up whose media could not run (bad SDP answer, socket error).
    pub calls_with_media_errors: u32,
    pub calls_ended_by_remote: u32,
    /// BYEs we sent that got a 2xx.
    pub byes_completed: u32,
    /// INVITE sent to 2xx received.
    pub setup_time_ms: Option<LatencySummary>,
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets the received sequence numbers account for (RFC 3550 A.3).
    pub packets_expected: u64,
    pub packets_lost: u64,
    /// SRTP packets that failed authentication or replay checks.
    pub packets_unauthenticated: u64,
    /// Lost over expected, from sequence numbers.
    pub loss_percent: f64,
    /// Received frames matched to a frame we sent (echo targets).
    pub echoes_matched: u64,
    /// Sent frames never echoed back; present when anything was echoed.
    pub echo_loss_percent: Option<f64>,
    pub late_threshold_ms: u64,
    /// Echoed frames whose round trip exceeded the threshold.
    pub late_packets: u64,
    pub round_trip_ms: Option<LatencySummary>,
    pub jitter_ms: Option<JitterSummary>,
}

/// The run's settings, echoed into the report.
#[derive(Clone, Debug)]
pub(crate) struct RunDescription {
    pub target: String,
    pub transport: String,
    pub codec: String,
    pub srtp: Option<String>,
    pub calls: u32,
    pub duration_s: f64,
    pub rate: f64,
    pub late_threshold: Duration,
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl LoadReport {
    pub(crate) fn from_outcomes(
        run: &RunDescription,
        outcomes: Vec<CallOutcome>,
        wall_time: Duration,
    ) -> LoadReport {
        let late_us = run.late_threshold.as_micros().min(u128::from(u32::MAX)) as u32;
        let mut failures = BTreeMap::new();
        let mut setup_us = Vec::new();
        let mut round_trips_us = Vec::new();
        let mut jitters = Vec::new();
        let mut report = LoadReport {
            target: run.target.clone(),
            transport: run.transport.clone(),
            codec: run.codec.clone(),
            srtp: run.srtp.clone(),
            duration_s: run.duration_s,
            rate: run.rate,
            wall_time_s: wall_time.as_secs_f64(),
            calls_attempted: run.calls,
            calls_set_up: 0,
            calls_failed: 0,
            failures: BTreeMap::new(),
            calls_with_media_errors: 0,
            calls_ended_by_remote: 0,
            byes_completed: 0,
            setup_time_ms: None,
            packets_sent: 0,
            packets_received: 0,
            packets_expected: 0,
            packets_lost: 0,
            packets_unauthenticated: 0,
            loss_percent: 0.0,
            echoes_matched: 0,
            echo_loss_percent: None,
            late_threshold_ms: run.late_threshold.as_millis() as u64,
            late_packets: 0,
            round_trip_ms: None,
            jitter_ms: None,
        };
        for outcome in outcomes {
            match (&outcome.setup_time, &outcome.failure) {
                (Some(setup), failure) => {
                    report.calls_set_up += 1;
                    report.calls_with_media_errors += u32::from(failure.is_some());
                    setup_us.push(setup.as_micros().min(u128::from(u32::MAX)) as u32);
                }
                (None, failure) => {
                    report.calls_failed += 1;
                    let key = failure
                        .as_ref()
                        .map_or_else(|| "unknown".to_string(), |f| f.key());
                    *failures.entry(key).or_insert(0) += 1;
                }
            }
            report.calls_ended_by_remote += u32::from(outcome.ended_by_remote);
            report.byes_completed +=
                u32::from(outcome.bye_status.is_some_and(|s| (200..300).contains(&s)));
            let rtp = &outcome.rtp;
            report.packets_sent += rtp.packets_sent;
            report.packets_received += rtp.packets_received;
            report.packets_expected += rtp.expected;
            report.packets_lost += rtp.lost;
            report.packets_unauthenticated += rtp.unauthenticated;
            report.echoes_matched += rtp.echoes_matched;
            if rtp.packets_received >= 2 {
                jitters.push(rtp.jitter_ms);
            }
            report.late_packets += outcome
                .round_trips_us
                .iter()
                .filter(|us| **us > late_us)
                .count() as u64;
            round_trips_us.extend_from_slice(&outcome.round_trips_us);
        }
        report.failures = failures;
        report.loss_percent = percent(report.packets_lost, report.packets_expected);
        if report.echoes_matched > 0 {
            let missing = report.packets_sent.saturating_sub(report.echoes_matched);
            report.echo_loss_percent = Some(percent(missing, report.packets_sent));
        }
        report.setup_time_ms = LatencySummary::from_micros(&mut setup_us);
        report.round_trip_ms = LatencySummary::from_micros(&mut round_trips_us);
        if !jitters.is_empty() {
            report.jitter_ms = Some(JitterSummary {
                calls: jitters.len(),
                mean_ms: jitters.iter().sum::<f64>() / jitters.len() as f64,
                max_ms: jitters.iter().copied().fold(0.0, f64::max),
            });
        }
        report
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// The report as `--json` asks: JSON, or else the table.
    pub fn render(&self, json: bool) -> Result<String, serde_json::Error> {
        if json {
            self.to_json()
        } else {
            Ok(self.to_string())
        }
    }
}

fn summary(s: &Option<LatencySummary>) -> String {
    match s {
        Some(s) => format!(
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, s.samples
        ),
        None => "-".to_string(),
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, name: &str, value: String| {
            writeln!(f, "  {name:<18}{value}")
        };
        writeln!(f, "mediaplane load report")?;
        row(
            f,
            "target",
            match &self.srtp {
                Some(suite) => format!(
                    "{} ({}, {}, SRTP {suite})",
                    self.target, self.transport, self.codec
                ),
                None => format!("{} ({}, {})", self.target, self.transport, self.codec),
            },
        )?;
        row(
            f,
            "plan",
            format!(
                "{} calls, {:.1} s each, {:.1} calls/s",
                self.calls_attempted, self.duration_s, self.rate
            ),
        )?;
        row(f, "wall time", format!("{:.1} s", self.wall_time_s))?;
        row(
            f,
            "calls",
            format!(
                "{} attempted, {} set up, {} failed",
                self.calls_attempted, self.calls_set_up, self.calls_failed
            ),
        )?;
        if !self.failures.is_empty() {
            let list: Vec<String> = self
                .failures
                .iter()
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            row(f, "failures", list.join(", "))?;
        }
        if self.calls_with_media_errors > 0 {
            row(
                f,
                "media errors",
                format!("{} calls", self.calls_with_media_errors),
            )?;
        }
        row(
            f,
            "teardown",
            format!(
                "{} BYEs completed, {} ended by the server",
                self.byes_completed, self.calls_ended_by_remote
            ),
        )?;
        row(f, "setup time", summary(&self.setup_time_ms))?;
        row(
            f,
            "packets",
            format!(
                "{} sent, {} received",
                self.packets_sent, self.packets_received
            ),
        )?;
        row(
            f,
            "loss",
            format!(
                "{} of {} expected ({:.2} %)",
                self.packets_lost, self.packets_expected, self.loss_percent
            ),
        )?;
        if self.srtp.is_some() || self.packets_unauthenticated > 0 {
            row(
                f,
                "SRTP rejected",
                format!("{} packets", self.packets_unauthenticated),
            )?;
        }
        if let Some(missing) = self.echo_loss_percent {
            row(
                f,
                "echo",
                format!(
                    "{} matched, {missing:.2} % never echoed",
                    self.echoes_matched
                ),
            )?;
        }
        row(
            f,
            &format!("late (>{} ms)", self.late_threshold_ms),
            self.late_packets.to_string(),
        )?;
        row(f, "round trip", summary(&self.round_trip_ms))?;
        let jitter = match &self.jitter_ms {
            Some(j) => format!(
                "mean {:.2} ms, max {:.2} ms ({} calls)",
                j.mean_ms, j.max_ms, j.calls
            ),
            None => "-".to_string(),
        };
        row(f, "jitter", jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::call_task::Failure;
    use crate::loadgen::rtp::RtpCounters;

    #[test]
    fn outcomes_are_aggregated() {
        let run = RunDescription {
            target: "sip:echo@127.0.0.1".into(),
            transport: "udp".into(),
            codec: "PCMU".into(),
            srtp: None,
            calls: 3,
            duration_s: 1.0,
            rate: 10.0,
            late_threshold: Duration::from_millis(100),
        };
        let good = CallOutcome {
            setup_time: Some(Duration::from_millis(2)),
            rtp: RtpCounters {
                packets_sent: 50,
                packets_received: 48,
                expected: 50,
                lost: 2,
                jitter_ms: 1.5,
                echoes_matched: 48,
                ..RtpCounters::default()
            },
            round_trips_us: vec![40_000, 150_000, 60_000],
            bye_status: Some(200),
            ..CallOutcome::default()
        };
        let outcomes = vec![
            good,
            CallOutcome::failed(Failure::Status(486)),
            CallOutcome::failed(Failure::Timeout),
        ];
        let report = LoadReport::from_outcomes(&run, outcomes, Duration::from_secs(2));
        assert_eq!(report.calls_set_up, 1);
        assert_eq!(report.calls_failed, 2);
        assert_eq!(report.failures.get("486"), Some(&1));
        assert_eq!(report.failures.get("timeout"), Some(&1));
        assert_eq!(report.byes_completed, 1);
        assert_eq!(report.loss_percent, 4.0);
        assert_eq!(report.echo_loss_percent, Some(4.0));
        assert_eq!(report.late_packets, 1);
        let rtt = report.round_trip_ms.unwrap();
        assert_eq!((rtt.p50_ms, rtt.max_ms), (60.0, 150.0));
        assert_eq!(report.jitter_ms.unwrap().mean_ms, 1.5);

        let table = report.to_string();
        assert!(table.contains("3 attempted, 1 set up, 2 failed"), "{table}");
        assert!(table.contains("486 x1, timeout x1"), "{table}");
        let json: serde_json::Value = serde_json::from_str(&report.render(true).unwrap()).unwrap();
        assert_eq!(json["calls_failed"], 2);
        assert_eq!(json["round_trip_ms"]["p50_ms"], 60.0);
    }
}
