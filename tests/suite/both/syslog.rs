// The audit trail where the security team looks: `[audit] syslog = true`
// sends each event to a real rsyslogd (Debian's rsyslog, started here on a
// socket and output file of its own, with a template that prints what its
// RFC 5424 parser made of each message), and `audit --follow --format
// json` streams new events as JSON lines.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::Env;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// An rsyslogd of this test's own, killed when dropped.
struct Rsyslog {
    child: Child,
    socket: PathBuf,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rsyslog {
    fn start() -> Option<Rsyslog> {
        if !Path::new(RSYSLOGD).exists() {
            let why = format!("{RSYSLOGD} is missing (apt-get install rsyslog)");
            if std::env::var_os("CI").is_some() {
                panic!("syslog test cannot run under CI: {why}");
            }
            eprintln!("SKIPPED (no rsyslog): {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("log.sock");
        let out = dir.path().join("out.log");
        let conf = dir.path().join("rsyslog.conf");
        // Per message: what the RFC 5424 parser found, then the raw text.
        std::fs::write(
            &conf,
            format!(
                "global(workDirectory={:?})\n\
                 module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
                 input(type=\"imuxsock\" Socket={:?} UseSpecialParser=\"off\" ParseHostname=\"on\")\n\
                 template(name=\"t\" type=\"string\" string=\"%protocol-version%|%syslogfacility-text%|%syslogseverity-text%|%app-name%|%msgid%|%structured-data%|%msg%\\n\")\n\
                 *.* action(type=\"omfile\" file={:?} template=\"t\")\n",
                dir.path().display().to_string(),
                socket.display().to_string(),
                out.display().to_string()
            ),
        )
        .unwrap();
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.path().join("pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "rsyslogd made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Rsyslog {
            child,
            socket,
            out,
            _dir: dir,
        })
    }

    /// The lines logged, once at least `n` have arrived.
    fn lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_logging_to(socket: &Path) -> Env {
    Env::with_config(&format!(
        "[audit]\nsyslog = true\nsyslog_socket = {:?}\n",
        socket.display().to_string()
    ))
}

/// Asserts that rsyslog got one RFC 5424 message per audit event of
/// `env`'s trail, in order, each carrying the event; returns its lines.
fn mirrors_the_trail(env: &Env, rs: &Rsyslog) -> Vec<String> {
    let audit: Vec<Value> = env
        .ok(&["audit", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines = rs.lines(audit.len());
    assert_eq!(
        lines.len(),
        audit.len(),
        "one message per event:\n{}",
        lines.join("\n")
    );
    for (e, l) in audit.iter().zip(&lines) {
        let f: Vec<&str> = l.splitn(7, '|').collect();
        assert_eq!(f[0], "1", "RFC 5424 (version 1): {l}");
        assert_eq!(f[1], "auth", "{l}");
        assert_eq!(f[3], "codedesk", "{l}");
        assert_eq!(
            f[4],
            e["action"].as_str().unwrap(),
            "MSGID is the action: {l}"
        );
        assert!(
            f[5].starts_with(&format!(
                "[codedesk@32473 id=\"{}\" operator=\"tester\"",
                e["id"]
            )),
            "structured data: {l}"
        );
        assert!(f[5].contains(&format!("hash=\"{}\"", e["hash"].as_str().unwrap())));
        let details: Value = serde_json::from_str(f[6]).expect("MSG is the details as JSON");
        assert_eq!(details, e["details"]);
    }
    lines
}

#[test]
fn every_audit_event_reaches_rsyslog_as_rfc5424_with_structured_data() {
    let Some(rs) = Rsyslog::start() else { return };
    let env = env_logging_to(&rs.socket);
    env.enroll_mobile("ann", "+15072225999");
    // A challenge, read back wrong then right: its digits never logged.
    let out = env.ok(&["challenge", "ann", "-q"]);
    let id = out.trim().to_string();
    let text = std::fs::read_to_string(&env.outbox).unwrap();
    let at = text.rfind("verification code is ").unwrap();
    let challenge = text[at + 21..at + 27].to_string();
    let ask = |answer: &str| {
        env.run_stdin(
            &[
                "issue-codes",
                "ann",
                "--via",
                "helpdesk",
                "--identity-verified",
                "challenge",
                "--challenge",
                &id,
                "--ticket",
                "INC-1",
                "-q",
            ],
            &format!("{answer}\n"),
        )
    };
    let wrong = if challenge == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(ask(wrong).0, 3);
    let (code, codes, err) = ask(&challenge);
    assert_eq!(code, 0, "{err}");

    let lines = mirrors_the_trail(&env, &rs);
    let severity = |action: &str| {
        lines
            .iter()
            .find(|l| l.split('|').nth(4) == Some(action))
            .map(|l| l.split('|').nth(2).unwrap().to_string())
    };
    assert_eq!(severity("challenge-wrong").as_deref(), Some("warning"));
    assert_eq!(severity("challenge-passed").as_deref(), Some("notice"));
    let all = lines.join("\n");
    assert!(!all.contains(&challenge), "the challenge reached syslog");
    assert!(
        !all.contains("5072225999"),
        "a full phone number reached syslog"
    );
    for c in codes.lines() {
        assert!(
            !all.contains(c) && !all.contains(&c.replace('-', "")),
            "a code reached syslog"
        );
    }
}

/// `verify` as pam_exec runs it: the user from `PAM_USER`, the service
/// from `PAM_SERVICE`, the token on standard input; the clock at `now`
/// if given. Its exit status.
fn pam_verify(env: &Env, token: &str, now: Option<i64>) -> i32 {
    let mut c = env.cmd();
    c.arg("verify")
        .env("PAM_USER", "pam.user")
        .env("PAM_SERVICE", "sshd")
        .env("PAM_TYPE", "auth");
    if let Some(now) = now {
        c.env("CODEDESK_NOW", now.to_string());
    }
    let out = c
        .write_stdin(format!("{token}\0").into_bytes())
        .output()
        .expect("run codedesk verify");
    out.status.code().unwrap_or(-1)
}

#[test]
fn verify_from_pam_reaches_rsyslog_accepted_rejected_lockout_and_auto_unlock() {
    let Some(rs) = Rsyslog::start() else { return };
    let env = Env::with_config(&format!(
        "[lockout]\nthreshold = 2\nauto_unlock = \"15m\"\n\n[audit]\nsyslog = true\nsyslog_socket = {:?}\n",
        rs.socket.display().to_string()
    ));
    env.enroll_landline("pam.user", "507-222-0000");
    let codes = env.issue_helpdesk("pam.user", &["--count", "3"]);
    assert_eq!(pam_verify(&env, &codes[0], None), 0, "a valid code");
    let wrong = "0000-0000-0000-0000";
    assert_eq!(pam_verify(&env, wrong, None), 1, "a wrong code");
    assert_eq!(pam_verify(&env, wrong, None), 1, "a wrong code, locking");
    assert_eq!(pam_verify(&env, &codes[1], None), 5, "locked out");
    // 16 minutes on: unlocked automatically, and the code is accepted.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 16 * 60;
    assert_eq!(pam_verify(&env, &codes[1], Some(later)), 0, "auto-unlocked");

    let lines = mirrors_the_trail(&env, &rs);
    let logged = |action: &str| -> Vec<(String, Value)> {
        lines
            .iter()
            .map(|l| l.splitn(7, '|').collect::<Vec<&str>>())
            .filter(|f| f[4] == action)
            .map(|f| (f[2].to_string(), serde_json::from_str(f[6]).unwrap()))
            .collect()
    };
    let accepted = logged("verify-accepted");
    assert_eq!(accepted.len(), 2, "{lines:#?}");
    assert!(
        accepted
            .iter()
            .all(|(sev, d)| sev == "notice" && d["service"] == "sshd")
    );
    let rejected = logged("verify-rejected");
    assert_eq!(rejected.len(), 2, "{lines:#?}");
    assert!(
        rejected
            .iter()
            .all(|(sev, d)| sev == "warning" && d["service"] == "sshd")
    );
    let lockout = logged("lockout");
    assert_eq!(lockout.len(), 1, "{lines:#?}");
    assert_eq!(lockout[0].0, "warning");
    let unlock = logged("unlock");
    assert_eq!(unlock.len(), 1, "{lines:#?}");
    assert_eq!(unlock[0].1["auto"], true, "{lines:#?}");
    let all = lines.join("\n");
    for c in codes.iter().map(String::as_str).chain([wrong]) {
        assert!(
            !all.contains(c) && !all.contains(&c.replace('-', "")),
            "a code reached syslog"
        );
    }
    assert!(
        !all.contains("5072220000"),
        "a full phone number reached syslog"
    );
}

#[test]
fn a_syslog_that_cannot_be_reached_is_a_warning_and_the_change_stands() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_logging_to(&dir.path().join("nobody-listens"));
    let (code, _, err) = env.run(&["enroll-device", "ann", "--kind", "token"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: syslog"), "{err}");
    assert!(env.ok(&["list"]).contains("ann"));
}

#[test]
fn audit_follow_streams_new_events_as_json_lines() {
    let env = Env::new();
    env.enroll_mobile("ann", "+15072225999");
    let mut follow = std::process::Command::new(common::BIN);
    follow
        .env_clear()
        .env("HOME", env.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(["audit", "--follow", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = follow.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Give it time to read the head, then change things.
    std::thread::sleep(Duration::from_millis(800));
    env.issue_helpdesk("ann", &[]);
    env.ok(&["revoke", "ann"]);
    let mut got = Vec::new();
    while got.len() < 4 {
        let l = lines.next().expect("a line").expect("read");
        let e: Value = serde_json::from_str(&l).expect("one JSON event a line");
        got.push(e["action"].as_str().unwrap().to_string());
    }
    let _ = child.kill();
    let _ = child.wait();
    // Only events after it started (not the enrolment), in order.
    assert_eq!(
        got,
        [
            "identity-check",
            "codes-pending",
            "codes-delivered",
            "revoke"
        ],
        "{got:?}"
    );
    let (code, _, err) = env.run(&["audit", "--follow"]);
    assert_eq!(code, 2, "{err}");
}
