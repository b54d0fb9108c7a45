// The configuration the Debian package installs as /etc/codedesk/config.toml
// is docs/examples/system-config.toml, kept in one file: these tests read
// that very file with the real binary, so the shipped default cannot drift
// into one that codedesk refuses, one that clamps helpdesk codes behind the
// operator's back, or one with an SMS outbox operators could read codes from.
// (.ci/deb-test installs the package and runs `codedesk config` on it too.)

use crate::common;
use assert_cmd::Command;
use common::{BIN, scrub};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn packaged_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/system-config.toml")
}

/// The real binary with the packaged configuration and a scrubbed
/// environment; `db`, when given, overrides the system store.
fn codedesk(db: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    scrub(&mut c);
    c.env("USER", "pkgtest");
    c.arg("--config").arg(packaged_config());
    if let Some(db) = db {
        c.arg("--db").arg(db);
    }
    c.args(args).output().expect("run codedesk")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn value<'a>(cfg: &'a serde_json::Value, key: &str) -> &'a str {
    cfg[key]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("config has no {key}: {cfg}"))
}

#[test]
fn packaged_config_is_accepted_and_names_the_system_store() {
    let out = codedesk(None, &["config", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "codedesk config refused docs/examples/system-config.toml: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = json(&out);
    assert_eq!(value(&cfg, "db"), "/var/lib/codedesk/codedesk.db");
    assert_eq!(cfg["db"]["source"], "file (store.db)");
    // No outbox: texted codes are never left in a file.
    assert_eq!(value(&cfg, "sms.outbox"), "(none)");
    let sms = value(&cfg, "sms.command");
    assert!(
        sms.contains("NOT-CONFIGURED") && !Path::new(sms).exists(),
        "the SMS placeholder must be a program that does not exist and says so: {sms}"
    );
    // The production hash cost, never the tests' weak one.
    assert_eq!(value(&cfg, "hash.allow_weak"), "false");
    // Nothing clamped silently: the helpdesk default fits under the cap.
    let default = humantime::parse_duration(value(&cfg, "helpdesk.default_expires"))
        .expect("helpdesk.default_expires is a duration");
    let max = humantime::parse_duration(value(&cfg, "helpdesk.max_expires"))
        .expect("helpdesk.max_expires is a duration");
    assert!(default <= max, "default {default:?} above max {max:?}");
}

#[test]
fn packaged_config_gives_helpdesk_codes_the_expiry_it_reports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("codedesk.db");
    let cfg = json(&codedesk(None, &["config", "--format", "json"]));
    let reported = humantime::parse_duration(value(&cfg, "helpdesk.default_expires")).unwrap();

    let out = codedesk(
        Some(&db),
        &[
            "enroll-device",
            "bob",
            "--kind",
            "landline",
            "--phone",
            "507-222-0000",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let out = codedesk(
        Some(&db),
        &[
            "issue-codes",
            "bob",
            "--identity-verified",
            "video-call",
            "--ticket",
            "INC-1",
            "--format",
            "json",
        ],
    );
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let issued = json(&out);
    let expires = issued["expires_at"]
        .as_str()
        .unwrap_or_else(|| panic!("no expires_at: {issued}"));
    let expires = humantime::parse_rfc3339(expires)
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap();
    let slack = Duration::from_secs(2);
    assert!(
        expires + slack >= before + reported && expires <= after + reported + slack,
        "helpdesk codes expire at {expires:?}, not {reported:?} after issue ({before:?})"
    );
}

#[test]
fn packaged_sms_placeholder_fails_loudly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("codedesk.db");
    let out = codedesk(
        Some(&db),
        &[
            "enroll-device",
            "alice",
            "--kind",
            "mobile",
            "--phone",
            "(507) 222-5999",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = codedesk(Some(&db), &["issue-codes", "alice"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "stderr: {err}");
    assert!(err.contains("NOT-CONFIGURED"), "stderr: {err}");
    let out = codedesk(Some(&db), &["list", "alice", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = json(&out);
    assert_eq!(
        listed["codes_remaining"], 0,
        "a failed delivery left live codes: {listed}"
    );
}
