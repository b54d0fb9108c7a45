// `kill -9` of `issue-codes` at random moments (SECURITY.md: a crash
// at any moment leaves either the old set or the new set valid, never
// neither, and never a half-written set).
//
// Hashing is slowed (1 MiB Argon2id) so that a run lasts long enough to be
// cut anywhere: while hashing, while storing, between SMS delivery and
// activation, while printing. The kill moments are spread over a measured
// uninterrupted run, half of them bunched around its end, where the store
// is written. After every kill: on SQLite the file's integrity check (read
// only, leaving a crashed writer's WAL for codedesk to recover); on both
// backends no set with missing codes, exactly one active set per user
// holding all its codes, an intact audit chain (`audit verify`), and,
// through `verify`, that the live set is the old one (one of its codes
// still works) or the new one (the old codes fail, a code of the new one
// works). On PostgreSQL the kill drops the connection mid-transaction: the
// server must roll it back and free the write lock.
//
// Backend-neutral: runs on SQLite, and on PostgreSQL in
// the second pass of tests/suite (CODEDESK_TEST_BACKEND=postgres).

use crate::common;
use crate::procs;

use common::Env;
use procs::{Rng, audit_intact, command, finish, set_and_codes, spawn_cmd};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

const COUNT: i64 = 10;
const SMS_USERS: [&str; 3] = ["sam", "sue", "sid"];
const DESK_USERS: [&str; 3] = ["hal", "han", "hob"];
const ATTEST: [&str; 4] = ["--identity-verified", "in-person", "--ticket", "T-42"];

/// The set a user holds and the codes of it not yet used by the test.
#[derive(Debug, Clone)]
struct Known {
    set: i64,
    codes: Vec<String>,
    next: usize,
}

fn slow_env() -> Env {
    let env = Env::with_raw_config("");
    let text = format!(
        "[hash]\nmemory_kib = 1024\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n",
        env.outbox.display().to_string()
    );
    std::fs::write(&env.config, text).unwrap();
    env
}

fn is_sms(user: &str) -> bool {
    SMS_USERS.contains(&user)
}

fn all_users() -> impl Iterator<Item = &'static str> {
    SMS_USERS.iter().chain(DESK_USERS.iter()).copied()
}

fn issue_args(user: &str) -> Vec<&str> {
    let mut a = vec!["issue-codes", user, "--format", "json"];
    if !is_sms(user) {
        a.extend_from_slice(&ATTEST);
    }
    a
}

fn batch_args(csv: &str) -> Vec<&str> {
    let mut a = vec!["issue-codes", "--batch", csv, "--format", "json"];
    a.extend_from_slice(&ATTEST);
    a
}

/// The codes of the newest outbox message for `user`.
fn last_sms_for(env: &Env, user: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(&env.outbox).unwrap_or_default();
    let header = format!("Backup codes for {user}:");
    let msg = text
        .split("To: ")
        .filter(|m| m.lines().any(|l| l == header))
        .last()?;
    let codes: Vec<String> = msg
        .lines()
        .filter(|l| common::looks_like_code(l))
        .map(str::to_string)
        .collect();
    (codes.len() == COUNT as usize).then_some(codes)
}

/// Codes printed by a (possibly killed) run, per set id, from its complete
/// JSON lines.
fn printed(stdout: &str) -> BTreeMap<i64, Vec<String>> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| set_and_codes(&v))
        .filter(|(_, c)| c.len() == COUNT as usize)
        .collect()
}

fn run_ok(c: Command) -> (String, Duration) {
    let start = Instant::now();
    let (code, out, err) = procs::output(c);
    assert_eq!(code, 0, "{out} {err}");
    (out, start.elapsed())
}

/// Issues a fresh set without interruption and learns its codes.
fn learn(env: &Env, user: &str) -> (Known, Duration) {
    let (out, took) = run_ok(command(env, &issue_args(user)));
    let (set, codes) = set_and_codes(&procs::issued_json(&out));
    let codes = if is_sms(user) {
        last_sms_for(env, user).expect("SMS codes in the outbox")
    } else {
        codes
    };
    assert_eq!(codes.len(), COUNT as usize);
    (
        Known {
            set,
            codes,
            next: 0,
        },
        took,
    )
}

/// Store-level invariants, read without disturbing a crashed writer's WAL
/// (then `audit verify`, which does recover it).
fn check_store(env: &Env, what: &str) -> BTreeMap<String, i64> {
    check_store_of(env, what, all_users())
}

fn check_store_of<'a>(
    env: &Env,
    what: &str,
    users: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, i64> {
    if !env.is_postgres() {
        assert_eq!(procs::integrity(&env.db), "ok", "{what}: integrity_check");
    }
    let partial = env.sql_rows(&format!(
        "SELECT s.id, s.state, COUNT(c.id) FROM code_sets s LEFT JOIN codes c ON c.set_id = s.id
         GROUP BY s.id, s.state HAVING COUNT(c.id) != {COUNT}"
    ));
    assert!(partial.is_empty(), "{what}: half-written sets {partial:?}");
    let mut live = BTreeMap::new();
    for user in users {
        let sets = procs::active_sets(env, user);
        assert_eq!(
            sets.len(),
            1,
            "{what}: {user} must hold exactly one live set: {sets:?}"
        );
        assert_eq!(sets[0].1, COUNT, "{what}: {user}'s live set is incomplete");
        live.insert(user.to_string(), sets[0].0);
    }
    audit_intact(env);
    live
}

#[derive(Default, Debug)]
struct Tally {
    old_kept: usize,
    new_live: usize,
    codes_lost: usize,
    /// The latest uninterrupted run of each path, to aim the kills (the
    /// machine's load changes while the test runs).
    d_sms: Duration,
    d_desk: Duration,
}

impl Tally {
    fn learn(&mut self, env: &Env, user: &str) -> Known {
        let (k, took) = learn(env, user);
        *(if is_sms(user) {
            &mut self.d_sms
        } else {
            &mut self.d_desk
        }) = took;
        k
    }

    fn duration(&self, user: &str) -> Duration {
        if is_sms(user) {
            self.d_sms
        } else {
            self.d_desk
        }
    }

    /// A run of `user`'s path that ended before its kill took `took`.
    fn ran(&mut self, user: &str, took: Option<Duration>) {
        if let Some(took) = took {
            *(if is_sms(user) {
                &mut self.d_sms
            } else {
                &mut self.d_desk
            }) = took;
        }
    }
}

/// After a kill: `user`'s live set is either the known old one (a code of it
/// still verifies) or a complete new one (the old codes fail; a code of the
/// new one, if the run got it out, verifies).
fn check_user(
    env: &Env,
    user: &str,
    live: i64,
    out: &BTreeMap<i64, Vec<String>>,
    known: &mut BTreeMap<String, Known>,
    tally: &mut Tally,
    what: &str,
) {
    let k = known.get_mut(user).unwrap();
    if live == k.set {
        tally.old_kept += 1;
        let code = k.codes[k.next].clone();
        k.next += 1;
        assert_eq!(
            env.verify(user, &code),
            0,
            "{what}: {user} kept set {live} but its code failed"
        );
    } else {
        tally.new_live += 1;
        assert!(live > k.set, "{what}: {user} went back to set {live}");
        let old = k.codes[k.next].clone();
        assert_eq!(
            env.verify(user, &old),
            1,
            "{what}: {user}'s replaced set {} still works",
            k.set
        );
        let codes = if is_sms(user) {
            last_sms_for(env, user)
        } else {
            out.get(&live).cloned()
        };
        match codes {
            Some(codes) => {
                assert_eq!(
                    env.verify(user, &codes[0]),
                    0,
                    "{what}: {user}'s new set {live} does not work"
                );
                *k = Known {
                    set: live,
                    codes,
                    next: 1,
                };
            }
            None => {
                // Killed after the commit but before printing: the set is
                // live and whole, but nobody saw its codes. Issue again.
                tally.codes_lost += 1;
                *k = tally.learn(env, user);
            }
        }
    }
    if k.next + 2 >= k.codes.len() {
        *k = tally.learn(env, user);
    }
}

/// Runs `c` and SIGKILLs it after `after`; returns its stdout so far and,
/// when it ended by itself before the kill, how long it took: a fresh
/// measure of an uninterrupted run, to aim the next kills (one slow first
/// measure under load would otherwise put every kill after the end).
fn run_and_kill(c: Command, after: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    let mut child = spawn_cmd(c);
    drop(child.stdin.take());
    let mut ended = None;
    loop {
        let now = start.elapsed();
        if now >= after {
            break;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            ended = Some(now);
            break;
        }
        std::thread::sleep((after - now).min(Duration::from_millis(1)));
    }
    let _ = child.kill();
    (finish(child.wait_with_output().expect("wait")).1, ended)
}

/// A kill moment for a run that takes `d` uninterrupted: half spread over
/// the whole run and past it, half close to its end.
fn moment(rng: &mut Rng, d: Duration, i: usize) -> Duration {
    let ms = d.as_millis() as u64;
    let at = if i.is_multiple_of(2) {
        rng.below(ms * 3 / 2 + 1)
    } else {
        ms * 7 / 10 + rng.below(ms * 5 / 10 + 1)
    };
    Duration::from_millis(at)
}

fn setup() -> (Env, BTreeMap<String, Known>, Tally) {
    let env = slow_env();
    for (i, u) in SMS_USERS.iter().enumerate() {
        env.enroll_mobile(u, &format!("50722259{i:02}"));
    }
    for (i, u) in DESK_USERS.iter().enumerate() {
        env.enroll_landline(u, &format!("50722258{i:02}"));
    }
    let mut known = BTreeMap::new();
    let mut tally = Tally::default();
    for u in all_users() {
        known.insert(u.to_string(), tally.learn(&env, u));
    }
    (env, known, tally)
}

#[test]
fn issue_codes_killed_at_random_moments_leaves_old_or_new_set() {
    let (env, mut known, mut tally) = setup();
    eprintln!(
        "uninterrupted: sms {:?}, helpdesk {:?}",
        tally.d_sms, tally.d_desk
    );
    let mut rng = Rng::new("crash");
    let users: Vec<&str> = all_users().collect();
    let runs = 36;
    for i in 0..runs {
        let user = users[rng.below(users.len() as u64) as usize];
        let after = moment(&mut rng, tally.duration(user), i);
        let what = format!("run {i} ({user}, killed after {after:?})");
        let (out, took) = run_and_kill(command(&env, &issue_args(user)), after);
        tally.ran(user, took);
        let out = printed(&out);
        let live = check_store(&env, &what);
        for u in all_users() {
            if u != user {
                assert_eq!(live[u], known[u].set, "{what}: {u} was not involved");
            }
        }
        check_user(&env, user, live[user], &out, &mut known, &mut tally, &what);
    }
    eprintln!("{tally:?}");
    // The kills must have landed on both sides of the commit.
    assert!(tally.old_kept > 0 && tally.new_live > 0, "{tally:?}");
    check_store(&env, "end");
    let pending: i64 = all_users()
        .map(|u| procs::sets_in_state(&env, u, "pending"))
        .sum();
    eprintln!("pending sets left by kills between delivery and activation: {pending}");
}

#[test]
fn batch_issue_killed_at_random_moments_leaves_old_or_new_set_per_user() {
    let (env, mut known, mut tally) = setup();
    let csv = env.path().join("users.csv");
    let mut text = String::from("user\n");
    for u in all_users() {
        text.push_str(u);
        text.push('\n');
    }
    std::fs::write(&csv, text).unwrap();
    let csv = csv.to_str().unwrap().to_string();

    // One uninterrupted batch, to time it and learn everyone's codes.
    let (out, mut d_batch) = run_ok(command(&env, &batch_args(&csv)));
    let out = printed(&out);
    let live = check_store(&env, "uninterrupted batch");
    for u in all_users() {
        let codes = if is_sms(u) {
            last_sms_for(&env, u).unwrap()
        } else {
            out[&live[u]].clone()
        };
        known.insert(
            u.to_string(),
            Known {
                set: live[u],
                codes,
                next: 0,
            },
        );
    }
    eprintln!("uninterrupted: batch {d_batch:?}");

    let mut rng = Rng::new("crash-batch");
    for i in 0..8 {
        let after = moment(&mut rng, d_batch, i);
        let what = format!("batch run {i} (killed after {after:?})");
        let (out, took) = run_and_kill(command(&env, &batch_args(&csv)), after);
        d_batch = took.unwrap_or(d_batch);
        let out = printed(&out);
        let live = check_store(&env, &what);
        for u in all_users() {
            check_user(&env, u, live[u], &out, &mut known, &mut tally, &what);
        }
    }
    eprintln!("{tally:?}");
    assert!(tally.old_kept > 0 && tally.new_live > 0, "{tally:?}");
    check_store(&env, "end");
}

/// The SMS gateway is slow (a program that takes 200 ms): a kill while it
/// runs leaves the new set pending, never active, and the old set working.
#[test]
fn sms_issue_killed_during_slow_delivery_keeps_the_old_set() {
    let env = Env::with_raw_config("");
    let inbox = env.path().join("gateway");
    std::fs::create_dir(&inbox).unwrap();
    let script = env.path().join("slow-sms");
    std::fs::write(
        &script,
        format!(
            // Fast for the baseline issuance; once `slow` exists the gateway
            // hangs, so no killed run can finish delivery and activate its
            // set before the kill, however the machine's load varies.
            "#!/bin/sh\nf={dir}/msg.$$\ncat > \"$f.tmp\" && mv \"$f.tmp\" \"$f\"\nif [ -e {dir}/slow ]; then sleep 5; else sleep 0.2; fi\n",
            dir = inbox.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        &env.config,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\ncommand = {:?}\n\n[safeguards]\nnotify_users = false\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    env.enroll_mobile("sam", "5072225900");
    let newest_message = || -> Vec<String> {
        let newest = std::fs::read_dir(&inbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".tmp"))
            .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .expect("a delivered message");
        std::fs::read_to_string(newest)
            .unwrap()
            .lines()
            .filter(|l| common::looks_like_code(l))
            .map(str::to_string)
            .collect()
    };
    let (out, d) = run_ok(command(&env, &issue_args("sam")));
    let (old_set, _) = set_and_codes(&procs::issued_json(&out));
    let old_codes = newest_message();
    assert_eq!(old_codes.len(), COUNT as usize);

    let mut rng = Rng::new("crash-slow-sms");
    let runs = 8;
    let slow = inbox.join("slow");
    std::fs::write(&slow, "").unwrap();
    for (i, old_code) in old_codes.iter().take(runs).enumerate() {
        // Anywhere from before hashing to well into the (now hanging) delivery.
        let after = Duration::from_millis(rng.below(d.as_millis() as u64 * 2 + 1));
        let what = format!("run {i} (killed after {after:?} of {d:?})");
        run_and_kill(command(&env, &issue_args("sam")), after);
        let live = check_store_of(&env, &what, ["sam"].into_iter());
        assert_eq!(live["sam"], old_set, "{what}: the old set must stay live");
        assert_eq!(env.verify("sam", old_code), 0, "{what}: old code failed");
    }
    let pending = procs::sets_in_state(&env, "sam", "pending");
    assert!(pending >= 1, "no kill landed during delivery");
    eprintln!("{pending} of {runs} kills left a pending set");

    std::fs::remove_file(&slow).unwrap();
    // A completed issuance afterwards replaces the old set as usual.
    let (out, _) = run_ok(command(&env, &issue_args("sam")));
    let (new_set, _) = set_and_codes(&procs::issued_json(&out));
    let live = check_store_of(&env, "after", ["sam"].into_iter());
    assert_eq!(live["sam"], new_set);
    assert_eq!(env.verify("sam", &old_codes[runs]), 1);
    assert_eq!(env.verify("sam", &newest_message()[0]), 0);
    audit_intact(&env);
}
