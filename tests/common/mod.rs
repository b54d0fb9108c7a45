//! Shared test harness: the real `codedesk` binary on a temporary store,
//! with a scrubbed environment so the machine cannot change the result.
//! Hashing uses weak Argon2 parameters (`hash.allow_weak`) to keep the
//! suite fast; the production floor is tested in unit tests.
//!
//! Two backends, one suite. The suites under `tests/suite/both/` run on
//! the backend `CODEDESK_TEST_BACKEND` names (`BACKEND_VAR`): `sqlite`, the
//! default, or `postgres` (`.ci/run` runs them a second time so). In a
//! PostgreSQL run (`postgres()`) every `Env` has an empty PostgreSQL
//! database of its own, on the server of the admin URL in `CODEDESK_TEST_PG`
//! (default `ADMIN_URL`; see `PgDatabase`). With no usable server, a
//! PostgreSQL run says so loudly on stderr and ends (exit 0) at its first
//! Env, unless `CI` is set: then every test fails. A test that is
//! SQLite-only by nature starts with `if sqlite_only("why") { return; }`.
//! A suite that picks each test's store itself (tests/suite/pg_backend.rs)
//! uses `Env::sqlite`, `Env::on_url` and `Env::postgres`; the last, with no
//! usable server, skips (loudly) only the test that called it.
//! (A test file still in the old style, `tests/pg_X.rs` holding
//! `include!("X.rs")`, also runs on PostgreSQL until it is moved in.)
#![allow(dead_code)]

use assert_cmd::Command;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_codedesk");

/// The test crate being compiled: `suite` for tests/suite/main.rs
/// (`X` for an old-style `tests/X.rs`, `pg_X` for its twin).
pub const SUITE: &str = env!("CARGO_CRATE_NAME");

/// The variable that names the backend of a run: `sqlite` (the default,
/// also when unset or empty) or `postgres`.
pub const BACKEND_VAR: &str = "CODEDESK_TEST_BACKEND";

/// True in a PostgreSQL run: `CODEDESK_TEST_BACKEND=postgres` (or an
/// old-style twin, a test crate named `pg_*`). Any other value than
/// `sqlite` or `postgres` fails every test that asks.
pub fn postgres() -> bool {
    static PG: OnceLock<Result<bool, String>> = OnceLock::new();
    let pg = PG.get_or_init(|| match std::env::var(BACKEND_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(starts_with_pg(SUITE)),
        Ok(v) if v.is_empty() || v == "sqlite" => Ok(starts_with_pg(SUITE)),
        Ok(v) if v == "postgres" => Ok(true),
        Ok(v) => Err(format!("{BACKEND_VAR}={v:?}: expected sqlite or postgres")),
        Err(e) => Err(format!("{BACKEND_VAR}: {e}")),
    });
    match pg {
        Ok(pg) => *pg,
        Err(why) => panic!("{why}"),
    }
}

/// The backend of this run, as `CODEDESK_TEST_BACKEND` spells it.
pub fn backend() -> &'static str {
    if postgres() { "postgres" } else { "sqlite" }
}

const fn starts_with_pg(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 3 && b[0] == b'p' && b[1] == b'g' && b[2] == b'_'
}

/// The server and role of the PostgreSQL runs (the role needs CREATEDB to
/// make the pool's databases); `CODEDESK_TEST_PG` overrides it.
pub const ADMIN_URL: &str = "postgres://codedesk:codedesk@127.0.0.1:5432/codedesk";

/// The suites written before users were told about every sensitive event
/// count the SMS messages and audit events they cause; their configs turn
/// the notices off (tests/suite/both/safeguards.rs turns them on).
pub const SAFEGUARDS_OFF: &str = "[safeguards]\nnotify_users = false\n\n";

/// A throwaway store, config and SMS outbox.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// What `--db` is given: the SQLite file (`<dir>/store/codedesk.db`),
    /// or in a PostgreSQL run the URL of this Env's own database.
    pub db: PathBuf,
    pub config: PathBuf,
    pub outbox: PathBuf,
    /// The PostgreSQL database, given back with the Env (declared last:
    /// it goes after everything that might still be using it).
    pg: Option<PgDatabase>,
}

impl Env {
    /// Fast hashing, SMS to an outbox.
    pub fn new() -> Env {
        Env::with_config("")
    }

    /// Like `new`, with extra TOML appended to the config (later tables win
    /// only if they do not repeat [hash] or [sms]; use `with_raw_config` for that).
    pub fn with_config(extra: &str) -> Env {
        Env::fast(extra, postgres().then(PgDatabase::create))
    }

    /// Like `new`, but on a SQLite store in any suite, the `pg_` ones too
    /// (the source of `codedesk migrate`, say).
    pub fn sqlite() -> Env {
        Env::fast("", None)
    }

    /// Like `new`, but `--db` is `url`, a store of the test's choosing
    /// (a server that need not exist, say); the Env has no database of
    /// its own, so `is_postgres` is false and the `sql_*` helpers and
    /// `store_*` do not reach it.
    pub fn on_url(url: &str) -> Env {
        let mut env = Env::fast("", None);
        env.db = PathBuf::from(url);
        env
    }

    /// Like `with_config`, but on an empty PostgreSQL database of its own
    /// in any suite (a test of the PostgreSQL backend as such). With no
    /// usable server: `None`, after a loud SKIPPED on stderr, so the test
    /// returns and the binary's other tests still run; with `CI` set, a panic.
    /// `let Some(env) = Env::postgres("") else { return };`
    pub fn postgres(extra: &str) -> Option<Env> {
        match PgDatabase::try_create() {
            Ok(pg) => Some(Env::fast(extra, Some(pg))),
            Err(why) => {
                no_server(&why, false);
                skipped("PostgreSQL", "SKIPPED", &why);
                None
            }
        }
    }

    /// Fast hashing, SMS to an outbox, `extra`; on `pg` if given.
    fn fast(extra: &str, pg: Option<PgDatabase>) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = dir.path().join("outbox.txt");
        let text = format!(
            "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\noutbox = {:?}\n\n{SAFEGUARDS_OFF}{extra}",
            outbox.display().to_string()
        );
        Env::build(dir, &text, outbox, pg)
    }

    /// Fast hashing, and an SMS gateway that is a shell script with this
    /// body (the number is `$1`, the message on standard input), given 60 s.
    pub fn with_sms_script(body: &str) -> Env {
        use std::os::unix::fs::PermissionsExt;
        let env = Env::with_raw_config("");
        let script = env.path().join("sms.sh");
        std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("write the SMS script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700))
            .expect("chmod the SMS script");
        std::fs::write(
            &env.config,
            format!(
                "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n\n[sms]\ncommand = {:?}\ntimeout = \"60s\"\n\n{SAFEGUARDS_OFF}",
                script.display().to_string()
            ),
        )
        .expect("write the config");
        env
    }

    /// A config file of exactly `text` (fast hashing is *not* added).
    pub fn with_raw_config(text: &str) -> Env {
        let pg = postgres().then(PgDatabase::create);
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = dir.path().join("outbox.txt");
        Env::build(dir, text, outbox, pg)
    }

    /// `pg`: the database of a PostgreSQL run, made before anything else
    /// (with no server, making it ends the binary: nothing is left behind).
    fn build(
        dir: tempfile::TempDir,
        config_text: &str,
        outbox: PathBuf,
        pg: Option<PgDatabase>,
    ) -> Env {
        let db = match &pg {
            Some(pg) => PathBuf::from(&pg.url),
            None => dir.path().join("store").join("codedesk.db"),
        };
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_text).expect("write config");
        Env {
            dir,
            db,
            config,
            outbox,
            pg,
        }
    }

    /// Runs `sql` with psql as the owner of this Env's PostgreSQL store
    /// (its URL, never a password from the environment); asserts success.
    pub fn psql_as_owner(&self, sql: &str) {
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(&self.db)
            .args(["-c", sql])
            .env_remove("PGPASSWORD")
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of this Env's PostgreSQL store as login role `name` with
    /// password `pw`.
    pub fn url_as(&self, name: &str, pw: &str) -> String {
        let owner = self.db.to_string_lossy();
        let at = owner.rfind('@').expect("a PostgreSQL URL names its host");
        format!("postgres://{name}:{pw}@{}", &owner[at + 1..])
    }

    /// True when this Env's store is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// `codedesk --db .. --config .. --operator tester ARGS`, environment scrubbed.
    pub fn cmd(&self) -> Command {
        self.command(Some(&self.db))
    }

    /// Like `cmd`, without `--db`: the store is wherever the test says
    /// (`CODEDESK_DB`, say).
    pub fn cmd_without_db(&self) -> Command {
        self.command(None)
    }

    fn command(&self, db: Option<&Path>) -> Command {
        let mut c = Command::new(BIN);
        scrub(&mut c);
        c.env("HOME", self.dir.path());
        if let Some(db) = db {
            c.arg("--db").arg(db);
        }
        c.arg("--config")
            .arg(&self.config)
            .arg("--operator")
            .arg("tester");
        c
    }

    /// Runs and returns (status, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_stdin(args, "")
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let out = self
            .cmd()
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

    /// Runs and asserts the exit status; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "codedesk {args:?} failed: {err}");
        out
    }

    pub fn enroll_mobile(&self, user: &str, phone: &str) -> i64 {
        self.enroll_phone("mobile", user, phone)
    }

    pub fn enroll_landline(&self, user: &str, phone: &str) -> i64 {
        self.enroll_phone("landline", user, phone)
    }

    /// Enrols a phone and returns its device id. The attestation is needed
    /// when the user already exists (a new device is gated) and ignored
    /// for a first enrolment.
    pub fn enroll_phone(&self, kind: &str, user: &str, phone: &str) -> i64 {
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

    /// Every code ever written to the outbox, in order (formatted XXXX-XXXX-...).
    pub fn outbox_codes(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.outbox).unwrap_or_default();
        text.lines()
            .filter(|l| looks_like_code(l))
            .map(str::to_string)
            .collect()
    }

    /// The codes of the most recent outbox message.
    pub fn last_sms_codes(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.outbox).unwrap_or_default();
        let last = text.rsplit("To: ").next().unwrap_or("");
        last.lines()
            .filter(|l| looks_like_code(l))
            .map(str::to_string)
            .collect()
    }

    /// Issues helpdesk codes with an attestation; returns them.
    pub fn issue_helpdesk(&self, user: &str, extra: &[&str]) -> Vec<String> {
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

    /// `verify USER` with `code` on stdin; returns the exit status.
    pub fn verify(&self, user: &str, code: &str) -> i32 {
        self.run_stdin(&["verify", user], code).0
    }

    /// The temporary folder holding store, config and outbox.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    // ------------------------------------------- the store, behind codedesk

    /// Whether codedesk has created the store yet: the SQLite file exists,
    /// or the PostgreSQL database holds a table.
    pub fn store_exists(&self) -> bool {
        match &self.pg {
            None => self.db.exists(),
            Some(pg) => {
                let mut c = pg.connect();
                let n: i64 = c
                    .query_one(
                        "SELECT count(*) FROM information_schema.tables \
                         WHERE table_schema = current_schema()",
                        &[],
                    )
                    .expect("count tables")
                    .get(0);
                n > 0
            }
        }
    }

    /// Everything stored, to compare before and after ("nothing changed"):
    /// on SQLite the file and its WAL after folding the WAL in (byte for
    /// byte) plus a dump of every row for a readable diff; on PostgreSQL
    /// a deterministic text dump of the whole database (every table of
    /// every schema, every column as text, rows sorted; the last value of
    /// every sequence, so that even a rolled-back insert shows).
    pub fn store_state(&self) -> StoreState {
        match &self.pg {
            None => {
                // Rows first: the read-only connection may leave a -shm
                // behind, which the checkpointing connection then removes.
                let rows = sqlite_rows(&self.db);
                let c = rusqlite::Connection::open(&self.db).expect("open store with rusqlite");
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .expect("checkpoint");
                drop(c);
                StoreState::Sqlite {
                    db: std::fs::read(&self.db).expect("read store"),
                    // codedesk keeps an empty WAL between runs: none is the same.
                    wal: std::fs::read(format!("{}-wal", self.db.display()))
                        .ok()
                        .filter(|w| !w.is_empty()),
                    rows,
                }
            }
            Some(pg) => StoreState::Postgres(pg.dump()),
        }
    }

    /// The rows `sql` selects, run on the store directly, every value as
    /// text (`None` for NULL): integers in decimal, blobs and byteas as
    /// `\x` and lower-case hex, booleans as PostgreSQL spells them (`t`,
    /// `f`; SQLite has none). On SQLite the store is opened read-only, so
    /// a crashed writer's WAL is left for codedesk to recover. Keep `sql`
    /// to what both SQLite and PostgreSQL read alike.
    pub fn sql_rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match &self.pg {
            None => {
                let c = rusqlite::Connection::open_with_flags(
                    &self.db,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("open store read-only with rusqlite");
                let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = st.column_count();
                st.query_map([], |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i).map(sqlite_text))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .collect::<Result<Vec<_>, _>>()
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Some(pg) => pg
                .connect()
                .simple_query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// The first column of the rows `sql` selects, as text (NULL as "NULL").
    pub fn sql_column(&self, sql: &str) -> Vec<String> {
        self.sql_rows(sql)
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .next()
                    .flatten()
                    .unwrap_or_else(|| "NULL".into())
            })
            .collect()
    }

    /// The one integer `sql` selects, run on the store directly. Keep
    /// `sql` to what both SQLite and PostgreSQL read alike.
    pub fn sql_i64(&self, sql: &str) -> i64 {
        match &self.pg {
            None => rusqlite::Connection::open(&self.db)
                .expect("open store with rusqlite")
                .query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Some(pg) => pg
                .connect()
                .query_one(sql, &[])
                .and_then(|r| r.try_get::<_, i64>(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// Runs a statement on the store directly (tampering, bypassing
    /// codedesk); returns the number of rows it changed. On PostgreSQL it
    /// runs as the store's owner with the audit table's append-only
    /// triggers lifted for the statement (`ALTER TABLE audit DISABLE
    /// TRIGGER USER`, which only the owner may do; docs/roles.md).
    pub fn sql_execute(&self, sql: &str) -> u64 {
        match &self.pg {
            None => rusqlite::Connection::open(&self.db)
                .expect("open store with rusqlite")
                .execute(sql, [])
                .map(|n| n as u64)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Some(pg) => {
                let mut c = pg.connect();
                let mut tx = c.transaction().expect("begin");
                let toggle = |on: &str| {
                    format!(
                        "DO $$ BEGIN IF to_regclass('audit') IS NOT NULL THEN \
                         ALTER TABLE audit {on} TRIGGER USER; END IF; END $$"
                    )
                };
                tx.batch_execute(&toggle("DISABLE"))
                    .expect("lift the audit triggers");
                let n = tx
                    .execute(sql, &[])
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                tx.batch_execute(&toggle("ENABLE"))
                    .expect("restore the audit triggers");
                tx.commit().expect("commit");
                n
            }
        }
    }
}

/// What `Env::store_state` saw.
#[derive(PartialEq, Eq)]
pub enum StoreState {
    /// The file and WAL bytes, and every row (derived from them; kept
    /// for `text` and `changes`).
    Sqlite {
        db: Vec<u8>,
        wal: Option<Vec<u8>>,
        rows: String,
    },
    /// The whole database as text (see `PgDatabase::dump`).
    Postgres(String),
}

impl StoreState {
    /// The whole state as text, to search for what must never be stored:
    /// on SQLite the file and WAL read lossily (which keeps every ASCII
    /// run intact); on PostgreSQL the dump, where a bytea is shown both
    /// as hex and as its bytes (`encode(.., 'escape')`), so ASCII inside
    /// binary columns is found as well.
    pub fn text(&self) -> String {
        match self {
            StoreState::Sqlite { db, wal, .. } => {
                let mut t = String::from_utf8_lossy(db).into_owned();
                if let Some(w) = wal {
                    t.push_str(&String::from_utf8_lossy(w));
                }
                t
            }
            StoreState::Postgres(rows) => rows.clone(),
        }
    }

    /// Every row, one a line under a `== table` header (readable; for diffs).
    pub fn rows(&self) -> &str {
        match self {
            StoreState::Sqlite { rows, .. } | StoreState::Postgres(rows) => rows,
        }
    }

    /// What changed from `self` to `later`, readably ("" when nothing did).
    pub fn changes(&self, later: &StoreState) -> String {
        let mut why = Vec::new();
        if let (
            StoreState::Sqlite { db: a, wal: aw, .. },
            StoreState::Sqlite { db: b, wal: bw, .. },
        ) = (self, later)
        {
            if a != b {
                why.push(format!("store file {} -> {} bytes", a.len(), b.len()));
            }
            if aw != bw {
                why.push(format!(
                    "WAL {:?} -> {:?} bytes",
                    aw.as_ref().map(Vec::len),
                    bw.as_ref().map(Vec::len)
                ));
            }
        }
        if self.rows() != later.rows() {
            let old: Vec<&str> = self.rows().lines().collect();
            let new: Vec<&str> = later.rows().lines().collect();
            let added: Vec<&&str> = new.iter().filter(|l| !old.contains(l)).collect();
            let removed: Vec<&&str> = old.iter().filter(|l| !new.contains(l)).collect();
            why.push(format!("rows added {added:?}, rows removed {removed:?}"));
        }
        why.join("; ")
    }
}

impl std::fmt::Debug for StoreState {
    /// Sizes and a digest for the files (their bytes would flood a failed
    /// assertion) and every row (where a diff can be read).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digest = |b: &[u8]| {
            b.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, x| {
                (h ^ u64::from(*x)).wrapping_mul(0x0100_0000_01b3)
            })
        };
        match self {
            StoreState::Sqlite { db, wal, rows } => write!(
                f,
                "store file: {} bytes, fnv {:016x}; WAL: {}; rows:\n{rows}",
                db.len(),
                digest(db),
                wal.as_ref().map_or("none".into(), |w| format!(
                    "{} bytes, fnv {:016x}",
                    w.len(),
                    digest(w)
                ))
            ),
            StoreState::Postgres(rows) => write!(f, "PostgreSQL dump:\n{rows}"),
        }
    }
}

/// A SQLite value as `Env::sql_rows` gives it.
fn sqlite_text(v: rusqlite::types::Value) -> Option<String> {
    use rusqlite::types::Value;
    match v {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(x) => Some(x.to_string()),
        Value::Text(t) => Some(t),
        Value::Blob(b) => Some(hex(&b)),
    }
}

/// `\x` and lower-case hex, as PostgreSQL shows a bytea.
fn hex(b: &[u8]) -> String {
    let mut s = String::from("\\x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Every row of every table of a SQLite store, in rowid order (values
/// as `Debug`), and its `user_version`: read-only, never creating it.
fn sqlite_rows(db: &Path) -> String {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open store read-only with rusqlite");
    let mut tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("list tables");
    tables.retain(|t| !t.starts_with("sqlite_") || t == "sqlite_sequence");
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("== {t}\n"));
        let order = if t == "sqlite_sequence" {
            "name"
        } else {
            "rowid"
        };
        let mut st = c
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY {order}"))
            .unwrap_or_else(|e| panic!("dump {t}: {e}"));
        let n = st.column_count();
        let mut rows = st.query([]).unwrap_or_else(|e| panic!("dump {t}: {e}"));
        while let Some(r) = rows.next().unwrap_or_else(|e| panic!("dump {t}: {e}")) {
            let vals: Vec<String> = (0..n)
                .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                .collect();
            out.push_str(&vals.join(" | "));
            out.push('\n');
        }
    }
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    out.push_str(&format!("user_version {version}\n"));
    out
}

// ------------------------------------------------------------ backends

/// In a PostgreSQL run, notes on stderr that the calling test is skipped
/// there and returns true; on SQLite, returns false.
/// `if sqlite_only("opens the store file with rusqlite") { return; }`
pub fn sqlite_only(why: &str) -> bool {
    let pg = postgres();
    if pg {
        skipped("PostgreSQL", "sqlite-only", why);
    }
    pg
}

/// The mirror of `sqlite_only`, for a test of what only a PostgreSQL
/// store can meet (a server, a password): in a SQLite run it notes on
/// stderr that the test runs in the PostgreSQL run only and returns true.
/// `if postgres_only("a wrong password") { return; }`
pub fn postgres_only(why: &str) -> bool {
    let pg = postgres();
    if !pg {
        skipped("SQLite", "postgres-only", why);
    }
    !pg
}

fn skipped(backend: &str, kind: &str, why: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    // Straight to stderr: the test harness would swallow eprintln!.
    let _ = writeln!(
        std::io::stderr(),
        "{SUITE}: {test}: skipped on {backend} ({kind}: {why})"
    );
}

/// `CI` is set (as tests/suite/both/pam.rs reads it).
fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// The admin URL: `CODEDESK_TEST_PG`, or `ADMIN_URL`.
fn admin_url() -> String {
    std::env::var("CODEDESK_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| ADMIN_URL.to_string())
}

/// Where the authority (`user:password@host:port`) of `url` starts and ends.
fn authority(url: &str) -> (usize, usize) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    (start, end)
}

/// `url` with its password (`user:PASSWORD@`) shown as `***`.
pub fn redacted(url: &str) -> String {
    let (start, end) = authority(url);
    match url[start..end].rfind('@').map(|i| start + i) {
        Some(at) => match url[start..at].find(':') {
            Some(colon) => format!("{}***{}", &url[..start + colon + 1], &url[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// `url` naming database `name` instead of its own (query kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (_, end) = authority(url);
    let query = url[end..].find('?').map_or("", |i| &url[end + i..]);
    format!("{}/{name}{query}", &url[..end])
}

/// `url` with `password` in place of its own (`user:password@`).
pub fn with_password(url: &str, password: &str) -> String {
    let (start, end) = authority(url);
    let userinfo = url[start..end]
        .rfind('@')
        .map_or("", |at| &url[start..start + at]);
    let user = userinfo.split(':').next().unwrap_or("");
    let hostport = url[start..end]
        .rfind('@')
        .map_or(&url[start..end], |at| &url[start + at + 1..end]);
    format!(
        "{}{user}:{password}@{hostport}{}",
        &url[..start],
        &url[end..]
    )
}

/// The password of `url`, if it has one.
pub fn password_of(url: &str) -> Option<String> {
    let (start, end) = authority(url);
    let at = url[start..end].rfind('@')?;
    let (_, pw) = url[start..start + at].split_once(':')?;
    (!pw.is_empty()).then(|| pw.to_string())
}

fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.connect(postgres::NoTls)
}

/// The advisory lock space (`pg_try_advisory_lock(POOL_LOCK, slot)`, in
/// the admin database) in which a process holds the pool slots it uses.
const POOL_LOCK: i32 = 0x0063_6474;

/// This process's admin session: it holds the advisory locks of the slots
/// in use, and `held` says which (a session may take its own lock twice).
struct Admin {
    client: postgres::Client,
    held: std::collections::BTreeSet<i32>,
}

/// The admin session, connected on first use. That first try decides
/// whether this binary runs at all: with no usable server it says so,
/// loudly, and ends the binary with status 0 (every PostgreSQL test in it
/// would have had to return early anyway); with `CI` set it fails instead.
fn admin() -> std::sync::MutexGuard<'static, Admin> {
    admin_session().unwrap_or_else(|why| {
        no_server(&why, true);
        unreachable!("the process has ended")
    })
}

/// The admin session, or why there is none (tried once per binary).
fn admin_session() -> Result<std::sync::MutexGuard<'static, Admin>, String> {
    static ADMIN: OnceLock<Result<Mutex<Admin>, String>> = OnceLock::new();
    let url = admin_url();
    let admin = ADMIN.get_or_init(|| {
        connect(&url)
            .map(|client| {
                Mutex::new(Admin {
                    client,
                    held: Default::default(),
                })
            })
            .map_err(|e| with_causes(&e))
    });
    match admin {
        // A test that panicked holding it left nothing half done.
        Ok(m) => Ok(m.lock().unwrap_or_else(|e| e.into_inner())),
        Err(e) => Err(format!(
            "no usable PostgreSQL server at {} (CODEDESK_TEST_PG): {e}",
            redacted(&url)
        )),
    }
}

/// There is no usable server (`why`): with `CI` set, a panic; else a loud
/// SKIPPED on stderr, once per binary, and with `exit` the binary ends
/// there (status 0; the other tests' threads wait in the `Once` until it has).
fn no_server(why: &str, exit: bool) {
    if in_ci() {
        panic!("{why}; CI is set, so the PostgreSQL tests must run");
    }
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        let bar = "=".repeat(78);
        let _ = writeln!(
            std::io::stderr(),
            "\n{bar}\nSKIPPED (no PostgreSQL): {SUITE}: its PostgreSQL tests were not run.\n  {why}\n  \
             Start a server with a CREATEDB role (as .ci/run does) or point \
             CODEDESK_TEST_PG at one.\n{bar}\n"
        );
        if exit {
            std::process::exit(0);
        }
    });
}

/// An error and what caused it ("error connecting to server: Connection
/// refused (os error 111)").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// The database of one Env, emptied for it: `cdt_pool_<slot>`, from a
/// pool shared by every test process on the server. Creating and dropping
/// a database per Env would cost a forced checkpoint each (DROP DATABASE
/// flushes and fsyncs every dirty page of the server), minutes per run;
/// a pooled database is instead held under an advisory lock of the admin
/// session (released with the Env, or by the server when the process
/// ends, however it ends) and reset when taken: connections left in it
/// ended, every schema dropped, `public` made anew. The pool databases stay
/// on the server between runs; drop them whenever no test runs.
struct PgDatabase {
    slot: i32,
    name: String,
    url: String,
}

impl PgDatabase {
    /// A pool database; with no usable server, see `admin`.
    fn create() -> PgDatabase {
        PgDatabase::take(admin())
    }

    /// A pool database, or why there is none (no usable server).
    fn try_create() -> Result<PgDatabase, String> {
        admin_session().map(PgDatabase::take)
    }

    /// A free slot's database, emptied, taken through the admin session
    /// `admin` (let go of before the database is emptied).
    fn take(admin: std::sync::MutexGuard<'static, Admin>) -> PgDatabase {
        let (slot, name) = {
            let mut a = admin;
            let mut slot = 0;
            loop {
                if !a.held.contains(&slot) {
                    let got: bool = a
                        .client
                        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&POOL_LOCK, &slot])
                        .expect("pg_try_advisory_lock")
                        .get(0);
                    if got {
                        break;
                    }
                }
                slot += 1;
            }
            a.held.insert(slot);
            let name = format!("cdt_pool_{slot}");
            let exists: bool = a
                .client
                .query_one(
                    "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)",
                    &[&name],
                )
                .expect("look for the pool database")
                .get(0);
            if !exists {
                a.client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap_or_else(|e| {
                        panic!("CREATE DATABASE {name} (the role needs CREATEDB): {e}")
                    });
            }
            (slot, name)
        };
        let url = with_database(&admin_url(), &name);
        let db = PgDatabase { slot, name, url };
        db.connect()
            .batch_execute(
                // Only our own client sessions: an autovacuum worker on the
                // database is a superuser process we may not (and need not) end.
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                  WHERE datname = current_database() AND pid <> pg_backend_pid() \
                    AND backend_type = 'client backend' AND usename = current_user;
                 DO $$ DECLARE s name; BEGIN
                   FOR s IN SELECT nspname FROM pg_namespace
                             WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
                   LOOP EXECUTE format('DROP SCHEMA %I CASCADE', s); END LOOP;
                 END $$;
                 CREATE SCHEMA public AUTHORIZATION pg_database_owner;
                 GRANT USAGE ON SCHEMA public TO PUBLIC;",
            )
            .unwrap_or_else(|e| panic!("empty {}: {}", db.name, with_causes(&e)));
        db
    }

    fn connect(&self) -> postgres::Client {
        connect(&self.url).unwrap_or_else(|e| panic!("connect to {}: {e}", self.name))
    }

    /// The whole database as text, deterministically: every table of
    /// every schema but the system's (by name), each row as its text with
    /// every bytea column after it also as its bytes (`encode(..,
    /// 'escape')`: printable ASCII as itself), rows sorted; then the last
    /// value of every sequence (a rolled-back insert moves one on).
    fn dump(&self) -> String {
        const USER_SCHEMAS: &str = "NOT IN ('pg_catalog', 'information_schema') \
             AND {} NOT LIKE 'pg\\_%'";
        let mut c = self.connect();
        let tables: Vec<(String, String)> = c
            .query(
                &format!(
                    "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                      WHERE table_schema {} ORDER BY 1, 2",
                    USER_SCHEMAS.replace("{}", "table_schema")
                ),
                &[],
            )
            .expect("list tables")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut out = String::new();
        for (schema, table) in tables {
            let byteas: Vec<String> = c
                .query(
                    "SELECT column_name::text FROM information_schema.columns \
                      WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea' \
                      ORDER BY ordinal_position",
                    &[&schema, &table],
                )
                .expect("list bytea columns")
                .iter()
                .map(|r| r.get(0))
                .collect();
            let line: String = std::iter::once("t::text".to_string())
                .chain(byteas.iter().map(|col| {
                    format!(
                        "' | {col} as bytes: ' || coalesce(encode(t.{}, 'escape'), 'NULL')",
                        quote_ident(col)
                    )
                }))
                .collect::<Vec<_>>()
                .join(" || ");
            let sql = format!(
                "SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') \
                   FROM (SELECT {line} AS line FROM {}.{} t) q",
                quote_ident(&schema),
                quote_ident(&table)
            );
            let rows: String = c
                .query_one(&sql, &[])
                .unwrap_or_else(|e| panic!("dump {schema}.{table}: {e}"))
                .get(0);
            let name = if schema == "public" {
                table
            } else {
                format!("{schema}.{table}")
            };
            out.push_str(&format!("== {name}\n{rows}\n"));
        }
        let sequences: Vec<String> = c
            .query(
                &format!(
                    "SELECT schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'unused') \
                       FROM pg_sequences WHERE schemaname {} ORDER BY 1",
                    USER_SCHEMAS.replace("{}", "schemaname")
                ),
                &[],
            )
            .expect("list sequences")
            .iter()
            .map(|r| r.get(0))
            .collect();
        out.push_str("== sequences\n");
        for s in sequences {
            out.push_str(&s);
            out.push('\n');
        }
        out
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Drop for PgDatabase {
    /// Back to the pool (emptied by the next taker).
    fn drop(&mut self) {
        let mut a = admin();
        a.held.remove(&self.slot);
        let freed = a.client.query_one(
            "SELECT pg_advisory_unlock($1, $2)",
            &[&POOL_LOCK, &self.slot],
        );
        if let Err(e) = freed {
            let _ = writeln!(std::io::stderr(), "could not free {}: {e}", self.name);
        }
    }
}

/// The `PATH` of every codedesk the tests run (a test may set its own).
pub const TEST_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where the tests' codedesk looks for the system configuration unless a
/// test names one: nowhere (a debug build reads `CODEDESK_TEST_SYSTEM_CONFIG`;
/// see docs/configuration.md), so a real /etc/codedesk/config.toml on the
/// machine cannot change a result.
pub const NO_SYSTEM_CONFIG: &str = "/nonexistent/codedesk-tests/system.toml";

/// The whole environment of a scrubbed child, before the test adds its
/// own (`HOME`, say): `PATH` (`TEST_PATH`) and the system configuration
/// pointed nowhere. Nothing of the test run's environment is passed on:
/// no `PG*` (libpq's `PGPASSWORD`, `PGSSLMODE`, `PGSERVICE`, ...), no
/// `CODEDESK_*` (CI's `CODEDESK_TEST_PG`, which codedesk under sudo would
/// refuse), no `SUDO_*`, `NO_COLOR`, `COLUMNS`, `TERM`, `LANG`, `HOME`,
/// `USER` or `XDG_*`: a developer's shell cannot change a result.
pub fn scrubbed_env() -> [(&'static str, &'static str); 2] {
    [
        ("PATH", TEST_PATH),
        (codedesk::context::TEST_SYSTEM_CONFIG_VAR, NO_SYSTEM_CONFIG),
    ]
}

/// A command whose environment can be scrubbed: std's and assert_cmd's.
pub trait Scrub {
    /// Clears the environment and sets `scrubbed_env()`.
    fn scrub(&mut self) -> &mut Self;
}

impl Scrub for Command {
    fn scrub(&mut self) -> &mut Self {
        self.env_clear();
        for (k, v) in scrubbed_env() {
            self.env(k, v);
        }
        self
    }
}

impl Scrub for std::process::Command {
    fn scrub(&mut self) -> &mut Self {
        self.env_clear();
        for (k, v) in scrubbed_env() {
            self.env(k, v);
        }
        self
    }
}

/// Clears the environment of `c` but for `scrubbed_env()`; call it
/// before setting what the test needs (`HOME`, `TERM`, ...).
pub fn scrub<C: Scrub>(c: &mut C) {
    c.scrub();
}

/// A formatted base32 code: four groups of four.
pub fn looks_like_code(l: &str) -> bool {
    let l = l.trim();
    l.len() == 19
        && l.split('-').count() == 4
        && l.split('-')
            .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Every spelling of a code a leak could take: as shown, without dashes,
/// lower case, and each half (a partial leak).
pub fn spellings(code: &str) -> Vec<String> {
    let bare: String = code.chars().filter(|c| *c != '-').collect();
    let mut v = vec![
        code.to_string(),
        code.to_lowercase(),
        bare.clone(),
        bare.to_lowercase(),
        bare.chars().rev().collect(),
    ];
    let half = bare.len() / 2;
    v.push(bare[..half].to_string());
    v.push(bare[half..].to_string());
    v.push(code[..9].to_string());
    v.push(code[10..].to_string());
    v
}
