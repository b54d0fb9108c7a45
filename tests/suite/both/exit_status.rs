// One test per exit status of `src/exit.rs` (docs/contract.md, "Exit statuses"), and the JSON shapes
// of "Machine-readable output", through the real binary.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use common::{Env, postgres_only, sqlite_only};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn user_json(env: &Env, user: &str) -> Value {
    json(&env.ok(&["list", user, "--format", "json"]))
}

/// Everything a user of the tool can see of the store.
fn snapshot(env: &Env) -> String {
    format!(
        "{}\n{}",
        env.ok(&["list", "--format", "json"]),
        env.ok(&["audit", "--format", "json"])
    )
}

/// The error lines of stderr (the weak-hash warning of the harness aside).
fn error_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| !l.starts_with("codedesk: warning:") && !l.trim().is_empty())
        .collect()
}

/// Well-formed codes that are no longer valid: a helpdesk set, replaced.
fn dead_codes(env: &Env, user: &str) -> Vec<String> {
    let old = env.issue_helpdesk(user, &[]);
    env.issue_helpdesk(user, &[]);
    old
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

fn has_keys(v: &Value, want: &[&str]) {
    let k = keys(v);
    for w in want {
        assert!(k.contains(w), "missing {w:?} in {v}");
    }
}

// ------------------------------------------------------------ statuses

#[test]
fn exit0_success_for_every_ordinary_command() {
    let env = Env::new();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "enroll-device",
            "ann",
            "--kind",
            "mobile",
            "--phone",
            "5072220001",
        ],
        vec![
            "enroll-device",
            "bo",
            "--kind",
            "landline",
            "--phone",
            "5072220002",
        ],
        vec!["issue-codes", "ann"],
        vec![
            "issue-codes",
            "bo",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-1",
        ],
        vec!["list"],
        vec!["list", "ann"],
        vec!["audit"],
        vec!["audit", "verify"],
        vec!["unlock", "ann"],
    ];
    for args in &cases {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    let codes = env.last_sms_codes();
    let (code, out, _) = env.run_stdin(&["verify", "ann"], &codes[0]);
    assert_eq!(code, 0);
    assert!(out.contains("accepted"), "{out}");
    let set = user_json(&env, "ann")["sets"][0]["id"].as_i64().unwrap();
    assert_eq!(
        env.run(&["revoke", "ann", "--batch", &set.to_string()]).0,
        0
    );
    assert_eq!(env.run(&["revoke", "bo"]).0, 0);
    assert_eq!(user_json(&env, "bo")["codes_remaining"], 0);
}

#[test]
fn exit1_verify_rejects_wrong_spent_expired_and_revoked_codes() {
    let env = Env::new();
    env.enroll_landline("cy", "5072220010");
    let wrong = dead_codes(&env, "cy");
    let live = env.issue_helpdesk("cy", &[]);

    let (code, out, err) = env.run_stdin(&["verify", "cy"], &wrong[0]);
    assert_eq!(code, 1, "wrong: {err}");
    assert!(out.contains("rejected"), "{out}");
    assert!(error_lines(&err).len() == 1, "{err}");

    assert_eq!(env.verify("cy", &live[0]), 0);
    assert_eq!(env.verify("cy", &live[0]), 1, "spent");

    let set = user_json(&env, "cy")["sets"][0]["id"].as_i64().unwrap();
    env.ok(&["revoke", "cy", "--batch", &set.to_string()]);
    assert_eq!(env.verify("cy", &live[1]), 1, "revoked set");

    let more = env.issue_helpdesk("cy", &[]);
    env.ok(&["revoke", "cy", "--reason", "lost wallet"]);
    assert_eq!(env.verify("cy", &more[0]), 1, "revoked user");

    // Expired: the clock is movable in debug builds only (CODEDESK_NOW).
    if cfg!(debug_assertions) {
        let t0 = 2_000_000_000i64;
        let at = |t: i64, args: &[&str], stdin: &str| {
            let out = env
                .cmd()
                .env("CODEDESK_NOW", t.to_string())
                .args(args)
                .write_stdin(stdin.as_bytes().to_vec())
                .output()
                .unwrap();
            (
                out.status.code().unwrap(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let (code, out) = at(
            t0,
            &[
                "issue-codes",
                "cy",
                "--identity-verified",
                "in-person",
                "--ticket",
                "T-2",
                "--expires",
                "1h",
                "-q",
            ],
            "",
        );
        assert_eq!(code, 0);
        let timed: Vec<&str> = out.lines().collect();
        assert_eq!(at(t0 + 3601, &["verify", "cy"], timed[0]).0, 1, "expired");
        assert_eq!(at(t0 + 60, &["verify", "cy"], timed[1]).0, 0, "in time");
    }
    let u = user_json(&env, "cy");
    assert_eq!(u["locked"], false);
}

#[test]
fn exit2_usage_errors_name_the_problem_and_change_nothing() {
    let env = Env::new();
    env.enroll_landline("dee", "5072220020");
    env.enroll_mobile("eve", "5072220021");
    let before = snapshot(&env);
    let long_name = "x".repeat(65);
    let ours: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "enroll-device",
                "bad user",
                "--kind",
                "mobile",
                "--phone",
                "5072220022",
            ],
            "user",
        ),
        (vec!["list", &long_name], "user"),
        (
            vec![
                "enroll-device",
                "fay",
                "--kind",
                "mobile",
                "--phone",
                "12ab",
            ],
            "phone",
        ),
        (vec!["enroll-device", "fay", "--kind", "mobile"], "--phone"),
        (
            vec![
                "enroll-device",
                "fay",
                "--kind",
                "landline",
                "--phone",
                "5072220023",
                "--sms",
            ],
            "SMS",
        ),
        (vec!["issue-codes", "eve", "--count", "0"], "--count"),
        (vec!["issue-codes", "eve", "--count", "1000000"], "--count"),
        (vec!["issue-codes", "eve", "--expires", "soon"], "--expires"),
        (vec!["issue-codes", "dee", "--via", "sms"], "SMS"),
        (vec!["audit", "--since", "yesterday-ish"], "--since"),
        // Negative-looking values are values of the option, refused as such.
        (
            vec!["issue-codes", "eve", "--expires", "-1s"],
            "--expires: \"-1s\" is not a positive duration",
        ),
        (vec!["audit", "--since", "-1d"], "--since \"-1d\""),
        (vec!["report", "--since", "-1d"], "--since \"-1d\""),
        (
            vec!["revoke", "--issued-by", "op", "--since", "-1d"],
            "--since \"-1d\"",
        ),
    ];
    for (args, names) in &ours {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        let lines = error_lines(&err);
        assert_eq!(lines.len(), 1, "one line for {args:?}: {err}");
        assert!(
            lines[0].contains(names),
            "{args:?} should name {names}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    // Argument errors from the parser, including a code on the command line.
    for args in [
        vec!["verify", "eve", "7KQ2-M9XD-4TRB-V8PN"],
        vec!["issue-codes", "dee", "--via", "carrier-pigeon"],
        vec!["enroll-device", "fay", "--kind", "fax"],
        vec!["frobnicate"],
    ] {
        let (code, _, err) = env.run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("7KQ2"), "the code is echoed: {err}");
    }
    assert_eq!(snapshot(&env), before, "a usage error changed the store");

    // An unknown configuration key names the key.
    std::fs::write(&env.config, "[codes]\ncolour = \"blue\"\n").unwrap();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("colour"), "{err}");
    std::fs::write(&env.config, "[lockout]\nthreshold = \"many\"\n").unwrap();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("threshold"), "{err}");
}

#[test]
fn exit2_parser_errors_are_one_line_naming_the_problem() {
    let env = Env::new();
    env.enroll_landline("bob", "5072220024");
    let before = snapshot(&env);
    for (args, names) in [
        (
            vec!["issue-codes", "bob", "--identity-verified", "zoom"],
            vec![
                "'zoom'",
                "--identity-verified",
                "in-person, video-call, callback",
            ],
        ),
        (
            vec!["list", "--format", "yaml"],
            vec!["'yaml'", "--format", "table, json, csv, text"],
        ),
        (
            vec!["isue-codes", "bob"],
            vec!["'isue-codes'", "did you mean 'issue-codes'?"],
        ),
        (
            vec![
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--phone",
                "5072220025",
                "--sms",
                "--no-sms",
            ],
            vec!["--sms", "--no-sms", "cannot be used with"],
        ),
        (vec!["issue-codes", "bob", "--count", "-1"], vec!["-1"]),
        (
            vec!["enroll-device", "--kind", "token"],
            vec!["required", "<USER>"],
        ),
    ] {
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line for {args:?}: {err}");
        assert!(err.starts_with("codedesk: "), "{args:?}: {err}");
        assert!(!err.starts_with("codedesk: error"), "{args:?}: {err}");
        for name in names {
            assert!(err.contains(name), "{args:?} should name {name}: {err}");
        }
        for noise in ["Usage:", "For more information", "tip:", "'-- "] {
            assert!(!err.contains(noise), "{args:?}: {noise:?} in {err}");
        }
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    assert_eq!(snapshot(&env), before, "a usage error changed the store");

    // Help and version are clap's own, as before.
    let (code, out, err) = env.run(&["--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Usage: codedesk") && out.contains("Exit status:"),
        "{out}"
    );
    let (code, out, _) = env.run(&["issue-codes", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--identity-verified"), "{out}");
    let (code, out, _) = env.run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("codedesk "), "{out}");
    // No subcommand at all is a usage error like the others, listing them.
    let (code, out, err) = env.run(&[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        out.is_empty() && err.contains("requires a subcommand"),
        "{err}"
    );
    assert!(err.contains("issue-codes"), "{err}");
    assert!(
        !err.contains("Usage:") && !err.contains("Options:"),
        "{err}"
    );
    assert!(!err.contains("generate-artifacts"), "{err}");
}

#[test]
fn exit3_identity_check_not_attested_issues_nothing() {
    let env = Env::new();
    env.enroll_landline("gus", "5072220030");
    env.enroll_mobile("hana", "5072220031");
    for args in [
        vec!["issue-codes", "gus"],
        vec!["issue-codes", "gus", "--via", "helpdesk"],
        vec!["issue-codes", "hana", "--via", "helpdesk"],
    ] {
        let (code, out, err) = env.run(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("nothing issued"), "{err}");
    }
    for u in ["gus", "hana"] {
        let j = user_json(&env, u);
        assert_eq!(j["codes_remaining"], 0);
        assert_eq!(j["sets"].as_array().unwrap().len(), 0);
    }
    assert_eq!(
        std::fs::read_to_string(&env.outbox).unwrap_or_default(),
        "",
        "nothing texted"
    );
}

#[test]
fn exit4_no_such_user_device_or_set() {
    let env = Env::new();
    env.enroll_mobile("ivy", "5072220040");
    let before = snapshot(&env);
    for (args, stdin) in [
        (vec!["verify", "ghost"], "7KQ2-M9XD-4TRB-V8PN"),
        (vec!["issue-codes", "ghost"], ""),
        (vec!["list", "ghost"], ""),
        (vec!["revoke", "ghost"], ""),
        (vec!["unlock", "ghost"], ""),
        (vec!["issue-codes", "ivy", "--device", "999"], ""),
        (vec!["revoke", "ivy", "--device", "999"], ""),
        (vec!["revoke", "ivy", "--batch", "999"], ""),
    ] {
        let (code, _, err) = env.run_stdin(&args, stdin);
        assert_eq!(code, 4, "{args:?}: {err}");
        assert_eq!(error_lines(&err).len(), 1, "{err}");
        assert!(!err.contains("7KQ2"), "{err}");
    }
    assert_eq!(snapshot(&env), before);
}

#[test]
fn exit4_audit_for_a_user_the_store_never_knew() {
    let env = Env::new();
    env.enroll_landline("alice", "5072220060");
    let (code, out, err) = env.run(&["audit", "--user", "alcie"]);
    assert_eq!(code, 4, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(error_lines(&err), ["codedesk: no such user: alcie"]);
    // the same words as `list`
    let (code, _, list_err) = env.run(&["list", "alcie"]);
    assert_eq!(code, 4);
    assert_eq!(error_lines(&err), error_lines(&list_err));
    for format in ["json", "csv", "text"] {
        let (code, out, _) = env.run(&["audit", "--user", "alcie", "--format", format]);
        assert_eq!(code, 4, "{format}");
        assert!(out.is_empty(), "{format}: {out}");
    }
    // A known user with no matching events is an empty answer, not an error.
    let (code, out, err) = env.run(&["audit", "--user", "alice", "--since", "2099-01-01"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no audit events match"), "{out}");
    let out = env.ok(&["audit", "--user", "alice", "--format", "json"]);
    assert!(out.contains("\"alice\""), "{out}");
}

#[test]
fn exit5_locked_out_until_unlock() {
    let env = Env::with_config("[lockout]\nthreshold = 3\n");
    env.enroll_landline("jay", "5072220050");
    let wrong = dead_codes(&env, "jay");
    let right = env.issue_helpdesk("jay", &[]);
    for c in &wrong[..3] {
        assert_eq!(env.verify("jay", c), 1);
    }
    assert_eq!(user_json(&env, "jay")["locked"], true);
    let (code, out, err) = env.run_stdin(&["verify", "jay", "--format", "json"], &right[0]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("locked"), "{err}");
    assert_eq!(error_lines(&err).len(), 1, "{err}");
    // Scripts get the verify object too, saying why.
    let v = json(&out);
    has_keys(&v, &["user", "accepted", "remaining", "locked"]);
    assert_eq!(v["user"], "jay");
    assert_eq!(v["accepted"], false);
    assert_eq!(v["remaining"], 10);
    assert_eq!(v["locked"], true);
    let (code, out, _) = env.run_stdin(&["verify", "jay", "--format", "csv"], &right[0]);
    assert_eq!(code, 5);
    assert_eq!(out, "user,accepted,remaining,locked\njay,false,10,true\n");
    let (code, out, _) = env.run_stdin(&["verify", "jay"], &right[0]);
    assert_eq!(code, 5);
    assert!(
        out.is_empty(),
        "at a table, the lockout is told on stderr: {out}"
    );
    // An unknown user is an error, not an outcome: nothing on stdout.
    let (code, out, err) = env.run_stdin(&["verify", "jya", "--format", "json"], &right[0]);
    assert_eq!(code, 4, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(env.verify("jay", &wrong[4]), 5);
    assert_eq!(user_json(&env, "jay")["codes_remaining"], 10);
    env.ok(&["unlock", "jay"]);
    assert_eq!(env.verify("jay", &right[0]), 0);
}

#[test]
fn exit6_delivery_failed_or_not_configured_changes_nothing() {
    let fast = "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n";
    let env = Env::with_raw_config(&format!("{fast}\n[sms]\ncommand = \"/bin/false\"\n"));
    env.enroll_mobile("kit", "5072220060");
    let old = env.issue_helpdesk("kit", &[]);
    let sets = user_json(&env, "kit")["sets"].clone();
    let (code, out, err) = env.run(&["issue-codes", "kit"]);
    assert_eq!(code, 6, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("/bin/false"), "{err}");
    assert_eq!(user_json(&env, "kit")["sets"], sets);

    std::fs::write(&env.config, fast).unwrap();
    let (code, _, err) = env.run(&["issue-codes", "kit"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("no SMS delivery"), "{err}");
    assert_eq!(user_json(&env, "kit")["sets"], sets);
    assert_eq!(env.verify("kit", &old[0]), 0);
}

#[test]
fn exit7_store_that_is_not_a_database_or_cannot_be_used() {
    if sqlite_only("writes junk over the store file, makes its path a folder") {
        return;
    }
    // A file that is not a database: refused, and left byte for byte as it was.
    let env = Env::new();
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    let junk = b"these are my notes, not a codedesk store\n".repeat(40);
    std::fs::write(&env.db, &junk).unwrap();
    for (args, stdin) in [
        (vec!["list"], ""),
        (vec!["enroll-device", "lou", "--kind", "tablet"], ""),
        (vec!["verify", "lou"], "7KQ2-M9XD-4TRB-V8PN"),
        (vec!["audit", "verify"], ""),
    ] {
        let (code, _, err) = env.run_stdin(&args, stdin);
        assert_eq!(code, 7, "{args:?}: {err}");
        assert_eq!(error_lines(&err).len(), 1, "{err}");
        assert!(err.contains("not a database"), "{err}");
    }
    assert_eq!(std::fs::read(&env.db).unwrap(), junk);

    // The store path is a folder.
    let env = Env::new();
    std::fs::create_dir_all(&env.db).unwrap();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("folder"), "{err}");
}

#[test]
fn exit7_a_store_written_by_a_newer_codedesk_is_refused_and_left_alone() {
    let env = Env::new();
    env.enroll_mobile("mo", "5072220070");
    // Each backend records its schema version its own way.
    env.sql_execute(match env.is_postgres() {
        true => "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)",
        false => "PRAGMA user_version = 99",
    });
    let before = env.store_state();
    let (code, _, err) = env.run(&["list"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("newer"), "{err}");
    assert_eq!(env.store_state(), before);
}

/// Exit 9: on PostgreSQL, a login role without the codedesk role a
/// command needs (here none at all) is refused by the server, and the
/// message names the role (tests/suite/pg_roles.rs tries each role). SQLite has
/// no roles: a store file the caller may not write is exit 7.
#[test]
fn exit9_a_login_role_without_the_role_a_command_needs_is_not_permitted() {
    if postgres_only("roles are PostgreSQL's") {
        return;
    }
    let env = Env::new();
    env.enroll_mobile("nia", "5072220110");
    let name = format!("cdt_nobody_{}", std::process::id());
    let psql = |sql: &str| env.psql_as_owner(sql);
    psql(&format!("CREATE ROLE {name} LOGIN PASSWORD 'pw'"));
    let url = env.url_as(&name, "pw");
    let before = snapshot(&env);
    let run = |args: &[&str]| {
        let out = env
            .cmd_without_db()
            .arg("--db")
            .arg(&url)
            .args(args)
            .output()
            .expect("run codedesk");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (list, list_err) = run(&["list"]);
    let (issue, issue_err) = run(&["issue-codes", "nia"]);
    let (verify, verify_err) = run(&["verify", "nia"]);
    psql(&format!("DROP ROLE {name}"));
    assert_eq!(list, 9, "{list_err}");
    assert!(
        list_err.contains("not permitted") && list_err.contains("codedesk_auditor"),
        "{list_err}"
    );
    assert_eq!(issue, 9, "{issue_err}");
    assert!(issue_err.contains("codedesk_operator"), "{issue_err}");
    assert_eq!(verify, 9, "{verify_err}");
    assert!(verify_err.contains("codedesk_verifier"), "{verify_err}");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn exit8_audit_verify_names_an_edited_or_deleted_event() {
    let env = Env::new();
    env.enroll_landline("ned", "5072220080");
    env.issue_helpdesk("ned", &[]);
    env.enroll_mobile("ola", "5072220081");
    env.ok(&["issue-codes", "ola"]);
    let (code, out, _) = env.run(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert!(out.contains("intact"), "{out}");

    // Edit the passed identity check's ticket.
    let edited = env.sql_i64("SELECT id FROM audit WHERE action = 'identity-check'");
    let n = env.sql_execute(&format!(
        "UPDATE audit SET details = replace(details, 'T-1', 'T-2') WHERE id = {edited}"
    ));
    assert_eq!(n, 1);
    let (code, _, err) = env.run(&["audit", "verify"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(&format!("event {edited}")), "{err}");
    let (code, out, _) = env.run(&["audit", "verify", "--format", "json"]);
    assert_eq!(code, 8);
    let j = json(&out);
    assert_eq!(j["intact"], false);
    assert_eq!(j["event"], edited);

    // A deleted event in the middle of an otherwise intact trail.
    let env = Env::new();
    env.enroll_mobile("pia", "5072220090");
    env.enroll_mobile("pia", "5072220091");
    env.ok(&["issue-codes", "pia"]);
    assert_eq!(env.sql_execute("DELETE FROM audit WHERE id = 2"), 1);
    let (code, _, err) = env.run(&["audit", "verify"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("event 2"), "{err}");

    // A changed operator.
    let env = Env::new();
    env.enroll_mobile("quu", "5072220100");
    env.enroll_mobile("quu", "5072220101");
    env.sql_execute("UPDATE audit SET operator = 'mallory' WHERE id = 1");
    let (code, _, err) = env.run(&["audit", "verify"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("event 1"), "{err}");
}

/// Whoever can write the store can drop the newest events (the chain that
/// is left is intact) or rewrite it all with fresh hashes. A head that
/// `audit verify` printed earlier, kept elsewhere, catches both.
#[test]
fn an_anchor_kept_elsewhere_shows_a_truncated_trail() {
    let env = Env::new();
    env.enroll_landline("ned", "5072220080");
    env.issue_helpdesk("ned", &[]);
    // Events that change no code set or lock: dropping them leaves a trail
    // that still vouches for the state (dropping an issue would not:
    // `audit_verify_replays_the_trail_against_the_store`).
    env.enroll_mobile("kim", "5072220082");
    let first = json(&env.ok(&["audit", "verify", "--format", "json"]));
    let anchor = first["head"].as_str().unwrap().to_string();
    let anchored_at = first["events"].as_i64().unwrap();
    env.enroll_mobile("ola", "5072220081");
    env.enroll_mobile("pat", "5072220083");
    // Intact and the anchor is there (its case does not matter).
    let out = env.ok(&["audit", "verify", "--anchor", &anchor.to_uppercase()]);
    assert!(
        out.contains(&format!("anchor {anchor} is event {anchored_at}")),
        "{out}"
    );
    let j = json(&env.ok(&["audit", "verify", "--format", "json", "--anchor", &anchor]));
    assert_eq!(j["intact"], true);
    assert_eq!(j["anchors"][0]["event"], anchored_at);
    // Drop the anchored event and everything after it: what is left is a
    // valid, shorter chain, and only the anchor tells.
    let n = env.sql_execute(&format!("DELETE FROM audit WHERE id >= {anchored_at}"));
    assert!(n >= 2, "{n}");
    let (code, out, err) = env.run(&["audit", "verify"]);
    assert_eq!(
        code, 0,
        "without an anchor the shorter chain verifies: {out}{err}"
    );
    let before = env.store_state();
    let (code, out, err) = env.run(&["audit", "verify", "--format", "json", "--anchor", &anchor]);
    assert_eq!(code, 8, "{out}{err}");
    assert!(err.contains("not in the trail"), "{err}");
    assert_eq!(
        err.lines().count(),
        1 + usize::from(err.contains("warning")),
        "{err}"
    );
    let j = json(&out);
    assert_eq!(j["intact"], false);
    assert_eq!(j["anchor"], anchor.as_str());
    // A malformed anchor is a usage error, and nothing is touched.
    let (code, _, err) = env.run(&["audit", "verify", "--anchor", "12ab"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("64 hexadecimal digits"), "{err}");
    assert_eq!(env.store_state(), before);
}

/// SECURITY.md's recipe: every event's hash is SHA-256 over the compact
/// JSON array [prev_hash, id, at, operator, action, user, details,
/// principal] (without principal for an event that has none, from before
/// schema 3), so a reviewer can check the chain from `audit --format json`
/// alone. The principal is the one the system vouches for: the OS account
/// running the tests on SQLite, the login role on PostgreSQL.
#[test]
fn a_reviewer_can_recompute_the_audit_chain_from_the_json() {
    use sha2::{Digest, Sha256};
    let env = Env::new();
    env.ok(&[
        "enroll-device",
        "ned",
        "--kind",
        "landline",
        "--phone",
        "5072220080",
        "--label",
        "Büro «desk» phone",
    ]);
    env.issue_helpdesk("ned", &[]);
    env.enroll_mobile("ola", "5072220081");
    env.ok(&["issue-codes", "ola"]);
    env.ok(&["revoke", "ola", "--reason", "lost \"phone\" ✓"]);
    let out = env.ok(&["audit", "--format", "json"]);
    let mut prev = "0".repeat(64);
    let mut n = 0;
    for line in out.lines() {
        let e = json(line);
        assert_eq!(e["prev_hash"], prev.as_str(), "{line}");
        let details = serde_json::to_string(&e["details"]).unwrap();
        assert_eq!(e["operator"], "tester", "{line}");
        let principal = e["principal"]
            .as_str()
            .expect("every new event has a principal");
        assert!(!principal.is_empty() && principal != "tester", "{line}");
        let canonical = serde_json::json!([
            e["prev_hash"],
            e["id"],
            e["at"],
            e["operator"],
            e["action"],
            e["user"],
            details,
            principal
        ]);
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(e["hash"], hash.as_str(), "{line}");
        prev = hash;
        n += 1;
    }
    assert!(n >= 6, "{out}");
}

// ----------------------------------------------------------- JSON shapes

#[test]
fn json_issue_codes_helpdesk_has_codes_and_sms_has_none() {
    let env = Env::new();
    env.enroll_landline("rae", "5072220110");
    env.enroll_mobile("sid", "5072220111");
    let (code, out, err) = env.run(&[
        "issue-codes",
        "rae",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-3",
        "--count",
        "4",
        "--expires",
        "7d",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let h = json(&out);
    has_keys(
        &h,
        &["user", "via", "batch", "count", "expires_at", "codes"],
    );
    assert_eq!(h["user"], "rae");
    assert_eq!(h["via"], "helpdesk");
    assert_eq!(h["count"], 4);
    assert!(h["expires_at"].is_string(), "{h}");
    let codes = h["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 4);
    assert!(
        codes
            .iter()
            .all(|c| common::looks_like_code(c.as_str().unwrap()))
    );
    assert_eq!(h["batch"], user_json(&env, "rae")["sets"][0]["id"]);
    assert_eq!(env.verify("rae", codes[0].as_str().unwrap()), 0);

    let (code, out, err) = env.run(&["issue-codes", "sid", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s = json(&out);
    has_keys(&s, &["user", "via", "batch", "count", "expires_at"]);
    assert!(s.get("codes").is_none(), "{s}");
    assert_eq!(s["user"], "sid");
    assert_eq!(s["via"], "sms");
    assert_eq!(s["count"], 10);
    assert!(s["expires_at"].is_null());
    assert_eq!(s["batch"], user_json(&env, "sid")["sets"][0]["id"]);
    assert_eq!(out.trim().lines().count(), 1, "one object: {out}");
}

#[test]
fn json_verify_reports_user_accepted_and_remaining() {
    let env = Env::new();
    env.enroll_mobile("tom", "5072220120");
    env.ok(&["issue-codes", "tom"]);
    let codes = env.last_sms_codes();
    let (code, out, _) = env.run_stdin(&["verify", "tom", "--format", "json"], &codes[0]);
    assert_eq!(code, 0);
    let v = json(&out);
    // The three documented fields, and `locked` (new fields may be added).
    assert_eq!(keys(&v), vec!["accepted", "locked", "remaining", "user"]);
    assert_eq!(v["user"], "tom");
    assert_eq!(v["accepted"], true);
    assert_eq!(v["remaining"], 9);
    assert_eq!(v["locked"], false);
    let (code, out, _) = env.run_stdin(&["verify", "tom", "--format", "json"], &codes[0]);
    assert_eq!(code, 1);
    let v = json(&out);
    assert_eq!(v["accepted"], false);
    assert_eq!(v["remaining"], 9);
}

#[test]
fn json_list_user_is_an_object_and_list_is_an_array_of_them() {
    let env = Env::new();
    let l = env.enroll_landline("uli", "(507) 222-0130");
    let m = env.enroll_mobile("uli", "507.222.0131");
    env.enroll_mobile("vera", "5072220132");
    env.ok(&["issue-codes", "vera"]);
    let u = user_json(&env, "uli");
    has_keys(&u, &["user", "locked", "codes_remaining", "devices"]);
    assert_eq!(u["user"], "uli");
    assert_eq!(u["locked"], false);
    assert_eq!(u["codes_remaining"], 0);
    let devs = u["devices"].as_array().unwrap();
    assert_eq!(devs.len(), 2);
    for d in devs {
        has_keys(d, &["id", "kind", "sms", "primary", "phone"]);
    }
    assert_eq!(devs[0]["id"], l);
    assert_eq!(devs[0]["kind"], "landline");
    assert_eq!(devs[0]["sms"], false);
    assert_eq!(devs[0]["primary"], true);
    assert_eq!(devs[1]["id"], m);
    assert_eq!(devs[1]["kind"], "mobile");
    assert_eq!(devs[1]["sms"], true);
    assert_eq!(devs[1]["primary"], false);
    // Masked to the last four digits.
    let phone = devs[0]["phone"].as_str().unwrap();
    assert!(phone.ends_with("0130") && !phone.contains("222"), "{phone}");

    let all = json(&env.ok(&["list", "--format", "json"]));
    let arr = all.as_array().expect("an array");
    assert_eq!(arr.len(), 2);
    let names: Vec<&str> = arr.iter().map(|u| u["user"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"uli") && names.contains(&"vera"),
        "{names:?}"
    );
    for u in arr {
        has_keys(u, &["user", "locked", "codes_remaining", "devices"]);
    }
    let vera = arr.iter().find(|u| u["user"] == "vera").unwrap();
    assert_eq!(vera["codes_remaining"], 10);
    assert_eq!(*vera, user_json(&env, "vera"));

    // No users yet: an empty array (the store exists: `unlock` of
    // nobody creates it; `list` creates none, see review_fixes.rs).
    let empty = Env::new();
    assert_eq!(empty.run(&["unlock", "nobody"]).0, 4);
    assert_eq!(
        json(&empty.ok(&["list", "--format", "json"])),
        serde_json::json!([])
    );
}

#[test]
fn json_enroll_device_names_the_user_and_the_new_device() {
    let env = Env::new();
    let (code, out, err) = env.run(&[
        "enroll-device",
        "Wes",
        "--kind",
        "mobile",
        "--phone",
        "+1 507 222 0140",
        "--label",
        "work phone",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let e = json(&out);
    has_keys(&e, &["user", "device"]);
    assert_eq!(e["user"], "wes", "user names are folded to lower case");
    let d = &e["device"];
    has_keys(d, &["id", "kind", "sms", "primary", "phone"]);
    assert!(d["id"].is_i64());
    assert_eq!(d["kind"], "mobile");
    assert_eq!(d["sms"], true);
    assert_eq!(d["primary"], true);
    assert!(d["phone"].as_str().unwrap().ends_with("0140"));
    assert_eq!(user_json(&env, "wes")["devices"][0]["id"], d["id"]);

    let (code, out, _) = env.run(&[
        "enroll-device",
        "wes",
        "--kind",
        "token",
        "--format",
        "json",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-3",
    ]);
    assert_eq!(code, 0);
    let t = json(&out);
    assert_eq!(t["device"]["kind"], "token");
    assert_eq!(t["device"]["primary"], false);
    assert_eq!(t["device"]["sms"], false);
    assert!(t["device"]["phone"].is_null());
    assert_ne!(t["device"]["id"], d["id"]);
}

/// Exit 10: a privileged user's helpdesk codes wait for a second
/// principal; the request id is the JSON field `request`, nothing is
/// issued, and the same principal cannot approve it (exit 9).
/// tests/suite/both/approvals.rs has the whole story with two principals.
#[test]
fn exit10_waiting_for_approval() {
    let env = Env::new();
    env.ok(&["enroll-device", "pia", "--kind", "token"]);
    env.ok(&["privileged", "pia", "on"]);
    let before = user_json(&env, "pia");
    let (code, out, err) = env.run(&[
        "issue-codes",
        "pia",
        "--identity-verified",
        "in-person",
        "--ticket",
        "INC-10",
        "--format",
        "json",
    ]);
    assert_eq!(code, 10, "{err}");
    let v = json(&out);
    assert!(v["request"].as_i64().is_some(), "{out}");
    assert_eq!(v["status"], "waiting for approval", "{out}");
    assert!(v.get("codes").is_none(), "{out}");
    assert_eq!(user_json(&env, "pia"), before);
    let id = v["request"].to_string();
    let (code, _, err) = env.run(&["approve", &id]);
    assert_eq!(code, 9, "{err}");
    assert!(err.contains("self-approval"), "{err}");
}
