//! `srtp`, `srtp_suites` and `srtp_require_secure_signalling`: the SDES-SRTP
//! policy (RFC 4568) of `[media]` (the default) and of each `[[routes]]`
//! and `[[users]]` entry (overrides of that default).

use super::reader::{Reader, Table};
use crate::media::srtp::SrtpSuite;

/// Whether a leg carries SRTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SrtpMode {
    /// Plain RTP only: an `RTP/SAVP` offer is refused with 488.
    Off,
    /// Either: an `RTP/SAVP` offer is answered with SRTP, an `RTP/AVP` one
    /// with plain RTP; our own offers are plain `RTP/AVP` (no best-effort
    /// SRTP in `RTP/AVP`).
    #[default]
    Optional,
    /// SRTP only: an `RTP/AVP` offer is refused with 488; our own offers
    /// are `RTP/SAVP`.
    Mandatory,
}

impl SrtpMode {
    /// The names accepted by the `srtp` key.
    pub const NAMES: [&'static str; 3] = ["off", "optional", "mandatory"];

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "off" => Some(SrtpMode::Off),
            "optional" => Some(SrtpMode::Optional),
            "mandatory" => Some(SrtpMode::Mandatory),
            _ => None,
        }
    }
}

/// The SRTP policy of a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrtpPolicy {
    pub mode: SrtpMode,
    /// Suites offered and accepted, in our preference order.
    pub suites: Vec<SrtpSuite>,
    /// SDES keys travel in the SDP in clear (RFC 4568 §8.3): only offer or
    /// accept them when the SIP came over TLS.
    pub require_secure_signalling: bool,
}

impl Default for SrtpPolicy {
    fn default() -> Self {
        SrtpPolicy {
            mode: SrtpMode::Optional,
            suites: SrtpSuite::OFFER_ORDER.to_vec(),
            require_secure_signalling: true,
        }
    }
}

/// The keys of a route or user entry: each absent one keeps the `[media]`
/// value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SrtpOverrides {
    pub mode: Option<SrtpMode>,
    pub suites: Option<Vec<SrtpSuite>>,
    pub require_secure_signalling: Option<bool>,
}

impl SrtpOverrides {
    /// `base` with these keys applied.
    pub fn apply(&self, base: &SrtpPolicy) -> SrtpPolicy {
        SrtpPolicy {
            mode: self.mode.unwrap_or(base.mode),
            suites: self.suites.clone().unwrap_or_else(|| base.suites.clone()),
            require_secure_signalling: self
                .require_secure_signalling
                .unwrap_or(base.require_secure_signalling),
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &SrtpOverrides::default()
    }
}

/// Reads the three keys of one table; bad values are reported by key.
pub(crate) fn read_srtp_overrides(r: &mut Reader, t: &mut Table) -> SrtpOverrides {
    let mode = r.string(t, "srtp").and_then(|name| {
        SrtpMode::from_name(&name).or_else(|| {
            let path = t.key_path("srtp");
            let line = r.line_of_key(&path);
            r.invalid(
                path,
                line,
                format!("unknown `{name}`; known: {}", SrtpMode::NAMES.join(", ")),
            );
            None
        })
    });
    let suites = read_suites(r, t);
    let require_secure_signalling = r.boolean(t, "srtp_require_secure_signalling");
    SrtpOverrides {
        mode,
        suites,
        require_secure_signalling,
    }
}

/// `[media]`: the default policy.
pub(crate) fn read_srtp_policy(r: &mut Reader, t: &mut Table) -> SrtpPolicy {
    read_srtp_overrides(r, t).apply(&SrtpPolicy::default())
}

fn read_suites(r: &mut Reader, t: &mut Table) -> Option<Vec<SrtpSuite>> {
    let names = r.string_list(t, "srtp_suites")?;
    let path = t.key_path("srtp_suites");
    let line = r.line_of_key(&path);
    let known = || {
        SrtpSuite::OFFER_ORDER
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if names.is_empty() {
        r.invalid(
            path,
            line,
            format!("must name at least one suite of {}", known()),
        );
        return None;
    }
    let mut suites = Vec::with_capacity(names.len());
    let mut all_known = true;
    for (index, name) in names.iter().enumerate() {
        match name.parse::<SrtpSuite>() {
            Ok(suite) if !suites.contains(&suite) => suites.push(suite),
            Ok(_) => {}
            Err(_) => {
                all_known = false;
                r.invalid(
                    format!("{path}[{index}]"),
                    line,
                    format!("unknown crypto-suite `{name}`; known: {}", known()),
                );
            }
        }
    }
    if !all_known {
        r.failed.insert(path);
        return None;
    }
    Some(suites)
}
