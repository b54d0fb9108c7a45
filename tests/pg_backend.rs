//! The PostgreSQL backend through the real binary: the article's story,
//! sixteen verifiers racing one code as if from sixteen workstations,
//! concurrent first use (migrations under the advisory lock), `codedesk
//! migrate` from SQLite, and the failures (unreachable server, with or
//! without TLS asked for, newer schema).
//!
//! `CODEDESK_TEST_PG` names an admin URL (a role with CREATEDB), by
//! default `postgres://codedesk:codedesk@127.0.0.1:5432/codedesk` as for
//! the twinned suites (tests/common/mod.rs); each test creates
//! its own database `cdt_<random>` and drops it. Without a reachable
//! server these tests say SKIPPED loudly, except in CI (`CI` set), where
//! they fail.

//! The harness is this file's own (the binary, a temporary config and SMS
//! outbox, and `--db` pointing where each test says), so it does not depend
//! on the shared test helpers.

use serde_json::Value;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_codedesk");

/// Variables that could change codedesk's behaviour.
const SCRUBBED: &[&str] = &[
    "CODEDESK_DB",
    "CODEDESK_CONFIG",
    "CODEDESK_OPERATOR",
    "CODEDESK_NOW",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "SUDO_USER",
    "USER",
    "PAM_USER",
    "NO_COLOR",
    "COLUMNS",
];

/// A temporary folder with a config (fast hashing, SMS to an outbox) and
/// a store: a SQLite file in the folder, or a PostgreSQL URL.
struct Env {
    dir: tempfile::TempDir,
    db: OsString,
    config: PathBuf,
    outbox: PathBuf,
}

impl Env {
    fn new(db: Option<&str>, extra_config: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = dir.path().join("outbox.txt");
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n{extra_config}",
                outbox.display().to_string()
            ),
        )
        .expect("write config");
        let db = match db {
            Some(url) => OsString::from(url),
            None => dir
                .path()
                .join("store")
                .join("codedesk.db")
                .into_os_string(),
        };
        Env {
            dir,
            db,
            config,
            outbox,
        }
    }

    fn sqlite() -> Env {
        Env::new(None, "")
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `codedesk --config .. --operator tester` (no `--db`), scrubbed.
    fn bare(&self) -> Command {
        let mut c = Command::new(BIN);
        for v in SCRUBBED {
            c.env_remove(v);
        }
        c.env("HOME", self.path())
            .arg("--config")
            .arg(&self.config)
            .arg("--operator")
            .arg("tester");
        c
    }

    /// `codedesk --db .. --config .. --operator tester ARGS`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.bare();
        c.arg("--db").arg(&self.db).args(args);
        c
    }

    fn run_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        run_cmd(self.cmd(args), stdin)
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_stdin(args, "")
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "codedesk {args:?} failed: {err}");
        out
    }

    fn verify(&self, user: &str, code: &str) -> i32 {
        self.run_stdin(&["verify", user], code).0
    }

    /// Enrols a phone (attested, for a user who already exists); its id.
    fn enroll(&self, kind: &str, user: &str, phone: &str) -> i64 {
        self.ok(&[
            "enroll-device",
            user,
            "--kind",
            kind,
            "--phone",
            phone,
            "-q",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-0",
        ])
        .trim()
        .parse()
        .expect("device id")
    }

    fn enroll_mobile(&self, user: &str, phone: &str) -> i64 {
        self.enroll("mobile", user, phone)
    }

    fn enroll_landline(&self, user: &str, phone: &str) -> i64 {
        self.enroll("landline", user, phone)
    }

    /// Helpdesk codes, attested; returns them.
    fn issue_helpdesk(&self, user: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "issue-codes",
            user,
            "--via",
            "helpdesk",
            "--identity-verified",
            "in-person",
            "--ticket",
            "T-1",
            "-q",
        ];
        args.extend_from_slice(extra);
        self.ok(&args).lines().map(str::to_string).collect()
    }

    /// The codes of the most recent SMS in the outbox.
    fn last_sms_codes(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.outbox).unwrap_or_default();
        let last = text.rsplit("To: ").next().unwrap_or("");
        last.lines()
            .map(str::trim)
            .filter(|l| looks_like_code(l))
            .map(str::to_string)
            .collect()
    }

    /// Starts `codedesk ARGS` with piped standard streams.
    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn codedesk")
    }
}

fn run_cmd(mut c: Command, stdin: &str) -> (i32, String, String) {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codedesk");
    feed(&mut child, stdin);
    finish(child.wait_with_output().expect("wait codedesk"))
}

/// Writes `input` to a child's standard input and closes it.
fn feed(child: &mut Child, input: &str) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
}

fn finish(o: Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A formatted base32 code: four groups of four.
fn looks_like_code(l: &str) -> bool {
    l.len() == 19
        && l.split('-').count() == 4
        && l.split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Lost races count as rejected codes; sixteen racers must not lock the
/// user out (the races, not lockout, are under test).
const LOCKOUT: &str = "[lockout]\nthreshold = 100\n";

/// A throwaway database on the test server, dropped at the end.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

/// `base` (an admin URL) with its database replaced by `db`.
fn with_database(base: &str, db: &str) -> String {
    let start = base.find("://").map_or(0, |i| i + 3);
    let rest = &base[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[end..].find('?').map_or("", |q| &rest[end + q..]);
    format!("{}{}/{db}{query}", &base[..start], &rest[..end])
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "cdt_{}_{:x}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// No server to test against: fatal in CI, a loud skip elsewhere.
fn unavailable(why: &str) -> Option<PgDb> {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("CI is set but the PostgreSQL tests cannot run: {why}");
    }
    // Straight to the stderr handle: libtest captures `eprintln!` from a
    // passing test, and a skip must be seen in a plain `cargo test`.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED: PostgreSQL backend test not run: {why}.\n!!!!! Set CODEDESK_TEST_PG=postgres://USER:PASS@127.0.0.1/DB (a role with CREATEDB) to run it.\n"
    );
    None
}

impl PgDb {
    /// A new empty database, or `None` (after saying so) without a server.
    fn create() -> Option<PgDb> {
        // As tests/common/mod.rs: the local server of .ci/run by default.
        let admin = std::env::var("CODEDESK_TEST_PG")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "postgres://codedesk:codedesk@127.0.0.1:5432/codedesk".into());
        let mut client = match postgres::Client::connect(&admin, postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                return unavailable(&format!(
                    "cannot reach the server of CODEDESK_TEST_PG (or its default): {e}"
                ));
            }
        };
        let name = unique_name();
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let url = with_database(&admin, &name);
        Some(PgDb { admin, name, url })
    }

    /// SQL on the test database itself (not through codedesk).
    fn sql(&self, sql: &str) {
        let mut c = postgres::Client::connect(&self.url, postgres::NoTls).expect("connect");
        c.batch_execute(sql).expect("sql");
    }

    /// An `Env` (config, outbox) whose store is this database.
    fn env(&self, extra_config: &str) -> Env {
        Env::new(Some(&self.url), extra_config)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn audit_events(env: &Env) -> Vec<Value> {
    env.ok(&["audit", "--format", "json"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(json)
        .collect()
}

fn audit_intact(env: &Env) -> Value {
    let (code, out, err) = env.run(&["audit", "verify", "--format", "json"]);
    assert_eq!(code, 0, "audit verify: {out} {err}");
    let v = json(&out);
    assert_eq!(v["intact"], true, "{v}");
    v
}

fn codes_left(env: &Env, user: &str) -> i64 {
    json(&env.ok(&["list", user, "--format", "json"]))["codes_remaining"]
        .as_i64()
        .expect("codes_remaining")
}

/// The password of a URL, to make sure it is never printed.
fn password_of(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(userinfo.split_once(':')?.1.to_string()).filter(|p| !p.is_empty())
}

// ------------------------------------------------------------ the story

#[test]
fn the_article_story_end_to_end_on_postgres() {
    let Some(db) = PgDb::create() else { return };
    let env = db.env("[lockout]\nthreshold = 3\n");

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
    let v = audit_intact(&env);
    assert_eq!(v["events"].as_u64(), Some(actions.len() as u64));

    // `config` shows the store without its password.
    let shown = env.ok(&["config", "--format", "json"]);
    let db_shown = json(&shown)["db"]["value"].as_str().unwrap().to_string();
    assert!(db_shown.starts_with("postgres"), "{db_shown}");
    if let Some(pw) = password_of(&db.url) {
        assert!(!shown.contains(&format!(":{pw}@")), "{shown}");
        assert!(db_shown.contains(":***@"), "{db_shown}");
    }
}

// ------------------------------------------------------------ races

/// Starts `n` verifiers of `user`; once all wait on standard input, the
/// same code is written to every one of them at once.
fn race_verify(env: &Env, user: &str, code: &str, n: usize) -> Vec<(i32, String, String)> {
    let mut kids: Vec<Child> = (0..n).map(|_| env.spawn(&["verify", user])).collect();
    std::thread::sleep(Duration::from_millis(500));
    let line = format!("{code}\n");
    for k in &mut kids {
        feed(k, &line);
    }
    kids.into_iter()
        .map(|k| finish(k.wait_with_output().expect("wait verify")))
        .collect()
}

#[test]
fn sixteen_workstations_racing_one_code_on_postgres_accept_it_once() {
    let Some(db) = PgDb::create() else { return };
    let env = db.env(LOCKOUT);
    env.enroll_landline("alice", "5072225999");
    let codes = env.issue_helpdesk("alice", &["--count", "3"]);
    for (round, code) in codes.iter().take(2).enumerate() {
        let results = race_verify(&env, "alice", code, 16);
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
    let Some(db) = PgDb::create() else { return };
    let env = db.env("");
    // Eight workstations meet a brand-new database at the same moment:
    // one creates the schema under the advisory lock, the rest wait and
    // find it done; every writer's event lands on one linear chain.
    let kids: Vec<Child> = (0..8)
        .map(|i| {
            env.spawn(&[
                "enroll-device",
                &format!("user{i}"),
                "--kind",
                "token",
                "-q",
            ])
        })
        .collect();
    for k in kids {
        let (code, _, err) = finish(k.wait_with_output().expect("wait"));
        assert_eq!(code, 0, "{err}");
    }
    let v = audit_intact(&env);
    assert_eq!(v["events"], 8, "{v}");
    let list = json(&env.ok(&["list", "--format", "json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(8), "{list}");
}

// ------------------------------------------------------------ migrate

#[test]
fn a_store_migrated_from_sqlite_verifies_and_serves_its_old_codes() {
    let Some(db) = PgDb::create() else { return };
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
        "migrate", "--from", &lite_path, "--to", &db.url, "--format", "json",
    ]);
    assert_eq!(code, 0, "migrate: {out} {err}");
    let report = json(&out);
    assert_eq!(report["audit"]["intact"], true, "{report}");
    assert_eq!(
        report["copied"]["audit"].as_u64(),
        Some(before_events.len() as u64)
    );
    if let Some(pw) = password_of(&db.url) {
        let leak = format!(":{pw}@");
        assert!(!out.contains(&leak) && !err.contains(&leak), "{out} {err}");
    }

    let pg = db.env("");
    // The chain is intact: every copied event, then the migration's own.
    let v = audit_intact(&pg);
    assert_eq!(v["events"].as_u64(), Some(before_events.len() as u64 + 1));
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
    let (code, _, err) = lite.run(&["migrate", "--from", &lite_path, "--to", &db.url]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not empty"), "{err}");
    // The source was only read.
    assert_eq!(audit_events(&lite), before_events);
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
    let env = Env::new(
        Some("postgres://helpdesk:Sup3r-Secret-Pw@127.0.0.1:1/codedesk_prod"),
        "",
    );
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
    let mut c = env.bare();
    c.env("CODEDESK_DB", &env.db)
        .args(["config", "--format", "json"]);
    let (code, out, err) = run_cmd(c, "");
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("Sup3r") && !err.contains("Sup3r"), "{out}");
    assert!(
        out.contains("helpdesk:***@127.0.0.1:1/codedesk_prod"),
        "{out}"
    );
}

#[test]
fn asking_for_tls_of_an_unreachable_server_is_exit_7_naming_the_mode_never_the_password() {
    // TLS itself, with a server, is tests/pg_tls.rs.
    for mode in ["require", "verify-full"] {
        let url = format!("postgres://u:pw123456@127.0.0.1:1/x?sslmode={mode}");
        let env = Env::new(Some(&url), "");
        let (code, _, err) = env.run(&["list"]);
        assert_eq!(code, 7, "{err}");
        assert!(err.contains(&format!("sslmode={mode}")), "{err}");
        assert!(!err.contains("pw123456"), "{err}");
    }
}

#[test]
fn a_newer_postgres_schema_is_exit_7() {
    let Some(db) = PgDb::create() else { return };
    let env = db.env("");
    env.enroll_mobile("bob", "5072225998");
    db.sql("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
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
    let Some(db) = PgDb::create() else { return };
    let env = db.env("");
    env.enroll_mobile("bob", "5072225998");
    // Another workstation holds the write lock (as a stuck writer would).
    let mut other = postgres::Client::connect(&db.url, postgres::NoTls).expect("connect");
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
    let Some(db) = PgDb::create() else { return };
    let store = codedesk::store::Store::open(Path::new(&db.url)).expect("open");
    assert!(matches!(store, codedesk::store::Store::Postgres(_)));
    assert_eq!(store.integrity_check().expect("integrity"), "ok");
    assert!(matches!(
        store.verify_chain().expect("chain"),
        codedesk::audit::ChainCheck::Intact { count: 0, .. }
    ));
}
