// The trail vouches for the state (SECURITY.md, "What the trail vouches
// for"): `audit verify` replays the audit trail against the tables and
// exits 8 naming the first disagreement, and `verify` accepts no code of
// a set the trail says is dead, whatever its row says. The store is
// tampered with through the real clients, `sqlite3` and `psql` (as the
// store's owner, lifting the audit table's append-only triggers for the
// statement, as only the owner can). Runs on SQLite here and on
// PostgreSQL as `pg_trail` (see tests/common/mod.rs).

use crate::common;
use common::*;
use std::process::Command as Std;

/// Runs `sql` on the store through `sqlite3` or `psql`; panics (naming
/// what is missing) if the client cannot run it.
fn tamper(env: &Env, sql: &str) {
    let (client, out) = if env.is_postgres() {
        let url = env.db.to_string_lossy().into_owned();
        let mut c = Std::new("psql");
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", &url]);
        for step in [
            "ALTER TABLE audit DISABLE TRIGGER USER",
            sql,
            "ALTER TABLE audit ENABLE TRIGGER USER",
        ] {
            c.args(["-c", step]);
        }
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
        ("psql", c.output())
    } else {
        let mut c = Std::new("sqlite3");
        c.arg(&env.db).arg(sql);
        ("sqlite3", c.output())
    };
    let out = out.unwrap_or_else(|e| panic!("run {client} (install it to run this test): {e}"));
    assert!(
        out.status.success(),
        "{client} {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `audit verify`: (status, stderr).
fn audit_verify(env: &Env) -> (i32, String) {
    let (code, _, err) = env.run(&["audit", "verify"]);
    (code, err)
}

fn set_ids(env: &Env, user: &str) -> Vec<i64> {
    env.sql_column(&format!(
        "SELECT s.id FROM code_sets s JOIN users u ON u.id = s.user_id WHERE u.name = '{user}' ORDER BY s.id"
    ))
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

#[test]
fn an_untouched_store_agrees_with_its_trail() {
    let env = Env::with_config("[lockout]\nthreshold = 2\n");
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let codes = env.last_sms_codes();
    assert_eq!(env.verify("alice", &codes[0]), 0);
    env.ok(&["issue-codes", "alice", "--preserve-existing"]);
    env.enroll_landline("bob", "5072225998");
    env.issue_helpdesk("bob", &[]);
    env.ok(&["revoke", "bob"]);
    assert_eq!(env.verify("bob", "00000000"), 1);
    env.verify("bob", "00000000");
    env.ok(&["unlock", "bob"]);
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn uses_put_back_are_named() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let codes = env.last_sms_codes();
    assert_eq!(env.verify("alice", &codes[0]), 0);
    let set = set_ids(&env, "alice")[0];
    tamper(&env, "UPDATE codes SET uses_left = 1");
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains(&format!("set {set} of alice")) && err.contains("use(s) left"),
        "{err}"
    );
    // More uses on one code than it was issued with, too.
    let env = Env::new();
    env.enroll_mobile("bea", "5072225997");
    env.ok(&["issue-codes", "bea"]);
    tamper(&env, "UPDATE codes SET uses_left = 1000");
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("of bea has"), "{err}");
}

#[test]
fn a_replaced_or_revoked_set_brought_back_is_named_and_its_codes_refused() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let old = env.last_sms_codes();
    env.ok(&["issue-codes", "alice"]);
    let sets = set_ids(&env, "alice");
    let (replaced, current) = (sets[0], sets[1]);
    tamper(
        &env,
        &format!("UPDATE code_sets SET state = 'active', ended_at = NULL WHERE id = {replaced}"),
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains(&format!("set {replaced} of alice is active")) && err.contains("ended it"),
        "{err}"
    );
    // The row says live; the trail says dead; verify believes the trail.
    assert_eq!(env.verify("alice", &old[0]), 1);
    let fresh = env.last_sms_codes();
    assert_eq!(
        env.verify("alice", &fresh[0]),
        0,
        "the current set still works"
    );

    // A revoked set, brought back.
    env.ok(&["revoke", "alice", "--batch", &current.to_string()]);
    tamper(
        &env,
        &format!("UPDATE code_sets SET state = 'active', ended_at = NULL WHERE id = {current}"),
    );
    tamper(
        &env,
        &format!("UPDATE code_sets SET state = 'replaced' WHERE id = {replaced}"),
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains(&format!("set {current} of alice is active")),
        "{err}"
    );
    assert_eq!(env.verify("alice", &fresh[1]), 1);
}

#[test]
fn a_set_the_trail_never_delivered_is_named() {
    let env = Env::with_sms_script("exit 1");
    env.enroll_mobile("alice", "5072225999");
    let (code, _, err) = env.run(&["issue-codes", "alice"]);
    assert_eq!(code, 6, "{err}");
    let set = set_ids(&env, "alice")[0];
    tamper(
        &env,
        &format!("UPDATE code_sets SET state = 'active' WHERE id = {set}"),
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains(&format!("set {set} of alice is active")),
        "{err}"
    );
}

#[test]
fn a_lock_cleared_without_an_unlock_is_named() {
    let env = Env::with_config("[lockout]\nthreshold = 2\n");
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    env.verify("alice", "00000000");
    env.verify("alice", "00000000");
    assert_eq!(env.verify("alice", &env.last_sms_codes()[0]), 5);
    tamper(
        &env,
        "UPDATE users SET locked_at = NULL, failed_attempts = 0",
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("lockout of alice") && err.contains("without an unlock"),
        "{err}"
    );
}

#[test]
fn an_emptied_trail_over_a_store_is_named() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    tamper(&env, "DELETE FROM audit");
    let (code, _, err) = env.run(&["audit", "verify", "--format", "json"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("the trail is empty"), "{err}");
    // And verify accepts none of the codes: no set is live by the trail.
    assert_eq!(env.verify("alice", &env.last_sms_codes()[0]), 1);
}
