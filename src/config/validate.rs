//! Checks on the typed configuration: values in range, keys consistent with
//! each other, folders that must exist, and the dial plan.

use std::collections::HashSet;
use std::net::SocketAddr;

use super::error::ConfigError;
use super::menus::MenuConfig;
use super::menus_check::{check_menus, MenuContext};
use super::routes::{DtmfMode, RouteConfig};
use super::users::{check_users, UserConfig};
use super::Config;
use crate::codec::CodecKind;
use crate::prompts::is_valid_prompt_name;
use crate::sip::dialog::uri_transport;
use crate::sip::peer::Transport;

/// The shortest RTCP report interval allowed: shorter only loads the
/// network and the peer (RFC 3550 §6.2 recommends 5 s; tests go faster).
const MIN_RTCP_INTERVAL_MS: u32 = 100;
use crate::routing::check_route;
use crate::sip::tls::{TlsFile, TlsIdentity, TrustedCertificates};

/// Collects failed checks, skipping any that involve a key whose value could
/// not be read (its default would produce a misleading second complaint).
struct Checks<'a> {
    failed: &'a HashSet<String>,
    problems: Vec<ConfigError>,
}

impl Checks<'_> {
    /// `keys[0]` is the key the problem is reported on; the others are keys
    /// the check also depends on.
    fn require(&mut self, keys: &[&str], ok: bool, message: impl FnOnce() -> String) {
        if ok || keys.iter().any(|k| self.failed.contains(*k)) {
            return;
        }
        self.problems.push(ConfigError::invalid(keys[0], message()));
    }
}

/// Every problem of `config`. `routes`, `users` and `menus` are the entries
/// with their index in the file (entries that could not be read at all are
/// left out).
pub(crate) fn check_config<'r, 'u, 'm>(
    config: &Config,
    routes: impl IntoIterator<Item = (usize, &'r RouteConfig)>,
    users: impl IntoIterator<Item = (usize, &'u UserConfig)>,
    menus: impl IntoIterator<Item = (usize, &'m MenuConfig)>,
    failed: &HashSet<String>,
) -> Vec<ConfigError> {
    let routes: Vec<(usize, &RouteConfig)> = routes.into_iter().collect();
    let mut checks = Checks {
        failed,
        problems: Vec::new(),
    };
    check_sip(&mut checks, config);
    check_tls(&mut checks, config);
    check_media(&mut checks, config);
    check_paths(&mut checks, config);
    let limits = &config.limits;
    checks.require(&["limits.max_calls"], limits.max_calls >= 1, || {
        "must be at least 1".into()
    });
    checks.require(
        &["limits.retry_after_s"],
        (1..=3600).contains(&limits.retry_after_s),
        || format!("{} is out of range 1..=3600", limits.retry_after_s),
    );
    for &(index, route) in &routes {
        checks.problems.extend(check_route(index, route));
        if let Some(codecs) = &route.codecs {
            let key = format!("routes[{index}].codecs");
            checks.require(&[&key], codecs.iter().any(|c| c.is_audio()), || {
                "lists no audio codec (telephone-event alone carries no audio)".into()
            });
        }
        if let (Some(codecs), true) = (&route.codecs, route.dtmf != DtmfMode::Rfc4733) {
            let key = format!("routes[{index}].dtmf");
            let codecs_key = format!("routes[{index}].codecs");
            checks.require(
                &[&key, &codecs_key],
                !codecs.contains(&CodecKind::TelephoneEvent),
                || "keys go by INFO or as tones: remove telephone-event from codecs".into(),
            );
        }
        if let super::Application::Bridge { target } = &route.application {
            // Our Via and Contact on a TLS leg name our TLS port: the far
            // end sends its requests there (RFC 3261 §26.3.2.2).
            let key = format!("routes[{index}].target");
            checks.require(
                &[&key, "sip.tls_listen"],
                uri_transport(target) != Transport::Tls || config.sip.tls_listen.is_some(),
                || format!("{target} is reached over TLS: set sip.tls_listen, where its requests come back"),
            );
        }
        if let Some(ms) = route.no_answer_ms {
            let key = format!("routes[{index}].no_answer_ms");
            checks.require(&[&key], (1000..=600_000).contains(&ms), || {
                format!("{ms} must be from 1000 to 600000")
            });
        }
    }
    checks.problems.extend(config.registrar.check(failed));
    checks.problems.extend(check_users(users, failed));
    let menus: Vec<(usize, &MenuConfig)> = menus.into_iter().collect();
    if !menus.is_empty() || routes.iter().any(|(_, r)| r.application.name() == "ivr") {
        checks
            .problems
            .extend(check_all_menus(config, &menus, &routes, failed));
    }
    checks.problems
}

fn check_all_menus(
    config: &Config,
    menus: &[(usize, &MenuConfig)],
    routes: &[(usize, &RouteConfig)],
    failed: &HashSet<String>,
) -> Vec<ConfigError> {
    let prompts = &config.prompts;
    // Listed once for all menus; file names only, nothing is decoded.
    let names = crate::prompts::prompt_names(&prompts.dir, &prompts.language);
    // An entry that could not be read might be the menu a name refers to,
    // or the route that reaches one.
    let complete = !failed.iter().any(|key| {
        key == "menus"
            || key == "routes"
            || key.starts_with("routes[")
            || key
                .strip_prefix("menus[")
                .and_then(|rest| rest.split_once(']'))
                .is_some_and(|(_, rest)| rest.is_empty() || rest == ".name")
    });
    let context = MenuContext {
        prompts: names.as_ref(),
        prompts_where: format!(
            "{}/{} or {}",
            prompts.dir.display(),
            prompts.language,
            prompts.dir.display()
        ),
        routes,
        complete,
        failed,
    };
    check_menus(menus, &context)
}

fn check_sip(checks: &mut Checks, config: &Config) {
    let sip = &config.sip;
    checks.require(&["sip.t1_ms"], (1..=60_000).contains(&sip.t1_ms), || {
        format!("{} is out of range 1..=60000", sip.t1_ms)
    });
    checks.require(
        &["sip.max_message_bytes"],
        (1024..=1_048_576).contains(&sip.max_message_bytes),
        || format!("{} is out of range 1024..=1048576", sip.max_message_bytes),
    );
    // The value goes verbatim into a header line.
    checks.require(
        &["sip.user_agent"],
        !sip.user_agent.chars().any(char::is_control),
        || "must not contain control characters (line breaks would split the header)".into(),
    );
    checks.require(
        &["http.listen", "sip.tcp_listen"],
        !same_socket(config.http.listen, sip.tcp_listen),
        || format!("{} is also sip.tcp_listen", config.http.listen),
    );
}

/// The TLS listener and its files (RFC 3261 §26.3.1: the server presents a
/// certificate). The files are read and checked here, so that a server that
/// starts on a valid configuration has a usable certificate and key.
fn check_tls(checks: &mut Checks, config: &Config) {
    let sip = &config.sip;
    let (cert, key) = (&sip.tls_certificate, &sip.tls_private_key);
    let wanted_by = if sip.tls_listen.is_some() {
        Some("sip.tls_listen")
    } else if cert.is_some() || key.is_some() {
        Some("the other TLS file")
    } else {
        None
    };
    if let Some(wanted_by) = wanted_by {
        checks.require(&["sip.tls_certificate", "sip.tls_listen"], cert.is_some(), || {
            format!("required with {wanted_by}: the PEM certificate chain the TLS listener presents")
        });
        checks.require(
            &["sip.tls_private_key", "sip.tls_listen"],
            key.is_some(),
            || format!("required with {wanted_by}: the PEM private key of sip.tls_certificate"),
        );
    }
    if let Some(tls) = sip.tls_listen {
        checks.require(
            &["sip.tls_listen", "sip.tcp_listen"],
            !same_socket(tls, sip.tcp_listen),
            || format!("{tls} is also sip.tcp_listen (TLS needs a port of its own, usually 5061)"),
        );
        checks.require(
            &["sip.tls_listen", "http.listen"],
            !same_socket(tls, config.http.listen),
            || format!("{tls} is also http.listen"),
        );
    }
    // The CA certificates of outgoing TLS: read here too, so that a bad
    // file is reported on its key rather than at the first call.
    if let Some(trusted) = &sip.tls_trusted_certificates {
        if let Err(e) = TrustedCertificates::load(trusted) {
            checks.require(&["sip.tls_trusted_certificates"], false, || e.to_string());
        }
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return;
    };
    if let Err(e) = TlsIdentity::load(cert, key) {
        let at = match e.file() {
            TlsFile::Certificate => "sip.tls_certificate",
            TlsFile::PrivateKey => "sip.tls_private_key",
        };
        checks.require(&[at], false, || e.to_string());
    }
}

/// Two listeners that would collide on one port (port 0 picks a free one).
fn same_socket(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

fn check_media(checks: &mut Checks, config: &Config) {
    let media = &config.media;
    let (min, max) = (media.rtp_port_min, media.rtp_port_max);
    checks.require(
        &["media.rtp_port_min"],
        min > 0 && min.is_multiple_of(2),
        || {
            format!(
                "{min} must be an even port above 0: RTP takes even ports, RTCP the odd one above"
            )
        },
    );
    checks.require(
        &["media.rtp_port_max", "media.rtp_port_min"],
        max > min,
        || format!("{max} is not above rtp_port_min ({min})"),
    );
    checks.require(
        &["media.rtp_port_max", "media.rtp_port_min"],
        max <= min || media.rtp_port_pairs() >= 2,
        || format!("the range {min}-{max} holds fewer than 2 RTP/RTCP port pairs"),
    );
    let sip_port = config.sip.udp_listen.port();
    checks.require(
        &["media.rtp_port_min", "media.rtp_port_max", "sip.udp_listen"],
        !(min..=max).contains(&sip_port)
            || !(media.bind_address == config.sip.udp_listen.ip()
                || media.bind_address.is_unspecified()
                || config.sip.udp_listen.ip().is_unspecified()),
        || format!("the range {min}-{max} contains the SIP UDP port {sip_port}"),
    );
    checks.require(&["media.workers"], media.workers <= 1024, || {
        format!("{} is more than 1024 (0 = one per core)", media.workers)
    });
    checks.require(
        &["media.codecs"],
        media.codecs.iter().any(|c| c.is_audio()),
        || "lists no audio codec (telephone-event alone carries no audio)".into(),
    );
    for (index, codec) in media.codecs.iter().enumerate() {
        let key = format!("media.codecs[{index}]");
        checks.require(
            &[&key, "media.codecs"],
            !media.codecs[..index].contains(codec),
            || format!("{} is listed twice", codec.encoding_name()),
        );
    }
    let ptime = media.ptime_ms;
    checks.require(
        &["media.ptime_ms"],
        (10..=60).contains(&ptime) && ptime.is_multiple_of(10),
        || format!("{ptime} must be a multiple of 10 from 10 to 60"),
    );
    checks.require(
        &["media.jitter_delay_ms"],
        media.jitter_delay_ms <= 1000,
        || format!("{} is more than 1000", media.jitter_delay_ms),
    );
    checks.require(
        &["media.rtcp_interval_ms"],
        (MIN_RTCP_INTERVAL_MS..=60_000).contains(&media.rtcp_interval_ms),
        || {
            format!(
                "{} is not from {MIN_RTCP_INTERVAL_MS} to 60000",
                media.rtcp_interval_ms
            )
        },
    );
    checks.require(
        &["media.media_timeout_s"],
        media.media_timeout_s >= 1,
        || "must be at least 1".into(),
    );
    // A name looked up in the catalogue, like a `play` route's prompt.
    let moh = &media.moh_prompt;
    checks.require(
        &["media.moh_prompt"],
        moh.is_empty() || is_valid_prompt_name(moh),
        || {
            format!(
                "`{moh}` is not a prompt name (parts of `A-Z a-z 0-9 _ -` joined by `/`; \"\" = silence)"
            )
        },
    );
}

fn check_paths(checks: &mut Checks, config: &Config) {
    checks.require(
        &["storage.data_dir"],
        !config.storage.data_dir.as_os_str().is_empty(),
        || "must not be empty".into(),
    );
    let prompts = &config.prompts;
    // Relative paths resolve against the working directory, as at run time.
    checks.require(&["prompts.dir"], prompts.dir.is_dir(), || {
        format!("folder `{}` does not exist", prompts.dir.display())
    });
    // The language names a sub-folder of prompts, so it must stay one path component.
    let language = &prompts.language;
    checks.require(
        &["prompts.language"],
        !language.is_empty()
            && language
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        || format!("`{language}` is not a language tag (letters, digits, `-`, `_`)"),
    );
    checks.require(&["prompts.reload_s"], prompts.reload_s <= 3600, || {
        format!("{} is more than 3600 (0 = never rescan)", prompts.reload_s)
    });
}
