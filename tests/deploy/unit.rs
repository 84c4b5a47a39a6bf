//! The lesson's systemd unit file: checked by `systemd-analyze verify` (`.ci/run`
//! installs systemd for it), and by a reading of its own that names what is wrong.

use std::process::Command;

use crate::support::*;

/// The sections and keys the unit uses, each known to systemd.
const KNOWN: [(&str, &[&str]); 3] = [
    ("Unit", &["Description", "After"]),
    (
        "Service",
        &[
            "Type",
            "User",
            "Group",
            "RuntimeDirectory",
            "WorkingDirectory",
            "ExecStart",
            "ExecReload",
            "KillSignal",
            "TimeoutStopSec",
            "Restart",
            "RestartSec",
        ],
    ),
    ("Install", &["WantedBy"]),
];

fn unit() -> String {
    std::fs::read_to_string(repo().join(LESSON).join("cgilab.service")).unwrap()
}

#[test]
fn the_unit_file_has_only_known_sections_and_keys_and_runs_cgilab_as_the_lesson_says() {
    let text = unit();
    let mut section = "";
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            assert!(
                KNOWN.iter().any(|(s, _)| *s == name),
                "line {}: unknown section [{name}]",
                n + 1
            );
            section = name;
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not KEY=VALUE: {line}", n + 1));
        let known = KNOWN.iter().find(|(s, _)| *s == section).map(|(_, k)| *k);
        assert!(
            known.is_some_and(|k| k.contains(&key)),
            "line {}: `{key}` in [{section}]",
            n + 1
        );
        assert!(
            !value.trim().is_empty(),
            "line {}: `{key}` has no value",
            n + 1
        );
        keys.push((section.to_string(), key.to_string(), value.to_string()));
    }
    let value = |k: &str| {
        keys.iter()
            .find(|(_, key, _)| key == k)
            .map(|(_, _, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k}="))
    };
    // cgilab sends READY=1, stops on SIGTERM, reloads on SIGHUP, stays in the foreground.
    assert_eq!(value("Type"), "notify");
    assert_eq!(value("KillSignal"), "SIGTERM");
    assert_eq!(value("ExecReload"), "/bin/kill -HUP $MAINPID");
    let start = value("ExecStart");
    assert!(
        start.starts_with('/'),
        "ExecStart needs a full path: {start}"
    );
    assert!(start.contains(" serve --config "), "{start}");
}

/// systemd-analyze finds nothing to say about the unit (with
/// ExecStart pointed at the binary under test, which it checks exists).
#[test]
fn systemd_analyze_verify_finds_nothing_to_say() {
    let found = Command::new("sh")
        .args(["-c", "command -v systemd-analyze"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "systemd-analyze is not installed: apt-get install systemd (.ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cgilab.service");
    std::fs::write(
        &file,
        unit().replace("/usr/local/bin/cgilab", env!("CARGO_BIN_EXE_cgilab")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}
