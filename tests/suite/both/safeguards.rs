// The safeguards (docs/safeguards.md) through the real binary: the
// challenge codedesk checks itself, notices with a reference to every
// contact on file, `dispute`, `revoke --issued-by`, the debounce of
// failed-login notices, and email through a real MTA (Debian's exim4,
// local delivery to /var/mail/cdmail; see .ci/run's safeguards_setup).
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::{Env, looks_like_code};
use serde_json::Value;

const FAST: &str = "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n";

/// Fast hashing, SMS to the outbox, email to a file through a script that
/// reads the message as sendmail -t would (users are told: the default).
fn env_with(extra: &str) -> Env {
    let env = Env::with_raw_config("");
    let mail = env.path().join("mail.txt");
    let script = env.path().join("sendmail.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1 $2\" = \"-t -i\" ] || exit 9\ncat >> {:?}\n",
            mail
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "{FAST}\n[sms]\noutbox = {:?}\n\n[email]\ncommand = \"{} -t -i\"\n\n{extra}",
            env.outbox.display().to_string(),
            script.display()
        ),
    )
    .unwrap();
    env
}

fn mail(env: &Env) -> String {
    std::fs::read_to_string(env.path().join("mail.txt")).unwrap_or_default()
}

fn outbox(env: &Env) -> String {
    std::fs::read_to_string(&env.outbox).unwrap_or_default()
}

/// The digits of the latest challenge sent anywhere (SMS or mail).
fn last_challenge(text: &str) -> String {
    let at = text
        .rfind("verification code is ")
        .unwrap_or_else(|| panic!("no challenge in:\n{text}"));
    text[at + "verification code is ".len()..][..6].to_string()
}

/// Every notice reference in `text`, in order.
fn references(text: &str) -> Vec<String> {
    text.match_indices("quote ")
        .map(|(i, _)| text[i + 6..i + 6 + 23].to_string())
        .collect()
}

fn audit(env: &Env) -> Vec<Value> {
    env.ok(&["audit", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn actions(env: &Env) -> Vec<String> {
    audit(env)
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `challenge USER ARGS --format json`: the challenge id.
fn send_challenge(env: &Env, user: &str, args: &[&str]) -> i64 {
    let mut a = vec!["challenge", user, "--format", "json"];
    a.extend_from_slice(args);
    let out = env.ok(&a);
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert!(
        !out.contains("verification"),
        "the challenge is never shown: {out}"
    );
    v["challenge"].as_i64().expect("challenge id")
}

fn issue_with_challenge(env: &Env, user: &str, id: i64, answer: &str) -> (i32, String, String) {
    env.run_stdin(
        &[
            "issue-codes",
            user,
            "--via",
            "helpdesk",
            "--identity-verified",
            "challenge",
            "--challenge",
            &id.to_string(),
            "--ticket",
            "INC-9",
            "-q",
        ],
        &format!("{answer}\n"),
    )
}

#[test]
fn a_challenge_by_sms_is_checked_by_codedesk_and_good_for_one_issuance() {
    let env = env_with("");
    env.enroll_mobile("ann", "+1 507 222 5999");
    let id = send_challenge(&env, "ann", &[]);
    let challenge = last_challenge(&outbox(&env));
    assert!(outbox(&env).contains("To: +15072225999"));
    assert_eq!(challenge.len(), 6);

    let wrong = if challenge == "123456" {
        "654321"
    } else {
        "123456"
    };
    let (code, out, err) = issue_with_challenge(&env, "ann", id, wrong);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty() && err.contains("2 tries left"), "{err}");

    let (code, out, err) = issue_with_challenge(&env, "ann", id, &challenge);
    assert_eq!(code, 0, "{err}");
    let codes: Vec<&str> = out.lines().collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| looks_like_code(c)));
    assert_eq!(env.verify("ann", codes[0]), 0);

    // Good for one issuance only.
    let (code, _, err) = issue_with_challenge(&env, "ann", id, &challenge);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("used already"), "{err}");

    let events = audit(&env);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(&challenge), "the challenge is in the trail");
    let passed: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "identity-check" && e["details"]["outcome"] == "passed")
        .collect();
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0]["details"]["method"], "challenge");
    let sent = events
        .iter()
        .find(|e| e["action"] == "challenge-sent")
        .expect("challenge-sent");
    assert_eq!(sent["details"]["contact"], "device 1 (+*******5999)");
    // Stored hashed only.
    assert_eq!(
        env.sql_i64("SELECT CAST(length(hash) AS BIGINT) FROM challenges WHERE id = 1"),
        32
    );
    let stored = env.sql_column("SELECT contact || ' ' || state FROM challenges");
    assert_eq!(stored, vec!["device 1 (+*******5999) passed".to_string()]);
}

#[test]
fn three_wrong_read_backs_spend_the_challenge_and_it_expires_in_ten_minutes() {
    let env = env_with("");
    env.enroll_mobile("ann", "+15072225999");
    let id = send_challenge(&env, "ann", &[]);
    let challenge = last_challenge(&outbox(&env));
    let wrong = if challenge == "000000" {
        "999999"
    } else {
        "000000"
    };
    for left in ["2 tries left", "1 tries left", "no tries left"] {
        let (code, _, err) = issue_with_challenge(&env, "ann", id, wrong);
        assert_eq!(code, 3);
        assert!(err.contains(left), "{left}: {err}");
    }
    let (code, _, err) = issue_with_challenge(&env, "ann", id, &challenge);
    assert_eq!(code, 3, "spent: {err}");

    let id = send_challenge(&env, "ann", &[]);
    let challenge = last_challenge(&outbox(&env));
    let later = (common_now() + 601).to_string();
    let out = env
        .cmd()
        .env("CODEDESK_NOW", &later)
        .args([
            "issue-codes",
            "ann",
            "--via",
            "helpdesk",
            "--identity-verified",
            "challenge",
            "--challenge",
            &id.to_string(),
            "--ticket",
            "T-1",
        ])
        .write_stdin(format!("{challenge}\n"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired"));
}

fn common_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_challenge_goes_only_to_a_contact_on_file_never_to_a_lost_device() {
    let env = env_with("");
    env.enroll_landline("ann", "+15072225000");
    // A landline cannot receive it, and there is no email: nothing to send to.
    let (code, _, err) = env.run(&["challenge", "ann"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no contact on file"), "{err}");
    let (code, _, err) = env.run(&["challenge", "ann", "--device", "1"]);
    assert_eq!(code, 4, "{err}");
    let m = env.enroll_mobile("ann", "+15072225999");
    let (code, _, err) = env.run(&[
        "challenge",
        "ann",
        "--device",
        &m.to_string(),
        "--lost",
        &m.to_string(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lost"), "{err}");
    let (code, _, err) = env.run(&["challenge", "ann", "--lost", &m.to_string()]);
    assert_eq!(code, 4, "only the lost device is on file: {err}");
    assert!(!outbox(&env).contains("verification code"));
    let (code, _, err) = env.run(&["challenge", "ann", "--email"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no email address"), "{err}");

    // With an email on file (and the mobile lost), the email gets it.
    env.ok(&[
        "enroll-device",
        "ann",
        "--kind",
        "token",
        "--email",
        "ann@example.org",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-2",
    ]);
    let id = send_challenge(&env, "ann", &["--lost", &m.to_string()]);
    let m = mail(&env);
    assert!(
        m.contains("To: ann@example.org") && m.contains("Subject: Your helpdesk verification code"),
        "{m}"
    );
    let challenge = last_challenge(&m);
    assert!(!outbox(&env).contains("verification code"));
    // Good for an enrolment too.
    let out = env.run_stdin(
        &[
            "enroll-device",
            "ann",
            "--kind",
            "tablet",
            "--identity-verified",
            "challenge",
            "--challenge",
            &id.to_string(),
            "--ticket",
            "T-3",
        ],
        &format!("{challenge}\n"),
    );
    assert_eq!(out.0, 0, "{}", out.2);
    let a = serde_json::to_string(&audit(&env)).unwrap();
    assert!(a.contains("email a***@example.org"), "recorded masked");
    assert!(
        !a.contains("ann@example.org"),
        "a full address in the trail"
    );
}

#[test]
fn incomplete_challenge_flags_attest_nothing() {
    let env = env_with("");
    env.enroll_mobile("ann", "+15072225999");
    let (code, _, err) = env.run(&[
        "issue-codes",
        "ann",
        "--via",
        "helpdesk",
        "--identity-verified",
        "challenge",
        "--ticket",
        "T",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--challenge ID"), "{err}");
    let (code, _, err) = env.run(&[
        "issue-codes",
        "ann",
        "--via",
        "helpdesk",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T",
        "--challenge",
        "1",
    ]);
    assert_eq!(code, 3, "{err}");
    // Another user's challenge is no challenge of this one's.
    env.enroll_mobile("bob", "+15072225998");
    let id = send_challenge(&env, "bob", &[]);
    let challenge = last_challenge(&outbox(&env));
    let (code, _, err) = issue_with_challenge(&env, "ann", id, &challenge);
    assert_eq!(code, 4, "{err}");
}

#[test]
fn every_sensitive_event_tells_every_contact_with_a_reference_and_never_a_code() {
    let env = env_with("");
    env.ok(&[
        "enroll-device",
        "ann",
        "--kind",
        "mobile",
        "--phone",
        "+15072225999",
        "--email",
        "ann@example.org",
    ]);
    let codes = env.issue_helpdesk("ann", &[]);
    let sms = outbox(&env);
    let m = mail(&env);
    let (r1, r2) = (references(&sms), references(&m));
    assert_eq!(r1.len(), 1, "{sms}");
    assert_eq!(r1, r2, "one reference, told to each contact");
    assert!(m.contains("new backup codes were issued"), "{m}");
    for c in &codes {
        assert!(!sms.contains(c) && !m.contains(c), "a code in a notice");
    }
    // A device added, codes revoked: each told, each its own reference.
    env.ok(&[
        "enroll-device",
        "ann",
        "--kind",
        "token",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T",
    ]);
    env.ok(&["revoke", "ann"]);
    let refs = references(&outbox(&env));
    assert_eq!(refs.len(), 3, "{}", outbox(&env));
    let mut distinct = refs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3);
    let notified = actions(&env)
        .iter()
        .filter(|a| *a == "user-notified")
        .count();
    assert_eq!(notified, 3);
    let a = serde_json::to_string(&audit(&env)).unwrap();
    for r in &refs {
        assert!(!a.contains(r.as_str()), "a reference in the trail");
    }
}

#[test]
fn dispute_revokes_what_was_issued_and_locks_the_user() {
    let env = env_with("");
    env.enroll_mobile("ann", "+15072225999");
    let codes = env.issue_helpdesk("ann", &[]);
    let reference = references(&outbox(&env)).pop().expect("a notice");
    // Read out over the phone: lower case, spaces, O for 0.
    let spoken = reference.to_lowercase().replace('-', " ").replace('0', "o");
    let out = env.ok(&["dispute", &spoken, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["user"], "ann");
    assert_eq!(v["about"], "codes-issued");
    assert_eq!(v["revoked"], serde_json::json!([1]));
    assert_eq!(env.verify("ann", &codes[0]), 5, "locked");
    assert!(actions(&env).contains(&"dispute".to_string()));
    let (code, _, err) = env.run(&["dispute", "AAAAA-AAAAA-AAAAA-AAAAA"]);
    assert_eq!(code, 4, "{err}");
    let (code, _, _) = env.run(&["dispute", "nonsense"]);
    assert_eq!(code, 2);
}

/// The dispute says the user stays locked "until `codedesk unlock` after an
/// identity check": unlock asks for that check (the gate of helpdesk
/// codes), records it, and refuses without it (exit 3, still locked).
#[test]
fn unlock_after_a_dispute_needs_an_identity_check() {
    let env = env_with("[lockout]\nthreshold = 1\n");
    env.enroll_mobile("ann", "+15072225999");
    let codes = env.issue_helpdesk("ann", &[]);
    let reference = references(&outbox(&env)).pop().expect("a notice");
    let out = env.ok(&["dispute", &reference]);
    assert!(out.contains("after an identity check"), "{out}");
    // Not attested (no terminal): refused, recorded, still locked.
    let (code, _, err) = env.run(&["unlock", "ann"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("needs an identity check"), "{err}");
    assert!(err.contains("still locked"), "{err}");
    let last = audit(&env).pop().expect("event");
    assert_eq!(last["action"], "identity-check", "{last}");
    assert_eq!(last["details"]["outcome"], "not-attested", "{last}");
    let after = env.issue_helpdesk("ann", &[]);
    assert_eq!(env.verify("ann", &after[0]), 5, "still locked");
    // A half attestation is refused too.
    let (code, _, err) = env.run(&["unlock", "ann", "--identity-verified", "in-person"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("without --ticket"), "{err}");
    // Attested: the check is recorded, then the unlock.
    let out = env.ok(&[
        "unlock",
        "ann",
        "--identity-verified",
        "video-call",
        "--ticket",
        "INC-42",
    ]);
    assert!(out.contains("unlocked ann"), "{out}");
    let trail = audit(&env);
    let n = trail.len();
    assert_eq!(trail[n - 2]["action"], "identity-check");
    assert_eq!(trail[n - 2]["details"]["outcome"], "passed");
    assert_eq!(trail[n - 2]["details"]["method"], "video-call");
    assert_eq!(trail[n - 2]["details"]["ticket"], "INC-42");
    assert_eq!(trail[n - 1]["action"], "unlock");
    assert_eq!(env.verify("ann", &after[0]), 0, "unlocked");
    assert_ne!(
        env.verify("ann", &codes[0]),
        0,
        "the disputed set stays revoked"
    );
    // Once unlocked, a later lock without a dispute unlocks as before.
    assert_ne!(env.verify("ann", &after[0]), 0, "spent: locks at 1");
    assert_eq!(env.verify("ann", &after[1]), 5, "locked");
    let out = env.ok(&["unlock", "ann"]);
    assert!(out.contains("unlocked ann"), "{out}");
}

#[test]
fn revoke_issued_by_revokes_everything_one_operator_issued() {
    let env = env_with("[safeguards]\nnotify_users = false\n");
    env.enroll_landline("ann", "+15072225000");
    env.enroll_landline("bob", "+15072225001");
    env.issue_helpdesk("ann", &[]);
    env.issue_helpdesk("bob", &[]);
    // The same principal under another display name.
    let mut c = assert_cmd::Command::new(common::BIN);
    common::scrub(&mut c);
    let out = c
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .args(["--operator", "other"])
        .args([
            "issue-codes",
            "bob",
            "--via",
            "helpdesk",
            "--preserve-existing",
        ])
        .args(["--identity-verified", "in-person", "--ticket", "T", "-q"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It matches the principal the trail recorded, never the display
    // name (`--operator`): "tester" names nobody's principal. (Two
    // principals apart: tests/suite/both/approvals.rs.)
    let out = env.ok(&["revoke", "--issued-by", "tester"]);
    assert!(out.contains("no outstanding"), "{out}");
    let principal = env.ok(&["audit", "--format", "json"]);
    let first: Value = serde_json::from_str(principal.lines().next().unwrap()).unwrap();
    let principal = first["principal"].as_str().unwrap().to_string();
    let out = env.ok(&["revoke", "--issued-by", &principal, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["users"].as_array().unwrap().len(), 2, "{out}");
    let list: Value = serde_json::from_str(&env.ok(&["list", "--format", "json"])).unwrap();
    let left: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["codes_remaining"].as_i64().unwrap())
        .collect();
    assert_eq!(left, vec![0, 0], "{list}");
    let out = env.ok(&["revoke", "--issued-by", &principal, "--since", "1h"]);
    assert!(out.contains("no outstanding"), "{out}");
}

#[test]
fn failed_login_notices_are_debounced() {
    let env = env_with("[lockout]\nthreshold = 2\n");
    env.enroll_mobile("ann", "+15072225999");
    // A spent code is a well-formed wrong one (a typo is not counted).
    let spent = env.issue_helpdesk("ann", &[]).remove(0);
    assert_eq!(env.verify("ann", &spent), 0);
    let lock = |now: Option<i64>| {
        for _ in 0..2 {
            let mut c = env.cmd();
            if let Some(n) = now {
                c.env("CODEDESK_NOW", n.to_string());
            }
            c.args(["verify", "ann"]).write_stdin(format!("{spent}\n"));
            c.output().unwrap();
        }
        let mut c = env.cmd();
        if let Some(n) = now {
            c.env("CODEDESK_NOW", n.to_string());
        }
        assert!(c.args(["unlock", "ann"]).output().unwrap().status.success());
    };
    let lockouts = || {
        outbox(&env)
            .matches("locked after repeated wrong codes")
            .count()
    };
    lock(None);
    assert_eq!(lockouts(), 1);
    lock(None);
    assert_eq!(
        lockouts(),
        1,
        "a second lockout within the hour is not texted again"
    );
    lock(Some(common_now() + 7200));
    assert_eq!(lockouts(), 2, "after the debounce window it is");
}

// ------------------------------------------------------------ a real MTA

/// The mailbox of the local user the MTA delivers to (.ci/run creates
/// `cdmail`), or why the test cannot run.
fn mta() -> Result<std::path::PathBuf, String> {
    if !std::path::Path::new("/usr/sbin/sendmail").exists() {
        return Err("no /usr/sbin/sendmail (install exim4-daemon-light)".into());
    }
    if std::process::Command::new("id")
        .arg("cdmail")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        return Err("no local user cdmail (see .ci/run safeguards_setup)".into());
    }
    Ok("/var/mail/cdmail".into())
}

#[test]
fn notices_and_challenges_reach_a_local_mailbox_through_a_real_mta() {
    let mailbox = match mta() {
        Ok(m) => m,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("MTA test cannot run under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED (no MTA): {why}");
            return;
        }
    };
    // Synchronous delivery (-odi): no daemon needed, delivered on return.
    let env = Env::with_raw_config(&format!(
        "{FAST}\n[sms]\noutbox = \"outbox.txt\"\n\n[email]\ncommand = \"/usr/sbin/sendmail -t -i -odi\"\nfrom = \"helpdesk@localhost\"\n"
    ));
    // Its own user name, so that each backend's mail can be told apart.
    let user = format!(
        "mta-{}-{}",
        common::SUITE.replace('_', "-"),
        common::backend()
    );
    env.ok(&[
        "enroll-device",
        &user,
        "--kind",
        "token",
        "--email",
        "cdmail@localhost",
    ]);
    let id = send_challenge(&env, &user, &["--email"]);
    env.issue_helpdesk(&user, &[]);
    let all = std::fs::read_to_string(&mailbox).unwrap_or_default();
    let mine = format!("codedesk ({user}): your helpdesk");
    let at = all
        .rfind(&mine)
        .unwrap_or_else(|| panic!("no challenge for {user} in {}", mailbox.display()));
    let text = &all[at..];
    let audit_text = env.ok(&["audit", "--format", "json"]);
    let notified: Vec<Value> = audit_text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "user-notified")
        .collect();
    assert_eq!(notified.len(), 1, "{audit_text}");
    assert_eq!(
        notified[0]["details"]["sent"],
        serde_json::json!(["email c***@localhost"])
    );
    // The challenge arrived, and then the notice with its reference.
    let challenge = last_challenge(text);
    assert!(all.contains("From: codedesk <helpdesk@localhost>"), "{all}");
    let notice = format!("({user}, ");
    let n = text
        .find(&notice)
        .unwrap_or_else(|| panic!("no notice for {user} after its challenge"));
    let refs = references(&text[n..]);
    assert!(!refs.is_empty(), "no reference in the notice");
    let (code, _, err) = issue_with_challenge(&env, &user, id, &challenge);
    assert_eq!(
        code, 0,
        "the challenge mailed is the one codedesk checks: {err}"
    );
}

#[test]
fn the_example_configuration_loads_as_documented() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/safeguards/codedesk.toml"
    );
    let env = Env::new();
    let mut c = assert_cmd::Command::new(common::BIN);
    common::scrub(&mut c);
    let out = c
        .env("HOME", env.path())
        .arg("--db")
        .arg(&env.db)
        .args(["--config", example, "config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "email.command",
        "/usr/sbin/sendmail -t -i",
        "safeguards.notify_users",
        "safeguards.failed_login_debounce",
        "audit.syslog",
        "/dev/log",
    ] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }
}

#[test]
fn report_counts_checks_sets_disputes_and_lockouts_per_operator_and_day() {
    let env = env_with("[lockout]\nthreshold = 1\n");
    env.enroll_mobile("ann", "+15072225999");
    env.issue_helpdesk("ann", &[]); // in-person, passed; a helpdesk set
    let (code, _, _) = env.run(&["issue-codes", "ann", "--via", "helpdesk"]);
    assert_eq!(code, 3); // refused: nothing attested
    let id = send_challenge(&env, "ann", &[]);
    let challenge = last_challenge(&outbox(&env));
    assert_eq!(issue_with_challenge(&env, "ann", id, &challenge).0, 0);
    env.ok(&["issue-codes", "ann"]); // by SMS
    let spent = env.issue_helpdesk("ann", &[]).remove(0);
    assert_eq!(env.verify("ann", &spent), 0);
    assert_eq!(env.verify("ann", &spent), 1); // locks at threshold 1
    let reference = references(&outbox(&env)).pop().unwrap();
    env.ok(&["dispute", &reference]);

    let rows: Value = serde_json::from_str(&env.ok(&["report", "--format", "json"])).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "one principal, one day: {rows:?}");
    let r = &rows[0];
    // Grouped by the principal the backend recorded; the display names
    // (`--operator`, "tester" here) are listed beside it.
    let principal = env.ok(&["audit", "--format", "json"]);
    let principal: Value = serde_json::from_str(principal.lines().next().unwrap()).unwrap();
    let principal = principal["principal"].as_str().unwrap().to_string();
    assert_eq!(r["principal"], principal.as_str(), "{r}");
    assert_eq!(r["operators"], serde_json::json!(["tester"]), "{r}");
    assert_eq!(r["day"].as_str().unwrap().len(), 10);
    assert_eq!(r["checks_passed"], 3, "{r}");
    assert_eq!(r["checks_refused"], 1, "{r}");
    assert_eq!(r["passed_by_method"]["in-person"], 2);
    assert_eq!(r["passed_by_method"]["challenge"], 1);
    assert_eq!(r["refused_by_method"]["none"], 1);
    assert_eq!(r["sets_helpdesk"], 3, "{r}");
    assert_eq!(r["sets_sms"], 1, "{r}");
    assert_eq!(r["disputes"], 1);
    assert_eq!(r["lockouts"], 1);
    assert_eq!(r["privileged_approvals"], 0);

    let by_day: Value =
        serde_json::from_str(&env.ok(&["report", "--by", "day", "--format", "json"])).unwrap();
    assert_eq!(by_day[0]["principal"], Value::Null);
    assert_eq!(by_day[0]["checks_passed"], 3);
    let csv = env.ok(&["report", "--by", "operator", "--format", "csv"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("principal,operators,day,checks_passed,checks_refused,passed_in-person")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("{principal},tester,,3,1,2,0,0,1,0,")),
        "{csv}"
    );
    let table = env.ok(&["report"]);
    assert!(table.contains("challenge 1/0"), "{table}");
    let future = env.ok(&["report", "--since", "2999-01-01", "--format", "json"]);
    assert_eq!(future.trim(), "[]");
}

/// A device added to an existing user passes an identity check that only
/// its `device-enrolled` event records: `report` counts it, by its method,
/// once; a new user's first device (no check) counts nothing.
#[test]
fn report_counts_the_check_a_new_device_passed() {
    let env = env_with("");
    env.enroll_mobile("ann", "+15072225999");
    let sum = |field: &str| -> Value {
        let rows: Value = serde_json::from_str(&env.ok(&["report", "--format", "json"])).unwrap();
        rows[0][field].clone()
    };
    let none = env.ok(&["report", "--format", "json"]);
    assert_eq!(none.trim(), "[]", "a first device passes no check");
    env.ok(&[
        "enroll-device",
        "ann",
        "--kind",
        "token",
        "--label",
        "spare",
        "--identity-verified",
        "video-call",
        "--ticket",
        "INC-9",
    ]);
    assert_eq!(sum("checks_passed"), 1);
    assert_eq!(sum("passed_by_method")["video-call"], 1);
}
