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

mod copy_safeguards;
mod exec;
mod ops;
pub mod postgres;
pub mod safeguards;
pub mod sqlite;
pub mod upgrade;

use crate::audit::{ChainCheck, Event};
use crate::codes::{Alphabet, CodeHash, CodeSpec, HashParams};
use crate::exit::{Status, fail};
use crate::model::{Device, DeviceKind, IdentityMethod, Phone, Username, Via};
use anyhow::Result;
use exec::Exec;
use std::path::Path;

pub use self::postgres::{ConnectRetry, PgStore};
pub use sqlite::{BUSY_TIMEOUT, SCHEMA_VERSION, SqliteStore};

/// A user, as stored.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub failed_attempts: i64,
    pub locked_at: Option<i64>,
}

/// A device to add.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub kind: DeviceKind,
    pub phone: Option<Phone>,
    pub sms: bool,
    pub label: Option<String>,
    pub primary: bool,
    /// What the directory said of the user and the number, when one is
    /// configured (recorded in the `device-enrolled` event).
    pub directory: Option<crate::directory::DirectoryNote>,
}

/// What `enroll_device` did.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub user: String,
    pub device: Device,
    pub primary: bool,
    pub new_user: bool,
    /// Other users with a device on the same phone number, by name (at
    /// most [`SHARED_NAMES`]).
    pub shared_with: Vec<String>,
    /// More users than [`SHARED_NAMES`] share the number.
    pub shared_with_more: bool,
    /// The directory's word on the user and the number, if configured.
    pub directory: Option<crate::directory::DirectoryNote>,
}

/// How many other users sharing a phone number are named.
pub const SHARED_NAMES: usize = 10;

/// A passed identity check, recorded with the set it gates.
#[derive(Debug, Clone)]
pub struct NewCheck {
    pub method: IdentityMethod,
    pub ticket: String,
}

/// A set of hashed codes to store.
#[derive(Debug, Clone)]
pub struct NewSet {
    pub via: Via,
    pub device_id: Option<i64>,
    pub expires_at: Option<i64>,
    pub uses: u32,
    pub spec: CodeSpec,
    pub salt: Vec<u8>,
    pub params: HashParams,
    pub hashes: Vec<CodeHash>,
    pub preserve_existing: bool,
    /// Most codes the user may hold at once with `--preserve-existing`.
    pub cap: u32,
}

/// A stored set, as `issue-codes` reports it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub set_id: i64,
    pub check_id: Option<i64>,
    /// The sets it ended; for a set left pending, those activating it now would end.
    pub ended: Vec<i64>,
}

/// An active set that a typed code may belong to.
#[derive(Debug, Clone)]
pub struct CandidateSet {
    pub id: i64,
    pub spec: CodeSpec,
    pub salt: Vec<u8>,
    pub params: HashParams,
    /// (code id, hash) for every code with a use left (on PostgreSQL the
    /// server matches codes, `codedesk_spend`, and this stays empty).
    pub codes: Vec<(i64, CodeHash)>,
    /// How many of its codes have a use left.
    pub live: i64,
}

/// What `verify` needs: the user's lock state and live sets.
#[derive(Debug, Clone)]
pub struct VerifyView {
    pub user: UserRow,
    pub sets: Vec<CandidateSet>,
    /// Uses left across the live sets.
    pub remaining: i64,
}

/// Outcome of spending a matched code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spend {
    /// Accepted; uses left across the user's live sets.
    Accepted { remaining: i64 },
    /// Spent, replaced, revoked or expired between reading and spending.
    Stale,
    /// Locked meanwhile.
    Locked,
}

/// Outcome of recording a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub attempts: i64,
    pub locked_now: bool,
    pub already_locked: bool,
}

/// A set as `list` shows it.
#[derive(Debug, Clone)]
pub struct SetSummary {
    pub id: i64,
    pub via: Via,
    pub operator: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub identity_check_id: Option<i64>,
    pub device_id: Option<i64>,
    pub remaining: i64,
}

/// A user as `list` shows them. Never a code.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub user: UserRow,
    pub devices: Vec<Device>,
    pub sets: Vec<SetSummary>,
}

impl UserSummary {
    /// Uses left in sets that have not expired at `now`.
    pub fn codes_remaining(&self, now: i64) -> i64 {
        self.sets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|e| e > now))
            .map(|s| s.remaining)
            .sum()
    }
}

/// Filters for `audit`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub user: Option<String>,
    pub since: Option<i64>,
    /// Only events after this id (`audit --follow`).
    pub after: Option<i64>,
}

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

/// Where a store locator (`--db`, `CODEDESK_DB`) points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// A SQLite file: a plain path or `sqlite://PATH`.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL: `postgres://...` or `postgresql://...`.
    Postgres(String),
    /// A libpq key=value connection string (`host=db dbname=helpdesk`),
    /// which codedesk refuses (exit 2) rather than create a SQLite file of
    /// that name; write `./host=...` for a file really called that.
    Conninfo,
}

/// The keywords a libpq key=value connection string starts with.
const CONNINFO_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "service",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
    "channel_binding",
    "gssencmode",
];

/// Whether `text` starts like `keyword =` for a libpq keyword.
fn looks_like_conninfo(text: &str) -> bool {
    let t = text.trim_start();
    let word_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let (word, rest) = t.split_at(word_end);
    CONNINFO_KEYWORDS
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
        && rest.trim_start().starts_with('=')
}

/// The refusal of a key=value connection string; it is not echoed, since
/// it may hold `password=`.
pub(crate) fn conninfo_refused(what: &str) -> anyhow::Error {
    fail(
        Status::Usage,
        format!(
            "{what} looks like a PostgreSQL key=value connection string; codedesk takes a URL: postgres://USER@HOST:PORT/DBNAME?sslmode=verify-full (the password from PGPASSWORD)"
        ),
    )
}

impl Locator {
    /// Reads a locator. URL schemes are matched ignoring case.
    pub fn parse(locator: &Path) -> Locator {
        let text = locator.to_string_lossy();
        let lower = text.get(..13).unwrap_or(&text).to_ascii_lowercase();
        for scheme in ["postgresql://", "postgres://"] {
            if lower.starts_with(scheme) {
                return Locator::Postgres(format!("{scheme}{}", &text[scheme.len()..]));
            }
        }
        match lower.starts_with("sqlite://") {
            true => Locator::Sqlite(Path::new(&text[9..]).to_path_buf()),
            false if looks_like_conninfo(&text) => Locator::Conninfo,
            false => Locator::Sqlite(locator.to_path_buf()),
        }
    }
}

/// A store locator fit to show: a PostgreSQL URL's password (in
/// `user:password@` or a `password=` parameter) becomes `***`; a path is
/// shown as it is.
pub fn redact_locator(locator: &Path) -> String {
    let text = locator.to_string_lossy();
    let url = match Locator::parse(locator) {
        Locator::Postgres(url) => url,
        Locator::Conninfo => return "(a key=value connection string, not shown)".into(),
        Locator::Sqlite(_) => return text.into_owned(),
    };
    let (scheme, rest) = url.split_at(url.find("://").map_or(0, |i| i + 3));
    // The authority ends at the first '/' or '?'; its userinfo at the last '@'.
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***{host}"),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
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
        crate::audit_syslog::begin();
        let r = dispatch!(self, write(f));
        crate::audit_syslog::end(r.is_ok());
        r
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
        dispatch!(self, snapshot(ops::trail_disagreement))
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

/// The audit events the store appends: action and details, built in one
/// place so that both backends write byte-identical events.
pub(crate) mod events {
    use crate::model::{Device, DeviceKind, IdentityMethod, Phone};
    use serde_json::{Value, json};

    pub type NewEvent = (&'static str, Value);

    #[allow(clippy::too_many_arguments)]
    pub fn device_enrolled(
        device: &Device,
        kind: DeviceKind,
        phone: Option<&Phone>,
        primary: bool,
        new_user: bool,
        check_id: Option<i64>,
        check: Option<&super::NewCheck>,
        shared_with: &[String],
    ) -> NewEvent {
        (
            "device-enrolled",
            json!({"device": device.id, "kind": kind.as_str(), "sms": device.sms,
                   "phone": phone.map(|p| p.masked()), "primary": primary,
                   "new_user": new_user, "check": check_id, "shared_with": shared_with,
                   "method": check_id.and(check.map(|c| c.method.as_str())),
                   "ticket": check_id.and(check.map(|c| c.ticket.as_str()))}),
        )
    }

    pub fn device_removed(
        device: i64,
        reason: Option<&str>,
        new_primary: Option<i64>,
        revoked_sets: &[i64],
    ) -> NewEvent {
        (
            "device-removed",
            json!({"device": device, "reason": reason, "new_primary": new_primary,
                   "revoked_sets": revoked_sets}),
        )
    }

    pub fn identity_check(
        check: i64,
        outcome: &str,
        method: Option<IdentityMethod>,
        ticket: Option<&str>,
    ) -> NewEvent {
        (
            "identity-check",
            json!({"check": check, "outcome": outcome, "method": method.map(|m| m.as_str()), "ticket": ticket}),
        )
    }

    pub fn codes_stored(
        set: i64,
        new: &super::NewSet,
        check_id: Option<i64>,
        activate: bool,
    ) -> NewEvent {
        (
            if activate {
                "codes-issued"
            } else {
                "codes-pending"
            },
            json!({"set": set, "via": new.via.as_str(), "count": new.hashes.len(),
                   "device": new.device_id, "check": check_id, "expires_at": new.expires_at,
                   "uses": new.uses, "preserve_existing": new.preserve_existing}),
        )
    }

    pub fn codes_delivered(set: i64, ended: &[i64]) -> NewEvent {
        ("codes-delivered", json!({"set": set, "ended": ended}))
    }

    pub fn delivery_failed(set: i64, reason: &str) -> NewEvent {
        ("delivery-failed", json!({"set": set, "reason": reason}))
    }

    pub fn verify_accepted(set: i64, remaining: i64, service: Option<&str>) -> NewEvent {
        (
            "verify-accepted",
            with_service(json!({"set": set, "remaining": remaining}), service),
        )
    }

    pub fn verify_rejected(reason: &str, consecutive: i64, service: Option<&str>) -> NewEvent {
        (
            "verify-rejected",
            with_service(
                json!({"reason": reason, "consecutive": consecutive}),
                service,
            ),
        )
    }

    /// A verify event's payload with the service that asked (`verify
    /// --service`, or pam_exec's `PAM_SERVICE`), when one is known.
    pub fn with_service(mut payload: Value, service: Option<&str>) -> Value {
        if let (Some(s), Some(map)) = (service, payload.as_object_mut()) {
            map.insert("service".into(), Value::from(s));
        }
        payload
    }

    pub fn lockout(consecutive: i64, threshold: u32) -> NewEvent {
        (
            "lockout",
            json!({"consecutive": consecutive, "threshold": threshold}),
        )
    }

    pub fn unlock(was_locked: bool, auto: bool) -> NewEvent {
        ("unlock", json!({"was_locked": was_locked, "auto": auto}))
    }

    pub fn revoke(sets: &[i64], reason: Option<&str>) -> NewEvent {
        ("revoke", json!({"sets": sets, "reason": reason}))
    }

    pub fn store_migrated(from: &str, counts: &super::RowCounts) -> NewEvent {
        (
            "store-migrated",
            json!({"from": from, "users": counts.users, "devices": counts.devices,
                   "identity_checks": counts.identity_checks, "sets": counts.code_sets,
                   "codes": counts.codes, "events": counts.audit}),
        )
    }
}

/// Exit 4 for a user the store does not hold.
pub(crate) fn no_such_user(name: &str) -> anyhow::Error {
    fail(Status::NotFound, format!("no such user: {name}"))
}

/// Exit 7 for a writer that waited longer than [`BUSY_TIMEOUT`].
pub(crate) fn busy() -> anyhow::Error {
    fail(Status::Store, BUSY)
}

const BUSY: &str = "the store is busy: another codedesk held it longer than the busy timeout";

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

/// The identity check that gates adding a device to `user`: none for a
/// user created in this same transaction (`created_here`), else the run's
/// attestation, else exit 3 (a new device changes where codes go).
pub(crate) fn enrolment_check<'a>(
    user: &Username,
    created_here: bool,
    check: Option<&'a NewCheck>,
) -> Result<Option<&'a NewCheck>> {
    match check {
        _ if created_here => Ok(None),
        Some(c) => Ok(Some(c)),
        None => Err(fail(
            Status::Identity,
            format!(
                "{} already exists: adding a device needs a passed identity check; nothing enrolled",
                user.as_str()
            ),
        )),
    }
}

/// Where a new device goes among the user's (lowest and highest position,
/// if any): `(primary, position)`. The first device, or one asked to be
/// primary, goes on top (rule 1).
pub(crate) fn new_device_position(
    min: Option<i64>,
    max: Option<i64>,
    primary: bool,
) -> (bool, i64) {
    let primary = primary || min.is_none();
    let position = if primary {
        min.map_or(0, |m| m - 1)
    } else {
        max.map_or(0, |m| m + 1)
    };
    (primary, position)
}

/// Exit 3: the store itself refuses helpdesk codes without a passed check.
pub(crate) fn require_check_for(via: Via, check_id: Option<i64>) -> Result<()> {
    if via == Via::Helpdesk && check_id.is_none() {
        return Err(fail(
            Status::Identity,
            "no helpdesk-path codes without a passed identity check",
        ));
    }
    Ok(())
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

/// One more rejection: `(consecutive rejections, locked by this one)`.
pub(crate) fn after_rejection(attempts: i64, locked: bool, threshold: u32) -> (i64, bool) {
    let attempts = attempts + 1;
    (attempts, !locked && attempts >= i64::from(threshold))
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
    (action, details): (&str, serde_json::Value),
) -> AuditRow {
    let (last_id, prev_hash) = last.unwrap_or((0, crate::audit::GENESIS.to_string()));
    let id = last_id + 1;
    let details = details.to_string();
    let hash = crate::audit::event_hash(
        &prev_hash,
        id,
        now,
        operator,
        action,
        user,
        &details,
        Some(principal),
    );
    AuditRow {
        id,
        at: now,
        principal: Some(principal.to_string()),
        operator: operator.to_string(),
        action: action.to_string(),
        user: user.map(str::to_string),
        details,
        prev_hash,
        hash,
    }
}

/// Merges three streams ordered by user id (users; `(user id, device)` in
/// device order; `(user id, live set)`) into one [`UserSummary`] per user,
/// calling `f` as each is complete. Nothing is held but the current user.
pub(crate) fn merge_users(
    users: impl Iterator<Item = Result<UserRow>>,
    devices: impl Iterator<Item = Result<(i64, Device)>>,
    sets: impl Iterator<Item = Result<(i64, SetSummary)>>,
    mut f: impl FnMut(UserSummary) -> Result<()>,
) -> Result<()> {
    let mut devices = devices.peekable();
    let mut sets = sets.peekable();
    for user in users {
        let user = user?;
        let devices = take_owned_by(&mut devices, user.id)?;
        let sets = take_owned_by(&mut sets, user.id)?;
        f(UserSummary {
            user,
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

// ------------------------------------------------------------ migration

/// A device row as stored, for copying a store.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub user_id: i64,
    pub position: i64,
    pub kind: String,
    pub phone: Option<String>,
    pub sms: bool,
    pub label: Option<String>,
    pub created_at: i64,
}

/// An identity check row as stored.
#[derive(Debug, Clone)]
pub struct CheckRow {
    pub id: i64,
    pub user_id: i64,
    pub operator: String,
    pub method: Option<String>,
    pub ticket: Option<String>,
    pub outcome: String,
    pub at: i64,
}

/// A code set row as stored.
#[derive(Debug, Clone)]
pub struct SetRow {
    pub id: i64,
    pub user_id: i64,
    pub via: String,
    pub device_id: Option<i64>,
    pub identity_check_id: Option<i64>,
    pub operator: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub uses: i64,
    pub alphabet: String,
    pub length: i64,
    pub salt: Vec<u8>,
    pub m_cost: i64,
    pub t_cost: i64,
    pub p_cost: i64,
    pub state: String,
    pub ended_at: Option<i64>,
    pub ended_reason: Option<String>,
}

/// A code row as stored (its hash only, never a code).
#[derive(Debug, Clone)]
pub struct CodeRow {
    pub id: i64,
    pub set_id: i64,
    pub hash: Vec<u8>,
    pub uses_left: i64,
}

/// An audit row exactly as stored (details as text, so the chain holds).
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    /// None for events written before principals were kept (schema 3).
    pub principal: Option<String>,
    pub operator: String,
    pub action: String,
    pub user: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Every row of a store, ids included: what `codedesk migrate` copies.
#[derive(Debug, Clone, Default)]
pub struct StoreRows {
    pub users: Vec<UserRow>,
    pub devices: Vec<DeviceRow>,
    pub identity_checks: Vec<CheckRow>,
    pub code_sets: Vec<SetRow>,
    pub codes: Vec<CodeRow>,
    pub audit: Vec<AuditRow>,
    /// The highest id each table has ever handed out, where the source
    /// keeps it (SQLite's `sqlite_sequence`, for AUTOINCREMENT tables).
    pub sequences: Vec<(String, i64)>,
    /// The safeguards' tables (schema 5).
    pub safeguards: copy_safeguards::SafeguardRows,
}

/// How many rows of each table a copy holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowCounts {
    pub users: usize,
    pub devices: usize,
    pub identity_checks: usize,
    pub code_sets: usize,
    pub codes: usize,
    pub audit: usize,
    pub challenges: usize,
    pub user_emails: usize,
    pub notices: usize,
}

impl StoreRows {
    /// The highest id `table` has ever used, as far as the rows tell: its
    /// rows, the source's sequence, and (devices, identity checks) the ids
    /// that sets and audit events still name. A copy must hand out ids
    /// above it, so that a removed device's id never comes back and old
    /// sets and events keep pointing at the right one.
    pub fn id_high_water(&self, table: &str) -> i64 {
        let seq = self
            .sequences
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, s)| *s);
        let named_in_audit = |key: &'static str| {
            self.audit.iter().filter_map(move |e| {
                serde_json::from_str::<serde_json::Value>(&e.details)
                    .ok()?
                    .get(key)?
                    .as_i64()
            })
        };
        let ids: Box<dyn Iterator<Item = i64> + '_> = match table {
            "users" => Box::new(self.users.iter().map(|r| r.id)),
            "devices" => Box::new(
                self.devices
                    .iter()
                    .map(|r| r.id)
                    .chain(self.code_sets.iter().filter_map(|s| s.device_id))
                    .chain(named_in_audit("device")),
            ),
            "identity_checks" => Box::new(
                self.identity_checks
                    .iter()
                    .map(|r| r.id)
                    .chain(self.code_sets.iter().filter_map(|s| s.identity_check_id))
                    .chain(named_in_audit("check")),
            ),
            "code_sets" => Box::new(self.code_sets.iter().map(|r| r.id)),
            "codes" => Box::new(self.codes.iter().map(|r| r.id)),
            _ => Box::new(std::iter::empty()),
        };
        ids.chain(seq).max().unwrap_or(0).max(0)
    }

    pub fn counts(&self) -> RowCounts {
        RowCounts {
            users: self.users.len(),
            devices: self.devices.len(),
            identity_checks: self.identity_checks.len(),
            code_sets: self.code_sets.len(),
            codes: self.codes.len(),
            audit: self.audit.len(),
            challenges: self.safeguards.challenges.len(),
            user_emails: self.safeguards.user_emails.len(),
            notices: self.safeguards.notices.len(),
        }
    }
}

/// What `migrate_sqlite_to_postgres` did.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// Where the copy is ("host H, port P, database D"; no password).
    pub target: String,
    /// Rows copied, per table (the `store-migrated` event not counted).
    pub copied: RowCounts,
    /// The copy's audit chain, checked after the commit.
    pub chain: ChainCheck,
}

/// Copies the SQLite store at `from` into the empty PostgreSQL store at
/// `to` (a URL), ids and audit chain intact, in one transaction, then
/// appends a `store-migrated` event to the copy. The source must exist and
/// its audit trail must be intact; the source's data is only read (a
/// source from an earlier codedesk is first migrated to this schema).
pub fn migrate_sqlite_to_postgres(
    from: &Path,
    to: &str,
    operator: &str,
    now: i64,
) -> Result<Migrated> {
    let source = match Locator::parse(from) {
        Locator::Sqlite(p) => p,
        Locator::Postgres(_) | Locator::Conninfo => {
            return Err(fail(
                Status::Usage,
                "--from must be a SQLite store (a path or sqlite://PATH)",
            ));
        }
    };
    // Both arguments are checked before either store is looked at.
    let url = match Locator::parse(Path::new(to)) {
        Locator::Postgres(url) => url,
        Locator::Conninfo => return Err(conninfo_refused("--to")),
        Locator::Sqlite(_) => {
            return Err(fail(
                Status::Usage,
                "--to must be a PostgreSQL URL (postgres://user@host/dbname)",
            ));
        }
    };
    if !source.is_file() {
        return Err(fail(
            Status::Store,
            format!("no SQLite store at {}", source.display()),
        ));
    }
    // A source from an earlier codedesk is first brought to this schema.
    let mut sqlite = SqliteStore::open_as(&source, None, true)?;
    if sqlite.standing.levels.applied < sqlite.standing.known {
        sqlite.apply(sqlite.standing.known, false, false, operator)?;
    }
    if let ChainCheck::Broken { why, .. } = ops::verify_chain(&sqlite)? {
        return Err(fail(
            Status::AuditAltered,
            format!(
                "the source's audit trail is altered ({why}); nothing was copied (run `codedesk audit verify` on it)"
            ),
        ));
    }
    let rows = sqlite.export_rows()?;
    let mut pg = PgStore::open(&url)?;
    let from_text = format!("sqlite:{}", source.display());
    pg.import_rows(&rows, &from_text, operator, now)?;
    let chain = ops::verify_chain(&pg)?;
    Ok(Migrated {
        target: pg.target().to_string(),
        copied: rows.counts(),
        chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_pick_the_backend() {
        let pg = |s: &str| Locator::parse(Path::new(s));
        assert_eq!(
            pg("postgres://u@h/db"),
            Locator::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            pg("PostgreSQL://u@h/db"),
            Locator::Postgres("postgresql://u@h/db".into())
        );
        assert_eq!(
            pg("sqlite:///var/x.db"),
            Locator::Sqlite("/var/x.db".into())
        );
        assert_eq!(pg("x.db"), Locator::Sqlite("x.db".into()));
        assert_eq!(
            pg("./postgres://odd"),
            Locator::Sqlite("./postgres://odd".into())
        );
        // libpq's key=value form is recognised (to be refused), whatever
        // keyword comes first; a path that merely holds '=' is a path
        for conninfo in [
            "host=db dbname=helpdesk",
            "  dbname = helpdesk user=codedesk",
            "PORT=5432",
            "password='s3 cr=t' host=db",
            "sslmode=verify-full host=db",
        ] {
            assert_eq!(pg(conninfo), Locator::Conninfo, "{conninfo}");
        }
        for path in [
            "./host=db",
            "hosts=x.db",
            "a=b.db",
            "/srv/host=db",
            "host.db",
        ] {
            assert_eq!(pg(path), Locator::Sqlite(path.into()), "{path}");
        }
    }

    #[test]
    fn passwords_in_locators_are_masked() {
        let r = |s: &str| redact_locator(Path::new(s));
        assert_eq!(
            r("postgres://alice:s3cr@t@db:5432/helpdesk"),
            "postgres://alice:***@db:5432/helpdesk"
        );
        assert_eq!(r("postgresql://alice@db/x"), "postgresql://alice@db/x");
        assert_eq!(
            r("postgres://db/x?user=a&password=pw&sslmode=disable"),
            "postgres://db/x?user=a&password=***&sslmode=disable"
        );
        assert_eq!(r("postgres://a:pw@db?x=1"), "postgres://a:***@db?x=1");
        assert_eq!(r("/home/u/a:b@c.db"), "/home/u/a:b@c.db");
        assert!(!r("host=db password=pw").contains("pw"));
    }

    #[test]
    fn new_devices_go_on_top_only_when_first_or_asked() {
        assert_eq!(new_device_position(None, None, false), (true, 0));
        assert_eq!(new_device_position(Some(-1), Some(3), false), (false, 4));
        assert_eq!(new_device_position(Some(-1), Some(3), true), (true, -2));
    }

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
        let users = [1, 3].map(|i| Ok(user(i))).into_iter();
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
                s.devices.iter().map(|d| d.id).collect::<Vec<_>>(),
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, vec![1, 2]), (3, vec![7])]);
    }
}
