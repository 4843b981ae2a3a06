//! `[media] rtcp_interval_ms`.

use std::time::Duration;

use super::Config;

fn read(value: &str) -> Result<Config, super::ConfigErrors> {
    let prompts = tempfile::tempdir().unwrap();
    let text = format!(
        "[media]\nrtcp_interval_ms = {value}\n[prompts]\ndir = '{}'\n",
        prompts.path().display()
    );
    Config::from_toml_str(&text, "t.toml")
}

#[test]
fn the_report_interval_defaults_to_five_seconds_and_can_be_shortened() {
    let config = Config::embedded_default().unwrap();
    assert_eq!(config.media.rtcp_interval(), Duration::from_secs(5));
    let config = read("250").unwrap();
    assert_eq!(config.media.rtcp_interval(), Duration::from_millis(250));
}

#[test]
fn a_report_interval_out_of_range_names_the_key() {
    for value in ["50", "0", "600000"] {
        let errors = read(value).unwrap_err();
        assert_eq!(
            errors.keys(),
            vec![Some("media.rtcp_interval_ms")],
            "{value}"
        );
        assert!(errors.to_string().contains("100 to 60000"), "{errors}");
    }
}
