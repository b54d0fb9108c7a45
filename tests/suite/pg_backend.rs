//! The PostgreSQL backend through the real binary: the article's story,
//! sixteen verifiers racing one code as if from sixteen workstations,
//! concurrent first use (migrations under the advisory lock), `codedesk
//! migrate` from SQLite, and the failures (unreachable server, with or
//! without TLS asked for, newer schema).
//!
//! Unlike the suites under `both/` this one does not follow the run's backend:
//! it picks each test's store itself from the shared harness
//! (tests/common/mod.rs): `Env::postgres` gives a test an empty database
//! of its own on the server of `CODEDESK_TEST_PG` (an admin URL, a role
//! with CREATEDB; by default `common::ADMIN_URL`), `Env::sqlite` a SQLite
//! store, `Env::on_url` a URL of the test's own. Without a usable server
//! the tests that need one say SKIPPED loudly and return (the others
//! still run), except in CI (`CI` set), where they fail.

use crate::common;
use crate::procs;

use common::{Env, password_of, with_database};
use procs::{audit_events, audit_intact, finish, race_verify, spawn};
use serde_json::Value;
use std::process::Child;
use std::time::Duration;

/// Lost races count as rejected codes; sixteen racers must not lock the
/// user out (the races, not lockout, are under test).
const LOCKOUT: &str = "[lockout]\nthreshold = 100\n";

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn codes_left(env: &Env, user: &str) -> i64 {
    json(&env.ok(&["list", user, "--format", "json"]))["codes_remaining"]
        .as_i64()
        .expect("codes_remaining")
}

/// The store URL of an `Env::postgres`.
fn url(env: &Env) -> String {
    env.db.to_str().expect("a URL").to_string()
}

// ------------------------------------------------------------ the story

#[test]
fn the_article_story_end_to_end_on_postgres() {
    let Some(env) = Env::postgres("[lockout]\nthreshold = 3\n") else {
        return;
    };

    // Enrolment: bob has an SMS-capable phone, alice only a landline.
    let bob_phone = env.enroll_mobile("bob", "507-222-5998");
    let alice_phone = env.enroll_landline("alice", "(507) 222-5999");
    let list = json(&env.ok(&["list", "--format", "json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    // in user id order: bob was enrolled first
    assert_eq!(list[0]["devices"][0]["id"], bob_phone);
    assert_eq!(list[1]["devices"][0]["id"], alice_phone);

    // SMS path: the codes go to bob's phone (the outbox), never to stdout.
    let (code, out, err) = env.run(&["issue-codes", "bob"]);
    assert_eq!(code, 0, "{err}");
    let first = env.last_sms_codes();
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|c| !out.contains(c.as_str())), "{out}");
    assert_eq!(codes_left(&env, "bob"), 10);

    // Helpdesk path: gated by the identity check; nothing without it.
    let (code, _, err) = env.run(&["issue-codes", "alice"]);
    assert_eq!(code, 3, "unattested helpdesk issuance: {err}");
    assert_eq!(codes_left(&env, "alice"), 0);
    let alice_codes = env.issue_helpdesk("alice", &[]);
    assert_eq!(alice_codes.len(), 10, "{alice_codes:?}");
    let checks: Vec<Value> = audit_events(&env)
        .into_iter()
        .filter(|e| e["action"] == "identity-check")
        .collect();
    assert!(
        checks
            .iter()
            .any(|e| e["details"]["outcome"] == "passed" && e["details"]["ticket"] == "T-1"),
        "{checks:?}"
    );

    // Each code works once.
    assert_eq!(env.verify("alice", &alice_codes[0]), 0);
    assert_eq!(env.verify("alice", &alice_codes[0]), 1);
    assert_eq!(env.verify("bob", &first[0]), 0);
    assert_eq!(codes_left(&env, "bob"), 9);

    // A new set invalidates all old codes, used or not.
    let (code, _, err) = env.run(&["issue-codes", "bob"]);
    assert_eq!(code, 0, "{err}");
    let second = env.last_sms_codes();
    assert_ne!(first, second);
    assert_eq!(
        env.verify("bob", &first[1]),
        1,
        "an old unused code still works"
    );
    assert_eq!(env.verify("bob", &second[0]), 0);

    // Lockout after three rejected codes (threshold 3), then unlock.
    assert_eq!(env.verify("alice", &alice_codes[0]), 1); // spent: 2nd rejection
    assert_eq!(env.verify("alice", &first[2]), 1); // bob's old code: 3rd, locks
    let (code, _, err) = env.run_stdin(&["verify", "alice"], &alice_codes[1]);
    assert_eq!(code, 5, "a locked user's right code is refused: {err}");
    env.ok(&["unlock", "alice"]);
    assert_eq!(env.verify("alice", &alice_codes[1]), 0);

    // Revoke ends every outstanding code.
    env.ok(&["revoke", "alice", "--reason", "lost the card"]);
    assert_eq!(env.verify("alice", &alice_codes[2]), 1);

    // The trail recorded it all and is intact.
    let actions: Vec<String> = audit_events(&env)
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_string())
        .collect();
    for a in [
        "device-enrolled",
        "codes-pending",
        "codes-delivered",
        "verify-accepted",
        "verify-rejected",
        "lockout",
        "unlock",
        "revoke",
    ] {
        assert!(actions.iter().any(|x| x == a), "no {a} in {actions:?}");
    }
    assert_eq!(audit_intact(&env), actions.len() as u64);

    // `config` shows the store without its password.
    let shown = env.ok(&["config", "--format", "json"]);
    let db_shown = json(&shown)["db"]["value"].as_str().unwrap().to_string();
    assert!(db_shown.starts_with("postgres"), "{db_shown}");
    if let Some(pw) = password_of(&url(&env)) {
        assert!(!shown.contains(&format!(":{pw}@")), "{shown}");
        assert!(db_shown.contains(":***@"), "{db_shown}");
    }
}

// ------------------------------------------------------------ races

#[test]
fn sixteen_workstations_racing_one_code_on_postgres_accept_it_once() {
    let Some(env) = Env::postgres(LOCKOUT) else {
        return;
    };
    env.enroll_landline("alice", "5072225999");
    let codes = env.issue_helpdesk("alice", &["--count", "3"]);
    for (round, code) in codes.iter().take(2).enumerate() {
        let results = race_verify(&env, "alice", code, 16, Duration::from_millis(500));
        let mut statuses: Vec<i32> = results.iter().map(|r| r.0).collect();
        statuses.sort();
        let mut want = vec![1; 15];
        want.insert(0, 0);
        assert_eq!(statuses, want, "round {round}: {results:#?}");
        for r in results.iter().filter(|r| r.0 == 1) {
            assert!(
                !r.2.contains("busy") && !r.2.contains("locked"),
                "a loser must be a plain rejection: {r:?}"
            );
        }
        assert_eq!(env.verify("alice", code), 1, "round {round}: reused");
    }
    let events = audit_events(&env);
    let accepted = events
        .iter()
        .filter(|e| e["action"] == "verify-accepted")
        .count();
    assert_eq!(accepted, 2, "one acceptance per round");
    let rejected = events
        .iter()
        .filter(|e| e["action"] == "verify-rejected")
        .count();
    assert_eq!(rejected, 2 * 16, "15 losers + 1 reuse per round");
    assert_eq!(env.verify("alice", &codes[2]), 0, "an untouched code works");
    audit_intact(&env);
}

#[test]
fn workstations_first_use_at_once_migrate_the_schema_once() {
    let Some(env) = Env::postgres("") else {
        return;
    };
    // Eight workstations meet a brand-new database at the same moment:
    // one creates the schema under the advisory lock, the rest wait and
    // find it done; every writer's event lands on one linear chain.
    let kids: Vec<Child> = (0..8)
        .map(|i| {
            spawn(
                &env,
                &[
                    "enroll-device",
                    &format!("user{i}"),
                    "--kind",
                    "token",
                    "-q",
                ],
            )
        })
        .collect();
    for k in kids {
        let (code, _, err) = finish(k.wait_with_output().expect("wait"));
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(audit_intact(&env), 8);
    let list = json(&env.ok(&["list", "--format", "json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(8), "{list}");
}

// ------------------------------------------------------------ migrate

#[test]
fn a_store_migrated_from_sqlite_verifies_and_serves_its_old_codes() {
    let Some(pg) = Env::postgres("") else {
        return;
    };
    let pg_url = url(&pg);
    // A SQLite store with history: both paths, a spent code, a replaced
    // set, a revoked set, a removed device.
    let lite = Env::sqlite();
    lite.enroll_landline("alice", "5072225999");
    let carol_phone = lite.enroll_mobile("carol", "5072225997");
    lite.enroll_landline("carol", "5072225996");
    lite.ok(&["revoke", "carol", "--device", &carol_phone.to_string()]);
    let old = lite.issue_helpdesk("alice", &[]);
    let alice_codes = lite.issue_helpdesk("alice", &["--uses", "2"]);
    assert_eq!(lite.verify("alice", &alice_codes[0]), 0);
    lite.enroll_mobile("bob", "5072225998");
    lite.ok(&["issue-codes", "bob"]);
    let bob_codes = lite.last_sms_codes();
    lite.ok(&["issue-codes", "bob", "--preserve-existing"]);
    let bob_newer = lite.last_sms_codes();
    lite.issue_helpdesk("carol", &[]);
    lite.ok(&["revoke", "carol"]);
    assert_eq!(lite.verify("bob", "AAAA-AAAA-AAAA-AAAA"), 1);
    // The newest device is removed: its id must not come back on the copy.
    let erin_phone = lite.enroll_mobile("erin", "5072225994");
    lite.ok(&["revoke", "erin", "--device", &erin_phone.to_string()]);
    let before_list = json(&lite.ok(&["list", "--format", "json"]));
    let before_events = audit_events(&lite);

    let lite_path = lite.db.to_string_lossy().into_owned();
    let (code, out, err) = lite.run(&[
        "migrate", "--from", &lite_path, "--to", &pg_url, "--format", "json",
    ]);
    assert_eq!(code, 0, "migrate: {out} {err}");
    let report = json(&out);
    assert_eq!(report["audit"]["intact"], true, "{report}");
    assert_eq!(
        report["copied"]["audit"].as_u64(),
        Some(before_events.len() as u64)
    );
    if let Some(pw) = password_of(&pg_url) {
        let leak = format!(":{pw}@");
        assert!(!out.contains(&leak) && !err.contains(&leak), "{out} {err}");
    }

    // The chain is intact: every copied event, then the migration's own.
    assert_eq!(audit_intact(&pg), before_events.len() as u64 + 1);
    let after_events = audit_events(&pg);
    assert_eq!(
        &after_events[..before_events.len()],
        &before_events[..],
        "events copied exactly (ids, times, details, hashes)"
    );
    assert_eq!(after_events.last().unwrap()["action"], "store-migrated");
    // Users, devices (ids kept), sets and codes left are as they were.
    let after_list = json(&pg.ok(&["list", "--format", "json"]));
    assert_eq!(before_list, after_list);
    // Old codes keep their state: spent uses stay spent, live ones work.
    assert_eq!(pg.verify("alice", &old[0]), 1, "a replaced set stays dead");
    assert_eq!(pg.verify("alice", &alice_codes[0]), 0, "second of two uses");
    assert_eq!(pg.verify("alice", &alice_codes[0]), 1, "no third use");
    assert_eq!(pg.verify("alice", &alice_codes[1]), 0);
    assert_eq!(pg.verify("bob", &bob_codes[0]), 0, "preserved set");
    assert_eq!(pg.verify("bob", &bob_newer[0]), 0);
    // New rows get fresh ids after every id the source ever used: the
    // removed device's id is not handed out again.
    let dev = pg.enroll_mobile("dave", "5072225995");
    assert_eq!(
        dev,
        erin_phone + 1,
        "device id {dev} after removed {erin_phone}"
    );
    pg.issue_helpdesk("dave", &[]);
    audit_intact(&pg);

    // The copy is not empty any more: a second migration is refused.
    let (code, _, err) = lite.run(&["migrate", "--from", &lite_path, "--to", &pg_url]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not empty"), "{err}");
    // The source was only read.
    assert_eq!(audit_events(&lite), before_events);
}

/// The safeguards' tables (schema 5) are copied too: a challenge sent on
/// the SQLite store is still checked (and spent) on the copy, a notice's
/// reference still disputes, the email address on file is kept, and the
/// copy's next challenge gets a fresh id.
#[test]
fn migrate_copies_challenges_emails_and_notices() {
    let Some(pg) = Env::postgres("") else {
        return;
    };
    let pg_url = url(&pg);
    let lite = Env::sqlite();
    let mail = lite.path().join("mail.txt");
    let script = lite.path().join("sendmail.sh");
    std::fs::write(&script, format!("#!/bin/sh\ncat >> {mail:?}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Users are told of every sensitive event (the default), by SMS and email.
    let config = format!(
        "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n[email]\ncommand = \"{} -t -i\"\n",
        lite.outbox.display().to_string(),
        script.display()
    );
    std::fs::write(&lite.config, &config).unwrap();
    std::fs::write(
        &pg.config,
        config.replace(
            lite.outbox.to_string_lossy().as_ref(),
            pg.outbox.to_string_lossy().as_ref(),
        ),
    )
    .unwrap();
    lite.ok(&[
        "enroll-device",
        "ann",
        "--kind",
        "mobile",
        "--phone",
        "5072225999",
        "--email",
        "ann@example.org",
    ]);
    lite.enroll_mobile("ben", "5072225998");
    lite.issue_helpdesk("ben", &[]);
    let outbox = |env: &Env| std::fs::read_to_string(&env.outbox).unwrap_or_default();
    let reference = {
        let text = outbox(&lite);
        let at = text.rfind("quote ").expect("a notice with a reference");
        text[at + 6..at + 6 + 23].to_string()
    };
    let sent = json(&lite.ok(&["challenge", "ann", "--format", "json"]));
    let id = sent["challenge"].as_i64().expect("challenge id");
    let challenge = {
        let text = outbox(&lite);
        let at = text.rfind("verification code is ").expect("a challenge");
        text[at + 21..at + 27].to_string()
    };
    let tables = [
        "SELECT id, user_id, operator, contact, device_id, length(salt), length(hash), m_cost,
                t_cost, p_cost, created_at, expires_at, tries, state FROM challenges ORDER BY id",
        "SELECT user_id, email, set_at FROM user_emails ORDER BY user_id",
        "SELECT ref, user_id, action, audit_id, at, disputed_at FROM notices ORDER BY at, ref",
    ];
    let before: Vec<_> = tables.iter().map(|t| lite.sql_rows(t)).collect();
    assert_eq!(before[0].len(), 1, "one challenge");
    assert_eq!(before[1].len(), 1, "one email address");
    assert!(!before[2].is_empty(), "notices");

    let lite_path = lite.db.to_string_lossy().into_owned();
    let (code, out, err) = lite.run(&[
        "migrate", "--from", &lite_path, "--to", &pg_url, "--format", "json",
    ]);
    assert_eq!(code, 0, "migrate: {out} {err}");
    let report = json(&out);
    assert_eq!(report["copied"]["challenges"], 1, "{report}");
    assert_eq!(report["copied"]["user_emails"], 1, "{report}");
    assert_eq!(
        report["copied"]["notices"].as_u64(),
        Some(before[2].len() as u64),
        "{report}"
    );
    let after: Vec<_> = tables.iter().map(|t| pg.sql_rows(t)).collect();
    assert_eq!(before, after, "rows copied exactly");
    audit_intact(&pg);

    // The copied challenge is checked against its copied hash, once.
    let issue = |answer: &str| {
        pg.run_stdin(
            &[
                "issue-codes",
                "ann",
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
    };
    let (code, _, err) = issue(&challenge);
    assert_eq!(code, 0, "{err}");
    assert_eq!(issue(&challenge).0, 3, "spent");
    // The notice's reference disputes on the copy.
    let v = json(&pg.ok(&["dispute", &reference, "--format", "json"]));
    assert_eq!(v["user"], "ben", "{v}");
    assert_eq!(
        pg.sql_i64("SELECT COUNT(*) FROM notices WHERE disputed_at IS NOT NULL"),
        1
    );
    // New challenges get ids after the copied ones.
    let next = json(&pg.ok(&["challenge", "ann", "--format", "json"]));
    assert_eq!(next["challenge"].as_i64(), Some(id + 1), "{next}");
    audit_intact(&pg);
}

/// Every column of every table reaches the copy as it was: a SQLite store
/// where each table has rows, and most nullable columns a value (a locked
/// user, a labelled landline, sets texted, expiring and revoked, a
/// challenge, an email address, a disputed notice, a pending request of a
/// privileged user), read back column by column from the source and from
/// the PostgreSQL copy. `SELECT *` checks that the lists name every
/// column, and the store's table list that they name every table.
#[test]
fn migrate_copies_every_column_of_every_table() {
    let Some(pg) = Env::postgres("") else {
        return;
    };
    let lite = Env::sqlite();
    let mail = lite.path().join("mail.txt");
    let script = lite.path().join("sendmail.sh");
    std::fs::write(&script, format!("#!/bin/sh\ncat >> {mail:?}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        &lite.config,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n[email]\ncommand = \"{} -t -i\"\n\n[lockout]\nthreshold = 2\n",
            lite.outbox.display().to_string(),
            script.display()
        ),
    )
    .unwrap();
    lite.ok(&[
        "enroll-device",
        "ann",
        "--kind",
        "mobile",
        "--phone",
        "5072225999",
        "--email",
        "ann@example.org",
        "--label",
        "work phone",
    ]);
    lite.enroll_mobile("ben", "5072225998");
    lite.enroll_landline("ben", "5072225997");
    lite.ok(&["issue-codes", "ben", "--expires", "7d"]);
    lite.issue_helpdesk("ben", &[]);
    lite.ok(&["revoke", "ben", "--reason", "lost the card"]);
    lite.ok(&["challenge", "ann"]);
    assert_eq!(lite.verify("ann", "AAAA-AAAA-AAAA-AAAA"), 1);
    assert_eq!(lite.verify("ann", "AAAA-AAAA-AAAA-AAAA"), 1);
    let text = std::fs::read_to_string(&lite.outbox).unwrap_or_default();
    let at = text.rfind("quote ").expect("a notice with a reference");
    lite.ok(&["dispute", &text[at + 6..at + 6 + 23]]);
    lite.ok(&["enroll-device", "ned", "--kind", "token"]);
    lite.ok(&["privileged", "ned", "on"]);
    let (code, _, err) = lite.run(&[
        "issue-codes",
        "ned",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-5",
    ]);
    assert_eq!(code, 10, "{err}");

    // (table, its columns as both backends show them alike, order)
    let tables = [
        (
            "users",
            "id, name, created_at, failed_attempts, locked_at",
            "id",
        ),
        (
            "devices",
            "id, user_id, position, kind, phone, CAST(sms AS INTEGER), label, created_at",
            "id",
        ),
        (
            "identity_checks",
            "id, user_id, operator, method, ticket, outcome, at",
            "id",
        ),
        (
            "code_sets",
            "id, user_id, via, device_id, identity_check_id, operator, created_at, expires_at,
             uses, alphabet, length, salt, m_cost, t_cost, p_cost, state, ended_at, ended_reason",
            "id",
        ),
        ("codes", "id, set_id, hash, uses_left", "id"),
        (
            "audit",
            "id, at, operator, action, \"user\", details, prev_hash, hash, principal",
            "id",
        ),
        (
            "challenges",
            "id, user_id, operator, contact, device_id, salt, hash, m_cost, t_cost, p_cost,
             created_at, expires_at, tries, state",
            "id",
        ),
        ("user_emails", "user_id, email, set_at", "user_id"),
        (
            "notices",
            "ref, user_id, action, audit_id, at, disputed_at",
            "at, ref",
        ),
        ("privileged_users", "user_id, set_by, set_at", "user_id"),
        (
            "approval_requests",
            "id, user_id, what, reason, requested_by, operator, method, ticket, created_at,
             expires_at, state, decided_by, decided_at, used_at",
            "id",
        ),
    ];
    let mut names: Vec<&str> = tables.iter().map(|t| t.0).collect();
    names.sort();
    assert_eq!(
        lite.sql_column(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN
             ('sqlite_sequence', 'schema_version', 'schema_level') ORDER BY name"
        ),
        names,
        "every table of the store is listed here"
    );
    let read = |env: &Env| -> Vec<_> {
        tables
            .iter()
            .map(|(t, cols, order)| {
                env.sql_rows(&format!("SELECT {cols} FROM {t} ORDER BY {order}"))
            })
            .collect()
    };
    let before = read(&lite);
    for ((t, cols, _), rows) in tables.iter().zip(&before) {
        assert!(!rows.is_empty(), "{t} has rows");
        let all = lite.sql_rows(&format!("SELECT * FROM {t}"));
        assert_eq!(all[0].len(), cols.split(',').count(), "every column of {t}");
    }
    // Nullable columns with a value in the source (so NULLs are not all
    // that is compared).
    for (t, col) in [
        ("users", "locked_at"),
        ("devices", "label"),
        ("code_sets", "expires_at"),
        ("code_sets", "device_id"),
        ("code_sets", "identity_check_id"),
        ("code_sets", "ended_reason"),
        ("identity_checks", "ticket"),
        ("audit", "principal"),
        ("notices", "disputed_at"),
        ("notices", "audit_id"),
    ] {
        let n = lite.sql_i64(&format!("SELECT COUNT(*) FROM {t} WHERE {col} IS NOT NULL"));
        assert!(n > 0, "{t}.{col} has a value");
    }

    let (code, out, err) = lite.run(&[
        "migrate",
        "--from",
        lite.db.to_str().unwrap(),
        "--to",
        &url(&pg),
    ]);
    assert_eq!(code, 0, "migrate: {out} {err}");
    let after = read(&pg);
    for (((t, _, _), b), a) in tables.iter().zip(&before).zip(&after) {
        // The copy's trail goes on with the migration's own event.
        let a = if *t == "audit" { &a[..a.len() - 1] } else { a };
        assert_eq!(b, a, "{t} copied exactly");
    }
    assert_eq!(
        audit_events(&pg).last().unwrap()["action"],
        "store-migrated"
    );
    audit_intact(&pg);
}

#[test]
fn migrate_refuses_a_missing_source_and_a_non_postgres_target() {
    let env = Env::sqlite();
    let missing = env.path().join("nope.db").display().to_string();
    let (code, _, err) = env.run(&[
        "migrate",
        "--from",
        &missing,
        "--to",
        "postgres://u@127.0.0.1:1/x",
    ]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("no SQLite store"), "{err}");
    assert!(!std::path::Path::new(&missing).exists(), "source created");
    env.enroll_mobile("bob", "5072225998");
    let lite = env.db.to_string_lossy().into_owned();
    let (code, _, err) = env.run(&["migrate", "--from", &lite, "--to", "/tmp/other.db"]);
    assert_eq!(code, 2, "{err}");
}

// ------------------------------------------------------------ failures

#[test]
fn an_unreachable_server_is_exit_7_naming_the_host_and_never_the_password() {
    let env = Env::on_url("postgres://helpdesk:Sup3r-Secret-Pw@127.0.0.1:1/codedesk_prod");
    for args in [&["list"][..], &["verify", "alice"], &["audit", "verify"]] {
        let (code, out, err) = env.run_stdin(args, "AAAA-AAAA-AAAA-AAAA\n");
        assert_eq!(code, 7, "{args:?}: {err}");
        assert!(err.contains("127.0.0.1"), "{err}");
        assert!(err.contains("port 1"), "{err}");
        assert!(err.contains("codedesk_prod"), "{err}");
        assert!(!err.contains("Sup3r") && !out.contains("Sup3r"), "{err}");
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.contains("warning: Argon2id"))
            .collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
    }
    // The same URL from the environment; `config` masks the password.
    let (code, out, err) = finish(
        env.cmd_without_db()
            .env("CODEDESK_DB", &env.db)
            .args(["config", "--format", "json"])
            .output()
            .expect("run codedesk"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("Sup3r") && !err.contains("Sup3r"), "{out}");
    assert!(
        out.contains("helpdesk:***@127.0.0.1:1/codedesk_prod"),
        "{out}"
    );
}

#[test]
fn asking_for_tls_of_an_unreachable_server_is_exit_7_naming_the_mode_never_the_password() {
    // TLS itself, with a server, is tests/suite/pg_tls.rs.
    for mode in ["require", "verify-full"] {
        let url = format!("postgres://u:pw123456@127.0.0.1:1/x?sslmode={mode}");
        let env = Env::on_url(&url);
        let (code, _, err) = env.run(&["list"]);
        assert_eq!(code, 7, "{err}");
        assert!(err.contains(&format!("sslmode={mode}")), "{err}");
        assert!(!err.contains("pw123456"), "{err}");
    }
}

#[test]
fn a_newer_postgres_schema_is_exit_7() {
    let Some(env) = Env::postgres("") else {
        return;
    };
    env.enroll_mobile("bob", "5072225998");
    env.sql_execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("newer"), "{err}");
}

#[test]
fn the_admin_url_helper_swaps_only_the_database() {
    assert_eq!(
        with_database("postgres://a:b@h:5/db?sslmode=disable", "x"),
        "postgres://a:b@h:5/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    assert_eq!(password_of("postgres://a:b@h/db").as_deref(), Some("b"));
    assert_eq!(password_of("postgres://a@h/db"), None);
}

#[test]
fn a_writer_held_up_past_the_busy_timeout_is_exit_7_and_readers_are_not() {
    let Some(env) = Env::postgres("") else {
        return;
    };
    env.enroll_mobile("bob", "5072225998");
    // Another workstation holds the write lock (as a stuck writer would).
    let mut other = postgres::Client::connect(&url(&env), postgres::NoTls).expect("connect");
    other
        .execute(
            "SELECT pg_advisory_lock($1)",
            &[&codedesk::store::postgres::WRITE_LOCK],
        )
        .expect("lock");
    let started = std::time::Instant::now();
    let (code, out, err) = env.run(&["list", "--format", "json"]);
    assert_eq!(code, 0, "readers do not wait for writers: {err}");
    assert!(out.contains("bob"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (code, _, err) = env.run(&["unlock", "bob"]);
    let waited = started.elapsed();
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("busy"), "{err}");
    assert!(
        waited >= codedesk::store::BUSY_TIMEOUT,
        "gave up after {waited:?}"
    );
    drop(other);
    // Once the lock is gone, writes go through; nothing was half-written.
    env.ok(&["unlock", "bob"]);
    let (code, out, _) = env.run(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_store_interface_opens_postgres_and_finds_it_sound() {
    let Some(env) = Env::postgres("") else {
        return;
    };
    let store = codedesk::store::Store::open(&env.db).expect("open");
    assert!(matches!(store, codedesk::store::Store::Postgres(_)));
    assert_eq!(store.integrity_check().expect("integrity"), "ok");
    assert!(matches!(
        store.verify_chain().expect("chain"),
        codedesk::audit::ChainCheck::Intact { count: 0, .. }
    ));
}
