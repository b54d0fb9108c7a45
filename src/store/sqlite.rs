//! The SQLite backend (the default): one local file in WAL mode, schema
//! versioned with `PRAGMA user_version`, every write in an IMMEDIATE
//! transaction that appends its audit event, a busy timeout for racing
//! operators. Only `store` sees this type.

use super::*;
use crate::audit::{ChainCheck, ChainWalker, Event};
use crate::codes::{HASH_LEN, HashParams};
use crate::exit::{Status, fail};
use crate::model::{Device, DeviceKind, IdentityMethod, Phone, Username, Via};
use crate::rules;
use anyhow::{Context, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Append-only migrations; index + 1 is the `user_version` each one yields.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

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

trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(db_err)
    }
}

/// The SQLite backend: one local file, WAL, IMMEDIATE transactions.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
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
        if path.is_dir() {
            return Err(fail(
                Status::Store,
                format!("the store path {} is a folder", path.display()),
            ));
        }
        create_private(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
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
        };
        store
            .setup()
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
        };
        store.setup()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn setup(&mut self) -> Result<()> {
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
        if version > SCHEMA_VERSION {
            return Err(newer_schema(version, SCHEMA_VERSION));
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
        if version < SCHEMA_VERSION {
            self.migrate()?;
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

    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .db()?;
        // Re-read under the write lock: another process may have migrated.
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).db()?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql).db()?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .db()?;
        }
        tx.commit().db()
    }

    /// Runs `f` in an IMMEDIATE transaction; rolls back if it fails.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .db()?;
        let out = f(&tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    // ------------------------------------------------------------- users

    pub fn find_user(&self, name: &Username) -> Result<Option<UserRow>> {
        find_user(&self.conn, name.as_str())
    }

    /// The user, or exit 4.
    pub fn require_user(&self, name: &Username) -> Result<UserRow> {
        self.find_user(name)?
            .ok_or_else(|| no_such_user(name.as_str()))
    }

    /// A user's devices, primary first.
    pub fn devices(&self, user_id: i64) -> Result<Vec<Device>> {
        devices(&self.conn, user_id)
    }

    // ----------------------------------------------------------- devices

    /// Adds a device, creating the user on first enrolment.
    /// A user who already exists gets a device only with a passed identity
    /// check (`check`), recorded in the same transaction: a new device
    /// changes where that user's codes go.
    pub fn enroll_device(
        &mut self,
        user: &Username,
        new: &NewDevice,
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Enrolled> {
        let mut fresh = std::collections::HashSet::new();
        self.write(|tx| enroll_in(tx, user, new, check, &mut fresh, operator, now))
    }

    /// Adds many devices in one transaction: all or none.
    /// `check` is the run's identity check, recorded against every user who
    /// existed before this run (users the file itself creates need none).
    pub fn enroll_many(
        &mut self,
        rows: &[(Username, NewDevice)],
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<Enrolled>> {
        let mut fresh = std::collections::HashSet::new();
        self.write(|tx| {
            rows.iter()
                .map(|(u, d)| enroll_in(tx, u, d, check, &mut fresh, operator, now))
                .collect()
        })
    }

    /// Removes one device; the next one becomes primary. Returns the new
    /// primary, if any.
    pub fn remove_device(
        &mut self,
        user: &Username,
        device_id: i64,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<(Option<Device>, Vec<i64>)> {
        self.write(|tx| {
            let u = find_user(tx, user.as_str())?.ok_or_else(|| no_such_user(user.as_str()))?;
            let n = tx
                .execute(
                    "DELETE FROM devices WHERE id = ?1 AND user_id = ?2",
                    params![device_id, u.id],
                )
                .db()?;
            if n == 0 {
                return Err(no_such_device(&u.name, device_id));
            }
            // Codes texted to a lost or stolen phone must die with it.
            let texted: Vec<i64> = {
                let mut st = tx
                    .prepare_cached(
                        "SELECT id FROM code_sets WHERE user_id = ?1 AND device_id = ?2
                           AND state IN ('active', 'pending') ORDER BY id",
                    )
                    .db()?;
                let rows = st.query_map(params![u.id, device_id], |r| r.get(0)).db()?;
                rows.map(|r| r.db()).collect::<Result<_>>()?
            };
            end_sets(
                tx,
                &texted,
                "revoked",
                &format!("device {device_id} removed"),
                now,
            )?;
            let left = devices(tx, u.id)?;
            let primary = rules::primary_device(&left).cloned();
            append_event(
                tx,
                now,
                operator,
                Some(&u.name),
                events::device_removed(device_id, reason, primary.as_ref().map(|d| d.id), &texted),
            )?;
            Ok((primary, texted))
        })
    }

    // ------------------------------------------------------ identity gate

    /// Records an identity check that did not pass; returns its id.
    pub fn record_identity_failure(
        &mut self,
        user: &UserRow,
        outcome: &str,
        method: Option<IdentityMethod>,
        ticket: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<i64> {
        self.write(|tx| {
            let id = insert_check(tx, user.id, operator, method, ticket, outcome, now)?;
            append_event(
                tx,
                now,
                operator,
                Some(&user.name),
                events::identity_check(id, outcome, method, ticket),
            )?;
            Ok(id)
        })
    }

    // ----------------------------------------------------------- issuance

    /// Stores a new set. Helpdesk sets come with their passed identity
    /// check, recorded in the same transaction. `activate` false leaves the
    /// set pending (SMS path: activated only once delivered).
    pub fn insert_set(
        &mut self,
        user: &UserRow,
        new: &NewSet,
        check: Option<&NewCheck>,
        activate: bool,
        operator: &str,
        now: i64,
    ) -> Result<Issued> {
        self.write(|tx| {
            let check_id = match check {
                Some(c) => {
                    let id = insert_check(
                        tx,
                        user.id,
                        operator,
                        Some(c.method),
                        Some(&c.ticket),
                        "passed",
                        now,
                    )?;
                    append_event(
                        tx,
                        now,
                        operator,
                        Some(&user.name),
                        events::identity_check(id, "passed", Some(c.method), Some(&c.ticket)),
                    )?;
                    Some(id)
                }
                None => None,
            };
            require_check_for(new.via, check_id)?;
            tx.execute(
                "INSERT INTO code_sets (user_id, via, device_id, identity_check_id, operator,
                    created_at, expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'pending')",
                params![
                    user.id,
                    new.via.as_str(),
                    new.device_id,
                    check_id,
                    operator,
                    now,
                    new.expires_at,
                    new.uses,
                    new.spec.alphabet.name(),
                    new.spec.length as i64,
                    new.salt,
                    new.params.memory_kib,
                    new.params.iterations,
                    new.params.parallelism,
                ],
            )
            .db()?;
            let set_id = tx.last_insert_rowid();
            {
                let mut ins = tx
                    .prepare_cached("INSERT INTO codes (set_id, hash, uses_left) VALUES (?1, ?2, ?3)")
                    .db()?;
                for h in &new.hashes {
                    ins.execute(params![set_id, &h[..], new.uses]).db()?;
                }
            }
            append_event(
                tx,
                now,
                operator,
                Some(&user.name),
                events::codes_stored(set_id, new, check_id, activate),
            )?;
            let ended = if activate {
                activate_in(tx, user, set_id, new.preserve_existing, new.cap, operator, now)?
            } else {
                // Pending: what activating it now would end, to show beside its codes.
                rules::sets_ended_by_new_set(&sets_ended_by(tx, user.id, set_id)?, new.preserve_existing)
            };
            Ok(Issued {
                set_id,
                check_id,
                ended,
            })
        })
    }

    /// Activates a pending set once its codes were delivered, ending the
    /// user's other sets (rule 6) in the same transaction.
    pub fn activate_set(
        &mut self,
        user: &UserRow,
        set_id: i64,
        preserve_existing: bool,
        cap: u32,
        operator: &str,
        now: i64,
    ) -> Result<Vec<i64>> {
        self.write(|tx| {
            let ended = activate_in(tx, user, set_id, preserve_existing, cap, operator, now)?;
            append_event(
                tx,
                now,
                operator,
                Some(&user.name),
                events::codes_delivered(set_id, &ended),
            )?;
            Ok(ended)
        })
    }

    /// Marks a pending set failed (delivery failed); the old codes stay.
    pub fn fail_set(
        &mut self,
        user: &UserRow,
        set_id: i64,
        reason: &str,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE code_sets SET state = 'failed', ended_at = ?2, ended_reason = ?3
                 WHERE id = ?1 AND state = 'pending'",
                params![set_id, now, reason],
            )
            .db()?;
            append_event(
                tx,
                now,
                operator,
                Some(&user.name),
                events::delivery_failed(set_id, reason),
            )
        })
    }

    // ------------------------------------------------------------- verify

    /// The user's lock state and the sets a code could belong to at `now`.
    pub fn verify_view(&self, user: &Username, now: i64) -> Result<VerifyView> {
        let u = self.require_user(user)?;
        let mut sets: Vec<CandidateSet> = Vec::new();
        {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT id, alphabet, length, salt, m_cost, t_cost, p_cost FROM code_sets
                     WHERE user_id = ?1 AND state = 'active' AND (expires_at IS NULL OR expires_at > ?2)
                     ORDER BY id",
                )
                .db()?;
            let rows = st
                .query_map(params![u.id, now], |r| {
                    Ok(CandidateSet {
                        id: r.get(0)?,
                        spec: spec_from_db(&r.get::<_, String>(1)?, r.get(2)?),
                        salt: r.get(3)?,
                        params: HashParams {
                            memory_kib: r.get(4)?,
                            iterations: r.get(5)?,
                            parallelism: r.get(6)?,
                        },
                        codes: Vec::new(),
                    })
                })
                .db()?;
            for s in rows {
                sets.push(s.db()?);
            }
        }
        if !sets.is_empty() {
            let mut st = self
                .conn
                .prepare_cached(
                    "SELECT c.set_id, c.id, c.hash FROM codes c JOIN code_sets s ON s.id = c.set_id
                     WHERE s.user_id = ?1 AND s.state = 'active' AND c.uses_left > 0
                     ORDER BY c.set_id, c.id",
                )
                .db()?;
            let mut rows = st.query(params![u.id]).db()?;
            while let Some(r) = rows.next().db()? {
                attach_code(&mut sets, r.get(0).db()?, r.get(1).db()?, r.get(2).db()?)?;
            }
        }
        sets.retain(|s| !s.codes.is_empty());
        let remaining = remaining_in(&self.conn, u.id, now)?;
        Ok(VerifyView {
            user: u,
            sets,
            remaining,
        })
    }

    /// Spends one use of a matched code, re-checking under the write lock
    /// that the user is not locked and the set is still live: two racing
    /// verifies of one code give exactly one acceptance.
    pub fn spend(
        &mut self,
        user: &UserRow,
        set_id: i64,
        code_id: i64,
        operator: &str,
        now: i64,
    ) -> Result<Spend> {
        self.write(|tx| {
            let locked: Option<i64> = tx
                .query_row(
                    "SELECT locked_at FROM users WHERE id = ?1",
                    [user.id],
                    |r| r.get(0),
                )
                .db()?;
            if locked.is_some() {
                return Ok(Spend::Locked);
            }
            let uses_left: Option<i64> = tx
                .query_row(
                    "SELECT c.uses_left FROM codes c JOIN code_sets s ON s.id = c.set_id
                     WHERE c.id = ?1 AND s.id = ?2 AND s.user_id = ?3 AND s.state = 'active'
                       AND (s.expires_at IS NULL OR s.expires_at > ?4)",
                    params![code_id, set_id, user.id, now],
                    |r| r.get(0),
                )
                .optional()
                .db()?;
            let Some(left) = uses_left.and_then(rules::spend_one_use) else {
                return Ok(Spend::Stale);
            };
            tx.execute(
                "UPDATE codes SET uses_left = ?2 WHERE id = ?1",
                params![code_id, left],
            )
            .db()?;
            tx.execute(
                "UPDATE users SET failed_attempts = 0 WHERE id = ?1",
                [user.id],
            )
            .db()?;
            let remaining = remaining_in(tx, user.id, now)?;
            append_event(
                tx,
                now,
                operator,
                Some(&user.name),
                events::verify_accepted(set_id, remaining),
            )?;
            Ok(Spend::Accepted { remaining })
        })
    }

    /// Records a rejected code; locks the user at `threshold` consecutive
    /// rejections.
    pub fn reject(
        &mut self,
        user: &UserRow,
        reason: &str,
        threshold: u32,
        operator: &str,
        now: i64,
    ) -> Result<Rejection> {
        self.write(|tx| {
            let (attempts, locked): (i64, Option<i64>) = tx
                .query_row(
                    "SELECT failed_attempts, locked_at FROM users WHERE id = ?1",
                    [user.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .db()?;
            let (attempts, locked_now) = after_rejection(attempts, locked.is_some(), threshold);
            tx.execute(
                "UPDATE users SET failed_attempts = ?2,
                    locked_at = CASE WHEN ?3 THEN ?4 ELSE locked_at END WHERE id = ?1",
                params![user.id, attempts, locked_now, now],
            )
            .db()?;
            append_event(
                tx,
                now,
                operator,
                Some(&user.name),
                events::verify_rejected(reason, attempts),
            )?;
            if locked_now {
                append_event(
                    tx,
                    now,
                    operator,
                    Some(&user.name),
                    events::lockout(attempts, threshold),
                )?;
            }
            Ok(Rejection {
                attempts,
                locked_now,
                already_locked: locked.is_some(),
            })
        })
    }

    /// Clears a lockout and the failure count. Returns whether the user was
    /// locked. `auto` records that `lockout.auto_unlock` did it.
    pub fn unlock(
        &mut self,
        user: &Username,
        operator: &str,
        now: i64,
        auto: bool,
    ) -> Result<bool> {
        self.write(|tx| {
            let u = find_user(tx, user.as_str())?.ok_or_else(|| no_such_user(user.as_str()))?;
            tx.execute(
                "UPDATE users SET locked_at = NULL, failed_attempts = 0 WHERE id = ?1",
                [u.id],
            )
            .db()?;
            append_event(
                tx,
                now,
                operator,
                Some(&u.name),
                events::unlock(u.locked_at.is_some(), auto),
            )?;
            Ok(u.locked_at.is_some())
        })
    }

    // ------------------------------------------------------------- revoke

    /// Ends every live set of the user; returns their ids.
    pub fn revoke_all(
        &mut self,
        user: &Username,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<i64>> {
        self.write(|tx| {
            let u = find_user(tx, user.as_str())?.ok_or_else(|| no_such_user(user.as_str()))?;
            let ids = active_set_ids(tx, u.id)?;
            revoke_in(tx, &u.name, &ids, reason, operator, now)?;
            Ok(ids)
        })
    }

    /// Ends one live set of the user.
    pub fn revoke_set(
        &mut self,
        user: &Username,
        set_id: i64,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|tx| {
            let u = find_user(tx, user.as_str())?.ok_or_else(|| no_such_user(user.as_str()))?;
            require_active(&active_set_ids(tx, u.id)?, set_id, &u.name)?;
            revoke_in(tx, &u.name, &[set_id], reason, operator, now)
        })
    }

    /// Appends an event that goes with no other change (a failing notifier).
    pub fn record_event(
        &mut self,
        operator: &str,
        action: &str,
        user: Option<&str>,
        details: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        self.write(|tx| append_event(tx, now, operator, user, (action, details)))
    }

    // ------------------------------------------------------------ listing

    /// Calls `f` for every user in id order (or the one user named), with a
    /// fixed number of queries however many users there are: three ordered
    /// cursors merged as they stream.
    pub fn for_each_user(
        &self,
        only: Option<i64>,
        f: impl FnMut(UserSummary) -> Result<()>,
    ) -> Result<()> {
        let (uw, dw, sw) = match only {
            Some(_) => ("WHERE id = ?1", "WHERE user_id = ?1", "AND s.user_id = ?1"),
            None => ("WHERE ?1 IS NULL", "WHERE ?1 IS NULL", "AND ?1 IS NULL"),
        };
        let mut us = self
            .conn
            .prepare(&format!(
                "SELECT id, name, created_at, failed_attempts, locked_at FROM users {uw} ORDER BY id"
            ))
            .db()?;
        let mut ds = self
            .conn
            .prepare(&format!(
                "SELECT user_id, id, kind, phone, sms, label FROM devices {dw}
                 ORDER BY user_id, position, id"
            ))
            .db()?;
        let mut ss = self
            .conn
            .prepare(&format!(
                "SELECT s.user_id, s.id, s.via, s.operator, s.created_at, s.expires_at,
                        s.identity_check_id, s.device_id,
                        (SELECT COALESCE(SUM(uses_left), 0) FROM codes c WHERE c.set_id = s.id)
                 FROM code_sets s WHERE s.state = 'active' {sw}
                 ORDER BY s.user_id, s.id"
            ))
            .db()?;
        let users = us.query_map([only], user_row).db()?.map(|r| r.db());
        let devs = ds
            .query_map([only], |r| Ok((r.get::<_, i64>(0)?, device_row(r, 1)?)))
            .db()?
            .map(|r| r.db());
        let sets = ss
            .query_map([only], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    SetSummary {
                        id: r.get(1)?,
                        via: Via::from_db(&r.get::<_, String>(2)?),
                        operator: r.get(3)?,
                        created_at: r.get(4)?,
                        expires_at: r.get(5)?,
                        identity_check_id: r.get(6)?,
                        device_id: r.get(7)?,
                        remaining: r.get(8)?,
                    },
                ))
            })
            .db()?
            .map(|r| r.db());
        merge_users(users, devs, sets, f)
    }

    /// One user in detail.
    pub fn user_summary(&self, name: &Username) -> Result<UserSummary> {
        let u = self.require_user(name)?;
        let mut out = None;
        self.for_each_user(Some(u.id), |s| {
            out = Some(s);
            Ok(())
        })?;
        out.ok_or_else(|| no_such_user(name.as_str()))
    }

    // -------------------------------------------------------------- audit

    /// Streams audit events in order.
    pub fn for_each_event(
        &self,
        filter: &EventFilter,
        mut f: impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, at, operator, action, user, details, prev_hash, hash FROM audit
                 WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR at >= ?2) ORDER BY id",
            )
            .db()?;
        let rows = st
            .query_map(params![filter.user, filter.since], |r| {
                Ok(stored_event(
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .db()?;
        for e in rows {
            f(e.db()?)?;
        }
        Ok(())
    }

    /// Recomputes the whole chain.
    pub fn verify_chain(&self) -> Result<ChainCheck> {
        let mut st = self
            .conn
            .prepare("SELECT id, at, operator, action, user, details, prev_hash, hash FROM audit ORDER BY id")
            .db()?;
        let mut rows = st.query([]).db()?;
        let mut w = ChainWalker::default();
        while let Some(r) = rows.next().db()? {
            let user: Option<String> = r.get(4).db()?;
            let step = w.step(
                r.get(0).db()?,
                r.get(1).db()?,
                &r.get::<_, String>(2).db()?,
                &r.get::<_, String>(3).db()?,
                user.as_deref(),
                &r.get::<_, String>(5).db()?,
                &r.get::<_, String>(6).db()?,
                &r.get::<_, String>(7).db()?,
            );
            if let Err(broken) = step {
                return Ok(broken);
            }
        }
        Ok(w.finish())
    }

    /// SQLite's own consistency check ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .db()
    }

    /// Every row of every table, ids included, read in one transaction (a
    /// consistent snapshot while other operators write): what `codedesk
    /// migrate` copies. Codes are hashes; nothing here is a secret in clear.
    pub fn export_rows(&self) -> Result<StoreRows> {
        let tx = self.conn.unchecked_transaction().db()?;
        fn all<T>(
            tx: &Transaction,
            sql: &str,
            row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
        ) -> Result<Vec<T>> {
            let mut st = tx.prepare(sql).db()?;
            let rows = st.query_map([], row).db()?;
            rows.map(|r| r.db()).collect()
        }
        let rows = StoreRows {
            users: all(
                &tx,
                "SELECT id, name, created_at, failed_attempts, locked_at FROM users ORDER BY id",
                user_row,
            )?,
            devices: all(
                &tx,
                "SELECT id, user_id, position, kind, phone, sms, label, created_at
                 FROM devices ORDER BY id",
                |r| {
                    Ok(DeviceRow {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        position: r.get(2)?,
                        kind: r.get(3)?,
                        phone: r.get(4)?,
                        sms: r.get(5)?,
                        label: r.get(6)?,
                        created_at: r.get(7)?,
                    })
                },
            )?,
            identity_checks: all(
                &tx,
                "SELECT id, user_id, operator, method, ticket, outcome, at
                 FROM identity_checks ORDER BY id",
                |r| {
                    Ok(CheckRow {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        operator: r.get(2)?,
                        method: r.get(3)?,
                        ticket: r.get(4)?,
                        outcome: r.get(5)?,
                        at: r.get(6)?,
                    })
                },
            )?,
            code_sets: all(
                &tx,
                "SELECT id, user_id, via, device_id, identity_check_id, operator, created_at,
                        expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost, state,
                        ended_at, ended_reason
                 FROM code_sets ORDER BY id",
                |r| {
                    Ok(SetRow {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        via: r.get(2)?,
                        device_id: r.get(3)?,
                        identity_check_id: r.get(4)?,
                        operator: r.get(5)?,
                        created_at: r.get(6)?,
                        expires_at: r.get(7)?,
                        uses: r.get(8)?,
                        alphabet: r.get(9)?,
                        length: r.get(10)?,
                        salt: r.get(11)?,
                        m_cost: r.get(12)?,
                        t_cost: r.get(13)?,
                        p_cost: r.get(14)?,
                        state: r.get(15)?,
                        ended_at: r.get(16)?,
                        ended_reason: r.get(17)?,
                    })
                },
            )?,
            codes: all(
                &tx,
                "SELECT id, set_id, hash, uses_left FROM codes ORDER BY id",
                |r| {
                    Ok(CodeRow {
                        id: r.get(0)?,
                        set_id: r.get(1)?,
                        hash: r.get(2)?,
                        uses_left: r.get(3)?,
                    })
                },
            )?,
            audit: all(
                &tx,
                "SELECT id, at, operator, action, user, details, prev_hash, hash
                 FROM audit ORDER BY id",
                |r| {
                    Ok(AuditRow {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        operator: r.get(2)?,
                        action: r.get(3)?,
                        user: r.get(4)?,
                        details: r.get(5)?,
                        prev_hash: r.get(6)?,
                        hash: r.get(7)?,
                    })
                },
            )?,
            sequences: Vec::new(),
        };
        let mut rows = rows;
        let has_seq: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
                [],
                |r| r.get(0),
            )
            .db()?;
        if has_seq {
            rows.sequences = all(&tx, "SELECT name, seq FROM sqlite_sequence", |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        }
        tx.commit().db()?;
        Ok(rows)
    }
}

// ------------------------------------------------------------ helpers

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        failed_attempts: r.get(3)?,
        locked_at: r.get(4)?,
    })
}

fn device_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<Device> {
    let kind: String = r.get(at + 1)?;
    Ok(Device {
        id: r.get(at)?,
        kind: DeviceKind::from_db(&kind).unwrap_or(DeviceKind::Token),
        phone: r.get::<_, Option<String>>(at + 2)?.map(Phone::from_db),
        sms: r.get(at + 3)?,
        label: r.get(at + 4)?,
    })
}

fn find_user(conn: &Connection, name: &str) -> Result<Option<UserRow>> {
    conn.query_row(
        "SELECT id, name, created_at, failed_attempts, locked_at FROM users WHERE name = ?1",
        [name],
        user_row,
    )
    .optional()
    .db()
}

fn devices(conn: &Connection, user_id: i64) -> Result<Vec<Device>> {
    let mut st = conn
        .prepare_cached(
            "SELECT id, kind, phone, sms, label FROM devices WHERE user_id = ?1 ORDER BY position, id",
        )
        .db()?;
    let rows = st.query_map([user_id], |r| device_row(r, 0)).db()?;
    rows.map(|r| r.db()).collect()
}

/// `fresh` holds the users this transaction created, who need no check.
#[allow(clippy::too_many_arguments)]
fn enroll_in(
    tx: &Transaction,
    user: &Username,
    new: &NewDevice,
    check: Option<&NewCheck>,
    fresh: &mut std::collections::HashSet<String>,
    operator: &str,
    now: i64,
) -> Result<Enrolled> {
    let (uid, new_user) = match find_user(tx, user.as_str())? {
        Some(u) => (u.id, false),
        None => {
            tx.execute(
                "INSERT INTO users (name, created_at) VALUES (?1, ?2)",
                params![user.as_str(), now],
            )
            .db()?;
            fresh.insert(user.as_str().to_string());
            (tx.last_insert_rowid(), true)
        }
    };
    let check_id = match enrolment_check(user, fresh.contains(user.as_str()), check)? {
        Some(c) => Some(insert_check(
            tx,
            uid,
            operator,
            Some(c.method),
            Some(&c.ticket),
            "passed",
            now,
        )?),
        None => None,
    };
    let (min, max): (Option<i64>, Option<i64>) = tx
        .query_row(
            "SELECT MIN(position), MAX(position) FROM devices WHERE user_id = ?1",
            [uid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .db()?;
    let (primary, position) = new_device_position(min, max, new.primary);
    tx.execute(
        "INSERT INTO devices (user_id, position, kind, phone, sms, label, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            uid,
            position,
            new.kind.as_str(),
            new.phone.as_ref().map(|p| p.as_str()),
            new.sms,
            new.label,
            now
        ],
    )
    .db()?;
    let device = Device {
        id: tx.last_insert_rowid(),
        kind: new.kind,
        phone: new.phone.clone(),
        sms: new.sms,
        label: new.label.clone(),
    };
    append_event(
        tx,
        now,
        operator,
        Some(user.as_str()),
        events::device_enrolled(
            &device,
            new.kind,
            new.phone.as_ref(),
            primary,
            new_user,
            check_id,
            check,
        ),
    )?;
    Ok(Enrolled {
        user: user.as_str().to_string(),
        device,
        primary,
        new_user,
    })
}

fn insert_check(
    tx: &Transaction,
    user_id: i64,
    operator: &str,
    method: Option<IdentityMethod>,
    ticket: Option<&str>,
    outcome: &str,
    now: i64,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO identity_checks (user_id, operator, method, ticket, outcome, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            user_id,
            operator,
            method.map(|m| m.as_str()),
            ticket,
            outcome,
            now
        ],
    )
    .db()?;
    Ok(tx.last_insert_rowid())
}

/// The sets that activating `set_id` ends (rule 6): the user's active
/// sets, and older sets still pending, whose delivery crashed or is still
/// in flight. The newest set wins: an older set whose text message arrives
/// late never replaces it, and a pending set a crash left behind is ended
/// the next time the user gets a set.
fn sets_ended_by(tx: &Transaction, user_id: i64, set_id: i64) -> Result<Vec<i64>> {
    let mut st = tx
        .prepare_cached(
            "SELECT id FROM code_sets WHERE user_id = ?1
               AND (state = 'active' OR (state = 'pending' AND id < ?2)) ORDER BY id",
        )
        .db()?;
    let rows = st.query_map(params![user_id, set_id], |r| r.get(0)).db()?;
    rows.map(|r| r.db()).collect()
}

fn active_set_ids(tx: &Transaction, user_id: i64) -> Result<Vec<i64>> {
    let mut st = tx
        .prepare_cached(
            "SELECT id FROM code_sets WHERE user_id = ?1 AND state = 'active' ORDER BY id",
        )
        .db()?;
    let rows = st.query_map([user_id], |r| r.get(0)).db()?;
    rows.map(|r| r.db()).collect()
}

/// Ends `ids` as revoked by the operator and records it: `revoke` of all
/// of a user's sets or of one.
fn revoke_in(
    tx: &Transaction,
    user: &str,
    ids: &[i64],
    reason: Option<&str>,
    operator: &str,
    now: i64,
) -> Result<()> {
    end_sets(
        tx,
        ids,
        "revoked",
        reason.unwrap_or(DEFAULT_REVOKE_REASON),
        now,
    )?;
    append_event(tx, now, operator, Some(user), events::revoke(ids, reason))
}

fn end_sets(tx: &Transaction, ids: &[i64], state: &str, reason: &str, now: i64) -> Result<()> {
    let mut st = tx
        .prepare_cached(
            "UPDATE code_sets SET state = ?2, ended_at = ?3, ended_reason = ?4 WHERE id = ?1",
        )
        .db()?;
    for id in ids {
        st.execute(params![id, state, now, reason]).db()?;
    }
    Ok(())
}

/// Uses left across the user's live sets.
fn remaining_in(tx: &Connection, user_id: i64, now: i64) -> Result<i64> {
    tx.query_row(
        "SELECT COALESCE(SUM(c.uses_left), 0) FROM codes c JOIN code_sets s ON s.id = c.set_id
         WHERE s.user_id = ?1 AND s.state = 'active' AND (s.expires_at IS NULL OR s.expires_at > ?2)",
        params![user_id, now],
        |r| r.get(0),
    )
    .db()
}

#[allow(clippy::too_many_arguments)]
fn activate_in(
    tx: &Transaction,
    user: &UserRow,
    set_id: i64,
    preserve_existing: bool,
    cap: u32,
    _operator: &str,
    now: i64,
) -> Result<Vec<i64>> {
    let state: Option<String> = tx
        .query_row(
            "SELECT state FROM code_sets WHERE id = ?1 AND user_id = ?2",
            params![set_id, user.id],
            |r| r.get(0),
        )
        .optional()
        .db()?;
    require_pending(state.as_deref(), set_id, user)?;
    let ended =
        rules::sets_ended_by_new_set(&sets_ended_by(tx, user.id, set_id)?, preserve_existing);
    end_sets(
        tx,
        &ended,
        "replaced",
        &format!("replaced by set {set_id}"),
        now,
    )?;
    tx.execute(
        "UPDATE code_sets SET state = 'active' WHERE id = ?1",
        [set_id],
    )
    .db()?;
    if preserve_existing {
        require_within_cap(user, remaining_in(tx, user.id, now)?, cap)?;
    }
    Ok(ended)
}

/// Appends one chained audit event inside the caller's transaction.
fn append_event(
    tx: &Transaction,
    now: i64,
    operator: &str,
    user: Option<&str>,
    event: (&str, serde_json::Value),
) -> Result<()> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .db()?;
    let e = next_event(last, now, operator, user, event);
    tx.execute(
        "INSERT INTO audit (id, at, operator, action, user, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.id,
            e.at,
            e.operator,
            e.action,
            e.user,
            e.details,
            e.prev_hash,
            e.hash
        ],
    )
    .db()?;
    Ok(())
}

const _: () = assert!(HASH_LEN == 32);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    const FAST: HashParams = HashParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn user(s: &str) -> Username {
        Username::parse(s).unwrap()
    }

    fn chk() -> NewCheck {
        NewCheck {
            method: IdentityMethod::InPerson,
            ticket: "T-1".into(),
        }
    }

    #[test]
    fn existing_user_needs_a_check_for_a_new_device() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), None, "op", 1)
            .unwrap();
        let e = s
            .enroll_device(&user("a"), &mobile(), None, "op", 1)
            .unwrap_err();
        assert_eq!(crate::exit::status_of(&e), Status::Identity);
        let u = s.require_user(&user("a")).unwrap();
        assert_eq!(s.devices(u.id).unwrap().len(), 1);
        // a file that creates a user may give it several devices unchecked
        let rows = vec![(user("b"), mobile()), (user("b"), mobile())];
        assert_eq!(s.enroll_many(&rows, None, "op", 1).unwrap().len(), 2);
    }

    fn mobile() -> NewDevice {
        NewDevice {
            kind: DeviceKind::Mobile,
            phone: Some(Phone::parse("+15072225999").unwrap()),
            sms: true,
            label: None,
            primary: false,
        }
    }

    fn new_set(via: Via, n: usize) -> (Vec<codes::Code>, NewSet) {
        let codes = codes::generate(CodeSpec::default(), n).unwrap();
        let salt = codes::new_salt().unwrap();
        let hashes = codes::hash_codes(&FAST, &salt, &codes).unwrap();
        (
            codes,
            NewSet {
                via,
                device_id: None,
                expires_at: None,
                uses: 1,
                spec: CodeSpec::default(),
                salt: salt.to_vec(),
                params: FAST,
                hashes,
                preserve_existing: false,
                cap: 100,
            },
        )
    }

    #[test]
    fn migrations_set_user_version() {
        let s = SqliteStore::open_in_memory().unwrap();
        let v: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn first_device_is_primary_and_primary_flag_moves_to_top() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        let a = s
            .enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        assert!(a.primary && a.new_user);
        let b = s
            .enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        assert!(!b.primary && !b.new_user);
        let mut top = mobile();
        top.primary = true;
        let c = s
            .enroll_device(&user("a"), &top, Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let ids: Vec<i64> = s.devices(u.id).unwrap().iter().map(|d| d.id).collect();
        assert_eq!(ids, vec![c.device.id, a.device.id, b.device.id]);
        s.remove_device(&user("a"), c.device.id, None, "op", 2)
            .unwrap();
        assert_eq!(s.devices(u.id).unwrap()[0].id, a.device.id);
    }

    #[test]
    fn helpdesk_set_needs_a_check_even_at_the_store() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let (_, set) = new_set(Via::Helpdesk, 2);
        let e = s.insert_set(&u, &set, None, true, "op", 1).unwrap_err();
        assert_eq!(crate::exit::status_of(&e), Status::Identity);
    }

    #[test]
    fn spend_is_single_use_and_new_set_ends_old() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let (_, set) = new_set(Via::Sms, 3);
        let first = s.insert_set(&u, &set, None, true, "op", 1).unwrap();
        let v = s.verify_view(&user("a"), 2).unwrap();
        let (code_id, _) = v.sets[0].codes[0];
        assert_eq!(
            s.spend(&u, first.set_id, code_id, "op", 2).unwrap(),
            Spend::Accepted { remaining: 2 }
        );
        assert_eq!(
            s.spend(&u, first.set_id, code_id, "op", 2).unwrap(),
            Spend::Stale
        );
        let (_, set2) = new_set(Via::Sms, 3);
        let second = s.insert_set(&u, &set2, None, true, "op", 3).unwrap();
        assert_eq!(second.ended, vec![first.set_id]);
        let (other, _) = v.sets[0].codes[1];
        assert_eq!(
            s.spend(&u, first.set_id, other, "op", 4).unwrap(),
            Spend::Stale
        );
        assert!(matches!(
            s.verify_chain().unwrap(),
            ChainCheck::Intact { .. }
        ));
    }

    #[test]
    fn pending_set_is_not_live_until_activated() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let (_, set) = new_set(Via::Sms, 2);
        let old = s.insert_set(&u, &set, None, true, "op", 1).unwrap();
        let (_, set2) = new_set(Via::Sms, 2);
        let pending = s.insert_set(&u, &set2, None, false, "op", 2).unwrap();
        let ids: Vec<i64> = s
            .verify_view(&user("a"), 2)
            .unwrap()
            .sets
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, vec![old.set_id]);
        s.fail_set(&u, pending.set_id, "gateway down", "op", 3)
            .unwrap();
        assert!(
            s.activate_set(&u, pending.set_id, false, 100, "op", 3)
                .is_err()
        );
        let ids: Vec<i64> = s
            .verify_view(&user("a"), 3)
            .unwrap()
            .sets
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, vec![old.set_id]);
    }

    #[test]
    fn lockout_at_threshold_and_unlock() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        for i in 1..3 {
            let r = s.reject(&u, "wrong", 3, "op", 1).unwrap();
            assert_eq!(r.attempts, i);
            assert!(!r.locked_now);
        }
        assert!(s.reject(&u, "wrong", 3, "op", 1).unwrap().locked_now);
        assert!(s.require_user(&user("a")).unwrap().locked_at.is_some());
        assert!(s.unlock(&user("a"), "op", 2, false).unwrap());
        let u = s.require_user(&user("a")).unwrap();
        assert_eq!((u.failed_attempts, u.locked_at), (0, None));
    }

    #[test]
    fn listing_merges_users_devices_and_sets() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        for n in ["a", "b", "c"] {
            s.enroll_device(&user(n), &mobile(), Some(&chk()), "op", 1)
                .unwrap();
        }
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let b = s.require_user(&user("b")).unwrap();
        let (_, set) = new_set(Via::Sms, 4);
        s.insert_set(&b, &set, None, true, "op", 1).unwrap();
        let mut seen = Vec::new();
        s.for_each_user(None, |u| {
            seen.push((u.user.name.clone(), u.devices.len(), u.codes_remaining(5)));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![("a".into(), 2, 0), ("b".into(), 1, 4), ("c".into(), 1, 0)]
        );
    }

    #[test]
    fn tampered_audit_event_is_found() {
        let mut s = SqliteStore::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        s.enroll_device(&user("b"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        s.conn
            .execute("UPDATE audit SET operator = 'mallory' WHERE id = 1", [])
            .unwrap();
        assert!(matches!(
            s.verify_chain().unwrap(),
            ChainCheck::Broken { id: 1, .. }
        ));
    }
}
