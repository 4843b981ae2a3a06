//! Loading whole configuration files: defaults, error reports, overrides.

use std::path::{Path, PathBuf};

use super::*;
use crate::codec::kind::CodecKind;
use crate::media::session::RtpLatching;
use crate::routing::DialPlan;

/// `[prompts] dir` pointing at an existing folder, so that files under test
/// pass the folder check wherever the tests run.
fn prompts_section(dir: &Path) -> String {
    format!("[prompts]\ndir = '{}'\n", dir.display())
}

pub(super) fn overrides_with_prompts(dir: &Path) -> ConfigOverrides {
    ConfigOverrides {
        prompts_dir: Some(dir.to_path_buf()),
        ..ConfigOverrides::default()
    }
}

/// The repository's prompts folder, which holds every prompt the menus of
/// the default and example configurations name.
pub(super) fn shipped_prompts() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts"))
}

/// (key, kind, line) of each problem, the parts tests pin down exactly.
pub(super) fn summary(
    errors: &ConfigErrors,
) -> Vec<(Option<&str>, ConfigErrorKind, Option<usize>)> {
    errors
        .iter()
        .map(|e| (e.key.as_deref(), e.kind, e.line))
        .collect()
}

#[test]
fn embedded_default_parses_and_validates() {
    // The embedded default's demo menus name shipped prompts.
    let prompts = shipped_prompts();
    let config = Config::load_with_overrides(None, &overrides_with_prompts(prompts)).unwrap();
    assert_eq!(config.sip.udp_listen, "0.0.0.0:5060".parse().unwrap());
    assert_eq!(config.sip.tcp_listen, "0.0.0.0:5060".parse().unwrap());
    assert_eq!(config.sip.advertise_address, None);
    assert_eq!(config.http.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.storage.data_dir, PathBuf::from("./data"));
    assert_eq!(config.media.rtp_port_min, 20000);
    assert_eq!(
        config.media.codecs,
        vec![CodecKind::Pcmu, CodecKind::Pcma, CodecKind::TelephoneEvent]
    );
    assert_eq!(config.prompts.dir, prompts);

    let plan = DialPlan::compile(&config.routes).unwrap();
    assert_eq!(plan.route("echo").unwrap().application, Application::Echo);
    assert_eq!(
        plan.route("play-welcome").unwrap().application,
        Application::Play {
            prompt: "welcome".to_string()
        }
    );
    assert_eq!(
        plan.route("conf-1").unwrap().application,
        Application::Conference {
            room: "1".to_string()
        }
    );
    assert_eq!(
        plan.route("vm-1").unwrap().application,
        Application::Deposit {
            mailbox: "1".to_string()
        }
    );
    assert_eq!(
        plan.route("voicemail").unwrap().application,
        Application::Voicemail { mailbox: None }
    );
}

#[test]
fn embedded_default_checks_the_repository_prompts_folder() {
    // The default's relative `./prompts` resolves against the working
    // directory, which for tests is the crate root.
    let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    match Config::embedded_default() {
        Ok(config) => assert!(prompts.is_dir(), "{}", config.origin()),
        Err(errors) => {
            assert!(!prompts.is_dir(), "{errors}");
            let dir_line = EMBEDDED_DEFAULT_TOML
                .lines()
                .position(|line| line.starts_with("dir = "))
                .map(|index| index + 1);
            assert_eq!(
                summary(&errors),
                vec![(Some("prompts.dir"), ConfigErrorKind::InvalidValue, dir_line)]
            );
            assert!(
                errors
                    .to_string()
                    .ends_with("prompts.dir: folder `./prompts` does not exist"),
                "{errors}"
            );
        }
    }
}

#[test]
fn absent_keys_take_the_values_of_default_toml() {
    // The embedded default's demo menus name shipped prompts.
    let prompts = shipped_prompts();
    let from_empty = Config::from_toml_str(&prompts_section(prompts), "empty.toml").unwrap();
    let embedded = Config::load_with_overrides(None, &overrides_with_prompts(prompts)).unwrap();
    assert_eq!(from_empty.sip, embedded.sip);
    assert_eq!(from_empty.media, embedded.media);
    assert_eq!(from_empty.http, embedded.http);
    assert_eq!(from_empty.storage, embedded.storage);
    assert_eq!(from_empty.prompts, embedded.prompts);
    assert_eq!(from_empty.limits, embedded.limits);
    assert_eq!(from_empty.routes, embedded.routes);
    assert_eq!(embedded.routes.len(), 7);
    assert_eq!(from_empty.voicemail, embedded.voicemail);
}

#[test]
fn empty_routes_array_empties_the_dial_plan() {
    let prompts = tempfile::tempdir().unwrap();
    let text = format!("routes = []\n{}", prompts_section(prompts.path()));
    let config = Config::from_toml_str(&text, "t.toml").unwrap();
    assert!(config.routes.is_empty());
}

#[test]
fn example_full_is_valid_and_matches_the_defaults() {
    // The embedded default's demo menus name shipped prompts.
    let prompts = shipped_prompts();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example-full.toml");
    let example =
        Config::load_with_overrides(Some(&path), &overrides_with_prompts(prompts)).unwrap();
    let embedded = Config::load_with_overrides(None, &overrides_with_prompts(prompts)).unwrap();
    assert_eq!(example.sip, embedded.sip);
    assert_eq!(example.media, embedded.media);
    assert_eq!(example.limits, embedded.limits);
    assert_eq!(example.routes[..7], embedded.routes[..]);
    assert_eq!(example.voicemail, embedded.voicemail);
    let plan = DialPlan::compile(&example.routes).unwrap();
    let target = plan.route("1000").unwrap();
    assert_eq!(target.route_index, 7);
    assert_eq!(target.ring, std::time::Duration::from_millis(2000));
    assert_eq!(plan.route("echo").unwrap().ring, std::time::Duration::ZERO);
    let gateway = plan.route("0123").unwrap();
    assert_eq!(
        gateway.application,
        Application::Bridge {
            target: "sip:0123@192.0.2.10:5060".into()
        }
    );
    assert_eq!(gateway.codecs, Some(vec![CodecKind::Pcma]));
    assert_eq!(gateway.dtmf, crate::config::DtmfMode::Info);
    assert_eq!(
        gateway.no_answer,
        Some(std::time::Duration::from_millis(45_000))
    );
}

#[test]
fn bad_bridge_routes_are_reported_with_their_keys() {
    let prompts = tempfile::tempdir().unwrap();
    let text = format!(
        "[[routes]]\nmatch = \"^a$\"\napp = \"bridge\"\ntarget = \"tel:123\"\n\
         [[routes]]\nmatch = \"^b$\"\napp = \"bridge\"\ntarget = \"sip:b@127.0.0.1\"\n\
         codecs = [\"telephone-event\"]\nno_answer_ms = 5\n\
         [[routes]]\nmatch = \"^c$\"\napp = \"bridge\"\n\
         [[routes]]\nmatch = \"^d$\"\napp = \"echo\"\ntarget = \"sip:d@127.0.0.1\"\n\
         [[routes]]\nmatch = \"^e$\"\napp = \"bridge\"\ntarget = \"sip:e@127.0.0.1\"\ndtmf = \"fax\"\n\
         [[routes]]\nmatch = \"^f$\"\napp = \"bridge\"\ntarget = \"sip:f@127.0.0.1\"\n\
         codecs = [\"PCMU\", \"telephone-event\"]\ndtmf = \"info\"\n{}",
        prompts_section(prompts.path())
    );
    let errors = Config::from_toml_str(&text, "t.toml").unwrap_err();
    let mut keys = errors.keys();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            Some("routes[0].target"),
            Some("routes[1].codecs"),
            Some("routes[1].no_answer_ms"),
            Some("routes[2].target"),
            Some("routes[3].target"),
            Some("routes[4].dtmf"),
            Some("routes[5].dtmf"),
        ]
    );
}

#[test]
fn a_bad_ring_time_is_reported_with_its_key() {
    let prompts = tempfile::tempdir().unwrap();
    let text = format!(
        "[[routes]]\nmatch = \"^x$\"\napp = \"echo\"\nring_ms = -5\n{}",
        prompts_section(prompts.path())
    );
    let errors = Config::from_toml_str(&text, "t.toml").unwrap_err();
    assert_eq!(errors.keys(), vec![Some("routes[0].ring_ms")]);
}

#[test]
fn rtp_latching_is_one_of_its_policies() {
    let prompts = tempfile::tempdir().unwrap();
    let with = |value: &str| {
        format!(
            "[media]\nrtp_latching = \"{value}\"\n{}",
            prompts_section(prompts.path())
        )
    };
    let config = Config::from_toml_str(&with("strict"), "t.toml").unwrap();
    assert_eq!(config.media.rtp_latching, RtpLatching::Strict);
    let errors = Config::from_toml_str(&with("comedia"), "t.toml").unwrap_err();
    assert_eq!(errors.keys(), vec![Some("media.rtp_latching")]);
    assert!(
        errors.to_string().contains("\"strict\", \"nat\", \"any\""),
        "{errors}"
    );
}

const MANY_PROBLEMS: &str = r#"storage = "not a table"
debug = true

[sip]
udp_listen = "0.0.0.0"
t1_ms = "500"
colour = "blue"

[media]
rtp_port_min = 20001
rtp_port_max = 20001
codecs = ["PCMU", "G729", "telephone-event"]
ptime_ms = 25
workerz = 4

[http]
listen = "localhost:8080"

[prompts]
dir = "/nonexistent/mediaplane/prompts"

[limits]
max_calls = -1

[[routes]]
match = "^echo$"
app = "echo"
prompt = "x"

[[routes]]
match = "^play-(?P<name>[a-z]+$"
app = "play"
prompt = "${name}"

[[routes]]
match = "^vm-([0-9]+)$"
app = "voicemail-typo"
mailbox = "$1"

[[routes]]
match = "^say-(?P<word>[a-z]+)$"
app = "play"

[[routes]]
match = "^p-(?P<n>[a-z]+)$"
app = "play"
prompt = "${name}"
"#;

#[test]
fn every_problem_is_reported_with_its_key_and_line() {
    use ConfigErrorKind::*;
    let errors = Config::from_toml_str(MANY_PROBLEMS, "many.toml").unwrap_err();
    assert_eq!(
        summary(&errors),
        vec![
            (Some("storage"), WrongType, Some(1)),
            (Some("debug"), UnknownKey, Some(2)),
            (Some("sip.udp_listen"), InvalidValue, Some(5)),
            (Some("sip.t1_ms"), WrongType, Some(6)),
            (Some("sip.colour"), UnknownKey, Some(7)),
            (Some("media.rtp_port_min"), InvalidValue, Some(10)),
            (Some("media.rtp_port_max"), InvalidValue, Some(11)),
            (Some("media.codecs[1]"), InvalidValue, Some(12)),
            (Some("media.ptime_ms"), InvalidValue, Some(13)),
            (Some("media.workerz"), UnknownKey, Some(14)),
            (Some("http.listen"), InvalidValue, Some(17)),
            (Some("prompts.dir"), InvalidValue, Some(20)),
            (Some("limits.max_calls"), InvalidValue, Some(23)),
            (Some("routes[0].prompt"), UnknownKey, Some(28)),
            (Some("routes[1].match"), InvalidValue, Some(31)),
            (Some("routes[2].app"), InvalidValue, Some(37)),
            (Some("routes[3].prompt"), MissingKey, Some(40)),
            (Some("routes[4].prompt"), InvalidValue, Some(47)),
        ],
        "{errors}"
    );
    let text = errors.to_string();
    assert_eq!(text.lines().count(), errors.len());
    assert!(
        text.lines().all(|line| line.starts_with("many.toml:")),
        "{text}"
    );
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(messages[3], "expected an integer, found string");
    assert!(
        messages[7].contains("unknown codec `G729`"),
        "{}",
        messages[7]
    );
    assert!(
        messages[15].contains("unknown app `voicemail-typo`"),
        "{}",
        messages[15]
    );
    assert!(messages[13].contains("for app `echo`"), "{}", messages[13]);
    assert_eq!(messages[12], "expected a non-negative integer, found -1");
}

#[test]
fn syntax_errors_are_all_reported_with_their_lines() {
    let text = "[sip]\nt1_ms = = 5\n\n[media]\ncodecs = [\"PCMU\"\nptime_ms = 20\n";
    let errors = Config::from_toml_str(text, "broken.toml").unwrap_err();
    assert_eq!(
        summary(&errors),
        vec![
            (None, ConfigErrorKind::Syntax, Some(2)),
            (None, ConfigErrorKind::Syntax, Some(6)),
        ],
        "{errors}"
    );
    assert_eq!(errors.to_string().lines().count(), 2);
}

#[test]
fn checks_that_span_keys_skip_unreadable_values() {
    let prompts = tempfile::tempdir().unwrap();
    // rtp_port_min is unreadable; its default (20000) must not make the
    // range look inverted against rtp_port_max = 10001.
    let text = format!(
        "[media]\nrtp_port_min = 'x'\nrtp_port_max = 10001\n{}",
        prompts_section(prompts.path())
    );
    let errors = Config::from_toml_str(&text, "t.toml").unwrap_err();
    assert_eq!(errors.keys(), vec![Some("media.rtp_port_min")]);
}

#[test]
fn port_range_and_codec_rules() {
    let prompts = tempfile::tempdir().unwrap();
    let check = |media: &str| {
        let text = format!("[media]\n{media}\n{}", prompts_section(prompts.path()));
        match Config::from_toml_str(&text, "t.toml") {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| e.key.clone().unwrap_or_default())
                .collect(),
        }
    };
    assert_eq!(
        check("rtp_port_min = 20000\nrtp_port_max = 20003"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("rtp_port_min = 20000\nrtp_port_max = 20002"),
        vec!["media.rtp_port_max"]
    );
    assert_eq!(
        check("rtp_port_min = 20000\nrtp_port_max = 19000"),
        vec!["media.rtp_port_max"]
    );
    assert_eq!(
        check("rtp_port_min = 0\nrtp_port_max = 100"),
        vec!["media.rtp_port_min"]
    );
    assert_eq!(check("codecs = ['telephone-event']"), vec!["media.codecs"]);
    assert_eq!(check("codecs = []"), vec!["media.codecs"]);
    assert_eq!(check("codecs = ['pcma', 'PCMA']"), vec!["media.codecs[1]"]);
    assert_eq!(
        check("codecs = ['opus', 'PCMU', 'telephone-event']"),
        Vec::<String>::new()
    );
    assert_eq!(check("codecs = ['OPUS']"), Vec::<String>::new());
    assert_eq!(check("ptime_ms = 0"), vec!["media.ptime_ms"]);
    assert_eq!(check("ptime_ms = 70"), vec!["media.ptime_ms"]);
    assert_eq!(check("ptime_ms = 60"), Vec::<String>::new());
    assert_eq!(check("moh_prompt = ''"), Vec::<String>::new());
    assert_eq!(check("moh_prompt = 'moh/jazz'"), Vec::<String>::new());
    assert_eq!(check("moh_prompt = '../moh'"), vec!["media.moh_prompt"]);
    assert_eq!(
        check("rtp_port_min = 5000\nrtp_port_max = 5100"),
        vec!["media.rtp_port_min"]
    );
}

#[test]
fn relative_paths_are_kept_as_written() {
    let prompts = tempfile::tempdir().unwrap();
    let text = format!(
        "[storage]\ndata_dir = 'var/mp'\n{}",
        prompts_section(prompts.path())
    );
    let config = Config::from_toml_str(&text, "t.toml").unwrap();
    assert_eq!(config.storage.data_dir, PathBuf::from("var/mp"));
}

#[test]
fn g722_is_a_configurable_codec() {
    let prompts = tempfile::tempdir().unwrap();
    let text = format!(
        "[media]\ncodecs = [\"G722\", \"pcmu\", \"telephone-event\"]\n{}",
        prompts_section(prompts.path())
    );
    let config = Config::from_toml_str(&text, "t.toml").unwrap();
    assert_eq!(
        config.media.codecs,
        vec![CodecKind::G722, CodecKind::Pcmu, CodecKind::TelephoneEvent]
    );
}

#[test]
fn the_prompt_rescan_interval_is_read_and_bounded() {
    let prompts = tempfile::tempdir().unwrap();
    let read = |value: &str| {
        let text = format!(
            "[prompts]\ndir = '{}'\nreload_s = {value}\n",
            prompts.path().display()
        );
        Config::from_toml_str(&text, "t.toml")
    };
    assert_eq!(read("0").unwrap().prompts.reload_s, 0);
    assert_eq!(read("30").unwrap().prompts.reload_s, 30);
    assert_eq!(
        read("4000").unwrap_err().keys(),
        vec![Some("prompts.reload_s")]
    );
    assert_eq!(
        read("-1").unwrap_err().keys(),
        vec![Some("prompts.reload_s")]
    );
}
