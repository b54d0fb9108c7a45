// Races between real `codedesk` processes on one store (SECURITY.md:
// a code is spent in the transaction that accepts it; a new set ends the
// old one; writers wait for each other instead of failing with "busy").
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use crate::procs;

use common::{Env, sqlite_only};
use procs::{Rng, audit_events, audit_intact, feed, finish, issue_helpdesk_json, spawn};
use std::time::Duration;

/// Lost races count as rejected codes (a spent code is rejected like a
/// wrong one), so with the default threshold of 10 sixteen racers would
/// lock the user out. These tests are about the races, not lockout.
const LOCKOUT: &str = "[lockout]\nthreshold = 100\n";

const RACERS: usize = 16;

/// `RACERS` verifiers of `user` given `code` at once (`procs::race_verify`),
/// after 300 ms for every one of them to reach its read of standard input.
fn race_verify(env: &Env, user: &str, code: &str) -> Vec<(i32, String, String)> {
    procs::race_verify(env, user, code, RACERS, Duration::from_millis(300))
}

fn statuses(results: &[(i32, String, String)]) -> Vec<i32> {
    let mut s: Vec<i32> = results.iter().map(|r| r.0).collect();
    s.sort();
    s
}

#[test]
fn sixteen_verifiers_racing_on_one_code_accept_it_exactly_once() {
    let env = Env::with_config(LOCKOUT);
    env.enroll_landline("alice", "5072225999");
    let (set, codes) = issue_helpdesk_json(&env, "alice", &[]);
    let rounds = 4;
    for (round, code) in codes.iter().take(rounds).enumerate() {
        let results = race_verify(&env, "alice", code);
        let mut want = vec![1; RACERS - 1];
        want.insert(0, 0);
        assert_eq!(
            statuses(&results),
            want,
            "round {round}: exactly one acceptance, {} rejections: {results:#?}",
            RACERS - 1
        );
        let winner = results.iter().find(|r| r.0 == 0).expect("a winner");
        assert!(winner.1.starts_with("accepted"), "{winner:?}");
        for r in results.iter().filter(|r| r.0 == 1) {
            assert!(r.1.starts_with("rejected"), "{r:?}");
            assert!(
                !r.2.contains("busy") && !r.2.contains("locked"),
                "a loser must be a plain rejection: {r:?}"
            );
        }
        // The spent code stays spent.
        assert_eq!(env.verify("alice", code), 1, "round {round}: {code} reused");
    }

    // Exactly one acceptance per round reached the audit trail.
    let events = audit_events(&env);
    let accepted: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["action"] == "verify-accepted")
        .collect();
    assert_eq!(accepted.len(), rounds, "{accepted:#?}");
    assert!(accepted.iter().all(|e| e["details"]["set"] == set));
    let rejected = events
        .iter()
        .filter(|e| e["action"] == "verify-rejected")
        .count();
    assert_eq!(rejected, rounds * RACERS, "15 losers + 1 reuse per round");
    // The untouched codes of the set still work.
    assert_eq!(env.verify("alice", &codes[rounds]), 0);
    audit_intact(&env);
}

#[test]
fn racing_verifiers_spend_a_multi_use_code_exactly_uses_times() {
    let env = Env::with_config(LOCKOUT);
    env.enroll_landline("bob", "5072225998");
    let (_, codes) = issue_helpdesk_json(&env, "bob", &["--uses", "3", "--count", "2"]);
    let results = race_verify(&env, "bob", &codes[0]);
    let mut want = vec![1; RACERS - 3];
    want.splice(0..0, [0, 0, 0]);
    assert_eq!(statuses(&results), want, "{results:#?}");
    // Uses left across the set (2 codes x 3 uses) after each acceptance.
    let mut left: Vec<String> = results
        .iter()
        .filter(|r| r.0 == 0)
        .map(|r| r.1.clone())
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            "accepted: bob has 3 backup code use(s) left\n",
            "accepted: bob has 4 backup code use(s) left\n",
            "accepted: bob has 5 backup code use(s) left\n",
        ]
    );
    assert_eq!(env.verify("bob", &codes[0]), 1);
    assert_eq!(env.verify("bob", &codes[1]), 0);
}

/// `issue-codes` racing `verify` of a code of the set it replaces: the
/// verify may win only by committing before the new set is activated, and
/// after the new set no code of the old one works.
#[test]
fn issuing_a_new_set_racing_verify_never_accepts_a_replaced_code() {
    let env = Env::with_config(LOCKOUT);
    env.enroll_landline("carol", "5072225997");
    let mut rng = Rng::new("issue-vs-verify");
    let (mut won, mut lost) = (0, 0);
    for round in 0..12 {
        let (a_set, a_codes) = issue_helpdesk_json(&env, "carol", &["--count", "4"]);
        let before = audit_events(&env).last().expect("events")["id"]
            .as_i64()
            .expect("id");

        let mut verify = spawn(&env, &["verify", "carol"]);
        // Give verify a head start of 0-60 ms so both orders happen.
        std::thread::sleep(Duration::from_millis(rng.below(60)));
        let issue = spawn(
            &env,
            &[
                "issue-codes",
                "carol",
                "--via",
                "helpdesk",
                "--identity-verified",
                "in-person",
                "--ticket",
                "T-9",
                "--count",
                "4",
                "--format",
                "json",
            ],
        );
        std::thread::sleep(Duration::from_millis(rng.below(40)));
        feed(&mut verify, &format!("{}\n", a_codes[0]));
        let v = finish(verify.wait_with_output().expect("wait verify"));
        let i = finish(issue.wait_with_output().expect("wait issue"));
        assert_eq!(i.0, 0, "round {round}: issue-codes failed: {i:?}");
        assert!(v.0 == 0 || v.0 == 1, "round {round}: verify: {v:?}");
        let (b_set, b_codes) = procs::set_and_codes(&procs::issued_json(&i.1));
        assert_eq!(
            procs::issued_json(&i.1)["invalidated"],
            serde_json::json!([a_set]),
            "round {round}: B must end A"
        );

        let events: Vec<serde_json::Value> = audit_events(&env)
            .into_iter()
            .filter(|e| e["id"].as_i64().unwrap() > before)
            .collect();
        let id_of = |action: &str, set: Option<i64>| -> Vec<i64> {
            events
                .iter()
                .filter(|e| e["action"] == action && set.is_none_or(|s| e["details"]["set"] == s))
                .map(|e| e["id"].as_i64().unwrap())
                .collect()
        };
        // B's set goes live when its codes were shown: codes-delivered.
        let b_issued = id_of("codes-delivered", Some(b_set));
        assert_eq!(b_issued.len(), 1, "round {round}: {events:#?}");
        if v.0 == 0 {
            won += 1;
            let acc = id_of("verify-accepted", Some(a_set));
            assert_eq!(acc.len(), 1, "round {round}: {events:#?}");
            assert!(
                acc[0] < b_issued[0],
                "round {round}: a code of set {a_set} was accepted after set {b_set} replaced it: {events:#?}"
            );
        } else {
            lost += 1;
            assert!(id_of("verify-accepted", None).is_empty(), "{events:#?}");
            // A valid code may only be rejected once its set was replaced.
            let rej = id_of("verify-rejected", None);
            assert_eq!(rej.len(), 1, "round {round}: {events:#?}");
            assert!(
                rej[0] > b_issued[0],
                "round {round}: a live code of set {a_set} was rejected before set {b_set} existed: {events:#?}"
            );
        }

        // After B, every code of A is rejected; B's codes work.
        for c in &a_codes {
            assert_eq!(env.verify("carol", c), 1, "round {round}: old code {c}");
        }
        assert_eq!(env.verify("carol", &b_codes[0]), 0, "round {round}");
    }
    eprintln!("verify committed first in {won} round(s), issue-codes in {lost}");
    audit_intact(&env);
}

/// Spawns `workers` threads, each running `job(worker)`; joins them all.
fn in_parallel(workers: usize, job: impl Fn(usize) + Sync) {
    std::thread::scope(|s| {
        let job = &job;
        let handles: Vec<_> = (0..workers).map(|w| s.spawn(move || job(w))).collect();
        for h in handles {
            h.join().expect("worker panicked");
        }
    });
}

fn expect_ok(env: &Env, args: &[&str]) {
    let o = procs::output(procs::command(env, args));
    assert_eq!(o.0, 0, "codedesk {args:?}: {o:?}");
    assert!(
        !o.2.to_lowercase().contains("busy"),
        "codedesk {args:?} leaked busy: {o:?}"
    );
}

/// Eight operators at once, on a store none of them has created yet: every
/// write waits its turn; none surfaces SQLITE_BUSY.
#[test]
fn eight_operators_writing_at_once_never_see_busy() {
    const WORKERS: usize = 8;
    const USERS: usize = 20;
    let env = Env::new();
    assert!(!env.store_exists());
    in_parallel(WORKERS, |w| {
        for u in 0..USERS {
            let user = format!("w{w}u{u}");
            let phone = format!("50722{w}{u:04}");
            expect_ok(
                &env,
                &[
                    "enroll-device",
                    &user,
                    "--kind",
                    "mobile",
                    "--phone",
                    &phone,
                    "-q",
                ],
            );
        }
        for u in 0..USERS {
            let user = format!("w{w}u{u}");
            expect_ok(&env, &["issue-codes", &user, "-q"]);
        }
    });
    // Per user: device-enrolled, codes-pending, codes-delivered.
    assert_eq!(audit_intact(&env), (WORKERS * USERS * 3) as u64);
    // Every user has exactly one active set.
    assert_eq!(
        env.sql_i64(
            "SELECT count(*) FROM users u WHERE \
             (SELECT count(*) FROM code_sets s WHERE s.user_id = u.id AND s.state = 'active') = 1"
        ),
        (WORKERS * USERS) as i64
    );
    assert_eq!(env.outbox_codes().len(), WORKERS * USERS * 10);
}

/// Many first runs at once: the store is created, switched to WAL and
/// migrated exactly once, and nobody fails with "busy".
#[test]
fn first_runs_at_once_on_a_new_store_never_see_busy() {
    for round in 0..12 {
        let env = Env::new();
        in_parallel(8, |w| {
            let user = format!("first{w}");
            expect_ok(&env, &["enroll-device", &user, "--kind", "token", "-q"]);
        });
        assert_eq!(audit_intact(&env), 8, "round {round}");
    }
}

/// The deterministic form of the race above: another process holds the
/// write lock of a new (not yet WAL) store while codedesk opens it. SQLite
/// answers `PRAGMA journal_mode = WAL` with SQLITE_BUSY at once, without
/// the busy handler; codedesk must wait like for any other writer.
#[test]
fn opening_a_new_store_waits_for_a_writer_instead_of_failing_busy() {
    if sqlite_only("holds SQLite's write lock with rusqlite") {
        return;
    }
    let env = Env::new();
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    let mut other = rusqlite::Connection::open(&env.db).unwrap();
    let tx = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let child = spawn(&env, &["enroll-device", "dave", "--kind", "token", "-q"]);
    std::thread::sleep(Duration::from_millis(400));
    tx.rollback().unwrap();
    drop(other);
    let (code, out, err) = finish(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(audit_intact(&env), 1);
}
