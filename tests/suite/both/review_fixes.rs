// Fixes from a reviewer's findings (session 5, branch hardening2), each
// through the real binary: a callback attested by flags with no number on
// file is refused as at the prompt; `revoke --device` tells the removed
// device too, and says when nobody could be told.
//
// Backend-neutral unless a test says otherwise.

use crate::common;
use common::Env;

const FAST: &str = "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n";

/// Fast hashing, SMS to the outbox, users told about changes (the default).
fn env_notifying() -> Env {
    let env = Env::with_raw_config("");
    std::fs::write(
        &env.config,
        format!(
            "{FAST}\n[sms]\noutbox = {:?}\n",
            env.outbox.display().to_string()
        ),
    )
    .unwrap();
    env
}

fn outbox(env: &Env) -> String {
    std::fs::read_to_string(&env.outbox).unwrap_or_default()
}

/// The audit events of `user` as (action, event JSON), oldest first.
fn events(env: &Env, user: &str) -> Vec<(String, serde_json::Value)> {
    env.ok(&["audit", "--user", user, "--format", "json"])
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("audit json line");
            (e["action"].as_str().unwrap_or("").to_string(), e)
        })
        .collect()
}

#[test]
fn a_callback_with_no_number_on_file_is_refused_on_the_script_path() {
    let env = env_notifying();
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "(507) 222-5999",
    ]);
    env.ok(&["issue-codes", "alice"]);
    // "I lost my phone": the only device goes, and with it the only number.
    env.ok(&["revoke", "alice", "--device", "1"]);
    let before = env.store_state();
    let (code, out, err) = env.run(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "507-999-0001",
        "--identity-verified",
        "callback",
        "--ticket",
        "INC-6",
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("identity check refused (no number on file to call back); nothing enrolled"),
        "{err}"
    );
    let (code, out, err) = env.run(&[
        "issue-codes",
        "alice",
        "--identity-verified",
        "callback",
        "--ticket",
        "INC-7",
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.trim().is_empty(), "{out}");
    assert!(
        err.contains("identity check refused (no number on file to call back); nothing issued"),
        "{err}"
    );
    // Nothing enrolled or issued; both refusals recorded with method and ticket.
    let changes = before.changes(&env.store_state());
    assert!(
        !changes.contains("507-999") && !changes.contains("9990001"),
        "{changes}"
    );
    assert!(!outbox(&env).contains("+15079990001"));
    let refused: Vec<_> = events(&env, "alice")
        .into_iter()
        .filter(|(t, e)| t == "identity-check" && e["details"]["outcome"] == "refused")
        .map(|(_, e)| {
            (
                e["details"]["method"].as_str().unwrap_or("").to_string(),
                e["details"]["ticket"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            ("callback".to_string(), "INC-6".to_string()),
            ("callback".to_string(), "INC-7".to_string())
        ]
    );
    // With a number on file, the same flags still pass.
    let env = env_notifying();
    env.ok(&[
        "enroll-device",
        "bob",
        "--kind",
        "landline",
        "--phone",
        "507-222-0000",
    ]);
    let (code, _, err) = env.run(&[
        "issue-codes",
        "bob",
        "--identity-verified",
        "callback",
        "--ticket",
        "INC-8",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn revoking_a_device_tells_the_removed_device_and_says_when_nobody_was_told() {
    let env = env_notifying();
    env.ok(&[
        "enroll-device",
        "alice",
        "--kind",
        "mobile",
        "--phone",
        "(507) 222-5999",
    ]);
    env.ok(&["issue-codes", "alice"]);
    let codes = env.outbox_codes();
    assert!(!codes.is_empty());
    let (code, _, err) = env.run(&["revoke", "alice", "--device", "1"]);
    assert_eq!(code, 0, "{err}");
    // The last message went to the removed phone, and it holds no code.
    let text = outbox(&env);
    let last = text.rsplit("To: ").next().unwrap();
    assert!(last.starts_with("+15072225999"), "{last}");
    assert!(
        last.contains("a device was removed from your account"),
        "{last}"
    );
    assert!(!last.lines().any(common::looks_like_code), "{last}");
    assert_eq!(env.outbox_codes(), codes, "a notice carried a code");
    let notified: Vec<_> = events(&env, "alice")
        .into_iter()
        .filter(|(t, e)| t == "user-notified" && e["details"]["about"] == "device-removed")
        .collect();
    assert_eq!(notified.len(), 1);
    assert_eq!(
        notified[0].1["details"]["sent"],
        serde_json::json!(["device 1 (+*******5999)"])
    );

    // Other contacts are told too (the device left on file).
    env.ok(&[
        "enroll-device",
        "carol",
        "--kind",
        "mobile",
        "--phone",
        "507-222-1000",
    ]);
    env.enroll_mobile("carol", "507-222-1001");
    let (code, _, err) = env.run(&["revoke", "carol", "--device", "3"]);
    assert_eq!(code, 0, "{err}");
    let sent = events(&env, "carol")
        .into_iter()
        .rfind(|(t, _)| t == "user-notified")
        .unwrap()
        .1["details"]["sent"]
        .clone();
    assert_eq!(
        sent,
        serde_json::json!(["device 2 (+*******1000)", "device 3 (+*******1001)"])
    );

    // A landline cannot be texted: nobody can be told, so the operator is
    // warned and it is recorded.
    env.ok(&[
        "enroll-device",
        "bob",
        "--kind",
        "landline",
        "--phone",
        "507-222-0000",
    ]);
    let (code, _, err) = env.run(&["revoke", "bob", "--device", "4"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("codedesk: warning: could not notify bob: no contact on file to tell"),
        "{err}"
    );
    let failed: Vec<_> = events(&env, "bob")
        .into_iter()
        .filter(|(t, _)| t == "notify-failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].1["details"]["event"], "device-removed");
}

/// Runs `args` (standard input `stdin`) with standard error a pipe whose
/// reading end is closed when `closed`, else read; returns (status, stdout).
fn run_stderr(env: &Env, args: &[&str], stdin: &str, closed: bool) -> (i32, String) {
    use std::io::Write;
    use std::process::Stdio;
    let (r, w) = std::io::pipe().expect("pipe");
    let mut keep = Some(r);
    if closed {
        drop(keep.take());
    }
    let mut child = std::process::Command::new(common::BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", env.path())
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(["--operator", "tester"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(w)
        .spawn()
        .expect("run codedesk");
    let reader = keep.map(|mut r| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut r, &mut s);
            s
        })
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("wait");
    if let Some(t) = reader {
        let err = t.join().unwrap();
        assert!(!err.contains("panicked"), "{err}");
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_closed_standard_error_changes_nothing_in_a_batch_or_verify() {
    // The same batch (good rows, an unknown user, a bad count) on two
    // equal stores, standard error closed for one: every row is
    // processed, the same exit status and outcomes.
    let csv = "user,count\nalice,3\nzed,\ncarol,0\nbob,2\ncarol,\n";
    let mut runs = Vec::new();
    for closed in [false, true] {
        let env = Env::new();
        let f = env.path().join("devices.csv");
        std::fs::write(
            &f,
            "user,kind,phone,sms,label\nalice,mobile,(507) 222-5999,,\nbob,landline,507-222-0000,,\ncarol,tablet,,,\n",
        )
        .unwrap();
        let (code, _) = run_stderr(
            &env,
            &["enroll-device", "--batch", f.to_str().unwrap()],
            "",
            closed,
        );
        assert_eq!(code, 0);
        let f = env.path().join("issue.csv");
        std::fs::write(&f, csv).unwrap();
        let (code, out) = run_stderr(
            &env,
            &[
                "issue-codes",
                "--batch",
                f.to_str().unwrap(),
                "--format",
                "json",
                "--identity-verified",
                "in-person",
                "--ticket",
                "INC-7",
            ],
            "",
            closed,
        );
        let users: Vec<String> = out
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json line");
                v["user"].as_str().unwrap_or("").to_string()
            })
            .collect();
        let sets = env.sql_column(
            "SELECT u.name || ':' || CAST(count(s.id) AS TEXT) FROM users u LEFT JOIN code_sets s \
             ON s.user_id = u.id GROUP BY u.name ORDER BY u.name",
        );
        // A wrong code: exit 1 (rejected) either way, the failure counted.
        let (verify, vout) = run_stderr(&env, &["verify", "bob"], "AAAA-BBBB-CCCC-DDDD", closed);
        let failures =
            env.sql_column("SELECT CAST(failed_attempts AS TEXT) FROM users WHERE name = 'bob'");
        runs.push((code, users, sets, verify, vout, failures));
    }
    assert_ne!(runs[0].0, 0, "the batch has failing rows");
    assert_eq!(runs[0].1, vec!["alice", "bob", "carol"], "{:?}", runs[0]);
    assert_eq!(runs[0].3, 1);
    assert_eq!(runs[1], runs[0], "stderr closed vs open");
}

#[test]
fn read_only_commands_refuse_a_store_that_does_not_exist() {
    if common::sqlite_only("a SQLite store file that does not exist") {
        return;
    }
    let env = Env::new();
    let typo = env.path().join("typo").join("codedesk.db");
    let db = typo.to_str().unwrap();
    for args in [
        &["audit", "verify"][..],
        &["audit"],
        &["list"],
        &["list", "alice"],
        &["report"],
        &["verify", "alice"],
    ] {
        let out = env
            .cmd_without_db()
            .arg("--db")
            .arg(db)
            .args(args)
            .write_stdin("AAAA-BBBB-CCCC-DDDD")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            err.contains(&format!("no store at {db}: the file does not exist")),
            "{args:?}: {err}"
        );
        assert!(!env.path().join("typo").exists(), "{args:?} created it");
    }
    // A command that writes still creates a fresh store there.
    let out = env
        .cmd_without_db()
        .arg("--db")
        .arg(db)
        .args([
            "enroll-device",
            "alice",
            "--kind",
            "landline",
            "--phone",
            "507-222-0000",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(typo.is_file());
}

#[test]
fn a_store_time_past_what_rfc3339_can_show_is_shown_raw_not_a_panic() {
    let env = Env::new();
    env.enroll_landline("alice", "507-222-0000");
    env.issue_helpdesk("alice", &[]);
    env.sql_execute("UPDATE users SET created_at = 9223372036854775807 WHERE name = 'alice'");
    env.sql_execute("UPDATE code_sets SET created_at = 253402300800");
    for args in [
        &["list", "alice"][..],
        &["list", "alice", "--format", "json"],
        &["list"],
        &["list", "--format", "csv"],
    ] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            out.contains("(seconds since 1970: not a time codedesk can show)"),
            "{args:?}: {out}"
        );
    }
    let (code, out, err) = env.run(&["list", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("enrolled:    9223372036854775807 ("), "{out}");
    // A clock past the year 9999 (debug builds read CODEDESK_NOW): an
    // expiry that would overflow is refused, not wrapped or a panic.
    let out = env
        .cmd()
        .env("CODEDESK_NOW", (i64::MAX - 10).to_string())
        .args(["issue-codes", "alice", "--expires", "1d"])
        .args(["--identity-verified", "in-person", "--ticket", "T-2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--expires: too far in the future"), "{err}");
}

#[test]
fn no_code_given_to_a_locked_user_prints_nothing_and_exits_2() {
    let env = Env::new();
    env.enroll_landline("h2", "507-222-0000");
    env.issue_helpdesk("h2", &[]);
    // Well formed (a valid check symbol) and never issued: a wrong code.
    let wrong = codedesk::codes::format(
        codedesk::codes::Alphabet::Base32,
        &codedesk::codes::generate(codedesk::codes::CodeSpec::default(), 1).unwrap()[0],
    )
    .to_string();
    let mut tries = 0;
    while env.verify("h2", &wrong) != 5 {
        tries += 1;
        assert!(tries < 50, "never locked");
    }
    let locked_events = |env: &Env| {
        events(env, "h2")
            .into_iter()
            .filter(|(t, _)| t == "verify-locked")
            .count()
    };
    let before = locked_events(&env);
    for format in ["csv", "json", "table"] {
        for stdin in ["", "\n", " - \n"] {
            let (code, out, err) = env.run_stdin(&["verify", "h2", "--format", format], stdin);
            assert_eq!(code, 2, "{format} {stdin:?}: {out}{err}");
            assert!(out.is_empty(), "{format} {stdin:?}: {out}");
            assert!(err.contains("no code was given"), "{err}");
        }
    }
    assert_eq!(locked_events(&env), before, "nothing was judged");
    // A code given to a locked user is still refused with its row.
    let (status, out, _) = env.run_stdin(&["verify", "h2", "--format", "csv"], &wrong);
    assert_eq!(status, 5);
    assert!(out.lines().any(|l| l.starts_with("h2,false,")), "{out}");
    assert_eq!(locked_events(&env), before + 1);
}
