//! The binary's command line: check-config explains every problem.

use std::process::Command;

fn mediaplane() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mediaplane"))
}

/// What check-config says of `path`, which it must refuse (exit 2).
fn refused(path: &std::path::Path) -> String {
    let out = mediaplane()
        .args(["check-config"])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_config_accepts_the_shipped_examples() {
    for file in [
        "config/default.toml",
        "config/example-full.toml",
        "benches/transcode-near.toml",
        "benches/transcode-far.toml",
        "benches/ivr.toml",
    ] {
        let out = mediaplane()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["check-config", file])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    }
}

#[test]
fn check_config_names_each_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[sip]\nudp_listen = \"nowhere\"\n\n[media]\nrtp_port_min = 30000\nrtp_port_max = 20000\ncolour = \"blue\"\n\n[prompts]\ndir = \"/no/such/folder\"\n",
    )
    .unwrap();
    let stderr = refused(&path);
    for key in [
        "sip.udp_listen",
        "media.rtp_port_max",
        "media.colour",
        "prompts.dir",
    ] {
        assert!(stderr.contains(key), "{key} missing from:\n{stderr}");
    }
    assert!(
        stderr.lines().count() >= 4,
        "one line per problem:\n{stderr}"
    );
}

#[test]
fn a_bad_override_stops_the_server_before_it_binds() {
    let out = mediaplane()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--rtp-ports", "30001-20000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rtp"));
}

#[test]
fn check_config_refuses_broken_menus_with_a_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("menus.toml");
    let text = format!(
        r#"
[prompts]
dir = {prompts:?}

[[routes]]
match = "^menu$"
app = "ivr"
menu = "main"

[[menus]]
name = "main"
prompts = ["welcome", "no-such-prompt"]
[menus.keys]
"1" = "menu nowhere"
"2" = "hangup"
"x" = "hangup"
"12" = "hangup"

[[menus]]
name = "orphan"
prompts = ["welcome"]
[menus.keys]
"1" = "hangup"
"#,
        prompts = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
    );
    std::fs::write(&path, text).unwrap();
    let stderr = refused(&path);
    let problems = [
        "menus[0].prompts[1]: unknown prompt `no-such-prompt`",
        "no menu `nowhere`",
        "menus[0].keys.x:",
        "menus[0].keys.\"12\": key is longer than max_digits",
        "`orphan` is unreachable",
    ];
    for problem in problems {
        assert_eq!(
            stderr.lines().filter(|l| l.contains(problem)).count(),
            1,
            "one line naming {problem} in:\n{stderr}"
        );
    }
    assert!(stderr.lines().count() >= problems.len(), "{stderr}");
}
