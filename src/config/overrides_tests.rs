//! Command-line and environment overrides over a loaded file, and the
//! `check-config` report.

use std::path::PathBuf;

use super::tests::{overrides_with_prompts, shipped_prompts, summary};
use super::*;

#[test]
fn overrides_apply_and_are_validated() {
    // The embedded default's demo menus name shipped prompts.
    let prompts = shipped_prompts();
    let mut config = Config::load_with_overrides(None, &overrides_with_prompts(prompts)).unwrap();
    let overrides = ConfigOverrides {
        sip_listen: Some("127.0.0.1:5070".parse().unwrap()),
        http_listen: Some("127.0.0.1:0".parse().unwrap()),
        rtp_ports: Some(PortRange {
            min: 30000,
            max: 30099,
        }),
        workers: Some(2),
        media_timeout_s: Some(5),
        data_dir: Some(PathBuf::from("/tmp/mp-data")),
        advertise_address: Some("192.0.2.7".parse().unwrap()),
        max_calls: Some(10),
        prompts_dir: None,
    };
    overrides.apply(&mut config).unwrap();
    assert_eq!(config.sip.udp_listen, "127.0.0.1:5070".parse().unwrap());
    assert_eq!(config.sip.tcp_listen, "127.0.0.1:5070".parse().unwrap());
    assert_eq!(config.http.listen, "127.0.0.1:0".parse().unwrap());
    assert_eq!(
        (config.media.rtp_port_min, config.media.rtp_port_max),
        (30000, 30099)
    );
    assert_eq!(config.media.workers, 2);
    assert_eq!(config.media.media_timeout_s, 5);
    assert_eq!(config.storage.data_dir, PathBuf::from("/tmp/mp-data"));
    assert_eq!(
        config.sip.advertise_address,
        Some("192.0.2.7".parse().unwrap())
    );
    assert_eq!(config.limits.max_calls, 10);

    let before = config.clone();
    let bad = ConfigOverrides {
        rtp_ports: Some(PortRange {
            min: 30001,
            max: 30002,
        }),
        prompts_dir: Some(prompts.join("missing")),
        ..ConfigOverrides::default()
    };
    let errors = bad.apply(&mut config).unwrap_err();
    assert_eq!(
        errors.keys(),
        vec![
            Some("media.rtp_port_min"),
            Some("media.rtp_port_max"),
            Some("prompts.dir")
        ],
        "{errors}"
    );
    assert_eq!(
        errors.errors()[0].origin.as_deref(),
        Some("--rtp-ports/MEDIAPLANE_RTP_PORTS")
    );
    assert_eq!(
        errors.errors()[2].origin.as_deref(),
        Some("--prompts-dir/MEDIAPLANE_PROMPTS_DIR")
    );
    assert_eq!(config.media, before.media, "a failed apply changes nothing");
    assert_eq!(config.prompts, before.prompts);
}

#[test]
fn an_override_repairs_a_value_before_it_is_checked() {
    let prompts = tempfile::tempdir().unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "[prompts]\ndir = '/nonexistent/mediaplane'\n").unwrap();
    assert!(check_config(file.path()).is_err());
    let config =
        Config::load_with_overrides(Some(file.path()), &overrides_with_prompts(prompts.path()))
            .unwrap();
    assert_eq!(config.prompts.dir, prompts.path());
}

#[test]
fn check_config_names_the_file() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), "[media]\nptime_ms = 15\n").unwrap();
    let errors = check_config(file.path()).unwrap_err();
    let name = file.path().display().to_string();
    assert!(
        errors
            .to_string()
            .starts_with(&format!("{name}:2: media.ptime_ms: ")),
        "{errors}"
    );

    let missing = file.path().with_extension("absent");
    let errors = check_config(&missing).unwrap_err();
    assert_eq!(summary(&errors), vec![(None, ConfigErrorKind::Io, None)]);
}
