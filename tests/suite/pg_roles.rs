// Least privilege on a PostgreSQL store, enforced by the database
// (docs/roles.md): `codedesk setup-roles` run by the store's owner, then
// login roles granted each codedesk role (unique names, dropped at the
// end), tried through `psql`, the real client, and through the binary.
// The roles belong to the whole server, so the tests that run
// setup-roles take turns. Needs a role with CREATEROLE as well as
// CREATEDB (.ci/run gives the role codedesk both).

use crate::common;
use common::*;
use std::process::Command as Std;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// setup-roles touches server-wide roles: one test at a time.
static SERVER_ROLES: Mutex<()> = Mutex::new(());

/// A store with the codedesk roles set up, or `None` (skipped) without a server.
fn store() -> Option<Env> {
    let env = Env::postgres("")?;
    let _turn = SERVER_ROLES.lock().unwrap_or_else(|e| e.into_inner());
    let out = env.ok(&["setup-roles"]);
    assert!(out.contains("codedesk_verifier"), "{out}");
    Some(env)
}

/// `psql` on `url` running `sql`: (succeeded, stdout and stderr).
fn psql(url: &str, sql: &str) -> (bool, String) {
    let mut c = Std::new("psql");
    c.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        url,
        "-c",
        sql,
    ]);
    for v in [
        "PGPASSWORD",
        "PGUSER",
        "PGHOST",
        "PGPORT",
        "PGDATABASE",
        "PGSERVICE",
    ] {
        c.env_remove(v);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("run psql (install postgresql-client): {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn psql_ok(url: &str, sql: &str) -> String {
    let (ok, out) = psql(url, sql);
    assert!(ok, "{sql}: {out}");
    out
}

/// `sql` is refused for want of a privilege (or by the append-only trigger).
fn refused(url: &str, who: &str, sql: &str) {
    let (ok, out) = psql(url, sql);
    assert!(!ok, "{who} may run {sql}: {out}");
    assert!(
        out.contains("permission denied") || out.contains("append-only"),
        "{who}: {sql}: {out}"
    );
}

/// A login role granted one codedesk role; dropped with it.
struct Login {
    name: String,
    url: String,
    owner_url: String,
}

impl Login {
    fn new(env: &Env, role: &str) -> Login {
        static N: AtomicUsize = AtomicUsize::new(0);
        let owner_url = env.db.to_string_lossy().into_owned();
        let name = format!(
            "cdt_{}_{}_{}",
            role.trim_start_matches("codedesk_"),
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let password = format!("pw-{name}");
        psql_ok(
            &owner_url,
            &format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
        );
        psql_ok(&owner_url, &format!("GRANT {role} TO {name}"));
        let at = owner_url.rfind('@').expect("the URL has user@host");
        let url = format!("postgres://{name}:{password}@{}", &owner_url[at + 1..]);
        Login {
            name,
            url,
            owner_url,
        }
    }

    /// `codedesk --db <this login's URL> ARGS` with `stdin`: (status, stdout, stderr).
    fn run(&self, env: &Env, args: &[&str], stdin: &str) -> (i32, String, String) {
        let out = env
            .cmd_without_db()
            .arg("--db")
            .arg(&self.url)
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
}

impl Drop for Login {
    fn drop(&mut self) {
        let _ = psql(
            &self.owner_url,
            &format!("DROP ROLE IF EXISTS {}", self.name),
        );
    }
}

#[test]
fn a_verifier_verifies_and_can_do_nothing_else() {
    let Some(env) = store() else { return };
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let codes = env.last_sms_codes();
    let v = Login::new(&env, "codedesk_verifier");

    // Through the binary: verify works, spends, and is recorded.
    let (code, _, err) = v.run(&env, &["verify", "alice"], &codes[0]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = v.run(&env, &["verify", "alice"], &codes[0]);
    assert_eq!(code, 1, "a spent code: {err}");
    assert_eq!(
        env.sql_i64("SELECT COUNT(*) FROM audit WHERE action = 'verify-accepted'"),
        1
    );
    // Anything else is exit 9, naming the role it needs.
    let (code, _, err) = v.run(&env, &["issue-codes", "alice"], "");
    assert_eq!(code, 9, "{err}");
    assert!(
        err.contains("codedesk_operator") && err.contains("not permitted"),
        "{err}"
    );
    for args in [
        &["list"][..],
        &["audit", "verify"],
        &["revoke", "alice"],
        &["unlock", "alice"],
    ] {
        let (code, _, err) = v.run(&env, args, "");
        assert_eq!(code, 9, "{args:?}: {err}");
    }
    assert!(env.outbox_codes().len() == codes.len(), "nothing was sent");

    // Through psql: no code set, no use count but by spending, nothing it does not need.
    let set = env.sql_i64("SELECT MAX(id) FROM code_sets");
    let uid = env.sql_i64("SELECT id FROM users WHERE name = 'alice'");
    let left = |env: &Env| env.sql_i64("SELECT CAST(SUM(uses_left) AS BIGINT) FROM codes");
    let before = left(&env);
    for sql in [
        format!(
            "INSERT INTO code_sets (user_id, via, operator, created_at, uses, alphabet, length, salt, \
             m_cost, t_cost, p_cost, state) VALUES ({uid}, 'sms', 'x', 0, 1, 'digits', 8, '\\x00', 64, 1, 1, 'active')"
        ),
        format!(
            "INSERT INTO codes (set_id, hash, uses_left) VALUES ({set}, decode(repeat('00', 32), 'hex'), 9)"
        ),
        "UPDATE codes SET uses_left = 9".to_string(),
        "UPDATE codes SET uses_left = uses_left - 1".to_string(),
        "UPDATE users SET locked_at = NULL, failed_attempts = 0".to_string(),
        "UPDATE code_sets SET state = 'active'".to_string(),
        "DELETE FROM codes".to_string(),
        "SELECT hash FROM codes".to_string(),
        "SELECT operator FROM code_sets".to_string(),
        "SELECT * FROM devices".to_string(),
        "SELECT * FROM identity_checks".to_string(),
        "SELECT details FROM audit".to_string(),
        "UPDATE audit SET operator = 'mallory'".to_string(),
        "DELETE FROM audit".to_string(),
        "TRUNCATE audit".to_string(),
    ] {
        refused(&v.url, "a verifier", &sql);
    }
    // Spending without the code changes nothing: the server matches.
    let out = psql_ok(
        &v.url,
        &format!(
            "SELECT o_outcome FROM codedesk_spend({uid}, ARRAY[{set}]::BIGINT[], \
             ARRAY[decode(repeat('00', 32), 'hex')], 0)"
        ),
    );
    assert_eq!(out.trim(), "stale");
    assert_eq!(left(&env), before);
    // What it may read is what verify needs.
    psql_ok(&v.url, "SELECT id, name, locked_at FROM users");
    // Attempts that never count (typos) are capped for a verifier too: it
    // reads the user's recent actions, never their details.
    let good = &codes[1];
    let last = good.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &good[..good.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    for _ in 0..22 {
        let (code, _, err) = v.run(&env, &["verify", "alice"], &typo);
        assert_eq!(code, 1, "a typo: {err}");
    }
    assert_eq!(
        env.sql_i64("SELECT COUNT(*) FROM audit WHERE action = 'verify-typo'"),
        20
    );
    psql_ok(&v.url, "SELECT id, salt, state FROM code_sets");
    let (code, out, _) = env.run(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_trail_is_append_only_for_every_role_and_the_owner() {
    let Some(env) = store() else { return };
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let logins: Vec<Login> = [
        "codedesk_verifier",
        "codedesk_operator",
        "codedesk_supervisor",
        "codedesk_auditor",
    ]
    .iter()
    .map(|r| Login::new(&env, r))
    .collect();
    let owner = env.db.to_string_lossy().into_owned();
    let urls = logins
        .iter()
        .map(|l| (l.name.as_str(), l.url.as_str()))
        .chain([("the owner", owner.as_str())]);
    for (who, url) in urls {
        for sql in [
            "UPDATE audit SET operator = 'mallory' WHERE id = 1",
            "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)",
            "TRUNCATE audit",
        ] {
            refused(url, who, sql);
        }
    }
    // The owner is refused by the trigger itself, not by a privilege.
    let (_, out) = psql(&owner, "DELETE FROM audit");
    assert!(out.contains("append-only: DELETE refused"), "{out}");
    let (code, out, err) = env.run(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn each_role_runs_its_commands_and_no_others() {
    let Some(env) = store() else { return };
    env.enroll_mobile("alice", "5072225999");
    let op = Login::new(&env, "codedesk_operator");
    let sup = Login::new(&env, "codedesk_supervisor");
    let aud = Login::new(&env, "codedesk_auditor");
    let ok = |l: &Login, args: &[&str], stdin: &str| {
        let (code, out, err) = l.run(&env, args, stdin);
        assert_eq!(code, 0, "{} {args:?}: {err}", l.name);
        out
    };
    let attest = ["--identity-verified", "in-person", "--ticket", "T-9"];
    // An operator: enrol, issue, verify, revoke, unlock, list, audit.
    ok(
        &op,
        &[
            &[
                "enroll-device",
                "bob",
                "--kind",
                "landline",
                "--phone",
                "5072225990",
            ][..],
            &attest,
        ]
        .concat(),
        "",
    );
    ok(&op, &["issue-codes", "alice"], "");
    let codes = env.last_sms_codes();
    ok(&op, &["verify", "alice"], &codes[0]);
    ok(
        &op,
        &[
            &["issue-codes", "bob", "--via", "helpdesk", "-q"][..],
            &attest,
        ]
        .concat(),
        "",
    );
    ok(&op, &["revoke", "bob"], "");
    ok(&op, &["unlock", "alice"], "");
    ok(&op, &["list"], "");
    ok(&op, &["audit"], "");
    ok(&op, &["audit", "verify"], "");
    let (code, _, err) = op.run(&env, &["setup-roles"], "");
    assert_eq!(code, 9, "only the owner sets up roles: {err}");
    refused(&op.url, "an operator", "DELETE FROM audit");
    // A supervisor is an operator.
    ok(&sup, &["issue-codes", "alice"], "");
    ok(&sup, &["list", "alice"], "");
    // An auditor reads, and checks the trail.
    ok(&aud, &["audit", "verify"], "");
    ok(&aud, &["audit"], "");
    ok(&aud, &["list"], "");
    for (args, needs) in [
        (&["issue-codes", "alice"][..], "codedesk_operator"),
        (
            &["enroll-device", "carl", "--kind", "token"],
            "codedesk_operator",
        ),
        (&["revoke", "alice"], "codedesk_operator"),
        (&["verify", "alice"], "codedesk_verifier"),
    ] {
        let (code, _, err) = aud.run(&env, args, &env.last_sms_codes()[0]);
        assert_eq!(code, 9, "an auditor ran {args:?}: {err}");
        assert!(err.contains(needs), "{args:?}: {err}");
        assert_eq!(
            err.lines().filter(|l| !l.contains("warning")).count(),
            1,
            "{err}"
        );
    }
    refused(&aud.url, "an auditor", "SELECT hash FROM codes");
    refused(&aud.url, "an auditor", "UPDATE users SET locked_at = NULL");
    let (code, out, err) = env.run(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn setup_roles_is_for_postgresql_and_can_be_run_again() {
    let sqlite = Env::sqlite();
    let (code, _, err) = sqlite.run(&["setup-roles"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("PostgreSQL"), "{err}");
    let Some(env) = store() else { return };
    let _turn = SERVER_ROLES.lock().unwrap_or_else(|e| e.into_inner());
    env.ok(&["setup-roles"]);
    let out = psql_ok(
        &env.db.to_string_lossy(),
        "SELECT string_agg(rolname || ':' || rolcanlogin::text, ',' ORDER BY rolname) \
         FROM pg_roles WHERE rolname LIKE 'codedesk\\_%' AND rolname <> 'codedesk_tls'",
    );
    assert_eq!(
        out.trim(),
        "codedesk_auditor:false,codedesk_operator:false,codedesk_supervisor:false,codedesk_verifier:false"
    );
}

/// The safeguards' commands (docs/safeguards.md) as an operator login:
/// challenge, its read-back, an email on file, the notices, a dispute, the
/// report; the auditor may read the report but not send a challenge.
#[test]
fn an_operator_runs_the_safeguards_and_an_auditor_reads_the_report() {
    let Some(env) = store() else { return };
    // Notices on (the harness turns them off).
    std::fs::write(
        &env.config,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n[email]\ncommand = \"/bin/true\"\n",
            env.outbox.display().to_string()
        ),
    )
    .unwrap();
    let op = Login::new(&env, "codedesk_operator");
    let aud = Login::new(&env, "codedesk_auditor");
    let ok = |l: &Login, args: &[&str], stdin: &str| {
        let (code, out, err) = l.run(&env, args, stdin);
        assert_eq!(code, 0, "{} {args:?}: {err}", l.name);
        out
    };
    ok(
        &op,
        &[
            "enroll-device",
            "dana",
            "--kind",
            "mobile",
            "--phone",
            "5072225991",
            "--email",
            "dana@example.org",
        ],
        "",
    );
    let id = ok(&op, &["challenge", "dana", "-q"], "");
    let text = std::fs::read_to_string(&env.outbox).unwrap();
    let at = text.rfind("verification code is ").unwrap() + 21;
    let challenge = text[at..at + 6].to_string();
    ok(
        &op,
        &[
            "issue-codes",
            "dana",
            "--via",
            "helpdesk",
            "--identity-verified",
            "challenge",
            "--challenge",
            id.trim(),
            "--ticket",
            "T-1",
            "-q",
        ],
        &format!("{challenge}\n"),
    );
    let text = std::fs::read_to_string(&env.outbox).unwrap();
    let at = text.rfind("quote ").expect("a notice") + 6;
    let reference = text[at..at + 23].to_string();
    ok(&op, &["dispute", &reference], "");
    ok(&op, &["report"], "");
    ok(&aud, &["report"], "");
    let (code, _, err) = aud.run(&env, &["challenge", "dana"], "");
    assert_eq!(code, 9, "{err}");
    refused(&aud.url, "an auditor", "SELECT hash FROM challenges");
}

/// The operator may change only the columns codedesk changes (a set's
/// state and end, a code's uses, a notice's dispute): what a set was
/// issued with (salt, parameters, code hashes, uses, expiry, owner) and a
/// notice's reference are refused by the database, as the reviewer's
/// reproduction tried. An auditor checks the sets and notices against the
/// trail without reading a code hash or a reference; a verifier checks the
/// set it accepts from.
#[test]
fn an_operator_cannot_rewrite_what_a_set_was_issued_with_or_a_notice() {
    let Some(env) = store() else { return };
    std::fs::write(
        &env.config,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n[email]\ncommand = \"/bin/true\"\n",
            env.outbox.display().to_string()
        ),
    )
    .unwrap();
    let op = Login::new(&env, "codedesk_operator");
    let aud = Login::new(&env, "codedesk_auditor");
    let v = Login::new(&env, "codedesk_verifier");
    for (user, phone) in [("alice", "5072220001"), ("mallory", "5072220002")] {
        let (code, _, err) = op.run(
            &env,
            &["enroll-device", user, "--kind", "mobile", "--phone", phone],
            "",
        );
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = op.run(&env, &["issue-codes", user, "--expires", "1h"], "");
        assert_eq!(code, 0, "{err}");
    }
    // Mallory's set was issued last: its codes are the outbox's last.
    let mut codes = env.outbox_codes();
    codes.reverse();
    let a = env.sql_i64(
        "SELECT MAX(s.id) FROM code_sets s JOIN users u ON u.id = s.user_id WHERE u.name = 'alice'",
    );
    let m = env.sql_i64(
        "SELECT MAX(s.id) FROM code_sets s JOIN users u ON u.id = s.user_id WHERE u.name = 'mallory'",
    );
    for sql in [
        format!(
            "UPDATE code_sets SET salt = (SELECT salt FROM code_sets WHERE id = {m}) WHERE id = {a}"
        ),
        format!("UPDATE codes SET hash = decode(repeat('00', 32), 'hex') WHERE set_id = {a}"),
        format!("UPDATE code_sets SET expires_at = NULL WHERE id = {a}"),
        format!("UPDATE code_sets SET uses = 5 WHERE id = {a}"),
        format!("UPDATE code_sets SET m_cost = 8 WHERE id = {a}"),
        format!(
            "UPDATE code_sets SET user_id = (SELECT user_id FROM code_sets WHERE id = {a}) WHERE id = {m}"
        ),
        format!("UPDATE codes SET set_id = {a} WHERE set_id = {m}"),
        "UPDATE notices SET ref = ref || 'X'".to_string(),
        "UPDATE notices SET user_id = user_id".to_string(),
    ] {
        refused(&op.url, "an operator", &sql);
    }
    // What codedesk itself updates stays allowed (in a transaction rolled back).
    psql_ok(
        &op.url,
        &format!(
            "BEGIN; UPDATE code_sets SET state = state, ended_at = ended_at, ended_reason = ended_reason WHERE id = {a};
             UPDATE codes SET uses_left = uses_left WHERE set_id = {a};
             UPDATE notices SET disputed_at = disputed_at; ROLLBACK"
        ),
    );
    // The checks, as the roles that run them.
    let (code, _, err) = aud.run(&env, &["audit", "verify"], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = v.run(&env, &["verify", "mallory"], &codes[0]);
    assert_eq!(code, 0, "{err}");
    // The owner can still rewrite a set; the auditor and the verifier see it.
    psql_ok(
        &env.db.to_string_lossy(),
        &format!("UPDATE code_sets SET expires_at = NULL WHERE id = {m}"),
    );
    let (code, _, err) = aud.run(&env, &["audit", "verify"], "");
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(&format!("set {m} of mallory is not")), "{err}");
    let (code, _, err) = v.run(&env, &["verify", "mallory"], &codes[1]);
    assert_eq!(code, 7, "{err}");
}
