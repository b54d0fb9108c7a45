//! The one store interface. All SQL lives below this module, behind typed
//! methods; nothing outside it knows which database holds the store. Two
//! backends implement the same methods: SQLite (a path or `sqlite://PATH`,
//! the default) and PostgreSQL (`postgres://...`, for helpdesks whose
//! workstations share one store). Every write runs in one transaction that
//! also appends its audit event. The store never prints.
//!
//! Each operation is written once, in `ops` (SQL with `$N` placeholders,
//! run through the executor of `exec`); the backend modules keep what
//! differs between the databases: opening and migrating, how a write
//! transaction takes the write lock, error mapping, the streamed listing,
//! and the integrity check.
//!
//! Where things live: `rows` (the row types), `locator` (which backend a
//! locator names, and its redacted form), `copy` (SQLite to PostgreSQL),
//! `sqlite` and `postgres` (the backends; `postgres/conn.rs` and
//! `postgres/tls.rs` for connecting), `safeguards` (contacts, challenges,
//! notices). The domain checks the operations apply are in `crate::rules`.

pub mod approvals;
mod copy;
mod exec;
mod locator;
mod ops;
pub mod postgres;
mod rows;
pub mod safeguards;
pub mod sqlite;
pub mod upgrade;

use crate::audit::{AuditEvent, ChainCheck, Event};
use crate::codes::{Alphabet, CodeHash, CodeSpec};
use crate::exit::{Status, fail};
use crate::model::{Device, Username};
use anyhow::Result;
use exec::Exec;
use std::path::Path;

pub use self::copy::{Migrated, RowCounts, StoreRows, migrate_sqlite_to_postgres};
pub(crate) use self::locator::conninfo_refused;
pub use self::locator::{Locator, redact_locator};
pub use self::postgres::{ConnectRetry, PgStore};
pub use self::rows::*;
pub use sqlite::{BUSY_TIMEOUT, SCHEMA_VERSION, SqliteStore};

/// An open store, on one of the backends.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever backend is open.
macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$method($($arg),*),
            Store::Postgres(s) => s.$method($($arg),*),
        }
    };
}

impl Store {
    /// Opens (creating on first use) and migrates the store named by
    /// `locator`: a file path or `sqlite://PATH` (SQLite), or a
    /// `postgres://` / `postgresql://` URL (PostgreSQL).
    pub fn open(locator: &Path) -> Result<Store> {
        Store::open_with(locator, None, None)
    }

    /// [`Store::open`], trusting files writable by `group` (the
    /// configuration's `store.group`) and with the PostgreSQL password read
    /// from `store.password_file`, if any.
    pub fn open_with(
        locator: &Path,
        group: Option<&crate::trust::Group>,
        password: Option<&crate::config::Secret>,
    ) -> Result<Store> {
        Ok(match Locator::parse(locator) {
            Locator::Sqlite(path) => Store::Sqlite(SqliteStore::open_with(&path, group)?),
            Locator::Postgres(url) => {
                Store::Postgres(PgStore::open_with(&url, password.map(|p| p.0.as_str()))?)
            }
            Locator::Conninfo => return Err(conninfo_refused("the store")),
        })
    }

    /// [`Store::open_with`] for a command that only reads the store (or,
    /// like `verify`, only changes what is in it): see [`Store::require_existing`].
    pub fn open_existing(
        locator: &Path,
        group: Option<&crate::trust::Group>,
        password: Option<&crate::config::Secret>,
    ) -> Result<Store> {
        Store::require_existing(locator)?;
        Store::open_with(locator, group, password)
    }

    /// A SQLite store that does not exist is refused (exit 7, naming the
    /// path) rather than created empty: a typo in `--db` must not read as
    /// an empty store ("intact: 0 events"). Commands that write create it.
    pub fn require_existing(locator: &Path) -> Result<()> {
        if let Locator::Sqlite(path) = Locator::parse(locator)
            && std::fs::symlink_metadata(&path)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(fail(
                Status::Store,
                format!(
                    "no store at {}: the file does not exist (check --db or CODEDESK_DB); nothing was created",
                    path.display()
                ),
            ));
        }
        Ok(())
    }

    /// [`Store::open`] for the login path (`verify`): a PostgreSQL store
    /// that turns connections away for the moment is retried within
    /// `retry` (see [`PgStore::open_retrying`]); SQLite waits on its own
    /// busy timeout as ever.
    pub fn open_retrying(
        locator: &Path,
        group: Option<&crate::trust::Group>,
        password: Option<&crate::config::Secret>,
        retry: &mut ConnectRetry,
    ) -> Result<Store> {
        let mut store = match Locator::parse(locator) {
            Locator::Postgres(url) => Store::Postgres(PgStore::open_retrying(
                &url,
                password.map(|p| p.0.as_str()),
                Some(retry),
            )?),
            _ => Store::open_with(locator, group, password)?,
        };
        // Verify's writes are fine on a compatible schema (`upgrade`).
        store.standing_mut().login = true;
        Ok(store)
    }

    /// True for a store on a server (PostgreSQL), whose connections are
    /// a shared, limited resource.
    pub fn is_server(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// A private in-memory SQLite store, for unit tests.
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store::Sqlite(SqliteStore::open_in_memory()?))
    }

    /// Runs `f` on the open connection (reads).
    fn read<T>(&self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        dispatch!(self, read(f))
    }

    /// Runs `f` in one write transaction, under the backend's write lock;
    /// rolls back if it fails.
    fn write<T>(&mut self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        crate::audit_syslog::forwarding(|| dispatch!(self, write(f)))
    }

    /// A write of `verify` (a rejection, an automatic unlock) in one
    /// transaction under the write lock: `f` is told whether the store is
    /// PostgreSQL, where it goes through the server's functions that a
    /// verifier's role may call. Its events go to syslog like those of
    /// [`Store::write`].
    fn verifier_write<T>(&mut self, f: impl FnOnce(&mut dyn Exec, bool) -> Result<T>) -> Result<T> {
        match self {
            Store::Postgres(pg) => crate::audit_syslog::forwarding(|| pg.write(|db| f(db, true))),
            Store::Sqlite(_) => self.write(|db| f(db, false)),
        }
    }

    /// Calls `f` for every user in id order (or the one named), streaming,
    /// with a fixed number of queries.
    pub fn for_each_user(
        &self,
        only: Option<i64>,
        f: impl FnMut(UserSummary) -> Result<()>,
    ) -> Result<()> {
        dispatch!(self, for_each_user(only, f))
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

    /// Streams audit events in order.
    pub fn for_each_event(
        &self,
        filter: &EventFilter,
        f: impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        ops::for_each_event(self, filter, f)
    }

    /// Recomputes the whole audit chain.
    pub fn verify_chain(&self) -> Result<ChainCheck> {
        ops::verify_chain(self)
    }

    /// Replays the trail against the tables (`trail`): the first
    /// disagreement, if any.
    pub fn trail_disagreement(&self) -> Result<Option<String>> {
        let pg = matches!(self, Store::Postgres(_));
        let digests = self.digests();
        dispatch!(
            self,
            snapshot(|db| ops::trail_disagreement(db, pg, digests))
        )
    }

    /// Whether the store computes set digests and notice references:
    /// SQLite always (codedesk does); PostgreSQL from schema 8, whose
    /// functions do. Known from the schema level read at open, never from
    /// whether the functions are there: on a store at 8 or later one
    /// dropped is an error, not a check skipped.
    pub(crate) fn digests(&self) -> bool {
        match self {
            Store::Sqlite(_) => true,
            Store::Postgres(p) => p.standing.levels.applied >= upgrade::DIGESTS_FROM,
        }
    }

    /// The backend's own consistency check ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String> {
        dispatch!(self, integrity_check())
    }
}

impl exec::Stream for Store {
    fn stream(
        &self,
        sql: &str,
        params: &[&dyn exec::Param],
        f: &mut dyn FnMut(&exec::Row) -> Result<bool>,
    ) -> Result<()> {
        dispatch!(self, stream(sql, params, f))
    }
}

// ------------------------------------------------------------------------
// What the operations share besides their SQL (`ops`): the audit details,
// the decisions, the errors, merging the listing's streams.

/// Exit 4 for a user the store does not hold.
pub(crate) fn no_such_user(name: &str) -> anyhow::Error {
    fail(Status::NotFound, format!("no such user: {name}"))
}

/// Exit 7 for a writer that waited longer than [`BUSY_TIMEOUT`].
pub(crate) fn busy() -> anyhow::Error {
    fail(Status::Store, BUSY)
}

const BUSY: &str = "the store is busy: another codedesk held it longer than the busy timeout";

/// The start of the message of a server connection lost in use (closed,
/// or ended by the server shutting down or restarting).
pub(crate) const LOST: &str = "the connection to the PostgreSQL store was lost";

/// Whether `e` is a server connection lost in use ([`LOST`]). A read may
/// be made again on a new connection; a write may not be assumed undone
/// (its commit may have reached the server).
pub fn is_lost(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::exit::Failure>()
            .is_some_and(|f| f.message.starts_with(LOST))
    })
}

/// Whether `e` is [`busy`]: a write that waited too long for the write
/// lock, and rolled back whole.
pub fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<crate::exit::Failure>()
            .is_some_and(|f| f.message == BUSY)
    })
}

/// Exit 7 for a store written by a newer codedesk.
pub(crate) fn newer_schema(version: i64, known: i64) -> anyhow::Error {
    fail(
        Status::Store,
        format!(
            "the store's schema version {version} is newer than this codedesk understands ({known}); upgrade codedesk"
        ),
    )
}

/// Exit 4 unless the set is pending.
pub(crate) fn require_pending(state: Option<&str>, set_id: i64, user: &UserRow) -> Result<()> {
    if state == Some("replaced") {
        return Err(fail(
            Status::NotFound,
            format!(
                "set {set_id} of {} was replaced by a newer set before it went live: the codes just delivered do not work; the newer set stands",
                user.name
            ),
        ));
    }
    if state != Some("pending") {
        return Err(fail(
            Status::NotFound,
            format!(
                "set {set_id} of {} is not waiting to be activated",
                user.name
            ),
        ));
    }
    Ok(())
}

/// Exit 2 when `--preserve-existing` would leave more live uses than `cap`.
pub(crate) fn require_within_cap(user: &UserRow, live: i64, cap: u32) -> Result<()> {
    if live > i64::from(cap) {
        return Err(fail(
            Status::Usage,
            format!(
                "{} would hold {live} live code uses, above the cap of {cap}; revoke a set first",
                user.name
            ),
        ));
    }
    Ok(())
}

/// Exit 4 for a device the user does not have.
pub(crate) fn no_such_device(user: &str, device_id: i64) -> anyhow::Error {
    fail(
        Status::NotFound,
        format!("user {user} has no device {device_id}"),
    )
}

/// Exit 4 unless `set_id` is among the user's active sets.
pub(crate) fn require_active(active: &[i64], set_id: i64, user: &str) -> Result<()> {
    if !active.contains(&set_id) {
        return Err(fail(
            Status::NotFound,
            format!("user {user} has no active set {set_id}"),
        ));
    }
    Ok(())
}

/// The reason recorded when an operator revokes without giving one.
pub(crate) const DEFAULT_REVOKE_REASON: &str = "revoked by operator";

/// A code shape as stored (`alphabet`, `length`).
pub(crate) fn spec_from_db(alphabet: &str, length: i64) -> CodeSpec {
    CodeSpec {
        alphabet: if alphabet == "digits" {
            Alphabet::Digits
        } else {
            Alphabet::Base32
        },
        length: usize::try_from(length).unwrap_or(0),
    }
}

/// Files a stored code under its candidate set; a hash of the wrong size
/// is a damaged store (exit 7).
pub(crate) fn attach_code(
    sets: &mut [CandidateSet],
    set_id: i64,
    code_id: i64,
    blob: Vec<u8>,
) -> Result<()> {
    let hash: CodeHash = blob
        .try_into()
        .map_err(|_| fail(Status::Store, "the store holds a malformed code hash"))?;
    if let Some(s) = sets.iter_mut().find(|s| s.id == set_id) {
        s.codes.push((code_id, hash));
        s.live += 1;
    }
    Ok(())
}

/// An audit event as stored; details that are not JSON are shown as text.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stored_event(
    id: i64,
    at: i64,
    principal: Option<String>,
    operator: String,
    action: String,
    user: Option<String>,
    details: String,
    prev_hash: String,
    hash: String,
) -> Event {
    Event {
        id,
        at,
        principal,
        operator,
        action,
        user,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash,
        hash,
    }
}

/// The next audit event after the newest stored one (`last`: its id and
/// hash; none for an empty trail): id + 1, chained by SHA-256. Both
/// backends call this under their write lock, so the chain stays linear.
pub(crate) fn next_event(
    last: Option<(i64, String)>,
    now: i64,
    principal: &str,
    operator: &str,
    user: Option<&str>,
    event: &AuditEvent,
) -> Result<AuditRow> {
    let (last_id, prev_hash) = last.unwrap_or((0, crate::audit::GENESIS.to_string()));
    let id = last_id + 1;
    let (action, details) = event.action_and_details()?;
    let hash = crate::audit::event_hash(
        &prev_hash,
        id,
        now,
        operator,
        &action,
        user,
        &details,
        Some(principal),
    );
    Ok(AuditRow {
        id,
        at: now,
        principal: Some(principal.to_string()),
        operator: operator.to_string(),
        action,
        user: user.map(str::to_string),
        details,
        prev_hash,
        hash,
    })
}

/// Merges three streams ordered by user id (users; `(user id, device)` in
/// device order; `(user id, live set)`) into one [`UserSummary`] per user,
/// calling `f` as each is complete. Nothing is held but the current user.
pub(crate) fn merge_users(
    users: impl Iterator<Item = Result<(UserRow, bool)>>,
    devices: impl Iterator<Item = Result<(i64, Device)>>,
    sets: impl Iterator<Item = Result<(i64, SetSummary)>>,
    mut f: impl FnMut(UserSummary) -> Result<()>,
) -> Result<()> {
    let mut devices = devices.peekable();
    let mut sets = sets.peekable();
    for user in users {
        let (user, privileged) = user?;
        let devices = take_owned_by(&mut devices, user.id)?;
        let sets = take_owned_by(&mut sets, user.id)?;
        f(UserSummary {
            user,
            privileged,
            devices,
            sets,
        })?;
    }
    Ok(())
}

/// The leading items of `it` owned by `owner` (skipping any of earlier
/// owners, which have no user row).
fn take_owned_by<T>(
    it: &mut std::iter::Peekable<impl Iterator<Item = Result<(i64, T)>>>,
    owner: i64,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    loop {
        match it.peek() {
            Some(Ok((id, _))) if *id <= owner => {
                if let Some(Ok((id, item))) = it.next()
                    && id == owner
                {
                    out.push(item);
                }
            }
            Some(Err(_)) => {
                return match it.next() {
                    Some(Err(e)) => Err(e),
                    _ => Ok(out),
                };
            }
            _ => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeviceKind;

    #[test]
    fn merging_skips_orphans_and_keeps_order() {
        let user = |id: i64| UserRow {
            id,
            name: format!("u{id}"),
            created_at: 0,
            failed_attempts: 0,
            locked_at: None,
        };
        let dev = |id: i64| Device {
            id,
            kind: DeviceKind::Token,
            phone: None,
            sms: false,
            label: None,
        };
        let users = [1, 3].map(|i| Ok((user(i), i == 3))).into_iter();
        let devs = [
            (0, dev(9)),
            (1, dev(1)),
            (1, dev(2)),
            (2, dev(5)),
            (3, dev(7)),
        ]
        .map(Ok)
        .into_iter();
        let mut seen = Vec::new();
        merge_users(users, devs, std::iter::empty(), |s| {
            seen.push((
                s.user.id,
                s.privileged,
                s.devices.iter().map(|d| d.id).collect::<Vec<_>>(),
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, false, vec![1, 2]), (3, true, vec![7])]);
    }
}
