//! The configuration sections, their defaults (the same values as
//! config/default.toml) and how each is read from its TOML table.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::reader::{Reader, Table};
use super::srtp::{read_srtp_policy, SrtpPolicy};
use crate::codec::kind::CodecKind;
use crate::media::session::{RtpLatching, LATCHING_VALUES};

const SOCKET_ADDRESS: &str = "a socket address (IP:PORT, e.g. 0.0.0.0:5060 or [::]:5060)";
const IP_ADDRESS: &str = "an IP address (e.g. 0.0.0.0 or ::)";
/// The CA bundle of Debian-like systems, the default trust of outgoing TLS.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `[sip]`: signalling transports and RFC 3261 parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipConfig {
    pub udp_listen: SocketAddr,
    pub tcp_listen: SocketAddr,
    /// SIP over TLS (RFC 3261 §26); None (absent or empty) = no TLS listener.
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain of the TLS listener, leaf first.
    pub tls_certificate: Option<PathBuf>,
    /// PEM private key of the leaf certificate.
    pub tls_private_key: Option<PathBuf>,
    /// PEM bundle of the CA certificates that servers we connect to over
    /// TLS are verified against; None (empty in TOML) = none, and TLS
    /// targets cannot be reached. Default: the system bundle, if present.
    pub tls_trusted_certificates: Option<PathBuf>,
    /// IP written in Contact and SDP; `None` (empty in TOML) = the local
    /// address that routes to the peer.
    pub advertise_address: Option<IpAddr>,
    /// User-Agent/Server header value; empty = no header.
    pub user_agent: String,
    /// RFC 3261 T1 (round-trip estimate); the other timers derive from it.
    pub t1_ms: u64,
    pub max_message_bytes: usize,
}

impl SipConfig {
    pub fn t1(&self) -> Duration {
        Duration::from_millis(self.t1_ms)
    }

    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = SipConfig::default();
        let advertise_address = match r.string(t, "advertise_address") {
            None => d.advertise_address,
            Some(text) if text.trim().is_empty() => None,
            Some(text) => match text.trim().parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    let path = t.key_path("advertise_address");
                    let line = r.line_of_key(&path);
                    r.invalid(
                        path,
                        line,
                        format!("`{text}` is not {IP_ADDRESS} (leave empty to pick per peer)"),
                    );
                    None
                }
            },
        };
        SipConfig {
            udp_listen: r
                .parsed(t, "udp_listen", SOCKET_ADDRESS)
                .unwrap_or(d.udp_listen),
            tcp_listen: r
                .parsed(t, "tcp_listen", SOCKET_ADDRESS)
                .unwrap_or(d.tcp_listen),
            tls_listen: read_optional_address(r, t, "tls_listen"),
            tls_certificate: read_optional_path(r, t, "tls_certificate"),
            tls_private_key: read_optional_path(r, t, "tls_private_key"),
            // Absent keeps the default; empty says "trust none".
            tls_trusted_certificates: match r.string(t, "tls_trusted_certificates") {
                None => d.tls_trusted_certificates,
                Some(text) if text.trim().is_empty() => None,
                Some(text) => Some(PathBuf::from(text)),
            },
            advertise_address,
            user_agent: r.string(t, "user_agent").unwrap_or(d.user_agent),
            t1_ms: r.integer(t, "t1_ms").unwrap_or(d.t1_ms),
            max_message_bytes: r
                .integer(t, "max_message_bytes")
                .unwrap_or(d.max_message_bytes),
        }
    }
}

/// A socket address that may be left out or empty (= not wanted).
fn read_optional_address(r: &mut Reader, t: &mut Table, key: &'static str) -> Option<SocketAddr> {
    let text = r.string(t, key)?;
    if text.trim().is_empty() {
        return None;
    }
    match text.trim().parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            let path = t.key_path(key);
            let line = r.line_of_key(&path);
            r.invalid(
                path,
                line,
                format!("`{text}` is not {SOCKET_ADDRESS} (leave out or empty for none)"),
            );
            None
        }
    }
}

/// A file path that may be left out or empty (= none).
fn read_optional_path(r: &mut Reader, t: &mut Table, key: &'static str) -> Option<PathBuf> {
    r.string(t, key)
        .filter(|text| !text.trim().is_empty())
        .map(PathBuf::from)
}

impl Default for SipConfig {
    fn default() -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5060);
        SipConfig {
            udp_listen: any,
            tcp_listen: any,
            tls_listen: None,
            tls_certificate: None,
            tls_private_key: None,
            tls_trusted_certificates: Some(PathBuf::from(SYSTEM_CA_BUNDLE))
                .filter(|path| path.is_file()),
            advertise_address: None,
            user_agent: "mediaplane".to_string(),
            t1_ms: 500,
            max_message_bytes: 65535,
        }
    }
}

/// `[media]`: RTP sockets, worker threads and what the media plane offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaConfig {
    pub bind_address: IpAddr,
    /// First RTP port; even (RFC 3550 §11), RTCP takes the odd port above.
    pub rtp_port_min: u16,
    /// Last port of the range, inclusive (RTP or RTCP).
    pub rtp_port_max: u16,
    /// Media worker threads; 0 = one per core (see [`MediaConfig::worker_count`]).
    pub workers: usize,
    /// Codecs offered and accepted, in preference order.
    pub codecs: Vec<CodecKind>,
    pub ptime_ms: u32,
    /// Playout delay the jitter buffer aims for.
    pub jitter_delay_ms: u32,
    /// A leg that receives no RTP this long is hung up with BYE.
    pub media_timeout_s: u32,
    /// The minimum RTCP report interval (RFC 3550 §6.2: 5 s).
    pub rtcp_interval_ms: u32,
    /// Prompt played in a loop to the held party of a bridged call while
    /// the other party holds; empty = silence.
    pub moh_prompt: String,
    /// From where a leg's RTP may be latched (symmetric RTP behind NAT).
    pub rtp_latching: RtpLatching,
    /// `srtp`, `srtp_suites`, `srtp_require_secure_signalling`: the SRTP
    /// policy of legs whose route or user gives none.
    pub srtp: SrtpPolicy,
}

impl MediaConfig {
    /// Worker threads to start, resolving 0 to the number of cores.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// RTP/RTCP port pairs the range holds: (even port, port + 1), both inside.
    pub fn rtp_port_pairs(&self) -> usize {
        let first = usize::from(self.rtp_port_min);
        let end = usize::from(self.rtp_port_max) + 1;
        end.saturating_sub(first) / 2
    }

    pub fn ptime(&self) -> Duration {
        Duration::from_millis(u64::from(self.ptime_ms))
    }

    pub fn jitter_delay(&self) -> Duration {
        Duration::from_millis(u64::from(self.jitter_delay_ms))
    }

    pub fn rtcp_interval(&self) -> Duration {
        Duration::from_millis(u64::from(self.rtcp_interval_ms))
    }

    pub fn media_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.media_timeout_s))
    }

    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = MediaConfig::default();
        MediaConfig {
            bind_address: r
                .parsed(t, "bind_address", IP_ADDRESS)
                .unwrap_or(d.bind_address),
            rtp_port_min: r.integer(t, "rtp_port_min").unwrap_or(d.rtp_port_min),
            rtp_port_max: r.integer(t, "rtp_port_max").unwrap_or(d.rtp_port_max),
            workers: r.integer(t, "workers").unwrap_or(d.workers),
            codecs: read_codecs(r, t).unwrap_or(d.codecs),
            ptime_ms: r.integer(t, "ptime_ms").unwrap_or(d.ptime_ms),
            jitter_delay_ms: r.integer(t, "jitter_delay_ms").unwrap_or(d.jitter_delay_ms),
            media_timeout_s: r.integer(t, "media_timeout_s").unwrap_or(d.media_timeout_s),
            rtcp_interval_ms: r
                .integer(t, "rtcp_interval_ms")
                .unwrap_or(d.rtcp_interval_ms),
            moh_prompt: r.string(t, "moh_prompt").unwrap_or(d.moh_prompt),
            rtp_latching: r
                .parsed(t, "rtp_latching", LATCHING_VALUES)
                .unwrap_or(d.rtp_latching),
            srtp: read_srtp_policy(r, t),
        }
    }
}

/// Codec names, each checked against the codec layer; unknown ones are
/// reported one by one.
pub(crate) fn read_codecs(r: &mut Reader, t: &mut Table) -> Option<Vec<CodecKind>> {
    let names = r.string_list(t, "codecs")?;
    let path = t.key_path("codecs");
    let line = r.line_of_key(&path);
    let mut codecs = Vec::with_capacity(names.len());
    let mut all_known = true;
    for (index, name) in names.iter().enumerate() {
        // A bare "L16" stands for both of its rates.
        match CodecKind::family_from_name(name) {
            Some(family) => codecs.extend_from_slice(family),
            None => {
                all_known = false;
                let known: Vec<_> = CodecKind::ALL
                    .iter()
                    .map(|c| c.config_name())
                    .chain(["L16"])
                    .collect();
                r.invalid(
                    format!("{path}[{index}]"),
                    line,
                    format!("unknown codec `{name}`; known: {}", known.join(", ")),
                );
            }
        }
    }
    if !all_known {
        r.failed.insert(path);
        return None;
    }
    Some(codecs)
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            rtp_port_min: 20000,
            rtp_port_max: 29999,
            workers: 0,
            // The list of config/default.toml, not CodecKind::ALL, so that a
            // codec added to the layer is offered only once configured.
            codecs: vec![CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent],
            ptime_ms: 20,
            jitter_delay_ms: 40,
            media_timeout_s: 60,
            rtcp_interval_ms: 5000,
            moh_prompt: "moh".to_string(),
            rtp_latching: RtpLatching::Nat,
            srtp: SrtpPolicy::default(),
        }
    }
}

/// `[http]`: the admin API and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
}

impl HttpConfig {
    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = HttpConfig::default();
        HttpConfig {
            listen: r.parsed(t, "listen", SOCKET_ADDRESS).unwrap_or(d.listen),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
        }
    }
}

/// `[storage]`: where voicemail and other state live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageConfig {
    /// As written; a relative path is resolved against the working directory.
    pub data_dir: PathBuf,
}

impl StorageConfig {
    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = StorageConfig::default();
        StorageConfig {
            data_dir: r.string(t, "data_dir").map_or(d.data_dir, PathBuf::from),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
        }
    }
}

/// `[prompts]`: the prompt catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptsConfig {
    /// As written; a relative path is resolved against the working directory.
    pub dir: PathBuf,
    pub language: String,
    /// Seconds between rescans of the folder for added, changed or removed
    /// files; 0 = never (load once at start).
    pub reload_s: u32,
}

impl PromptsConfig {
    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = PromptsConfig::default();
        PromptsConfig {
            dir: r.string(t, "dir").map_or(d.dir, PathBuf::from),
            language: r.string(t, "language").unwrap_or(d.language),
            reload_s: r.integer(t, "reload_s").unwrap_or(d.reload_s),
        }
    }
}

impl Default for PromptsConfig {
    fn default() -> Self {
        PromptsConfig {
            dir: PathBuf::from("./prompts"),
            language: "en".to_string(),
            reload_s: 5,
        }
    }
}

/// `[limits]`: admission control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Calls beyond this are refused with 503 and Retry-After.
    pub max_calls: usize,
    pub retry_after_s: u32,
}

impl LimitsConfig {
    pub(crate) fn read(r: &mut Reader, t: &mut Table) -> Self {
        let d = LimitsConfig::default();
        LimitsConfig {
            max_calls: r.integer(t, "max_calls").unwrap_or(d.max_calls),
            retry_after_s: r.integer(t, "retry_after_s").unwrap_or(d.retry_after_s),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_calls: 2000,
            retry_after_s: 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(min: u16, max: u16) -> MediaConfig {
        MediaConfig {
            rtp_port_min: min,
            rtp_port_max: max,
            ..MediaConfig::default()
        }
    }

    #[test]
    fn port_pairs_count_only_complete_pairs() {
        assert_eq!(media(20000, 20003).rtp_port_pairs(), 2);
        assert_eq!(media(20000, 20002).rtp_port_pairs(), 1);
        assert_eq!(media(20000, 29999).rtp_port_pairs(), 5000);
        assert_eq!(media(20002, 20000).rtp_port_pairs(), 0);
    }

    #[test]
    fn zero_workers_means_at_least_one() {
        assert!(MediaConfig::default().worker_count() >= 1);
        let fixed = MediaConfig {
            workers: 3,
            ..MediaConfig::default()
        };
        assert_eq!(fixed.worker_count(), 3);
    }
}

#[cfg(test)]
mod codec_name_tests {
    use crate::codec::CodecKind;
    use crate::config::Config;

    fn codecs(list: &str) -> Result<Vec<CodecKind>, String> {
        let prompts = tempfile::tempdir().map_err(|e| e.to_string())?;
        let text = format!(
            "[media]\ncodecs = [{list}]\n[prompts]\ndir = '{}'\n",
            prompts.path().display()
        );
        Config::from_toml_str(&text, "t.toml")
            .map(|c| c.media.codecs)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn l16_is_named_by_rate_or_as_a_family() {
        assert_eq!(
            codecs("'L16/8000', 'pcmu'"),
            Ok(vec![CodecKind::L16At8000, CodecKind::Pcmu])
        );
        assert_eq!(
            codecs("'l16', 'telephone-event'"),
            Ok(vec![
                CodecKind::L16At16000,
                CodecKind::L16At8000,
                CodecKind::TelephoneEvent
            ])
        );
        let e = codecs("'L16/44100'").unwrap_err();
        assert!(e.contains("unknown codec `L16/44100`"), "{e}");
        assert!(e.contains("L16/16000"), "the known names are listed: {e}");
    }
}
