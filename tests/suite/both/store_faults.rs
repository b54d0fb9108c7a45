// A broken, foreign, newer, misplaced, read-only or full store (SECURITY.md:
// every command exits 7 with one line on stderr naming the
// problem, and the store is left exactly as it was.
//
// Runs on SQLite, and on PostgreSQL in the second pass of tests/suite
// (CODEDESK_TEST_BACKEND=postgres). The
// faults of the store file (not a database, truncated, newer, misplaced,
// read-only, full disk, size limit) are SQLite-only; a PostgreSQL store
// has no file, and its newer schema is in tests/suite/both/exit_status.rs. The
// PostgreSQL faults (a wrong password, a database that does not exist, a
// port where nothing listens) are postgres-only.

use crate::common;
use crate::procs;

use common::{BIN, Env, postgres_only, sqlite_only};
use procs::{command_as, one_line_error, output};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const ATTEST: [&str; 4] = ["--identity-verified", "in-person", "--ticket", "T-3"];

/// A real store with a user, a device, a set and an audit trail; returns
/// the env (its config then switched to plain defaults, so that no
/// weak-hashing warning adds a line to stderr) and a code of the set.
fn real_store() -> (Env, String) {
    let env = Env::new();
    env.enroll_landline("alice", "5072225999");
    let codes = env.issue_helpdesk("alice", &[]);
    assert_eq!(env.verify("alice", &codes[0]), 0);
    std::fs::write(&env.config, "").unwrap();
    if !env.is_postgres() {
        settle(&env.db);
    }
    (env, codes[1].clone())
}

/// Folds any WAL into the main file so that the file alone is the store.
fn settle(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(c);
    assert!(!sibling(db, "-wal").exists(), "WAL left behind");
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `listing`, less the two files codedesk keeps beside a store it opened
/// (SQLite's persistent WAL: the `-shm` index and the `-wal`, which must
/// be empty once codedesk has ended).
fn listing_of_opened_store(db: &Path) -> Vec<String> {
    let name = db.file_name().unwrap().to_string_lossy().into_owned();
    let wal = format!("{name}-wal");
    if let Ok(meta) = std::fs::metadata(db.with_file_name(&wal)) {
        assert_eq!(meta.len(), 0, "the WAL was left with frames in it");
    }
    let shm = format!("{name}-shm");
    let mut v = listing(db.parent().unwrap());
    v.retain(|f| *f != wal && *f != shm);
    v
}

/// Every kind of command, reading and writing, against `db`.
fn commands(code: &str) -> Vec<(Vec<&'static str>, String)> {
    let issue = ["issue-codes", "alice", "--via", "helpdesk"];
    vec![
        (vec!["list"], String::new()),
        (vec!["list", "alice"], String::new()),
        (
            vec!["enroll-device", "zed", "--kind", "token"],
            String::new(),
        ),
        (
            issue.iter().chain(ATTEST.iter()).copied().collect(),
            String::new(),
        ),
        (vec!["verify", "alice"], format!("{code}\n")),
        (vec!["revoke", "alice"], String::new()),
        (vec!["unlock", "alice"], String::new()),
        (vec!["audit"], String::new()),
        (vec!["audit", "verify"], String::new()),
    ]
}

fn run_with(c: Command, stdin: &str) -> (i32, String, String) {
    let mut child = procs::spawn_cmd(c);
    procs::feed(&mut child, stdin);
    procs::finish(child.wait_with_output().unwrap())
}

/// Runs every command on `db`: each exits 7 with one line naming the
/// problem (`names` is matched case-insensitively), and neither the store
/// file nor its folder changes.
fn assert_every_command_fails(env: &Env, db: &Path, names: &str, code: &str) {
    assert_fails_with(env, db, names, code, |c| c, None);
}

fn assert_fails_with(
    env: &Env,
    db: &Path,
    names: &str,
    code: &str,
    wrap: impl Fn(Command) -> Command,
    program: Option<&Path>,
) {
    let dir = db.parent().unwrap();
    let before = std::fs::read(db).ok();
    let files = listing(dir);
    for (args, stdin) in commands(code) {
        let c = command_as(program.unwrap_or(Path::new(BIN)), env, db, "tester", &args);
        let (status, out, err) = run_with(wrap(c), &stdin);
        assert_eq!(status, 7, "{args:?} on {}: {out} {err}", db.display());
        assert!(one_line_error(&err), "{args:?}: not one line: {err:?}");
        assert!(
            err.to_lowercase().contains(names),
            "{args:?}: {err:?} does not say {names:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(std::fs::read(db).ok(), before, "{args:?} changed the store");
        assert_eq!(listing(dir), files, "{args:?} left files behind");
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused_untouched() {
    if sqlite_only("writes junk files as stores") {
        return;
    }
    let (env, code) = real_store();
    for (name, bytes) in [
        (
            "notes.txt",
            b"these are not the codes you are looking for\n".repeat(40),
        ),
        (
            "random.bin",
            (0..8192u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
    ] {
        let db = env.path().join(name);
        std::fs::write(&db, &bytes).unwrap();
        assert_every_command_fails(&env, &db, "not a database", &code);
    }
}

#[test]
fn a_truncated_store_is_refused_untouched() {
    if sqlite_only("truncates copies of the store file") {
        return;
    }
    let (env, code) = real_store();
    let len = std::fs::metadata(&env.db).unwrap().len();
    assert!(len >= 4 * 4096, "store unexpectedly small: {len}");
    for keep in [len / 2, 4096] {
        let db = env.path().join(format!("truncated-{keep}.db"));
        std::fs::copy(&env.db, &db).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .unwrap()
            .set_len(keep)
            .unwrap();
        assert_every_command_fails(&env, &db, "corrupt", &code);
    }
    // The original is still fine.
    assert_eq!(procs::audit_intact(&env), 5);
}

#[test]
fn a_store_from_a_newer_codedesk_is_refused_untouched() {
    if sqlite_only("sets the file's user_version with rusqlite") {
        return;
    }
    let (env, code) = real_store();
    let c = rusqlite::Connection::open(&env.db).unwrap();
    c.pragma_update(None, "user_version", 999).unwrap();
    drop(c);
    settle(&env.db);
    assert_every_command_fails(&env, &env.db, "newer", &code);
    let (_, _, err) = env.run(&["list"]);
    assert!(err.contains("999"), "{err}");
}

#[test]
fn a_store_path_under_a_regular_file_is_refused() {
    if sqlite_only("store paths under a regular file") {
        return;
    }
    let env = Env::with_raw_config("");
    let file = env.path().join("file.txt");
    std::fs::write(&file, "keep me\n").unwrap();
    for db in [
        file.join("codedesk.db"),
        file.join("sub").join("codedesk.db"),
    ] {
        for (args, stdin) in commands("ABCD-EFGH-JKLM-NPQR") {
            let (status, out, err) = run_with(
                command_as(Path::new(BIN), &env, &db, "tester", &args),
                &stdin,
            );
            assert_eq!(status, 7, "{args:?}: {out} {err}");
            assert!(one_line_error(&err), "{err:?}");
            assert!(err.contains("Not a directory"), "{err}");
            assert!(err.contains("file.txt"), "names the path: {err}");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    assert_eq!(listing(env.path()), ["config.toml", "file.txt"]);
}

#[test]
fn a_store_path_that_is_a_folder_is_refused() {
    if sqlite_only("a store path that is a folder") {
        return;
    }
    let env = Env::with_raw_config("");
    let dir = env.path().join("a-folder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("inside"), "x").unwrap();
    for (args, stdin) in commands("ABCD-EFGH-JKLM-NPQR") {
        let (status, out, err) = run_with(
            command_as(Path::new(BIN), &env, &dir, "tester", &args),
            &stdin,
        );
        assert_eq!(status, 7, "{args:?}: {out} {err}");
        assert!(one_line_error(&err), "{err:?}");
        assert!(err.contains("is a folder"), "{err}");
    }
    assert_eq!(listing(&dir), ["inside"]);
    assert_eq!(listing(env.path()), ["a-folder", "config.toml"]);
}

// ------------------------------------------------------------ read-only

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        == 0
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// How to run codedesk as someone the store does not let write. Root
/// ignores file modes, so as root codedesk runs as `nobody` (uid 65534)
/// from a copy of the binary that `nobody` can reach; otherwise it runs as
/// this user and the modes alone protect the store.
struct Restricted {
    program: PathBuf,
    as_nobody: bool,
}

impl Restricted {
    /// `None` (with a note) when, as root, the temporary folder lies under
    /// a folder that `nobody` cannot enter (a TMPDIR under /root).
    fn new(env: &Env) -> Option<Restricted> {
        if running_as_root() {
            let closed =
                env.path().ancestors().skip(1).find(|a| {
                    std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 == 0)
                });
            if let Some(a) = closed {
                eprintln!(
                    "SKIPPED: running as root and {} is closed to nobody; set TMPDIR=/tmp",
                    a.display()
                );
                return None;
            }
            chmod(env.path(), 0o755);
            chmod(&env.config, 0o644);
            let program = env.path().join("codedesk");
            std::fs::copy(BIN, &program).unwrap();
            chmod(&program, 0o755);
            // A child that another test thread forked while the copy was
            // open for writing holds that descriptor until it execs, and
            // meanwhile exec of the copy fails with "Text file busy".
            // Once one run starts, no one holds it any more.
            for _ in 0..200 {
                match Command::new(&program).arg("--version").output() {
                    Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    _ => break,
                }
            }
            Some(Restricted {
                program,
                as_nobody: true,
            })
        } else {
            Some(Restricted {
                program: PathBuf::from(BIN),
                as_nobody: false,
            })
        }
    }

    fn wrap(&self, mut c: Command) -> Command {
        if self.as_nobody {
            use std::os::unix::process::CommandExt;
            c.uid(65534).gid(65534);
        }
        c
    }

    fn run(&self, env: &Env, args: &[&str], stdin: &str) -> (i32, String, String) {
        let c = command_as(&self.program, env, &env.db, "tester", args);
        run_with(self.wrap(c), stdin)
    }
}

/// Store file and folder both read-only: nothing can be done, and nothing
/// is touched (no WAL or shared-memory file appears).
#[test]
fn a_read_only_store_in_a_read_only_folder_is_refused_untouched() {
    if sqlite_only("file modes of the store and its folder") {
        return;
    }
    let (env, code) = real_store();
    let Some(r) = Restricted::new(&env) else {
        return;
    };
    let store_dir = env.db.parent().unwrap().to_path_buf();
    chmod(&env.db, 0o444);
    chmod(&store_dir, 0o555);
    eprintln!(
        "read-only store: {}",
        if r.as_nobody {
            "running codedesk as nobody (tests run as root)"
        } else {
            "file modes"
        }
    );
    assert_fails_with(
        &env,
        &env.db,
        "read-only",
        &code,
        |c| r.wrap(c),
        Some(&r.program),
    );
    chmod(&store_dir, 0o755);
    chmod(&env.db, 0o644);
    assert_eq!(env.verify("alice", &code), 0, "the code was not spent");
    assert_eq!(procs::audit_intact(&env), 6);
}

/// A read-only store in a writable folder: reading works, every write
/// exits 7 naming the read-only store, and a right code is not accepted
/// (nor spent) when it cannot be recorded.
#[test]
fn a_read_only_store_file_refuses_writes_but_can_be_read() {
    if sqlite_only("file modes of the store file") {
        return;
    }
    let (env, code) = real_store();
    let Some(r) = Restricted::new(&env) else {
        return;
    };
    let store_dir = env.db.parent().unwrap().to_path_buf();
    chmod(&env.db, 0o444);
    chmod(&store_dir, 0o777);
    let before = std::fs::read(&env.db).unwrap();
    let (status, out, err) = r.run(&env, &["list", "alice"], "");
    assert_eq!(status, 0, "{out} {err}");
    assert!(out.contains("alice"));
    let (status, out, err) = r.run(&env, &["audit", "verify"], "");
    assert_eq!(status, 0, "{out} {err}");
    for (args, stdin) in commands(&code) {
        let writes = !matches!(args[0], "list" | "audit");
        if !writes {
            continue;
        }
        let (status, out, err) = r.run(&env, &args, &stdin);
        assert_eq!(status, 7, "{args:?}: {out} {err}");
        assert!(one_line_error(&err), "{args:?}: {err:?}");
        assert!(err.contains("read-only"), "{args:?}: {err}");
        assert!(!out.contains("accepted"), "{out}");
        assert_eq!(std::fs::read(&env.db).unwrap(), before, "{args:?}");
    }
    chmod(&store_dir, 0o700);
    // SQLite gave the WAL and shared-memory files it created the store's
    // mode; the owner restoring the store's mode must restore theirs too,
    // and take back those the other account created (codedesk refuses a
    // -wal or -shm owned by another account: it could have planted them).
    let owner = std::fs::metadata(&env.db).unwrap();
    for f in [
        env.db.clone(),
        sibling(&env.db, "-wal"),
        sibling(&env.db, "-shm"),
    ] {
        if f.exists() {
            chmod(&f, 0o600);
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::chown(&f, Some(owner.uid()), Some(owner.gid())).unwrap();
        }
    }
    assert_eq!(env.verify("alice", &code), 0, "the code was not spent");
    assert_eq!(procs::audit_intact(&env), 6);
}

// ------------------------------------------------------------ full disk

/// A CSV enrolling enough devices that their transaction needs far more
/// room than is left.
fn big_batch(env: &Env) -> PathBuf {
    let path = env.path().join("big.csv");
    let mut text = String::from("user,kind,phone,sms,label\n");
    for i in 0..2000 {
        text.push_str(&format!("bulk{i},token,,,{}\n", "L".repeat(60)));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// A real full disk: a 512 KiB tmpfs, mounted in a private mount
/// namespace, filled to leave 96 KiB free. Needs `unshare -m` (root or
/// CAP_SYS_ADMIN); where it is not available the test says so and passes.
#[test]
fn a_full_disk_fails_the_write_cleanly_and_loses_nothing() {
    if sqlite_only("the store file on a full tmpfs") {
        return;
    }
    if !Command::new("unshare")
        .args(["-m", "true"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("SKIPPED: cannot create a mount namespace (unshare -m) to mount a small tmpfs");
        return;
    }
    let (env, _) = real_store();
    let csv = big_batch(&env);
    let mnt = env.path().join("mnt");
    let out = env.path().join("out");
    std::fs::create_dir(&mnt).unwrap();
    std::fs::create_dir(&out).unwrap();
    let pages = std::fs::metadata(&env.db).unwrap().len().div_ceil(4096);
    let filler_pages = 128 - pages - 24;
    let script = r#"
set -e
mount -t tmpfs -o size=512k codedesk-full "$MNT"
cp "$SRC" "$MNT/codedesk.db"
head -c $((FILLER * 4096)) /dev/zero > "$MNT/filler"
run() { "$BIN" --db "$MNT/codedesk.db" --config "$CFG" --operator tester "$@"; }
set +e
run enroll-device --batch "$CSV" > "$OUT/big.out" 2> "$OUT/big.err"; echo $? > "$OUT/big.rc"
cp "$MNT/codedesk.db" "$OUT/after-big.db"
ls -A "$MNT" > "$OUT/listing"
stat -c %s "$MNT/codedesk.db-wal" > "$OUT/walsize" 2>/dev/null || echo 0 > "$OUT/walsize"
run enroll-device zed --kind token -q > "$OUT/small.out" 2> "$OUT/small.err"; echo $? > "$OUT/small.rc"
run audit verify --format json > "$OUT/audit.out" 2>&1; echo $? > "$OUT/audit.rc"
"#;
    let status = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .env("MNT", &mnt)
        .env("SRC", &env.db)
        .env("FILLER", filler_pages.to_string())
        .env("BIN", BIN)
        .env("CFG", &env.config)
        .env("CSV", &csv)
        .env("OUT", &out)
        .env("HOME", env.path())
        .status()
        .unwrap();
    assert!(status.success());
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    let err = read("big.err");
    assert_eq!(read("big.rc").trim(), "7", "{err}");
    assert!(one_line_error(&err), "{err:?}");
    assert!(err.contains("disk holding the store is full"), "{err}");
    assert_eq!(
        std::fs::read(out.join("after-big.db")).unwrap(),
        std::fs::read(&env.db).unwrap(),
        "the failed write changed the store"
    );
    let mut listed: Vec<_> = read("listing")
        .split_whitespace()
        .map(String::from)
        .collect();
    listed.retain(|f| f != "codedesk.db-shm" && f != "codedesk.db-wal");
    assert_eq!(listed, ["codedesk.db", "filler"]);
    assert_eq!(
        read("walsize").trim(),
        "0",
        "the WAL was left with frames in it"
    );
    // The store still works where there is room.
    assert_eq!(read("small.rc").trim(), "0", "{}", read("small.err"));
    assert_eq!(read("audit.rc").trim(), "0", "{}", read("audit.out"));
    assert!(
        read("audit.out").contains("\"events\":6"),
        "{}",
        read("audit.out")
    );
}

/// A file-size limit (RLIMIT_FSIZE, as a quota would) hits the write of a
/// large transaction: exit 7, one line, nothing changed. Works anywhere,
/// without privileges.
#[test]
fn a_file_size_limit_fails_the_write_cleanly_and_loses_nothing() {
    if sqlite_only("RLIMIT_FSIZE on the store file") {
        return;
    }
    let (env, code) = real_store();
    let csv = big_batch(&env);
    let before = std::fs::read(&env.db).unwrap();
    // An empty store is 27 pages of 4 KiB (schema 7).
    assert!(before.len() < 112 * 1024, "{}", before.len());
    let files = listing(env.db.parent().unwrap());
    // 256 blocks is 128 KiB (POSIX 512-byte blocks) or 256 KiB (bash):
    // room for the store and its 32 KiB index, not for 2000 devices.
    let limited = |args: &[&str]| {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "trap '' XFSZ; ulimit -f 256 && exec \"$@\"",
            "sh",
            BIN,
        ])
        .args(["--db"])
        .arg(&env.db)
        .args(["--config"])
        .arg(&env.config)
        .args(["--operator", "tester"])
        .args(args)
        .env("HOME", env.path());
        c
    };
    let (status, out, err) = output(limited(&[
        "enroll-device",
        "--batch",
        csv.to_str().unwrap(),
    ]));
    assert_eq!(status, 7, "{out} {err}");
    assert!(one_line_error(&err), "{err:?}");
    assert!(err.contains("cannot write to the store"), "{err}");
    assert_eq!(std::fs::read(&env.db).unwrap(), before);
    assert_eq!(listing_of_opened_store(&env.db), files);
    // Small writes under the same limit still go through.
    let (status, out, err) = output(limited(&["enroll-device", "zed", "--kind", "token"]));
    assert_eq!(status, 0, "{out} {err}");
    let (status, out, err) = run_with(limited(&["verify", "alice"]), &format!("{code}\n"));
    assert_eq!(status, 0, "{out} {err}");
    assert_eq!(procs::audit_intact(&env), 7);
}

// ------------------------------------------------------------ PostgreSQL

/// A password no test server has, to look for in every output.
const WRONG_PASSWORD: &str = "Wr0ng-F4ult-Pw-x9";

/// Runs every command on the store `url` names: each exits 7 with one line
/// naming host, port, database and `why` (case-insensitively), and neither
/// `WRONG_PASSWORD` nor the URL's own password shows anywhere.
fn assert_every_command_fails_on(env: &Env, url: &str, why: &str, code: &str) {
    let parsed: postgres::Config = url.parse().expect("a postgres URL");
    let host = match &parsed.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = parsed.get_ports().first().copied().unwrap_or(5432);
    let database = parsed.get_dbname().expect("a database").to_string();
    let password = common::password_of(url).expect("a password");
    for (args, stdin) in commands(code) {
        let c = command_as(Path::new(BIN), env, Path::new(url), "tester", &args);
        let (status, out, err) = run_with(c, &stdin);
        let what = format!("{args:?} on {}", common::redacted(url));
        assert_eq!(status, 7, "{what}: {out} {err}");
        assert!(one_line_error(&err), "{what}: not one line: {err:?}");
        for name in [
            format!("host {host}"),
            format!("port {port}"),
            format!("database {database}"),
        ] {
            assert!(err.contains(&name), "{what}: {err:?} does not name {name}");
        }
        assert!(
            err.to_lowercase().contains(why),
            "{what}: {err:?} does not say {why:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
        for secret in [WRONG_PASSWORD.to_string(), format!(":{password}@")] {
            assert!(
                !err.contains(&secret) && !out.contains(&secret),
                "{what} printed the password: {out} {err}"
            );
        }
    }
}

/// A wrong password, a database that does not exist, a port where nothing
/// listens: every command exits 7 in one line naming the server and the
/// database, never the password, and nothing is created or changed.
#[test]
fn an_unusable_postgres_server_is_refused_naming_it_and_never_the_password() {
    if postgres_only("a PostgreSQL server refusing or missing") {
        return;
    }
    let (env, code) = real_store();
    let url = env.db.to_str().unwrap().to_string();
    let before = env.store_state();

    // The Env's own database, with a wrong password.
    let wrong = common::with_password(&url, WRONG_PASSWORD);
    assert_every_command_fails_on(&env, &wrong, "password authentication failed", &code);

    // The right server and password, a database that is not there: it is
    // not created (the operator makes the database; codedesk its tables).
    let missing = format!("cdt_missing_{}", std::process::id());
    let absent = common::with_database(&url, &missing);
    assert_every_command_fails_on(&env, &absent, "does not exist", &code);
    let created = env.sql_i64(&format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{missing}'"
    ));
    assert_eq!(created, 0, "{missing} was created");

    // A port where nothing listens (one just bound and let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let closed = format!("postgres://codedesk:{WRONG_PASSWORD}@127.0.0.1:{port}/codedesk_prod");
    assert_every_command_fails_on(&env, &closed, "connection refused", &code);

    assert_eq!(env.store_state(), before, "the store changed");
    assert_eq!(env.verify("alice", &code), 0, "the code was not spent");
}
