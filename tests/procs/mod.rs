//! Helpers for the real-process reliability tests (races, crash, store
//! faults): spawning `codedesk` without waiting, reading the audit trail,
//! looking into the store (with rusqlite, or on either backend through
//! `Env::sql_rows`), and a small seeded PRNG.
#![allow(dead_code)]

use crate::common::{BIN, Env, scrub};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// `program --db .. --config .. --operator OP ARGS`, scrubbed, as a plain
/// std `Command` (so it can be spawned and killed).
pub fn command_as(program: &Path, env: &Env, db: &Path, operator: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    scrub(&mut c);
    c.env("HOME", env.path())
        .arg("--db")
        .arg(db)
        .arg("--config")
        .arg(&env.config)
        .arg("--operator")
        .arg(operator)
        .args(args);
    c
}

/// `codedesk ARGS` on the env's store, operator `tester`.
pub fn command(env: &Env, args: &[&str]) -> Command {
    command_as(Path::new(BIN), env, &env.db, "tester", args)
}

/// Starts `codedesk ARGS` with piped stdin/stdout/stderr.
pub fn spawn(env: &Env, args: &[&str]) -> Child {
    spawn_cmd(command(env, args))
}

pub fn spawn_cmd(mut c: Command) -> Child {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codedesk")
}

/// Writes `input` to the child's stdin and closes it.
pub fn feed(child: &mut Child, input: &str) {
    let mut stdin = child.stdin.take().expect("stdin piped");
    // A child that already exited cannot read; its status tells the story.
    let _ = stdin.write_all(input.as_bytes());
}

/// Runs to completion: (status, stdout, stderr).
pub fn output(c: Command) -> (i32, String, String) {
    finish(spawn_cmd(c).wait_with_output().expect("wait codedesk"))
}

pub fn finish(o: Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Starts `n` verifiers of `user`; each loads the user's live sets and
/// then blocks reading its standard input. After `settle` (for every
/// verifier to reach that read), the same code is written to every one
/// of them at once. Their (status, stdout, stderr), in start order.
pub fn race_verify(
    env: &Env,
    user: &str,
    code: &str,
    n: usize,
    settle: Duration,
) -> Vec<(i32, String, String)> {
    let mut kids: Vec<Child> = (0..n).map(|_| spawn(env, &["verify", user])).collect();
    std::thread::sleep(settle);
    let line = format!("{code}\n");
    for k in &mut kids {
        feed(k, &line);
    }
    kids.into_iter()
        .map(|k| finish(k.wait_with_output().expect("wait verify")))
        .collect()
}

/// Every audit event, oldest first, from `audit --format json`.
pub fn audit_events(env: &Env) -> Vec<serde_json::Value> {
    let out = env.ok(&["audit", "--format", "json"]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// `audit verify --format json` must say the chain is intact; returns the
/// number of events.
pub fn audit_intact(env: &Env) -> u64 {
    let (code, out, err) = env.run(&["audit", "verify", "--format", "json"]);
    assert_eq!(code, 0, "audit verify failed: {out} {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("audit verify json");
    assert_eq!(v["intact"], true, "{v}");
    v["events"].as_u64().expect("event count")
}

/// The JSON object `issue-codes --format json` printed (last line).
pub fn issued_json(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("issue-codes json {stdout:?}: {e}"))
}

/// Issues a helpdesk set by flags; returns (set id, codes).
pub fn issue_helpdesk_json(env: &Env, user: &str, extra: &[&str]) -> (i64, Vec<String>) {
    let mut args = vec![
        "issue-codes",
        user,
        "--via",
        "helpdesk",
        "--identity-verified",
        "in-person",
        "--ticket",
        "T-7",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = env.ok(&args);
    set_and_codes(&issued_json(&out))
}

pub fn set_and_codes(v: &serde_json::Value) -> (i64, Vec<String>) {
    let id = v["batch"].as_i64().expect("set id");
    let codes = v["codes"]
        .as_array()
        .map(|a| a.iter().map(|c| c.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (id, codes)
}

/// A look into the store, bypassing codedesk (never creates it).
pub fn open_db(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .expect("open store with rusqlite")
}

/// A read-only look: no checkpoint, so a crashed writer's WAL is left for
/// codedesk itself to recover.
pub fn open_db_ro(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open store read-only with rusqlite")
}

pub fn integrity(db: &Path) -> String {
    open_db_ro(db)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// (set id, number of code rows) of every active set of `user`, on either
/// backend (`Env::sql_rows`; read-only on SQLite). `user` is a plain name.
pub fn active_sets(env: &Env, user: &str) -> Vec<(i64, i64)> {
    assert!(user.bytes().all(|b| b.is_ascii_alphanumeric()), "{user}");
    env.sql_rows(&format!(
        "SELECT s.id, (SELECT COUNT(*) FROM codes c WHERE c.set_id = s.id)
         FROM code_sets s JOIN users u ON u.id = s.user_id
         WHERE u.name = '{user}' AND s.state = 'active' ORDER BY s.id"
    ))
    .into_iter()
    .map(|r| {
        let n = |i: usize| -> i64 { r[i].as_deref().unwrap_or("").parse().expect("a number") };
        (n(0), n(1))
    })
    .collect()
}

/// How many sets of `user` are in `state`, on either backend.
pub fn sets_in_state(env: &Env, user: &str, state: &str) -> i64 {
    assert!(user.bytes().all(|b| b.is_ascii_alphanumeric()), "{user}");
    assert!(state.bytes().all(|b| b.is_ascii_lowercase()), "{state}");
    env.sql_column(&format!(
        "SELECT COUNT(*) FROM code_sets s JOIN users u ON u.id = s.user_id
         WHERE u.name = '{user}' AND s.state = '{state}'"
    ))[0]
        .parse()
        .expect("a count")
}

/// xorshift64*, seeded from the clock or `CODEDESK_TEST_SEED`; the seed is
/// printed so a failing run can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(name: &str) -> Rng {
        let seed = std::env::var("CODEDESK_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{name}: CODEDESK_TEST_SEED={seed}");
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// True when stderr is exactly one line starting with `codedesk:`.
pub fn one_line_error(stderr: &str) -> bool {
    let lines: Vec<&str> = stderr.lines().collect();
    lines.len() == 1 && lines[0].starts_with("codedesk: ") && stderr.ends_with('\n')
}
