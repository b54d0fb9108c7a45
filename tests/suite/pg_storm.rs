//! Login storms on PostgreSQL (docs/postgresql-pooling.md): a thousand
//! `codedesk verify` processes at once, over 50 users with valid, spent
//! and wrong codes, against a stock server (`max_connections = 100`),
//! directly and through PgBouncer, and with the server restarted mid-storm.
//!
//! The direct storm and the restart run on a throwaway cluster of their
//! own (initdb as the `postgres` user in a temporary folder, on a free
//! loopback port, max_connections = 100 as PostgreSQL ships it), so a
//! storm cannot starve another test's connections and a restart touches
//! nothing else. The PgBouncer storm runs through the pooler of
//! `CODEDESK_TEST_PGBOUNCER` (.ci/run starts one in front of its server).
//! Under `CI` a missing server, pooler or PostgreSQL binary is a failure;
//! otherwise a loud skip. The storms take turns (one at a time).

use crate::common;
use crate::procs;

use common::Env;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const USERS: usize = 50;
/// Per user: valid codes verified in the storm, codes spent before it,
/// wrong codes (another user's): 12 + 4 + 4 = 20 verifies, 1000 in all.
const VALID: usize = 12;
const SPENT: usize = 4;
const WRONG: usize = 4;
/// Processes alive at once: enough to exceed max_connections, few enough
/// for a 2-core runner to start them briskly.
const ALIVE: usize = 300;
/// The login servers the storm comes from. A verify takes one of its
/// host's store slots (four per core) for each store session, so one host
/// alone never holds more than 4 x cores connections; each simulated host
/// is a runtime folder of its own (XDG_RUNTIME_DIR), and 14 of them can
/// ask for more than 100 connections at once (on 2 cores, 112). Not many
/// more: the simulated hosts share this machine's cores, which real ones
/// would not.
const HOSTS: usize = 14;

/// One storm at a time: each wants the machine.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A missing prerequisite: a failure under CI, else a loud skip (false).
fn missing(why: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{why}; CI is set, so the storm tests must run");
    }
    let bar = "=".repeat(78);
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\nSKIPPED: pg_storm: {}: {why}\n{bar}\n",
        std::thread::current().name().unwrap_or("a test")
    );
    false
}

// ------------------------------------------------- a throwaway cluster

/// A PostgreSQL cluster of this test's own, run as `postgres`; stopped
/// (immediately) and deleted when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn postgres_uid() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postgres").ok()?;
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    (!pw.is_null()).then(|| unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Cluster {
    /// initdb, configure, start, and a role and database `codedesk`
    /// (password `storm`, md5 over TCP: SCRAM's 4096 rounds of
    /// PBKDF2 in the tests' unoptimised build would cost each verify more
    /// than its whole work, twice, and the storm is about connections;
    /// the PgBouncer storm logs in with SCRAM).
    fn start() -> Result<Cluster, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL server installed (/usr/lib/postgresql: {e})"))?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max_by_key(|b| {
                b.parent()
                    .and_then(|v| v.file_name())
                    .and_then(|v| v.to_str())
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            })
            .ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")?;
        let euid = unsafe { libc::geteuid() };
        let (uid, gid) = postgres_uid().ok_or("no user postgres")?;
        if euid != 0 && euid != uid {
            return Err(
                "a throwaway cluster needs root (to run as postgres) or the user postgres".into(),
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("codedesk-storm-pg.")
            .tempdir()
            .map_err(|e| e.to_string())?;
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        let c = Cluster {
            dir,
            bin,
            port: free_port(),
        };
        let data = c.data();
        let pwfile = c.dir.path().join("pw");
        std::fs::write(&pwfile, "storm\n").map_err(|e| e.to_string())?;
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        c.as_postgres(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--auth-local=trust",
                "--auth-host=md5",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .map_err(|e| e.to_string())?;
        // As PostgreSQL ships it (max_connections = 100), on loopback only.
        // Commits do not wait for the disk: every spend is serialised under
        // the store's write lock, so on a shared CI disk whose fsync takes
        // tens of milliseconds the storm would measure the disk, not the
        // connections (the restart is a fast shutdown, which flushes all).
        writeln!(
            conf,
            "\n# codedesk tests/suite/pg_storm.rs\nlisten_addresses = '127.0.0.1'\nport = {}\n\
             unix_socket_directories = '{}'\nmax_connections = 100\nsynchronous_commit = off\n",
            c.port,
            c.dir.path().display()
        )
        .map_err(|e| e.to_string())?;
        c.pg_ctl(&["start"])?;
        c.as_postgres(
            "psql",
            &[
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                c.dir.path().to_str().unwrap(),
                "-p",
                &c.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                "SET password_encryption = 'md5'; CREATE ROLE codedesk LOGIN PASSWORD 'storm'",
                "-c",
                "CREATE DATABASE codedesk OWNER codedesk",
            ],
        )?;
        Ok(c)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://codedesk:storm@127.0.0.1:{}/codedesk", self.port)
    }

    fn as_postgres(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut c = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = c
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run {}: {e}", program.display()))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!(
                "{} {args:?}: {}{}",
                program.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }

    /// `pg_ctl -D DATA -l LOG -w ARGS`.
    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.data();
        let log = self.dir.path().join("log");
        let mut all = vec![
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-t",
            "60",
        ];
        all.extend_from_slice(args);
        self.as_postgres("pg_ctl", &all)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
    }
}

fn cluster() -> Option<Cluster> {
    match Cluster::start() {
        Ok(c) => Some(c),
        Err(why) => {
            missing(&format!(
                "cannot make a throwaway PostgreSQL cluster: {why}"
            ));
            None
        }
    }
}

// ------------------------------------------- a throwaway PgBouncer

/// A PgBouncer of this test's own in front of a [`Cluster`], with the
/// settings of examples/pgbouncer/codedesk.ini (included verbatim), run as
/// `postgres`; stopped when dropped.
struct Bouncer {
    dir: tempfile::TempDir,
    port: u16,
}

impl Bouncer {
    /// `extra`: settings after the included file's, which override them.
    fn start(pg: &Cluster, extra: &str) -> Result<Bouncer, String> {
        let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|b| Path::new(b).exists())
            .ok_or("no pgbouncer installed (Debian's pgbouncer package)")?;
        let (uid, gid) = postgres_uid().ok_or("no user postgres")?;
        let dir = tempfile::Builder::new()
            .prefix("codedesk-storm-pgb.")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let b = Bouncer {
            dir,
            port: free_port(),
        };
        let d = b.dir.path();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(
            root.join("examples/pgbouncer/codedesk.ini"),
            d.join("codedesk.ini"),
        )
        .map_err(|e| format!("examples/pgbouncer/codedesk.ini: {e}"))?;
        // The role's password as PgBouncer's auth file may hold it; it
        // checks the clients' SCRAM with it and logs in to the server (md5).
        std::fs::write(d.join("userlist.txt"), "\"codedesk\" \"storm\"\n")
            .map_err(|e| e.to_string())?;
        std::fs::write(
            d.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port={}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {}\nunix_socket_dir =\n\
                 auth_file = {d}/userlist.txt\npidfile = {d}/pgbouncer.pid\n\
                 logfile = {d}/pgbouncer.log\n%include {d}/codedesk.ini\n{extra}",
                pg.port,
                b.port,
                d = d.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        for f in ["", "codedesk.ini", "userlist.txt", "pgbouncer.ini"] {
            std::os::unix::fs::chown(d.join(f), Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        let mut c = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", bin]);
            c
        } else {
            Command::new(bin)
        };
        let out = c
            .arg("-d")
            .arg(d.join("pgbouncer.ini"))
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run {bin}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{bin}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", b.port)).is_ok() {
                return Ok(b);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "PgBouncer did not listen on {}: {}",
            b.port,
            std::fs::read_to_string(d.join("pgbouncer.log")).unwrap_or_default()
        ))
    }

    fn url(&self) -> String {
        format!("postgres://codedesk:storm@127.0.0.1:{}/codedesk", self.port)
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(self.dir.path().join("pgbouncer.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

// ------------------------------------------------------------ the storm

/// One verify of the storm and the answer a lone verify would give.
struct Job {
    user: String,
    code: String,
    want: i32,
}

/// What one verify did.
struct Done {
    status: i32,
    stderr: String,
    took: Duration,
}

/// The config of a storm: fast hashing, 16 codes a set, and `retry`.
fn config(env: &Env, retry: &str) {
    std::fs::write(
        &env.config,
        format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n\
             [codes]\ncount = 16\n\n[verify]\nconnect_retry = \"{retry}\"\n"
        ),
    )
    .expect("write the config");
}

/// 50 users with 16 codes each (4 spent now), and the 1000 verifies of
/// the storm, shuffled: 12 valid codes a user (0), 4 spent (1), 4 of
/// another user's codes (1, and 8 rejections stay below the threshold of
/// 10: every answer is fixed).
fn seed(env: &Env) -> Vec<Job> {
    let mut codes: Vec<(String, Vec<String>)> = Vec::new();
    for u in 0..USERS {
        let user = format!("storm{u:02}");
        env.enroll_landline(&user, &format!("50722{u:05}"));
        let (_, c) = procs::issue_helpdesk_json(env, &user, &[]);
        assert_eq!(c.len(), VALID + SPENT, "{user}: {c:?}");
        for code in &c[..SPENT] {
            assert_eq!(env.verify(&user, code), 0, "{user}: spend {code} first");
        }
        codes.push((user, c));
    }
    let mut jobs = Vec::new();
    for (u, (user, c)) in codes.iter().enumerate() {
        for (i, code) in c.iter().enumerate() {
            let want = if i < SPENT { 1 } else { 0 };
            jobs.push(Job {
                user: user.clone(),
                code: code.clone(),
                want,
            });
        }
        let other = &codes[(u + 1) % USERS].1;
        for code in &other[SPENT..SPENT + WRONG] {
            jobs.push(Job {
                user: user.clone(),
                code: code.clone(),
                want: 1,
            });
        }
    }
    assert_eq!(jobs.len(), USERS * (VALID + SPENT + WRONG));
    let mut rng = procs::Rng::new("storm");
    for i in (1..jobs.len()).rev() {
        jobs.swap(i, rng.below(i as u64 + 1) as usize);
    }
    jobs
}

/// Runs every job as its own `codedesk verify` process, `ALIVE` at a
/// time (`during` is called once, when half have been started); stdout
/// and stderr go to files, so the test holds no descriptor per process.
fn storm(env: &Env, jobs: &[Job], during: &mut dyn FnMut()) -> Vec<Done> {
    let out = env.path().join("storm");
    std::fs::create_dir_all(&out).expect("mkdir storm");
    let hosts: Vec<PathBuf> = (0..HOSTS)
        .map(|h| {
            let d = env.path().join(format!("host-{h}"));
            std::fs::create_dir_all(&d).expect("mkdir host");
            d
        })
        .collect();
    let mut alive: Vec<(usize, Child, Instant)> = Vec::new();
    let mut done: BTreeMap<usize, Done> = BTreeMap::new();
    let mut next = 0;
    let mut called = false;
    while done.len() < jobs.len() {
        while next < jobs.len() && alive.len() < ALIVE {
            let job = &jobs[next];
            let mut c = procs::command(env, &["verify", &job.user]);
            c.env("XDG_RUNTIME_DIR", &hosts[next % HOSTS])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(out.join(format!("{next}.err"))).expect("err file"));
            let mut child = c.spawn().expect("spawn verify");
            let mut stdin = child.stdin.take().expect("stdin");
            let _ = writeln!(stdin, "{}", job.code);
            drop(stdin);
            alive.push((next, child, Instant::now()));
            next += 1;
            if !called && next == jobs.len() / 2 {
                called = true;
                during();
            }
        }
        let before = done.len();
        alive.retain_mut(|(i, child, started)| match child.try_wait() {
            Ok(Some(status)) => {
                done.insert(
                    *i,
                    Done {
                        status: status.code().unwrap_or(-1),
                        stderr: std::fs::read_to_string(out.join(format!("{i}.err")))
                            .unwrap_or_default(),
                        took: started.elapsed(),
                    },
                );
                false
            }
            Ok(None) => true,
            Err(e) => panic!("wait for verify {i}: {e}"),
        });
        if done.len() == before {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    done.into_values().collect()
}

/// Retries the storm's verifies reported ("connected after N retries").
fn retries(results: &[Done]) -> u64 {
    results
        .iter()
        .filter_map(|d| {
            let at = d.stderr.find("connected after ")?;
            d.stderr[at + 16..].split(' ').next()?.parse::<u64>().ok()
        })
        .sum()
}

/// Per user: (codes left, locked) from `list`, and the verify-accepted
/// events of the trail.
fn accounts(env: &Env) -> BTreeMap<String, (i64, bool, usize)> {
    let mut users = BTreeMap::new();
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["list", "--format", "json"])).expect("list json");
    for u in list.as_array().expect("a list") {
        users.insert(
            u["user"].as_str().expect("user").to_string(),
            (
                u["codes_remaining"].as_i64().expect("codes_remaining"),
                u["locked"].as_bool().expect("locked"),
                0,
            ),
        );
    }
    for e in procs::audit_events(env) {
        if e["action"] == "verify-accepted" {
            let user = e["user"].as_str().expect("event user");
            users.get_mut(user).expect("a listed user").2 += 1;
        }
    }
    users
}

/// After the storm: every code was accepted exactly once (each was
/// verified once in the storm or before it; the store has no use left,
/// and the trail holds one verify-accepted per code), nobody is locked,
/// the trail verifies.
fn check_store(env: &Env) {
    let users = accounts(env);
    assert_eq!(users.len(), USERS);
    for (user, (left, locked, accepted)) in &users {
        assert_eq!(
            (*left, *locked, *accepted),
            (0, false, VALID + SPENT),
            "{user}: (codes left, locked, acceptances)"
        );
    }
    procs::audit_intact(env);
}

/// The storm gave every verify the answer a lone verify would: no exit 7.
fn assert_exact(jobs: &[Job], results: &[Done]) {
    let wrong: Vec<String> = jobs
        .iter()
        .zip(results)
        .filter(|(j, d)| j.want != d.status)
        .map(|(j, d)| {
            format!(
                "{}: exit {} (want {}): {}",
                j.user,
                d.status,
                j.want,
                d.stderr.trim()
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} verifies answered otherwise than alone, e.g.:\n{}",
        wrong.len(),
        jobs.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn on_url(url: &str, retry: &str) -> Env {
    let env = Env::on_url(url);
    config(&env, retry);
    env
}

#[test]
fn a_thousand_verifies_against_max_connections_100_lose_none() {
    let _turn = turn();
    let Some(pg) = cluster() else { return };
    let env = on_url(&pg.url(), "60s");
    let jobs = seed(&env);
    let t = Instant::now();
    let results = storm(&env, &jobs, &mut || {});
    let took = t.elapsed();
    assert_exact(&jobs, &results);
    let r = retries(&results);
    assert!(
        r > 0,
        "the storm never exceeded max_connections (no retries): not a storm"
    );
    eprintln!(
        "pg_storm: direct: {} verifies in {took:?}, {r} connection retries",
        jobs.len()
    );
    check_store(&env);
}

#[test]
fn a_thousand_verifies_through_pgbouncer_lose_none() {
    let _turn = turn();
    let Some(url) = std::env::var("CODEDESK_TEST_PGBOUNCER")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        missing("CODEDESK_TEST_PGBOUNCER is not set (.ci/run starts PgBouncer and sets it)");
        return;
    };
    // A database of its own behind the pooler: PgBouncer passes any
    // database name through to its server, where the role may create one.
    let name = format!("cdt_storm_{}", std::process::id());
    let admin = url.clone();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "connect through PgBouncer ({}): {e}",
            common::redacted(&url)
        )
    });
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        c.batch_execute(&sql).expect("create the storm database");
    }
    drop(c);
    let env = on_url(&common::with_database(&url, &name), "60s");
    let jobs = seed(&env);
    let t = Instant::now();
    let results = storm(&env, &jobs, &mut || {});
    let took = t.elapsed();
    assert_exact(&jobs, &results);
    eprintln!(
        "pg_storm: PgBouncer: {} verifies in {took:?}, {} connection retries",
        jobs.len(),
        retries(&results)
    );
    check_store(&env);
    drop(env);
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("reconnect");
    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

/// The longest a verify that gave up connecting may take: its retry
/// bound, plus one attempt in flight when the bound ran out (the URL's
/// connect_timeout, 15 s by default), plus its first session, its hash
/// and its waits for the host's slots on a loaded 2-core runner. (One
/// that connected may take longer: a write that finds the write lock
/// busy for 15 s is tried again, twice.)
fn longest(bound: Duration) -> Duration {
    bound + Duration::from_secs(15) + Duration::from_secs(15)
}

/// After a storm with a restart in it: each verify gave its lone answer
/// or failed closed (exit 7) within the bound; no code was accepted
/// twice, no set half-written, nobody locked; the trail verifies.
/// Returns (verifies that retried, verifies that failed closed).
fn judge_restart(env: &Env, jobs: &[Job], results: &[Done], bound: Duration) -> (usize, usize) {
    let mut retried = 0;
    let mut failed = 0;
    for (j, d) in jobs.iter().zip(results) {
        match d.status {
            s if s == j.want => {}
            7 => failed += 1,
            s => panic!(
                "{}: exit {s}, want {} or 7 (fail closed): {}",
                j.user,
                j.want,
                d.stderr.trim()
            ),
        }
        if d.stderr.contains("connected after ") {
            retried += 1;
        }
        assert!(
            !d.stderr.contains("cannot connect") || d.took <= longest(bound),
            "{}: took {:?} (exit {}): {}",
            j.user,
            d.took,
            d.status,
            d.stderr.trim()
        );
        // One that gave up on connecting did so within the bound.
        if let Some(at) = d.stderr.find("(still, after ") {
            let tail = &d.stderr[at..];
            let num = |key: &str| -> u128 {
                let i = tail.find(key).expect(key) + key.len();
                tail[i..]
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("a number")
            };
            // No attempt starts once the bound is spent; the last one
            // may end after it, within its own bound (connect_timeout).
            let (spent, budget) = (num(" in "), num("connect_retry is "));
            assert!(
                spent <= budget + 15_000,
                "{}: retried {spent} ms, bound {budget} ms",
                j.user
            );
            assert_eq!(budget, bound.as_millis());
        }
    }
    // No code accepted twice, no set half-written: for every user the
    // acceptances in the trail and the uses left add up to the set, and
    // every verify that said "accepted" is among them (one that failed
    // closed may have committed before the connection broke).
    let mut said: BTreeMap<&str, usize> = BTreeMap::new();
    for (j, d) in jobs.iter().zip(results) {
        if d.status == 0 {
            *said.entry(j.user.as_str()).or_default() += 1;
        }
    }
    let users = accounts(env);
    assert_eq!(users.len(), USERS);
    for (user, (left, locked, accepted)) in &users {
        assert!(!locked, "{user} locked");
        assert_eq!(
            *left as usize + accepted,
            VALID + SPENT,
            "{user}: {left} left + {accepted} accepted"
        );
        let now = said.get(user.as_str()).copied().unwrap_or(0);
        assert!(
            SPENT + now <= *accepted,
            "{user}: {now} accepted in the storm, {accepted} in the trail"
        );
    }
    procs::audit_intact(env);
    (retried, failed)
}

/// The exit-7 messages of a storm, counted by their reason (the text after
/// the server's name), most frequent first: what the report shows.
fn reasons(results: &[Done]) -> String {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for d in results.iter().filter(|d| d.status == 7) {
        let line = d
            .stderr
            .lines()
            .rfind(|l| l.starts_with("codedesk: ") && !l.starts_with("codedesk: warning"))
            .unwrap_or("");
        let why = line.rsplit("): ").next().unwrap_or(line);
        let why = why.split(" (still").next().unwrap_or(why);
        *by.entry(why.to_string()).or_default() += 1;
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    v.iter()
        .map(|(w, n)| format!("{n} x {w}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn a_restart_mid_storm_fails_closed_within_the_bound_and_loses_nothing() {
    let _turn = turn();
    let Some(pg) = cluster() else { return };
    let bound = Duration::from_secs(20);
    let env = on_url(&pg.url(), "20s");
    let jobs = seed(&env);
    let mut restarted = None;
    let results = storm(&env, &jobs, &mut || {
        let t = Instant::now();
        pg.pg_ctl(&["restart", "-m", "fast"])
            .expect("restart PostgreSQL");
        restarted = Some(t.elapsed());
    });
    let restarted = restarted.expect("the server was restarted");
    let (retried, failed) = judge_restart(&env, &jobs, &results, bound);
    assert!(retried > 0, "no verify retried across the restart");
    eprintln!(
        "pg_storm: restart ({restarted:?}) mid-storm: {retried} verifies retried, {failed} failed closed (exit 7): {}",
        reasons(&results)
    );
}

/// The deployment docs/postgresql-pooling.md recommends, PgBouncer with
/// examples/pgbouncer/codedesk.ini in front of PostgreSQL, and the default
/// verify.connect_retry (8 s): PostgreSQL down for about a second in the
/// middle of a storm. PgBouncer turns clients away while its logins to the
/// server fail (server_login_retry, 1 s there); verify retries that. Only
/// the verifies whose session the shutdown cut fail closed.
#[test]
fn a_one_second_restart_through_pgbouncer_fails_few_and_loses_nothing() {
    let _turn = turn();
    let Some(pg) = cluster() else { return };
    let pgb = match Bouncer::start(&pg, "") {
        Ok(b) => b,
        Err(why) => {
            missing(&format!("cannot start a throwaway PgBouncer: {why}"));
            return;
        }
    };
    let bound = Duration::from_secs(8);
    let env = on_url(&pgb.url(), "8s");
    let jobs = seed(&env);
    let mut down = None;
    let results = storm(&env, &jobs, &mut || {
        let t = Instant::now();
        pg.pg_ctl(&["stop", "-m", "fast"]).expect("stop PostgreSQL");
        std::thread::sleep(Duration::from_secs(1));
        pg.pg_ctl(&["start"]).expect("start PostgreSQL");
        down = Some(t.elapsed());
    });
    let down = down.expect("the server was restarted");
    let (retried, failed) = judge_restart(&env, &jobs, &results, bound);
    let slowest = results.iter().map(|d| d.took).max().unwrap_or_default();
    eprintln!(
        "pg_storm: PgBouncer, PostgreSQL down {down:?} mid-storm: {} of {} verifies gave their answer, \
         {retried} retried, {failed} failed closed (exit 7), slowest {slowest:?}: {}",
        jobs.len() - failed,
        jobs.len(),
        reasons(&results)
    );
    assert!(retried > 0, "no verify retried across the restart");
    // With PgBouncer's default server_login_retry (15 s), 132 of 1000
    // failed here; with 1 s, 19.
    assert!(
        failed * 20 <= jobs.len(),
        "{failed} of {} verifies failed closed across a one-second restart: {}",
        jobs.len(),
        reasons(&results)
    );
}

/// docs/postgresql-pooling.md: a verify that PgBouncer turns away after
/// `query_wait_timeout` retries within verify.connect_retry. Here the
/// pool has one server connection, held by another session; PgBouncer
/// turns the verify away after 1 s, again and again, until the session
/// ends (after about 2.5 s); then the verify gets its answer.
#[test]
fn a_verify_turned_away_by_query_wait_timeout_retries() {
    let _turn = turn();
    let Some(pg) = cluster() else { return };
    let pgb = match Bouncer::start(
        &pg,
        "default_pool_size = 1\nmax_db_connections = 1\nquery_wait_timeout = 1\n",
    ) {
        Ok(b) => b,
        Err(why) => {
            missing(&format!("cannot start a throwaway PgBouncer: {why}"));
            return;
        }
    };
    let env = on_url(&pgb.url(), "8s");
    env.enroll_landline("qwait", "5072200001");
    let (_, codes) = procs::issue_helpdesk_json(&env, "qwait", &[]);
    // In session pooling a client takes its server connection with its
    // first statement, and keeps it until it leaves.
    let hold = || {
        let mut c = postgres::Client::connect(&pgb.url(), postgres::NoTls)
            .expect("a session through PgBouncer");
        c.batch_execute("SELECT 1")
            .expect("the pool's one connection");
        c
    };
    let holder = hold();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2500));
        drop(holder);
    });
    let t = Instant::now();
    let mut c = procs::command(&env, &["verify", "qwait"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn verify");
    let _ = writeln!(child.stdin.take().expect("stdin"), "{}", codes[0]);
    let out = child.wait_with_output().expect("verify");
    let took = t.elapsed();
    release.join().expect("release");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let log = std::fs::read_to_string(pgb.dir.path().join("pgbouncer.log")).unwrap_or_default();
    assert!(
        stderr.contains("connected after "),
        "took {took:?}: {stderr}\n{log}"
    );
    assert!(took >= Duration::from_secs(2), "took {took:?}: {stderr}");
    eprintln!(
        "pg_storm: query_wait_timeout: accepted after {took:?}: {}",
        stderr.trim()
    );
    // Held for longer than the bound: the verify fails closed (exit 7)
    // naming the retries. (The last attempt's error reads
    // "query_wait_timeout", or "connection closed" when PgBouncer's close
    // overtakes its message; both are retried.)
    let holder = hold();
    std::fs::write(
        &env.config,
        std::fs::read_to_string(&env.config)
            .expect("config")
            .replace("connect_retry = \"8s\"", "connect_retry = \"3s\""),
    )
    .expect("config");
    let mut c = procs::command(&env, &["verify", "qwait"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn verify");
    let _ = writeln!(child.stdin.take().expect("stdin"), "{}", codes[1]);
    let out = child.wait_with_output().expect("verify");
    drop(holder);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(
        (stderr.contains("query_wait_timeout") || stderr.contains("connection closed"))
            && stderr.contains("(still, after "),
        "{stderr}"
    );
}

/// A server that accepts the connection and never answers (a frozen
/// postmaster): verify fails closed with exit 7 once the URL's
/// connect_timeout is spent, naming it, instead of waiting for ever.
#[test]
fn a_server_that_never_answers_fails_closed_within_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            match c {
                Ok(c) => held.push(c),
                Err(_) => return,
            }
        }
    });
    let env = on_url(
        &format!("postgres://codedesk:storm@127.0.0.1:{port}/codedesk?connect_timeout=2"),
        "8s",
    );
    let t = Instant::now();
    let mut c = procs::command(&env, &["verify", "alice"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn verify");
    let _ = writeln!(child.stdin.take().expect("stdin"), "ABCD-EFGH-JKMN");
    let out = child.wait_with_output().expect("verify");
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("no answer within 2000 ms") && stderr.contains("connect_timeout"),
        "{stderr}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "took {took:?}: {stderr}"
    );
}

#[test]
fn the_docs_quote_the_pgbouncer_settings_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ini = std::fs::read_to_string(root.join("examples/pgbouncer/codedesk.ini"))
        .expect("examples/pgbouncer/codedesk.ini");
    let doc = std::fs::read_to_string(root.join("docs/postgresql-pooling.md"))
        .expect("docs/postgresql-pooling.md");
    assert!(
        doc.contains(&format!("```ini\n{ini}```")),
        "docs/postgresql-pooling.md must quote examples/pgbouncer/codedesk.ini exactly"
    );
    for line in ["pool_mode = session", "auth_type = scram-sha-256"] {
        assert!(ini.lines().any(|l| l == line), "{line}");
    }
    let setting = |key: &str| -> u64 {
        ini.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(" = ")?.parse().ok())
            .unwrap_or_else(|| panic!("examples/pgbouncer/codedesk.ini: no {key}"))
    };
    // PgBouncer refuses logins for server_login_retry after a failed one:
    // shorter than verify.connect_retry's default (8 s), or a restart
    // outlasts the retries. A client queued longer than query_wait_timeout
    // is told so before verify's own bound on an attempt (connect_timeout,
    // 15 s by default) ends it without a reason.
    assert!(setting("server_login_retry") < 8);
    assert!(setting("query_wait_timeout") < 15);
    // Every pool of every login role together stays well under
    // max_connections (100, 3 reserved for superusers).
    assert!(setting("max_db_connections") <= 50);
    assert!(setting("default_pool_size") <= setting("max_db_connections"));
    assert!(setting("server_idle_timeout") <= 120);
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    assert!(
        ci.contains("examples/pgbouncer/codedesk.ini") && ci.contains("%include $dir/codedesk.ini"),
        ".ci/run's PgBouncer must include the settings file"
    );
}

/// A server connection lost while verify reads (the server ending the
/// session: a restart, an administrator) is opened again and the reads
/// made again, within `verify.connect_retry`: the login goes through. Here
/// the reads are held on a lock of the trail, the verify's session is
/// terminated as a restart would, then the lock is let go.
#[test]
fn a_connection_lost_while_verify_reads_is_read_again() {
    let _turn = turn();
    let Some(pg) = cluster() else { return };
    let env = on_url(&pg.url(), "8s");
    env.enroll_landline("reread", "5072200002");
    let (_, codes) = procs::issue_helpdesk_json(&env, "reread", &[]);
    let mut owner = postgres::Client::connect(&pg.url(), postgres::NoTls).expect("connect");
    let mut lock = owner.transaction().expect("begin");
    lock.batch_execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")
        .expect("lock the trail");
    let mut c = procs::command(&env, &["verify", "reread"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn verify");
    let _ = writeln!(child.stdin.take().expect("stdin"), "{}", codes[0]);
    // The verify's session, waiting for the lock in its reads.
    let mut watch = postgres::Client::connect(&pg.url(), postgres::NoTls).expect("connect");
    let t = Instant::now();
    let ended = loop {
        let row = watch
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE application_name = 'codedesk' AND wait_event_type = 'Lock'",
                &[],
            )
            .expect("terminate");
        if row.get::<_, i64>(0) > 0 {
            break true;
        }
        if t.elapsed() > Duration::from_secs(10) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    lock.commit().expect("let the lock go");
    let out = child.wait_with_output().expect("verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(ended, "the verify never waited in its reads: {stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Accepted once: the code is spent.
    assert_eq!(env.verify("reread", &codes[0]), 1);
}
