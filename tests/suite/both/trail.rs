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

/// The reviewer's reproduction: an operator (or anyone who can write the
/// SQLite file) plants codes they know into another user's live set, by
/// copying their own set's salt and code hashes over it. The trail holds
/// each set's digest at issue: `audit verify` names the set (exit 8) and
/// `verify` refuses the set as a store problem (exit 7) rather than
/// accept the planted code, before and after.
#[test]
fn codes_planted_into_another_users_set_are_named_and_refused() {
    let env = Env::new();
    env.enroll_landline("alice", "5072220000");
    let alice_codes = env.issue_helpdesk("alice", &[]);
    env.enroll_mobile("mallory", "5072225990");
    env.ok(&["issue-codes", "mallory"]);
    let mallory_codes = env.last_sms_codes();
    let (a, m) = (set_ids(&env, "alice")[0], set_ids(&env, "mallory")[0]);
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 0, "{err}");
    tamper(
        &env,
        &format!(
            "UPDATE code_sets SET salt = (SELECT salt FROM code_sets WHERE id = {m}) WHERE id = {a};
             UPDATE codes SET hash = (SELECT x.hash FROM codes x WHERE x.set_id = {m}
                 AND (SELECT COUNT(*) FROM codes y WHERE y.set_id = {m} AND y.id <= x.id)
                   = (SELECT COUNT(*) FROM codes z WHERE z.set_id = {a} AND z.id <= codes.id))
             WHERE set_id = {a};"
        ),
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains(&format!("set {a} of alice is not what the trail issued")),
        "{err}"
    );
    let (code, _, err) = env.run_stdin(&["verify", "alice"], &format!("{}\n", mallory_codes[0]));
    assert_eq!(code, 7, "mallory's code accepted for alice? {err}");
    assert!(
        err.contains(&format!(
            "set {a} of alice is not what the audit trail issued"
        )),
        "{err}"
    );
    // Nothing was spent, nothing counted; the trail still names the set.
    let (code, _, _) = env.run_stdin(&["verify", "alice"], &format!("{}\n", alice_codes[0]));
    assert_eq!(code, 7);
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    // Mallory's own set is untouched and still works.
    assert_eq!(env.verify("mallory", &mallory_codes[1]), 0);
}

/// An expired set revived by clearing its expiry (which would also pass
/// `helpdesk.max_expires` by), and a code row added to a set (one of the
/// user's codes spent to keep the use count the trail allows), are named.
#[test]
fn an_expiry_cleared_or_a_code_added_is_named_and_refused() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice", "--expires", "1h"]);
    let codes = env.last_sms_codes();
    let set = set_ids(&env, "alice")[0];
    tamper(
        &env,
        &format!("UPDATE code_sets SET expires_at = NULL WHERE id = {set}"),
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(&format!("set {set} of alice is not")), "{err}");
    let (code, _, err) = env.run_stdin(&["verify", "alice"], &format!("{}\n", codes[0]));
    assert_eq!(code, 7, "{err}");

    let env = Env::new();
    env.enroll_mobile("bea", "5072225998");
    env.ok(&["issue-codes", "bea"]);
    let set = set_ids(&env, "bea")[0];
    tamper(
        &env,
        &format!(
            "UPDATE codes SET uses_left = 0 WHERE id = (SELECT MIN(id) FROM codes WHERE set_id = {set});
             INSERT INTO codes (set_id, hash, uses_left)
             SELECT set_id, hash, 1 FROM codes WHERE set_id = {set} ORDER BY id LIMIT 1"
        ),
    );
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(&format!("set {set} of bea is not")), "{err}");
}

/// The set-stored event carries the set's digest (SHA-256, hex), and no code.
#[test]
fn the_issuing_event_carries_the_sets_digest_never_a_code() {
    let env = Env::new();
    env.enroll_mobile("alice", "5072225999");
    env.ok(&["issue-codes", "alice"]);
    let trail = env.ok(&["audit", "--format", "json"]);
    let pending: serde_json::Value = trail
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["action"] == "codes-pending")
        .expect("a codes-pending event");
    let digest = pending["details"]["digest"].as_str().expect("a digest");
    assert_eq!(digest.len(), 64, "{pending}");
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()), "{digest}");
    assert!(
        !trail.contains(&env.last_sms_codes()[0]),
        "a code in the trail"
    );
}

/// Notices: the trail holds the SHA-256 of each notice's reference (never
/// the reference); a reference changed in the store, which would make the
/// user's "not me" fail (exit 4), is named by `audit verify`.
#[test]
fn a_notice_reference_changed_in_the_store_is_named() {
    let env = Env::with_raw_config("");
    std::fs::write(
        &env.config,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n[email]\ncommand = \"/bin/true\"\n",
            env.outbox.display().to_string()
        ),
    )
    .unwrap();
    env.enroll_mobile("ann", "5072225999");
    env.issue_helpdesk("ann", &[]);
    let outbox = std::fs::read_to_string(&env.outbox).unwrap();
    let at = outbox.rfind("quote ").expect("a notice") + 6;
    let reference = outbox[at..at + 23].to_string();
    let trail = env.ok(&["audit", "--format", "json"]);
    assert!(!trail.contains(&reference), "a reference in the trail");
    assert!(trail.contains("ref_sha256"), "{trail}");
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 0, "{err}");
    tamper(&env, "UPDATE notices SET ref = ref || 'X'");
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("the notice to ann") && err.contains("not in the store under its reference"),
        "{err}"
    );
    let (code, _, _) = env.run(&["dispute", &reference]);
    assert_eq!(code, 4);
}

/// On PostgreSQL the server computes a set's digest (`codedesk_set_digest`,
/// schema 8). Whoever can drop that function must not thereby switch the
/// check off: a set whose issue the trail recorded with a digest is then
/// refused as a store problem (exit 7), never accepted unchecked, and
/// `audit verify` names the missing function (exit 8).
#[test]
fn a_dropped_digest_function_refuses_rather_than_skips_the_check() {
    if postgres_only("the digest function is PostgreSQL's") {
        return;
    }
    let env = Env::new();
    env.enroll_landline("alice", "5072220000");
    let codes = env.issue_helpdesk("alice", &[]);
    env.psql_as_owner("DROP FUNCTION codedesk_set_digest(BIGINT) CASCADE");
    let (code, _, err) = env.run_stdin(&["verify", "alice"], &format!("{}\n", codes[0]));
    assert_eq!(code, 7, "accepted without its digest checked? {err}");
    assert!(err.contains("codedesk_set_digest"), "{err}");
    let (code, err) = audit_verify(&env);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("codedesk_notice_refs) are gone"), "{err}");
}
