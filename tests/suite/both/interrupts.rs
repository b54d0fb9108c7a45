// Ctrl-C (SIGINT) in the middle of SMS delivery, and what the programs
// codedesk runs are given: through the real binary.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use crate::procs;
use common::Env;
use std::path::Path;
use std::time::{Duration, Instant};

/// An Env whose SMS command is `script` (a shell script body).
fn sms_env(script: &str) -> Env {
    Env::with_sms_script(script)
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn exists(p: &Path) -> bool {
    p.exists()
}

/// Ctrl-C while the gateway is sending: the gateway (in a process group of
/// its own, out of the terminal's reach) is stopped before it can send, the
/// new set is never activated, the old codes still work, and the operator
/// is told in one line (exit 6, delivery failed).
#[test]
fn ctrl_c_during_sms_delivery_stops_the_gateway_and_keeps_the_old_codes() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let sent = dir.path().join("sent");
    let env = sms_env(&format!(
        "cat > /dev/null\ntouch '{}'\nsleep 2\ntouch '{}'",
        started.display(),
        sent.display()
    ));
    env.enroll_mobile("alice", "507-222-0170");
    let old = env.issue_helpdesk("alice", &[]);
    let child = procs::spawn(&env, &["issue-codes", "alice"]);
    wait_until("the gateway to start", || exists(&started));
    // SAFETY: SIGINT to the codedesk process this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let (status, _, err) = procs::finish(child.wait_with_output().unwrap());
    assert_eq!(status, 6, "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains(": warning: ")).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].contains("interrupted (Ctrl-C)") && lines[0].contains("old codes still work"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!sent.exists(), "the gateway sent the codes after Ctrl-C");
    assert_eq!(env.verify("alice", &old[0]), 0, "the old codes still work");
    assert_eq!(
        env.sql_i64("SELECT count(*) FROM code_sets WHERE state = 'pending'"),
        0,
        "the interrupted set was marked failed"
    );
}

/// The SMS gateway and the notifier run with the environment codedesk was
/// given, less the store's credentials.
#[test]
fn programs_codedesk_runs_never_see_the_store_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("env.txt");
    let env = sms_env(&format!("cat > /dev/null\nenv >> '{}'", seen.display()));
    std::fs::write(
        &env.config,
        format!(
            "{}\n[notify]\ncommand = {:?}\n",
            std::fs::read_to_string(&env.config).unwrap(),
            env.path().join("sms.sh").display().to_string()
        ),
    )
    .unwrap();
    env.enroll_mobile("bob", "507-222-0180");
    let out = env
        .cmd()
        .env("PGPASSWORD", "pg-secret-4711")
        .env("PGPASSFILE", "/nonexistent/pgpass-4711")
        .env("CODEDESK_DB", "sqlite:///nonexistent/db-4711")
        .env("CODEDESK_TEST_MARKER", "passed-through-4711")
        .args(["issue-codes", "bob"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&seen).expect("the programs ran");
    assert!(
        text.matches("CODEDESK_TEST_MARKER=passed-through-4711")
            .count()
            >= 2,
        "both the gateway and the notifier ran with the environment:\n{text}"
    );
    for secret in ["pg-secret-4711", "pgpass-4711", "db-4711"] {
        assert!(
            !text.contains(secret),
            "{secret} reached a program:\n{text}"
        );
    }
}
