//! The SQLite backend (the default): one local file in WAL mode, schema
//! versioned with `PRAGMA user_version`, every write in an IMMEDIATE
//! transaction that appends its audit event, a busy timeout for racing
//! operators. Only `store` sees this type.

use super::exec::{Exec, Param, Row, Stream};
use super::*;
use crate::codes::HASH_LEN;
use crate::exit::{Status, fail};
use anyhow::{Context, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Append-only migrations; index + 1 is the `user_version` each one yields.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_devices_by_phone.sql"),
    include_str!("migrations/0003_audit_principal.sql"),
    include_str!("migrations/0004_trail_lifecycle.sql"),
    include_str!("migrations/0005_safeguards.sql"),
    include_str!("migrations/0006_approvals.sql"),
    include_str!("migrations/0007_schema_level.sql"),
    include_str!("migrations/0008_integrity.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for another before giving up with exit 7.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Maps a database error to exit status 7 with a message naming the cause.
fn db_err(e: rusqlite::Error) -> anyhow::Error {
    // A failed write inside a transaction (the disk filled up, a file-size
    // limit or quota was hit, the device failed): SQLite says only "disk
    // I/O error". The transaction was not committed.
    if e.sqlite_error()
        .is_some_and(|f| f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE)
    {
        return fail(
            Status::Store,
            "cannot write to the store (disk full, file-size limit or quota reached, or a failing disk); nothing was changed",
        );
    }
    let what = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => return busy(),
        Some(ErrorCode::DiskFull) => {
            "the disk holding the store is full; nothing was changed".into()
        }
        Some(ErrorCode::ReadOnly) => "the store is read-only; nothing was changed".into(),
        Some(ErrorCode::NotADatabase) => {
            "the store file is not a codedesk store (not a database)".into()
        }
        Some(ErrorCode::DatabaseCorrupt) => "the store file is corrupt".into(),
        Some(ErrorCode::CannotOpen) => "cannot open the store file".into(),
        Some(ErrorCode::PermissionDenied) => "permission denied on the store".into(),
        Some(ErrorCode::SystemIoFailure) => format!("I/O error on the store: {e}"),
        _ => format!("store error: {e}"),
    };
    fail(Status::Store, what)
}

pub(super) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(db_err)
    }
}

/// The SQLite backend: one local file, WAL, IMMEDIATE transactions.
pub struct SqliteStore {
    pub(super) conn: Connection,
    path: PathBuf,
    /// Its schema against this codedesk's (`upgrade`).
    pub(super) standing: upgrade::Standing,
}

/// Creates the store's folder (0700) and file (0600) if they are missing.
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                fail(
                    Status::Store,
                    format!("cannot create the store folder {}: {e}", dir.display()),
                )
            })?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(
            Status::Store,
            format!("cannot create the store {}: {e}", path.display()),
        )),
    }
}

/// Refuses (exit 7) a store, or a `-wal`/`-shm` beside it, that someone
/// else planted: a symbolic link, a file owned by an account other than
/// this one or root, writable by others, or writable by a group other than
/// `store.group` (see `trust`). SQLite then opens the store with
/// `SQLITE_OPEN_NOFOLLOW`.
fn check_planted(path: &Path, group: Option<&crate::trust::Group>) -> Result<()> {
    let mut names = vec![path.to_path_buf()];
    for ext in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        names.push(PathBuf::from(p));
    }
    for p in names {
        if let Err(why) = crate::trust::check_path(&p, group) {
            return Err(fail(
                Status::Store,
                format!("refusing the store file {}: {why}", p.display()),
            ));
        }
    }
    Ok(())
}

/// Keeps the `-wal` and `-shm` files beside the store when the last
/// connection closes (SQLite's persistent WAL mode), instead of deleting
/// them and creating them afresh on the next run: creating and deleting two
/// files was about a tenth of the start-up time of a command on a small
/// store (BENCHMARKS.md). The WAL is checkpointed and truncated to zero
/// bytes at close (`journal_size_limit`); the `-shm` file holds only the
/// WAL index (page and frame numbers). Both are created 0600 like the store.
/// Best effort: a VFS without the control just behaves as before.
fn keep_wal_files(conn: &Connection) {
    let mut on: std::os::raw::c_int = 1;
    // SAFETY: the handle is this open connection's; SQLITE_FCNTL_PERSIST_WAL
    // reads and writes one int through the pointer, which outlives the call.
    let _ = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut on).cast(),
        )
    };
}

impl SqliteStore {
    /// Opens (creating on first use) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with(path, None)
    }

    /// [`SqliteStore::open`], trusting files writable by `group`.
    pub fn open_with(path: &Path, group: Option<&crate::trust::Group>) -> Result<SqliteStore> {
        SqliteStore::open_as(path, group, false)
    }

    /// [`SqliteStore::open_with`]; `upgrading` (`upgrade-store`) opens a
    /// store whatever the age of its schema.
    pub(super) fn open_as(
        path: &Path,
        group: Option<&crate::trust::Group>,
        upgrading: bool,
    ) -> Result<SqliteStore> {
        if path.is_dir() {
            return Err(fail(
                Status::Store,
                format!("the store path {} is a folder", path.display()),
            ));
        }
        create_private(path)?;
        check_planted(path, group)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .map_err(|e| {
            fail(
                Status::Store,
                format!("cannot open the store {}: {e}", path.display()),
            )
        })?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            standing: upgrade::Standing::UNKNOWN,
        };
        store
            .setup(upgrading)
            .with_context(|| format!("store {}", path.display()))?;
        // Only a store that opened: one refused (not a database, newer
        // schema) is left exactly as it was found, with no files beside it.
        keep_wal_files(&store.conn);
        Ok(store)
    }

    /// A private in-memory store, for unit tests.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory().db()?;
        let mut store = SqliteStore {
            conn,
            path: PathBuf::from(":memory:"),
            standing: upgrade::Standing::UNKNOWN,
        };
        store.setup(false)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn setup(&mut self, upgrading: bool) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT).db()?;
        // With the WAL files kept (`keep_wal_files`), a limit makes the last
        // connection to close truncate the WAL to zero bytes, so between
        // runs the main file alone holds the store. 4 MiB bounds the WAL
        // while a long batch runs.
        self.conn
            .execute_batch("PRAGMA journal_size_limit = 4194304")
            .db()?;
        // Reading the schema first turns "not a database" into exit 7 here.
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .db()?;
        let known = upgrade::known(MIGRATIONS.len());
        if version > known {
            return Err(newer_schema(version, known));
        }
        let mode = self.switch_to_wal()?;
        if mode != "wal" && mode != "memory" {
            return Err(fail(
                Status::Store,
                format!("cannot switch the store to WAL mode (got {mode})"),
            ));
        }
        // FULL: a committed set survives power loss, not just kill -9.
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .db()?;
        // Only a new, empty store gets its schema on opening; any other
        // change waits for `codedesk upgrade-store` (`upgrade`).
        if version == 0 {
            self.apply(known, true, false, "")?;
        }
        self.standing = upgrade::Standing {
            levels: levels(&self.conn)?,
            known,
            login: false,
        };
        if !upgrading {
            self.standing.check_open()?;
        }
        Ok(())
    }

    /// `PRAGMA journal_mode = WAL` on a store not yet in WAL mode (a new
    /// one) does not wait on the busy handler: when several codedesk
    /// processes open a new store at once, those that lose the switch get
    /// SQLITE_BUSY at once. Retry it within the busy timeout, like any other
    /// wait for the store.
    fn switch_to_wal(&self) -> Result<String> {
        let start = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            {
                Err(e)
                    if matches!(
                        e.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) && start.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                r => return r.db(),
            }
        }
    }

    /// Brings the schema up to `known` in one IMMEDIATE transaction
    /// (re-reading the levels under the write lock: another process may
    /// have done it). `initial`: only if the store is still empty, without
    /// an audit event; otherwise (`upgrade-store`) the upgrade appends a
    /// `store-upgraded` event. Nothing is written with `dry_run`.
    pub(super) fn apply(
        &mut self,
        known: i64,
        initial: bool,
        dry_run: bool,
        operator: &str,
    ) -> Result<Option<upgrade::Upgrade>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .db()?;
        let from = levels(&tx)?;
        if initial && !from.is_empty() {
            return Ok(None);
        }
        let plan = upgrade::plan(from, known, dry_run)?;
        if dry_run || plan.migrations.is_empty() {
            return Ok(Some(plan));
        }
        let now = crate::clock::now();
        for v in from.applied.max(0) + 1..=known {
            let sql = MIGRATIONS[(v - 1) as usize];
            tx.execute_batch(sql).db()?;
            tx.pragma_update(None, "user_version", upgrade::floor(v))
                .db()?;
            upgrade::record(&mut Lite(&tx), v, now)?;
        }
        if !initial {
            ops::append_event(&mut Lite(&tx), now, operator, None, upgrade::event(&plan))?;
        }
        tx.commit().db()?;
        self.standing.levels = plan.to;
        Ok(Some(plan))
    }

    /// Runs `f` in an IMMEDIATE transaction; rolls back if it fails.
    pub(super) fn write<T>(&mut self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        self.standing.check_write()?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .db()?;
        let out = f(&mut Lite(&tx))?;
        tx.commit().db()?;
        Ok(out)
    }

    /// Runs `f` in one read transaction: one snapshot for all its queries.
    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        let tx = self.conn.unchecked_transaction().db()?;
        let out = f(&mut Lite(&tx))?;
        tx.commit().db()?;
        Ok(out)
    }

    /// Runs `f` on the connection, outside any explicit transaction.
    pub(super) fn read<T>(&self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        f(&mut Lite(&self.conn))
    }

    /// Calls `f` for every user in id order (or the one user named), with a
    /// fixed number of queries however many users there are: three ordered
    /// cursors merged as they stream.
    pub fn for_each_user(
        &self,
        only: Option<i64>,
        f: impl FnMut(UserSummary) -> Result<()>,
    ) -> Result<()> {
        let [us, ds, ss] =
            ops::listing_queries(only.is_some()).map(|sql| self.conn.prepare(&sqlite_sql(&sql)));
        let (mut us, mut ds, mut ss) = (us.db()?, ds.db()?, ss.db()?);
        let users = mapped(us.query([only]).db()?, ops::listed_user);
        let devs = mapped(ds.query([only]).db()?, ops::owned_device);
        let sets = mapped(ss.query([only]).db()?, ops::owned_set);
        merge_users(users, devs, sets, f)
    }

    /// SQLite's own consistency check ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .db()
    }
}

impl Stream for SqliteStore {
    fn stream(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        let mut st = self.conn.prepare(&sqlite_sql(sql)).db()?;
        let mut rows = st.query(&*sqlite_params(params)).db()?;
        while let Some(r) = rows.next().db()? {
            if !f(&Row::Sqlite(r))? {
                break;
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------ executor

/// The shared operations' SQL for SQLite: PostgreSQL's `$N` placeholders
/// become `?N`. Left as `$N` they would be named parameters, numbered by
/// first appearance: `$2 ... $1` would swap the values.
fn sqlite_sql(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            c => out.push(c),
        }
    }
    out.into()
}

fn sqlite_params<'p>(params: &'p [&dyn Param]) -> Vec<&'p dyn rusqlite::ToSql> {
    params.iter().map(|p| p.sqlite()).collect()
}

/// Maps a streaming result set row by row.
fn mapped<'s, T: 's>(
    mut rows: rusqlite::Rows<'s>,
    map: impl Fn(&Row) -> Result<T> + 's,
) -> impl Iterator<Item = Result<T>> + 's {
    std::iter::from_fn(move || match rows.next() {
        Ok(Some(r)) => Some(map(&Row::Sqlite(r))),
        Ok(None) => None,
        Err(e) => Some(Err(db_err(e))),
    })
}

/// The store's levels (`upgrade`), read on `conn`.
fn levels(conn: &Connection) -> Result<upgrade::Levels> {
    let legacy: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .db()?;
    let db: &mut dyn Exec = &mut Lite(conn);
    let has_table: bool = db.one(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_level')",
        &[],
        |r| r.get(0),
    )?;
    upgrade::read_levels(db, legacy, has_table)
}

/// The shared operations' executor on a connection or transaction (a
/// `Transaction` derefs to its `Connection`). Statements are cached.
pub(super) struct Lite<'c>(pub(super) &'c Connection);

impl Exec for Lite<'_> {
    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        let mut st = self.0.prepare_cached(&sqlite_sql(sql)).db()?;
        Ok(st.execute(&*sqlite_params(params)).db()? as u64)
    }

    fn each_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.0.prepare_cached(&sqlite_sql(sql)).db()?;
        let mut rows = st.query(&*sqlite_params(params)).db()?;
        while let Some(r) = rows.next().db()? {
            f(&Row::Sqlite(r))?;
        }
        Ok(())
    }

    fn principal(&mut self) -> Result<String> {
        Ok(crate::principal::on_sqlite())
    }
}

const _: () = assert!(HASH_LEN == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_set_user_version() {
        let s = SqliteStore::open_in_memory().unwrap();
        let v: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        // The legacy field says "compatible back to" (`upgrade`).
        assert_eq!(v, upgrade::floor(SCHEMA_VERSION));
        assert_eq!(levels(&s.conn).unwrap().applied, SCHEMA_VERSION);
    }

    #[test]
    fn placeholders_stay_numbered_whatever_their_order() {
        assert_eq!(
            sqlite_sql("UPDATE t SET a = $2, b = $10 WHERE id = $1 AND c = '$'"),
            "UPDATE t SET a = ?2, b = ?10 WHERE id = ?1 AND c = '$'"
        );
        let s = SqliteStore::open_in_memory().unwrap();
        let got: (String, i64) = s
            .read(|db| {
                db.one("SELECT $2, $1", &[&7_i64, &"two"], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .unwrap();
        assert_eq!(got, ("two".to_string(), 7));
    }
}
