// `codedesk demo` is the README's first command: it must run to the end,
// at a terminal as well as in a pipe, and never touch the real store.
//
// SQLite-only (no PostgreSQL twin): the demo always runs on a throwaway
// SQLite store of its own, which it names with its own `--db`.

use crate::common;

use std::time::Duration;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn demo_runs_to_the_end_without_a_terminal_and_leaves_the_real_store_alone() {
    let home = home();
    let mut cmd = assert_cmd::Command::new(common::BIN);
    common::scrub(&mut cmd);
    let out = cmd
        .env("HOME", home.path())
        .arg("demo")
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run demo");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("accepted:"), "{text}");
    assert!(
        text.contains("[exit 3]"),
        "the unattested helpdesk step is refused: {text}"
    );
    assert!(text.contains("audit trail intact"), "{text}");
    assert!(text.contains("Done."), "{text}");
    // The challenge section: passed by the read-back, then disputed.
    assert!(text.contains("Bypass codes for carol"), "{text}");
    assert!(text.contains("disputed carol's notice"), "{text}");
    // The approval section: dave is privileged; his codes wait (exit 10),
    // self-approval is refused (exit 9), a second principal approves.
    assert!(text.contains("[exit 10: waiting for approval]"), "{text}");
    assert!(
        text.contains("(self-approval is refused)   [exit 9]"),
        "{text}"
    );
    assert!(
        text.contains("Request 1 approved by demo-supervisor"),
        "{text}"
    );
    assert!(text.contains("Bypass codes for dave"), "{text}");
    assert!(
        !home.path().join(".local/share/codedesk").exists(),
        "the demo created the real store"
    );
}

#[test]
fn demo_at_a_terminal_never_stops_at_the_identity_prompt() {
    let home = home();
    let cmd = format!(
        "env -i HOME={} TERM=xterm PATH=/usr/bin:/bin {} demo",
        home.path().display(),
        common::BIN
    );
    let mut p = rexpect::spawn(&cmd, Some(120_000)).expect("spawn demo on a pty");
    p.exp_string("Done.")
        .expect("the demo reaches its end at a terminal");
    p.exp_eof().expect("the demo exits");
}
