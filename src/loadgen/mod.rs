//! Load generator and the test user agent it is built from.
//!
//! [`run`] places `--calls` concurrent calls at `--rate` calls per second,
//! streams real-time G.711 for `--duration-s` on each, hangs up, and
//! reports setup results, loss, round-trip latency (frames carry tags that
//! an echo target returns, see [`frame_tag`]) and jitter.

mod call_task;
pub mod frame_tag;
mod report;
pub mod rtp;
mod rtp_capture;
pub mod rtp_receive_stats;
pub mod simple_sdp;
pub mod stats;
pub mod ua;

#[cfg(test)]
mod fake_uas;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

pub use report::{JitterSummary, LoadReport};

use crate::codec::CodecKind;
use crate::media::srtp::SrtpSuite;
use call_task::{run_call, CallOutcome, CallPlan, Failure};
use report::RunDescription;
use ua::{TestUserAgent, UaError};

/// Codecs the load generator can stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadCodec {
    Pcmu,
    Pcma,
    G722,
    Opus,
}

impl LoadCodec {
    pub fn kind(self) -> CodecKind {
        match self {
            LoadCodec::Pcmu => CodecKind::Pcmu,
            LoadCodec::Pcma => CodecKind::Pcma,
            LoadCodec::G722 => CodecKind::G722,
            LoadCodec::Opus => CodecKind::Opus,
        }
    }
}

/// SIP transports the load generator can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadTransport {
    Udp,
    Tcp,
}

const DEFAULT_CALLS: u32 = 10;
const DEFAULT_DURATION_S: f64 = 10.0;
const DEFAULT_RATE: f64 = 10.0;
const DEFAULT_LATE_MS: u64 = 100;
const DEFAULT_GRACE_S: f64 = 5.0;

/// Command-line arguments of the load generator.
#[derive(Clone, Debug, clap::Args)]
pub struct LoadgenArgs {
    /// SIP URI to call, e.g. sip:echo@127.0.0.1:5060.
    pub target: String,
    /// Calls to place (all concurrent once ramped up).
    #[arg(long, default_value_t = DEFAULT_CALLS)]
    pub calls: u32,
    /// Seconds of audio each call streams once answered.
    #[arg(long, default_value_t = DEFAULT_DURATION_S)]
    pub duration_s: f64,
    /// Calls started per second during ramp-up.
    #[arg(long, default_value_t = DEFAULT_RATE)]
    pub rate: f64,
    /// Codecs the calls offer and send, taken in turn (`opus,g722`: call i
    /// uses the (i mod 2)th). G.711 frames carry tags for the echo's round
    /// trip; G.722 and Opus calls are counted by sequence only.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "pcmu")]
    pub codec: Vec<LoadCodec>,
    #[arg(long, value_enum, default_value_t = LoadTransport::Udp)]
    pub transport: LoadTransport,
    /// Offer SRTP (`RTP/SAVP` with an SDES key of this suite, e.g.
    /// AES_CM_128_HMAC_SHA1_80) and send and receive it. The keys travel
    /// in the SDP in clear: the server must allow that for UDP and TCP.
    #[arg(long)]
    pub srtp: Option<SrtpSuite>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Round trip in ms beyond which an echoed frame counts as late.
    #[arg(long, default_value_t = DEFAULT_LATE_MS)]
    pub late_ms: u64,
    /// Seconds allowed past ramp-up plus duration before the run is cut short.
    #[arg(long, default_value_t = DEFAULT_GRACE_S)]
    pub grace_s: f64,
    /// Send SIP to this address instead of the target URI's host and port.
    #[arg(long)]
    pub server: Option<SocketAddr>,
    /// Spread the calls over N targets: call i dials the target's user
    /// with `-(i mod N)` appended (`conf-r` → `conf-r-0` ... `conf-r-9`,
    /// e.g. N conference rooms).
    #[arg(long)]
    pub spread: Option<u32>,
}

impl LoadgenArgs {
    /// The command-line defaults for `target`.
    pub fn new(target: impl Into<String>) -> LoadgenArgs {
        LoadgenArgs {
            target: target.into(),
            calls: DEFAULT_CALLS,
            duration_s: DEFAULT_DURATION_S,
            rate: DEFAULT_RATE,
            codec: vec![LoadCodec::Pcmu],
            transport: LoadTransport::Udp,
            srtp: None,
            json: false,
            late_ms: DEFAULT_LATE_MS,
            grace_s: DEFAULT_GRACE_S,
            server: None,
            spread: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("cannot resolve the target host {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot start the user agent: {0}")]
    UserAgent(#[from] UaError),
}

/// Runs the load: returns once every call ended, or at ramp-up + duration
/// + grace at the latest, whatever the server does.
pub async fn run(args: &LoadgenArgs) -> Result<LoadReport, LoadgenError> {
    validate(args)?;
    let server = match args.server {
        Some(server) => server,
        None => resolve_target(&args.target).await?,
    };
    let ua = Arc::new(match args.transport {
        LoadTransport::Udp => TestUserAgent::bind_udp(server).await?,
        LoadTransport::Tcp => TestUserAgent::connect_tcp(server).await?,
    });

    let started = Instant::now();
    let last_start = Duration::from_secs_f64(f64::from(args.calls - 1) / args.rate);
    let duration = Duration::from_secs_f64(args.duration_s);
    let grace = Duration::from_secs_f64(args.grace_s);
    let deadline = started + last_start + duration + grace;
    let mut calls = JoinSet::new();
    for i in 0..args.calls {
        calls.spawn(run_call(CallPlan {
            ua: ua.clone(),
            target: match args.spread {
                Some(n) if n > 0 => spread_target(&args.target, i % n),
                _ => args.target.clone(),
            },
            codec: args.codec[i as usize % args.codec.len()].kind(),
            start_at: started + Duration::from_secs_f64(f64::from(i) / args.rate),
            duration,
            deadline,
            bye_reserve: (grace / 2).min(call_task::MAX_BYE_RESERVE),
            srtp: args.srtp,
        }));
    }

    let mut outcomes = Vec::with_capacity(args.calls as usize);
    // Calls bound their own waits by the deadline; this is the backstop.
    let backstop = deadline + Duration::from_secs(1);
    while let Ok(Some(joined)) = tokio::time::timeout_at(backstop, calls.join_next()).await {
        outcomes.push(joined.unwrap_or_else(|_| CallOutcome::failed(Failure::Unfinished)));
    }
    for _ in 0..calls.len() {
        outcomes.push(CallOutcome::failed(Failure::Unfinished));
    }
    calls.abort_all();

    let run = RunDescription {
        target: args.target.clone(),
        transport: match args.transport {
            LoadTransport::Udp => "udp".to_string(),
            LoadTransport::Tcp => "tcp".to_string(),
        },
        codec: args
            .codec
            .iter()
            .map(|c| c.kind().encoding_name())
            .collect::<Vec<_>>()
            .join(","),
        srtp: args.srtp.map(|suite| suite.to_string()),
        calls: args.calls,
        duration_s: args.duration_s,
        rate: args.rate,
        late_threshold: Duration::from_millis(args.late_ms),
    };
    Ok(LoadReport::from_outcomes(&run, outcomes, started.elapsed()))
}

/// `target` with `-index` appended to its user part (or to the whole URI
/// when it has none).
pub fn spread_target(target: &str, index: u32) -> String {
    match target.find('@') {
        Some(at) => format!("{}-{index}{}", &target[..at], &target[at..]),
        None => format!("{target}-{index}"),
    }
}

fn validate(args: &LoadgenArgs) -> Result<(), LoadgenError> {
    let invalid = |what: &str| Err(LoadgenError::InvalidArgument(what.to_string()));
    if args.calls == 0 {
        return invalid("--calls must be at least 1");
    }
    if args.codec.is_empty() {
        return invalid("--codec needs at least one codec");
    }
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return invalid("--rate must be a positive number");
    }
    // A day bounds every duration so that Duration conversions cannot overflow.
    let day = 86_400.0;
    if !(args.duration_s.is_finite() && args.duration_s > 0.0 && args.duration_s <= day) {
        return invalid("--duration-s must be between 0 and 86400");
    }
    if !(args.grace_s.is_finite() && args.grace_s >= 0.0 && args.grace_s <= day) {
        return invalid("--grace-s must be between 0 and 86400");
    }
    if f64::from(args.calls) / args.rate > day {
        return invalid("--calls / --rate must ramp up within a day");
    }
    Ok(())
}

/// Host and port of a SIP URI: `sip:user@host:port;params` (RFC 3261 §19.1.1),
/// port 5060 when absent.
pub fn target_host_port(target: &str) -> Result<(String, u16), LoadgenError> {
    let invalid = || LoadgenError::InvalidArgument(format!("not a SIP URI: {target}"));
    let rest = target
        .strip_prefix("sip:")
        .or_else(|| target.strip_prefix("sips:"))
        .ok_or_else(invalid)?;
    let rest = rest.split([';', '?']).next().unwrap_or_default();
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(invalid)?;
        (host, after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(invalid());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| invalid())?,
        None => 5060,
    };
    Ok((host.to_string(), port))
}

async fn resolve_target(target: &str) -> Result<SocketAddr, LoadgenError> {
    let (host, port) = target_host_port(target)?;
    let resolve_error = |source| LoadgenError::Resolve {
        host: host.clone(),
        source,
    };
    let mut addrs = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(resolve_error)?;
    addrs.next().ok_or_else(|| {
        resolve_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no address",
        ))
    })
}

#[cfg(test)]
mod tests;
