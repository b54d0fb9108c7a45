//! What a security reviewer finds on disk: the store, its WAL and shared
//! memory files hold devices, sets and identity checks, never a code in any
//! spelling; and the store is private to its owner.
//!
//! SQLite-only (no PostgreSQL twin): it reads the store's files (store,
//! WAL, shared memory) and their modes; `tests/pg_secret_hygiene.rs` is the
//! PostgreSQL search of every stored row.

mod common;
use common::{BIN, Env, spellings};
use rusqlite::{Connection, OpenFlags};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The store and whichever of its -wal and -shm files exist, as raw bytes.
fn store_files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| sidecar(db, s))
        .filter(|p| p.exists())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read store file");
            (p, bytes)
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Fails naming the file and spelling if any code shows up in any store file.
fn assert_no_code_on_disk(db: &Path, codes: &[String], spell: fn(&str) -> Vec<String>) {
    let files = store_files(db);
    assert!(!files.is_empty(), "no store at {}", db.display());
    for (path, bytes) in &files {
        for c in codes {
            for s in spell(c) {
                assert!(
                    !find(bytes, s.as_bytes()),
                    "{} holds code {c} as {s:?}",
                    path.display()
                );
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

/// A connection held open while codedesk runs, so that its writes stay in
/// the -wal file (the last connection to close would checkpoint it away).
fn hold_open(db: &Path) -> Connection {
    let c = Connection::open(db).expect("open store");
    let n: i64 = c
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .expect("read users");
    assert!(n > 0);
    c
}

/// Positive control: the newest audit hash, written after `hold_open`, is
/// found by the same byte scan in the given store file.
fn assert_head_hash_in(env: &Env, suffix: &str) {
    let out = env.ok(&["audit", "verify", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let head = v["head"].as_str().expect("head hash");
    assert_eq!(head.len(), 64);
    let bytes = std::fs::read(sidecar(&env.db, suffix)).expect("store file");
    assert!(
        find(&bytes, head.as_bytes()),
        "the scan does not see the store{suffix}'s content"
    );
}

fn wal_len(db: &Path) -> u64 {
    std::fs::metadata(sidecar(db, "-wal"))
        .map(|m| m.len())
        .unwrap_or(0)
}

#[test]
fn base32_codes_never_reach_the_store_its_wal_or_shm() {
    let env = Env::new();
    env.enroll_mobile("alice", "507-222-0001");
    env.enroll_landline("bob", "507-222-0002");
    let holder = hold_open(&env.db);

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

    assert!(wal_len(&env.db) > 0, "the writes should be in the WAL");
    assert_head_hash_in(&env, "-wal");
    assert_no_code_on_disk(&env.db, &all, spellings);

    // After the last connection closes and the WAL is checkpointed.
    drop(holder);
    env.ok(&["list"]);
    assert_head_hash_in(&env, "");
    assert_no_code_on_disk(&env.db, &all, spellings);
}

#[test]
fn digit_codes_never_reach_the_store_its_wal_or_shm() {
    let env = Env::with_config("[codes]\nalphabet = \"digits\"\n");
    env.enroll_mobile("dina", "507-222-0011");
    env.enroll_landline("ezra", "507-222-0012");
    let holder = hold_open(&env.db);

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

    assert!(wal_len(&env.db) > 0);
    assert_head_hash_in(&env, "-wal");
    assert_no_code_on_disk(&env.db, &all, digit_spellings);

    // After the last connection closes and the WAL is checkpointed.
    drop(holder);
    env.ok(&["list"]);
    assert_head_hash_in(&env, "");
    assert_no_code_on_disk(&env.db, &all, digit_spellings);
}

/// identity_checks: id, user, operator, method, ticket, outcome.
type CheckRow = (i64, String, String, Option<String>, Option<String>, String);
/// code_sets: user, via, device, identity check, state, codes.
type SetRow = (String, String, Option<i64>, Option<i64>, String, i64);

#[test]
fn a_reviewer_with_sqlite_sees_devices_sets_and_checks_but_no_code() {
    let env = Env::new();
    let phone_dev = env.enroll_mobile("alice", "(507) 222-0021");
    let land_dev = env.enroll_landline("bob", "507-222-0022");
    env.ok(&["issue-codes", "alice", "--count", "5"]);
    let sms = env.last_sms_codes();
    assert_eq!(env.run(&["issue-codes", "bob"]).0, 3);
    let hd = env.issue_helpdesk("bob", &["--count", "4"]);
    assert_eq!(env.verify("alice", &sms[0]), 0);
    let all: Vec<String> = [sms, hd].concat();

    let c = Connection::open_with_flags(&env.db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");

    let devices: Vec<(i64, String, String, Option<String>, bool)> = c
        .prepare(
            "SELECT d.id, u.name, d.kind, d.phone, d.sms FROM devices d
             JOIN users u ON u.id = d.user_id ORDER BY d.id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        devices,
        vec![
            (
                phone_dev,
                "alice".into(),
                "mobile".into(),
                Some("+15072220021".into()),
                true
            ),
            (
                land_dev,
                "bob".into(),
                "landline".into(),
                Some("+15072220022".into()),
                false
            ),
        ]
    );

    let checks: Vec<CheckRow> = c
        .prepare(
            "SELECT i.id, u.name, i.operator, i.method, i.ticket, i.outcome
             FROM identity_checks i JOIN users u ON u.id = i.user_id ORDER BY i.id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(checks.len(), 2, "{checks:?}");
    let refused = &checks[0];
    assert_eq!(
        (refused.1.as_str(), refused.2.as_str(), refused.5.as_str()),
        ("bob", "tester", "not-attested")
    );
    let passed = &checks[1];
    assert_eq!(
        (
            passed.1.as_str(),
            passed.2.as_str(),
            passed.3.as_deref(),
            passed.4.as_deref(),
            passed.5.as_str()
        ),
        ("bob", "tester", Some("in-person"), Some("T-1"), "passed")
    );

    let sets: Vec<SetRow> = c
        .prepare(
            "SELECT u.name, s.via, s.device_id, s.identity_check_id, s.state,
                    (SELECT count(*) FROM codes k WHERE k.set_id = s.id)
             FROM code_sets s JOIN users u ON u.id = s.user_id ORDER BY s.id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        sets,
        vec![
            (
                "alice".into(),
                "sms".into(),
                Some(phone_dev),
                None,
                "active".into(),
                5
            ),
            (
                "bob".into(),
                "helpdesk".into(),
                None,
                Some(passed.0),
                "active".into(),
                4
            ),
        ]
    );

    // Codes are 32-byte hashes, one spent use recorded, nothing else.
    let (n, blobs, spent): (i64, i64, i64) = c
        .query_row(
            "SELECT count(*), sum(typeof(hash) = 'blob' AND length(hash) = 32),
                    sum(uses_left = 0) FROM codes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((n, blobs, spent), (9, 9, 1));

    // No text or blob value anywhere in the store holds a code.
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 6, "{tables:?}");
    let needles: Vec<(String, String)> = all
        .iter()
        .flat_map(|code| spellings(code).into_iter().map(move |s| (code.clone(), s)))
        .collect();
    for t in &tables {
        let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let cols = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..cols {
                let bytes: Vec<u8> = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        b.to_vec()
                    }
                    _ => continue,
                };
                for (code, s) in &needles {
                    assert!(
                        !find(&bytes, s.as_bytes()),
                        "table {t} column {i} holds code {code} as {s:?}"
                    );
                }
            }
        }
    }
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
    // The harness's store sits in a folder codedesk creates.
    let env = Env::new();
    assert!(!env.db.parent().unwrap().exists());
    env.enroll_mobile("alice", "507-222-0031");
    let holder = hold_open(&env.db);
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
        .arg("list")
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
