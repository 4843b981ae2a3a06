//! `[[routes]]`: the dial plan as configured, one entry per rule.

use super::reader::{Reader, Table};
use super::sections::read_codecs;
use super::srtp::{read_srtp_overrides, SrtpOverrides};
use crate::codec::CodecKind;

/// One dial-plan rule: a regex on the request-URI user part and the
/// application it leads to. Parameter strings are templates here (they may
/// hold `$1` or `${name}`); see [`crate::routing::DialPlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteConfig {
    /// The TOML key `match`.
    pub pattern: String,
    pub application: Application<String>,
    /// The TOML key `ring_ms`: how long a matching call rings (180) before
    /// it is answered; 0 answers at once.
    pub ring_ms: u32,
    /// The TOML key `codecs` (bridge routes): what the outgoing leg may
    /// use, most preferred first; `None` = the `[media]` list.
    pub codecs: Option<Vec<CodecKind>>,
    /// The TOML key `no_answer_ms` (bridge routes): how long the outgoing
    /// call may ring before it is given up; `None` = the default.
    pub no_answer_ms: Option<u32>,
    /// The TOML key `dtmf` (bridge routes): how key presses reach the
    /// outgoing leg.
    pub dtmf: DtmfMode,
    /// The TOML keys `srtp`, `srtp_suites`, `srtp_require_secure_signalling`:
    /// for a bridge route the outgoing leg's SRTP policy, for any other
    /// route the caller's; absent keys take the `[media]` values.
    pub srtp: SrtpOverrides,
}

/// How a bridge's outgoing leg carries key presses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DtmfMode {
    /// telephone-event (RFC 4733) offered; tones if the far end declines it.
    #[default]
    Rfc4733,
    /// No telephone-event offered; keys sent as SIP INFO
    /// (`application/dtmf-relay`), as older gateways expect.
    Info,
    /// No telephone-event offered; keys played as tones in the audio.
    Inband,
}

impl DtmfMode {
    /// The names accepted by the `dtmf` key.
    pub const NAMES: [&'static str; 3] = ["rfc4733", "info", "inband"];

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "rfc4733" => Some(DtmfMode::Rfc4733),
            "info" => Some(DtmfMode::Info),
            "inband" => Some(DtmfMode::Inband),
            _ => None,
        }
    }
}

impl RouteConfig {
    pub fn new(pattern: impl Into<String>, application: Application<String>) -> Self {
        RouteConfig {
            pattern: pattern.into(),
            application,
            ring_ms: 0,
            codecs: None,
            no_answer_ms: None,
            dtmf: DtmfMode::Rfc4733,
            srtp: SrtpOverrides::default(),
        }
    }
}

/// A call application and its parameters. `P` is the parameter type: a
/// template string in the configuration, a compiled template in the dial
/// plan, the substituted value in a routing result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Application<P> {
    /// Answers and returns the caller's own audio.
    Echo,
    /// Answers, plays a prompt from the prompts folder, hangs up.
    Play { prompt: P },
    /// Calls `target` (a SIP URI with an IP address) and bridges the two
    /// legs, transcoding when their codecs differ.
    Bridge { target: P },
    /// Runs IVR menu `menu` of `[[menus]]`.
    Ivr { menu: P },
    /// Joins conference room `room` (created on first join).
    Conference { room: P },
    /// Leaves a message in mailbox `mailbox`.
    Deposit { mailbox: P },
    /// Listens to the messages of `mailbox`, or of the caller's own
    /// mailbox (asked for when the caller owns none).
    Voicemail { mailbox: Option<P> },
}

impl<P> Application<P> {
    /// The names accepted by the `app` key.
    pub const NAMES: [&'static str; 7] = [
        "echo",
        "play",
        "bridge",
        "ivr",
        "conference",
        "deposit",
        "voicemail",
    ];

    /// The `app` key's value for this application.
    pub fn name(&self) -> &'static str {
        match self {
            Application::Echo => "echo",
            Application::Play { .. } => "play",
            Application::Bridge { .. } => "bridge",
            Application::Ivr { .. } => "ivr",
            Application::Conference { .. } => "conference",
            Application::Deposit { .. } => "deposit",
            Application::Voicemail { .. } => "voicemail",
        }
    }

    /// The same application with each parameter passed through `f`, which
    /// also gets the parameter's key.
    pub fn map<Q>(&self, mut f: impl FnMut(&'static str, &P) -> Q) -> Application<Q> {
        match self {
            Application::Echo => Application::Echo,
            Application::Play { prompt } => Application::Play {
                prompt: f("prompt", prompt),
            },
            Application::Bridge { target } => Application::Bridge {
                target: f("target", target),
            },
            Application::Ivr { menu } => Application::Ivr {
                menu: f("menu", menu),
            },
            Application::Conference { room } => Application::Conference {
                room: f("room", room),
            },
            Application::Deposit { mailbox } => Application::Deposit {
                mailbox: f("mailbox", mailbox),
            },
            Application::Voicemail { mailbox } => Application::Voicemail {
                mailbox: mailbox.as_ref().map(|m| f("mailbox", m)),
            },
        }
    }
}

/// Reads `[[routes]]`. Entries that could not be read are `None`, so the
/// indices of the others stay those of the file.
pub(crate) fn read_routes(r: &mut Reader, root: &mut Table) -> Option<Vec<Option<RouteConfig>>> {
    let tables = r.array_of_tables(root, "routes")?;
    Some(
        tables
            .into_iter()
            .map(|table| {
                let mut t = table?;
                let (route, keys_checkable) = read_route(r, &mut t);
                if keys_checkable {
                    r.finish(t);
                }
                route
            })
            .collect(),
    )
}

/// One route, and whether its other keys can be checked (they cannot when
/// the application, which decides the valid parameters, is unknown).
fn read_route(r: &mut Reader, t: &mut Table) -> (Option<RouteConfig>, bool) {
    let pattern = r.required_string(t, "match");
    let Some(app) = r.required_string(t, "app") else {
        return (None, false);
    };
    t.set_context(format!("for app `{app}`"));
    let application = match app.as_str() {
        "echo" => Some(Application::Echo),
        "play" => required_param(r, t, "prompt").map(|prompt| Application::Play { prompt }),
        "ivr" => required_param(r, t, "menu").map(|menu| Application::Ivr { menu }),
        "conference" => required_param(r, t, "room").map(|room| Application::Conference { room }),
        "deposit" => {
            required_param(r, t, "mailbox").map(|mailbox| Application::Deposit { mailbox })
        }
        "voicemail" => Some(Application::Voicemail {
            mailbox: r.string(t, "mailbox").filter(|m| !m.trim().is_empty()),
        }),
        "bridge" => required_param(r, t, "target").and_then(|target| {
            let scheme = target.trim_start().to_ascii_lowercase();
            // sips: is reached over TLS (RFC 3261 §26.2).
            if scheme.starts_with("sip:") || scheme.starts_with("sips:") {
                Some(Application::Bridge { target })
            } else {
                let path = t.key_path("target");
                let line = r.line_of_key(&path);
                r.invalid(
                    path,
                    line,
                    "must be a sip: or sips: URI (e.g. sip:$1@192.0.2.10:5060)",
                );
                None
            }
        }),
        _ => {
            let path = t.key_path("app");
            let line = r.line_of_key(&path);
            r.invalid(
                path,
                line,
                format!(
                    "unknown app `{app}`; known: {}",
                    Application::<String>::NAMES.join(", ")
                ),
            );
            return (None, false);
        }
    };
    let ring_ms = r.integer::<u32>(t, "ring_ms").unwrap_or(0);
    let srtp = read_srtp_overrides(r, t);
    let (codecs, no_answer_ms, dtmf) = if app == "bridge" {
        let codecs = read_codecs(r, t);
        let no_answer_ms = r.integer::<u32>(t, "no_answer_ms");
        (codecs, no_answer_ms, read_dtmf_mode(r, t))
    } else {
        (None, None, DtmfMode::Rfc4733)
    };
    let route = pattern
        .zip(application)
        .map(|(pattern, application)| RouteConfig {
            ring_ms,
            codecs,
            no_answer_ms,
            dtmf,
            srtp,
            ..RouteConfig::new(pattern, application)
        });
    (route, true)
}

/// The `dtmf` key of a bridge route; absent means telephone-event.
fn read_dtmf_mode(r: &mut Reader, t: &mut Table) -> DtmfMode {
    let Some(name) = r.string(t, "dtmf") else {
        return DtmfMode::Rfc4733;
    };
    DtmfMode::from_name(&name).unwrap_or_else(|| {
        let path = t.key_path("dtmf");
        let line = r.line_of_key(&path);
        r.invalid(
            path,
            line,
            format!("unknown `{name}`; known: {}", DtmfMode::NAMES.join(", ")),
        );
        DtmfMode::Rfc4733
    })
}

/// A parameter every route of its application must give, not empty.
fn required_param(r: &mut Reader, t: &mut Table, key: &'static str) -> Option<String> {
    let value = r.required_string(t, key)?;
    if value.trim().is_empty() {
        let path = t.key_path(key);
        let line = r.line_of_key(&path);
        r.invalid(path, line, "must not be empty");
        return None;
    }
    Some(value)
}
