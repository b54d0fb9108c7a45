// What a security reviewer finds in the store: devices, sets and identity
// checks, never a code in any spelling; and the store is private to its
// owner.
//
// Runs on SQLite, and on PostgreSQL in the second pass of tests/suite
// (CODEDESK_TEST_BACKEND=postgres).
// On SQLite the search is over the raw bytes of the store, its WAL and
// shared-memory files (with a connection held open so that the writes are
// still in the WAL); on PostgreSQL it is over what an attacker who dumps
// the database gets: every row of every table, every column as text and
// every bytea also as its bytes (`Env::store_state`). The file modes are
// SQLite-only (a PostgreSQL store has no file).

use crate::common;
use common::{BIN, Env, spellings, sqlite_only};
use rusqlite::{Connection, OpenFlags};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Where the store keeps what it holds, each with its content as text
/// (bytes read lossily, which keeps every ASCII run intact): on SQLite
/// the store and whichever of its -wal and -shm files exist; on
/// PostgreSQL the dump of the whole database.
fn store_contents(env: &Env) -> Vec<(String, String)> {
    if env.is_postgres() {
        return vec![(
            "a dump of the PostgreSQL database".to_string(),
            env.store_state().text(),
        )];
    }
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| sidecar(&env.db, s))
        .filter(|p| p.exists())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read store file");
            (
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Fails naming the place and spelling if any code shows up in the store.
fn assert_no_code_stored(env: &Env, codes: &[String], spell: fn(&str) -> Vec<String>) {
    let contents = store_contents(env);
    assert!(!contents.is_empty(), "no store at {}", env.db.display());
    for (place, text) in &contents {
        for c in codes {
            for s in spell(c) {
                assert!(!text.contains(&s), "{place} holds code {c} as {s:?}");
            }
        }
    }
}

/// Digit codes: the raw digits and the dashed form.
fn digit_spellings(code: &str) -> Vec<String> {
    let raw: String = code.chars().filter(char::is_ascii_digit).collect();
    vec![code.to_string(), raw]
}

fn looks_like_digit_code(l: &str) -> bool {
    let l = l.trim();
    l.len() == 11
        && l.split('-').count() == 3
        && l.split('-')
            .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

fn last_sms(env: &Env) -> String {
    let text = std::fs::read_to_string(&env.outbox).unwrap_or_default();
    text.rsplit("To: ").next().unwrap_or("").to_string()
}

/// On SQLite, a connection held open while codedesk runs, so that its
/// writes stay in the -wal file (the last connection to close would
/// checkpoint it away). A PostgreSQL store has no WAL of its own to read.
fn hold_open(env: &Env) -> Option<Connection> {
    if env.is_postgres() {
        return None;
    }
    let c = Connection::open(&env.db).expect("open store");
    let n: i64 = c
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("read users");
    assert!(n > 0);
    Some(c)
}

/// Positive control: the newest audit hash, written after `hold_open`, is
/// found by the same search in the given store file (SQLite) or in the
/// dump (PostgreSQL).
fn assert_head_hash_in(env: &Env, suffix: &str) {
    let out = env.ok(&["audit", "verify", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let head = v["head"].as_str().expect("head hash");
    assert_eq!(head.len(), 64);
    let (place, text) = if env.is_postgres() {
        store_contents(env).remove(0)
    } else {
        let bytes = std::fs::read(sidecar(&env.db, suffix)).expect("store file");
        (
            format!("the store{suffix}"),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    };
    assert!(
        text.contains(head),
        "the search does not see {place}'s content"
    );
}

/// On SQLite, the writes must still be in the WAL (so that it is searched).
fn assert_writes_in_wal(env: &Env) {
    if !env.is_postgres() {
        let len = std::fs::metadata(sidecar(&env.db, "-wal")).map_or(0, |m| m.len());
        assert!(len > 0, "the writes should be in the WAL");
    }
}

#[test]
fn base32_codes_never_reach_the_store_its_wal_or_shm() {
    let env = Env::new();
    env.enroll_mobile("alice", "507-222-0001");
    env.enroll_landline("bob", "507-222-0002");
    let holder = hold_open(&env);

    env.ok(&["issue-codes", "alice"]);
    let replaced = env.last_sms_codes();
    env.ok(&["issue-codes", "alice"]);
    let sms = env.last_sms_codes();
    let hd = env.issue_helpdesk("bob", &[]);
    assert_eq!(env.verify("alice", &sms[0]), 0);
    assert_eq!(env.verify("bob", &hd[0]), 0);
    assert_eq!(env.verify("alice", &replaced[0]), 1);
    let all: Vec<String> = [replaced, sms, hd].concat();
    assert_eq!(all.len(), 30);

    assert_writes_in_wal(&env);
    assert_head_hash_in(&env, "-wal");
    assert_no_code_stored(&env, &all, spellings);

    // After the last connection closes and the WAL is checkpointed.
    drop(holder);
    env.ok(&["list"]);
    assert_head_hash_in(&env, "");
    assert_no_code_stored(&env, &all, spellings);
}

#[test]
fn digit_codes_never_reach_the_store_its_wal_or_shm() {
    let env = Env::with_config("[codes]\nalphabet = \"digits\"\n");
    env.enroll_mobile("dina", "507-222-0011");
    env.enroll_landline("ezra", "507-222-0012");
    let holder = hold_open(&env);

    env.ok(&["issue-codes", "dina"]);
    let sms: Vec<String> = last_sms(&env)
        .lines()
        .filter(|l| looks_like_digit_code(l))
        .map(str::to_string)
        .collect();
    assert_eq!(sms.len(), 10, "{}", last_sms(&env));
    let hd = env.issue_helpdesk("ezra", &[]);
    assert_eq!(hd.len(), 10);
    assert!(hd.iter().all(|c| looks_like_digit_code(c)), "{hd:?}");
    // Forgiving input for digits too: no dashes.
    let raw: String = sms[0].chars().filter(char::is_ascii_digit).collect();
    assert_eq!(env.verify("dina", &raw), 0);
    assert_eq!(env.verify("ezra", &hd[0]), 0);
    let all: Vec<String> = [sms, hd].concat();

    assert_writes_in_wal(&env);
    assert_head_hash_in(&env, "-wal");
    assert_no_code_stored(&env, &all, digit_spellings);

    // After the last connection closes and the WAL is checkpointed.
    drop(holder);
    env.ok(&["list"]);
    assert_head_hash_in(&env, "");
    assert_no_code_stored(&env, &all, digit_spellings);
}

/// `sql`'s rows, every value as text, NULL as "NULL".
fn rows(env: &Env, sql: &str) -> Vec<Vec<String>> {
    env.sql_rows(sql)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

fn row(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// Every stored value that could hold text, per table: on SQLite each
/// text and blob value of every table (blobs as their bytes, lossily);
/// on PostgreSQL the sections of the dump (every column as text, byteas
/// also as their bytes).
fn every_value(env: &Env) -> Vec<(String, String)> {
    if env.is_postgres() {
        let dump = env.store_state().text();
        return dump
            .split("== ")
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (name, body) = s.split_once('\n').unwrap_or((s, ""));
                (name.to_string(), body.to_string())
            })
            .collect();
    }
    let c = Connection::open_with_flags(&env.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let cols = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            let mut text = String::new();
            while let Some(row) = rows.next().unwrap() {
                for i in 0..cols {
                    if let rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) =
                        row.get_ref(i).unwrap()
                    {
                        text.push_str(&String::from_utf8_lossy(b));
                        text.push('\n');
                    }
                }
            }
            (t, text)
        })
        .collect()
}

#[test]
fn a_reviewer_with_the_database_sees_devices_sets_and_checks_but_no_code() {
    let env = Env::new();
    let phone_dev = env.enroll_mobile("alice", "(507) 222-0021").to_string();
    let land_dev = env.enroll_landline("bob", "507-222-0022").to_string();
    env.ok(&["issue-codes", "alice", "--count", "5"]);
    let sms = env.last_sms_codes();
    assert_eq!(env.run(&["issue-codes", "bob"]).0, 3);
    let hd = env.issue_helpdesk("bob", &["--count", "4"]);
    assert_eq!(env.verify("alice", &sms[0]), 0);
    let all: Vec<String> = [sms, hd].concat();

    let devices = rows(
        &env,
        "SELECT d.id, u.name, d.kind, d.phone, CASE WHEN d.sms THEN 1 ELSE 0 END
         FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id",
    );
    assert_eq!(
        devices,
        vec![
            row(&[&phone_dev, "alice", "mobile", "+15072220021", "1"]),
            row(&[&land_dev, "bob", "landline", "+15072220022", "0"]),
        ]
    );

    let checks = rows(
        &env,
        "SELECT i.id, u.name, i.operator, i.method, i.ticket, i.outcome
         FROM identity_checks i JOIN users u ON u.id = i.user_id ORDER BY i.id",
    );
    assert_eq!(checks.len(), 2, "{checks:?}");
    assert_eq!(
        checks[0][1..],
        row(&["bob", "tester", "NULL", "NULL", "not-attested"])[..],
        "{checks:?}"
    );
    assert_eq!(
        checks[1][1..],
        row(&["bob", "tester", "in-person", "T-1", "passed"])[..],
        "{checks:?}"
    );
    let passed = checks[1][0].as_str();

    let sets = rows(
        &env,
        "SELECT u.name, s.via, s.device_id, s.identity_check_id, s.state,
                (SELECT count(*) FROM codes k WHERE k.set_id = s.id)
         FROM code_sets s JOIN users u ON u.id = s.user_id ORDER BY s.id",
    );
    assert_eq!(
        sets,
        vec![
            row(&["alice", "sms", &phone_dev, "NULL", "active", "5"]),
            row(&["bob", "helpdesk", "NULL", passed, "active", "4"]),
        ]
    );

    // Codes are 32-byte hashes, one spent use recorded, nothing else.
    let codes = rows(
        &env,
        "SELECT count(*), sum(CASE WHEN length(hash) = 32 THEN 1 ELSE 0 END),
                sum(CASE WHEN uses_left = 0 THEN 1 ELSE 0 END) FROM codes",
    );
    assert_eq!(codes, vec![row(&["9", "9", "1"])]);
    let binary = match env.is_postgres() {
        true => rows(
            &env,
            "SELECT data_type FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'codes'
               AND column_name = 'hash'",
        ),
        false => rows(&env, "SELECT DISTINCT typeof(hash) FROM codes"),
    };
    assert!(
        binary == [row(&["bytea"])] || binary == [row(&["blob"])],
        "hashes are stored as bytes: {binary:?}"
    );

    // No value anywhere in the store holds a code.
    let tables = every_value(&env);
    assert!(tables.len() >= 6, "{tables:?}");
    assert!(
        tables.iter().any(|(_, text)| text.contains("+15072220021")),
        "the search does not see the stored values"
    );
    for (t, text) in &tables {
        for code in &all {
            for s in spellings(code) {
                assert!(
                    !find(text.as_bytes(), s.as_bytes()),
                    "table {t} holds code {code} as {s:?}"
                );
            }
        }
    }

    // Text inside a binary column is found too (a salt made readable).
    env.sql_execute(match env.is_postgres() {
        true => "UPDATE code_sets SET salt = CAST('CANARY-IN-BYTES' AS BYTEA)",
        false => "UPDATE code_sets SET salt = CAST('CANARY-IN-BYTES' AS BLOB)",
    });
    assert!(
        every_value(&env)
            .iter()
            .any(|(t, text)| t.as_str() == "code_sets" && text.contains("CANARY-IN-BYTES")),
        "the search does not see inside binary columns"
    );
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_store_is_0600_and_the_folders_codedesk_creates_are_0700() {
    if sqlite_only("file modes of the store file and the folders codedesk creates") {
        return;
    }
    // The harness's store sits in a folder codedesk creates.
    let env = Env::new();
    assert!(!env.db.parent().unwrap().exists());
    env.enroll_mobile("alice", "507-222-0031");
    let holder = hold_open(&env);
    env.ok(&["issue-codes", "alice"]);
    assert_eq!(mode(env.db.parent().unwrap()), 0o700);
    assert_eq!(mode(&env.db), 0o600);
    for s in ["-wal", "-shm"] {
        let p = sidecar(&env.db, s);
        if p.exists() {
            assert_eq!(mode(&p) & 0o077, 0, "{} is readable by others", p.display());
        }
    }
    drop(holder);

    // Nested folders that do not exist yet.
    let env = Env::new();
    let nested = env.path().join("a").join("b").join("codedesk.db");
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("HOME", env.path())
        .arg("--db")
        .arg(&nested)
        .arg("--config")
        .arg(&env.config)
        .arg("--operator")
        .arg("tester")
        .args(["enroll-device", "zed", "--kind", "token"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(nested.parent().unwrap()), 0o700);
    assert_eq!(mode(&env.path().join("a")), 0o700);

    // The default location, under $XDG_DATA_HOME and else ~/.local/share.
    for xdg in [true, false] {
        let env = Env::new();
        let mut cmd = std::process::Command::new(BIN);
        cmd.env_clear().env("HOME", env.path());
        let expected = if xdg {
            let x = env.path().join("xdg-data");
            std::fs::create_dir(&x).unwrap();
            cmd.env("XDG_DATA_HOME", &x);
            x.join("codedesk").join("codedesk.db")
        } else {
            env.path()
                .join(".local")
                .join("share")
                .join("codedesk")
                .join("codedesk.db")
        };
        let out = cmd
            .arg("--config")
            .arg(&env.config)
            .arg("--operator")
            .arg("tester")
            .args(["enroll-device", "zed", "--kind", "token"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&expected), 0o600, "{}", expected.display());
        assert_eq!(mode(expected.parent().unwrap()), 0o700);
    }

    // A folder the operator made keeps its mode; the store is still private.
    let env = Env::new();
    let dir = env.db.parent().unwrap();
    std::fs::create_dir(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.enroll_mobile("alice", "507-222-0032");
    assert_eq!(mode(dir), 0o755);
    assert_eq!(mode(&env.db), 0o600);
}
