// Upgrades across a fleet (docs/deployment.md, "Upgrading the fleet"):
// a schema change is applied only by `codedesk upgrade-store`; a new
// codedesk on an older store keeps verifying and reading, and refuses
// operator writes with exit 7 naming `upgrade-store`; once upgraded, the
// previous release's codedesk keeps verifying against the store (the
// change is additive for one version).
//
// Two kinds of older codedesk:
// - this build pretending to know the previous schema only (`CODEDESK_TEST_PRETEND_SCHEMA`,
//   read by debug builds only): the marker-aware path of releases to come;
// - the real previous release, built from git by `.ci/run`'s
//   `upgrade_setup` (`CODEDESK_TEST_PREVIOUS_BIN`, default
//   `target/previous/debug/codedesk`): under `CI` a missing binary is a
//   failure; outside it, a loud skip.
//
// `.ci/run`'s PostgreSQL pass runs the same on PostgreSQL.

use crate::common;
use common::{BIN, Env, scrub};
use std::path::{Path, PathBuf};

const PRETEND: &str = codedesk::store::upgrade::PRETEND_VAR;
/// This build's schema, and the one before (the previous release's, whose
/// codedesk must keep verifying once the store is upgraded).
const NOW: i64 = codedesk::store::SCHEMA_VERSION;
const PREV: i64 = NOW - 1;

/// Runs `bin` on the Env's store and config (as `Env::run_stdin` does),
/// with `pretend` as the schema it pretends to know, if any.
fn run_as(
    env: &Env,
    bin: &Path,
    pretend: Option<&str>,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut c = assert_cmd::Command::new(bin);
    scrub(&mut c);
    c.env("HOME", env.path());
    if let Some(n) = pretend {
        c.env(PRETEND, n);
    }
    let out = c
        .arg("--db")
        .arg(&env.db)
        .arg("--config")
        .arg(&env.config)
        .arg("--operator")
        .arg("tester")
        .args(args)
        .write_stdin(stdin.as_bytes().to_vec())
        .output()
        .expect("run codedesk");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// This build, pretending to know the previous schema only.
fn as_prev(env: &Env, args: &[&str], stdin: &str) -> (i32, String, String) {
    run_as(env, Path::new(BIN), Some(&PREV.to_string()), args, stdin)
}

const HELPDESK: [&str; 8] = [
    "--via",
    "helpdesk",
    "--identity-verified",
    "in-person",
    "--ticket",
    "T-1",
    "-q",
    "--count",
];

/// Enrols `user` and issues 4 helpdesk codes with `run`; returns them.
/// One codedesk run: (exit status, stdout, stderr).
type Run<'a> = &'a dyn Fn(&[&str], &str) -> (i32, String, String);

fn seed(run: Run, user: &str) -> Vec<String> {
    let (code, _, err) = run(
        &[
            "enroll-device",
            user,
            "--kind",
            "landline",
            "--phone",
            "5072225999",
            "-q",
        ],
        "",
    );
    assert_eq!(code, 0, "enrol: {err}");
    let mut args = vec!["issue-codes", user];
    args.extend_from_slice(&HELPDESK);
    args.push("4");
    let (code, out, err) = run(&args, "");
    assert_eq!(code, 0, "issue: {err}");
    let codes: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(codes.len(), 4, "{out}");
    codes
}

/// The applied schema level, as the store records it.
fn applied(env: &Env) -> i64 {
    env.sql_i64("SELECT applied FROM schema_level")
}

/// The version field every codedesk reads ("compatible back to").
fn legacy(env: &Env) -> i64 {
    if env.is_postgres() {
        env.sql_i64("SELECT MAX(version)::BIGINT FROM schema_version")
    } else {
        env.sql_i64("PRAGMA user_version")
    }
}

/// The applied level whether or not the store has `schema_level` yet
/// (schema 7 added it; the previous schema may or may not have it).
fn level(env: &Env) -> i64 {
    if has_level_table(env) {
        applied(env)
    } else {
        legacy(env)
    }
}

fn has_level_table(env: &Env) -> bool {
    let sql = if env.is_postgres() {
        "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'schema_level'"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_level'"
    };
    env.sql_i64(sql) == 1
}

#[test]
fn a_fresh_store_gets_the_whole_schema_without_upgrade_store() {
    let env = Env::new();
    env.enroll_mobile("ann", "5072225999");
    assert_eq!(applied(&env), NOW);
    assert_eq!(
        legacy(&env),
        PREV,
        "additive: compatible back to the previous schema"
    );
    let out = env.ok(&["upgrade-store", "--dry-run"]);
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn an_older_store_verifies_and_reads_refuses_writes_until_upgrade_store() {
    let env = Env::new();
    // A store made by a codedesk at the previous schema.
    let codes = seed(&|a, s| as_prev(&env, a, s), "bob");
    assert_eq!(level(&env), PREV);
    assert!(legacy(&env) <= PREV);

    // The new codedesk does not migrate it on its first run.
    let (code, out, err) = env.run(&["list", "bob", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"codes_remaining\":4"), "{out}");
    assert_eq!(level(&env), PREV, "list must not migrate");
    // verify (the login path) works on it, spending codes as ever.
    assert_eq!(env.verify("bob", &codes[0]), 0);
    assert_eq!(env.verify("bob", &codes[0]), 1, "a spent code");
    env.ok(&["audit", "verify"]);
    // An operator write is refused with exit 7, naming upgrade-store, and
    // changes nothing.
    let before = env.store_state();
    let (code, _, err) = env.run(&["revoke", "bob"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("codedesk upgrade-store"), "{err}");
    assert!(err.contains("older"), "{err}");
    assert_eq!(env.store_state(), before);

    // --dry-run names the change and changes nothing.
    let out = env.ok(&["upgrade-store", "--dry-run"]);
    assert!(out.contains("would apply 1 schema change"), "{out}");
    assert!(out.contains(&format!("{NOW:04}")), "{out}");
    assert_eq!(env.store_state(), before);
    assert_eq!(level(&env), PREV);

    // The upgrade: once, with an audit event; the chain still verifies.
    let (code, out, err) = env.run(&["upgrade-store", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let u: serde_json::Value = serde_json::from_str(out.trim()).expect(&out);
    assert_eq!(u["from"]["applied"], PREV);
    assert_eq!(u["to"]["applied"], NOW);
    assert_eq!(u["to"]["compatible_back_to"], PREV);
    assert_eq!(applied(&env), NOW);
    assert_eq!(legacy(&env), PREV);
    let audit = env.ok(&["audit", "--format", "json"]);
    assert_eq!(audit.matches("\"store-upgraded\"").count(), 1, "{audit}");
    env.ok(&["audit", "verify"]);
    let out = env.ok(&["upgrade-store"]);
    assert!(out.contains("nothing to do"), "{out}");
    // Operators write again.
    env.ok(&["revoke", "bob"]);
    assert_eq!(env.verify("bob", &codes[1]), 1, "revoked");
}

#[test]
fn a_codedesk_one_schema_behind_keeps_verifying_against_an_upgraded_store() {
    let env = Env::new();
    let codes = seed(&|a, s| as_prev(&env, a, s), "cy");
    env.ok(&["upgrade-store", "-q"]);
    // The codedesk one schema behind: verifies (valid accepted, spent refused), reads.
    assert_eq!(as_prev(&env, &["verify", "cy"], &codes[0]).0, 0);
    assert_eq!(as_prev(&env, &["verify", "cy"], &codes[0]).0, 1);
    assert_eq!(as_prev(&env, &["verify", "cy"], "AAAA-BBBB-CCCC-DDDD").0, 1);
    let (code, out, err) = as_prev(&env, &["list", "cy", "--format", "json"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"codes_remaining\":3"), "{out}");
    assert_eq!(as_prev(&env, &["audit", "verify"], "").0, 0);
    // ...but changes it only once upgraded itself (the newer schema may
    // hold rules it does not know).
    let before = env.store_state();
    let (code, _, err) = as_prev(&env, &["revoke", "cy"], "");
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("newer"), "{err}");
    assert_eq!(env.store_state(), before);
    // A codedesk two schemas behind is refused outright, as before.
    let (code, _, err) = run_as(
        &env,
        Path::new(BIN),
        Some(&(PREV - 1).to_string()),
        &["verify", "cy"],
        &codes[1],
    );
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("newer"), "{err}");
    // The new codedesk still takes the rest.
    assert_eq!(env.verify("cy", &codes[1]), 0);
}

/// `upgrade-store`'s outcome goes through the output sink as every
/// command's does: `--format json` is one object (docs/deployment.md,
/// "Upgrading the fleet"), with or without `--quiet`; the table, text and
/// CSV formats are the text for a person; `--quiet` leaves that text out.
#[test]
fn upgrade_store_reports_in_every_format_as_other_commands_do() {
    let env = Env::new();
    seed(&|a, s| as_prev(&env, a, s), "dee");
    // The name of this build's last migration, from the dry run's text.
    let text = env.ok(&["upgrade-store", "--dry-run"]);
    let want_migration = text.lines().nth(1).unwrap_or_default().trim();
    assert!(want_migration.starts_with(&format!("{NOW:04} ")), "{text}");
    let plan = serde_json::json!({
        "from": {"applied": PREV, "compatible_back_to": legacy(&env)},
        "to": {"applied": NOW, "compatible_back_to": PREV},
        "migrations": [want_migration],
        "dry_run": true,
    });
    let before = env.store_state();
    for args in [
        &["upgrade-store", "--dry-run", "--format", "json"][..],
        &["upgrade-store", "--dry-run", "--format", "json", "-q"],
    ] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(out.lines().count(), 1, "one JSON line: {out}");
        let got: serde_json::Value = serde_json::from_str(out.trim()).expect(&out);
        assert_eq!(got, plan, "{args:?}");
    }
    // docs/deployment.md shows the same shape (keys and kinds of value).
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deployment.md"))
            .expect("read docs/deployment.md");
    let shown: serde_json::Value = page
        .lines()
        .find(|l| l.starts_with("{\"from\":"))
        .map(|l| serde_json::from_str(l).expect("the page's JSON"))
        .expect("docs/deployment.md shows upgrade-store's JSON");
    assert_eq!(shape(&shown), shape(&plan), "{shown}");
    for format in ["table", "text", "csv"] {
        let out = env.ok(&["upgrade-store", "--dry-run", "--format", format]);
        assert!(
            out.starts_with(&format!(
                "would apply 1 schema change(s), version {PREV} to {NOW}:\n  {want_migration}\n"
            )),
            "{format}: {out}"
        );
        let out = env.ok(&["upgrade-store", "--dry-run", "--format", format, "-q"]);
        assert_eq!(out, "", "{format} -q");
    }
    assert_eq!(env.store_state(), before, "--dry-run changes nothing");

    // The upgrade itself, quiet: nothing on standard output, and applied.
    assert_eq!(env.ok(&["upgrade-store", "-q"]), "");
    assert_eq!(applied(&env), NOW);
    // Then nothing to do: the same shape, no migration, from == to.
    let (code, out, err) = env.run(&["upgrade-store", "--format", "json", "-q"]);
    assert_eq!(code, 0, "{err}");
    let got: serde_json::Value = serde_json::from_str(out.trim()).expect(&out);
    let current = serde_json::json!({"applied": NOW, "compatible_back_to": PREV});
    assert_eq!(
        got,
        serde_json::json!({
            "from": current,
            "to": current,
            "migrations": [],
            "dry_run": false,
        })
    );
    let out = env.ok(&["upgrade-store", "--format", "csv"]);
    assert_eq!(
        out,
        format!("the store's schema is version {NOW}, this codedesk's: nothing to do\n")
    );
}

/// A JSON value's shape: its object keys and the kinds of its values.
fn shape(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}: {}", shape(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.first().map(shape).unwrap_or_default()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

/// The previous release's binary, built from git by `.ci/run`.
fn previous_binary() -> Option<PathBuf> {
    let path = std::env::var_os("CODEDESK_TEST_PREVIOUS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/previous/debug/codedesk")
        });
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "no previous release's binary at {} (.ci/run's upgrade_setup builds it)",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("upgrade: SKIPPED: {why}");
    None
}

#[test]
fn the_previous_release_keeps_verifying_after_upgrade_store() {
    let Some(old) = previous_binary() else {
        return;
    };
    let env = Env::new();
    let old_run = |a: &[&str], s: &str| run_as(&env, &old, None, a, s);
    // The fleet as it was: a store made by the previous release.
    let codes = seed(&old_run, "dee");
    assert!(legacy(&env) <= PREV);
    // The new release on the admin host upgrades the store...
    let out = env.ok(&["upgrade-store"]);
    assert!(out.contains("applied "), "{out}");
    assert_eq!(applied(&env), NOW);
    // ...and a login server still on the previous release keeps verifying:
    // a valid code is accepted once, a spent or wrong one refused.
    let (code, _, err) = old_run(&["verify", "dee"], &codes[0]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(old_run(&["verify", "dee"], &codes[0]).0, 1, "spent");
    assert_eq!(old_run(&["verify", "dee"], "AAAA-BBBB-CCCC-DDDD").0, 1);
    // Its reads and its check of the trail agree with the new release's.
    let (code, _, err) = old_run(&["audit", "verify"], "");
    assert_eq!(code, 0, "{err}");
    env.ok(&["audit", "verify"]);
    // Both releases spend from the same sets.
    assert_eq!(env.verify("dee", &codes[1]), 0);
    assert_eq!(
        old_run(&["verify", "dee"], &codes[1]).0,
        1,
        "spent by the new one"
    );
    let (code, out, err) = old_run(&["list", "dee", "--format", "json"], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"codes_remaining\":2"), "{out}");
}

/// On PostgreSQL only the store's owner changes its schema: another login
/// role's `upgrade-store` is exit 9, naming the owner, and changes nothing.
#[test]
fn only_the_owner_upgrades_a_postgres_store() {
    if common::postgres_only("login roles are PostgreSQL's") {
        return;
    }
    let env = Env::new();
    seed(&|a, s| as_prev(&env, a, s), "eve");
    let name = format!("cdt_upgrader_{}", std::process::id());
    let psql = |sql: &str| env.psql_as_owner(sql);
    psql(&format!("CREATE ROLE {name} LOGIN PASSWORD 'pw'"));
    let url = env.url_as(&name, "pw");
    let before = env.store_state();
    let out = env
        .cmd_without_db()
        .args(["--db", &url, "upgrade-store"])
        .output()
        .expect("run codedesk");
    psql(&format!("DROP ROLE {name}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{err}");
    assert!(err.contains("owner"), "{err}");
    assert!(!err.contains(":pw@"), "{err}");
    assert_eq!(env.store_state(), before);
    assert_eq!(level(&env), PREV);
    // The owner can.
    env.ok(&["upgrade-store"]);
    assert_eq!(applied(&env), NOW);
}

/// A fleet whose login servers verify as `codedesk_verifier` (docs/roles.md),
/// roles set up by the previous release: after `upgrade-store`, both the
/// previous release and this one verify through that role, with no
/// `setup-roles` again (the new table is readable by every role).
#[test]
fn login_roles_set_up_before_the_upgrade_keep_verifying_on_both_releases() {
    if common::postgres_only("login roles are PostgreSQL's") {
        return;
    }
    let Some(old) = previous_binary() else {
        return;
    };
    let env = Env::new();
    let old_run = |a: &[&str], s: &str| run_as(&env, &old, None, a, s);
    let codes = seed(&old_run, "fay");
    let (code, _, err) = old_run(&["setup-roles"], "");
    assert_eq!(code, 0, "{err}");
    let name = format!("cdt_login_{}", std::process::id());
    let psql = |sql: &str| env.psql_as_owner(sql);
    psql(&format!(
        "CREATE ROLE {name} LOGIN PASSWORD 'pw'; GRANT codedesk_verifier TO {name}"
    ));
    env.ok(&["upgrade-store", "-q"]);
    let login = env.url_as(&name, "pw");
    let verify = |bin: &Path, code: &str| {
        let mut c = assert_cmd::Command::new(bin);
        scrub(&mut c);
        let out = c
            .env("HOME", env.path())
            .args(["--db", &login, "--config"])
            .arg(&env.config)
            .args(["--operator", "pam", "verify", "fay"])
            .write_stdin(code.as_bytes().to_vec())
            .output()
            .expect("run codedesk");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let results = [
        verify(&old, &codes[0]),
        verify(&old, &codes[0]),
        verify(Path::new(BIN), &codes[1]),
        verify(Path::new(BIN), &codes[1]),
    ];
    psql(&format!("DROP ROLE {name}"));
    let statuses: Vec<i32> = results.iter().map(|r| r.0).collect();
    assert_eq!(statuses, [0, 1, 0, 1], "{results:?}");
    env.ok(&["audit", "verify"]);
}
