//! The one store interface. All SQL lives below this module, behind typed
//! methods; nothing outside it knows which database holds the store. Two
//! backends implement the same methods: SQLite (a path or `sqlite://PATH`,
//! the default) and PostgreSQL (`postgres://...`, for helpdesks whose
//! workstations share one store). Every write runs in one transaction that
//! also appends its audit event. The store never prints.

pub mod sqlite;

use crate::audit::{ChainCheck, Event};
use crate::codes::{CodeHash, CodeSpec, HashParams};
use crate::model::{Device, DeviceKind, IdentityMethod, Phone, Username, Via};
use anyhow::Result;
use std::path::Path;

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
}

/// What `enroll_device` did.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub user: String,
    pub device: Device,
    pub primary: bool,
    pub new_user: bool,
}

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
    pub ended: Vec<i64>,
}

/// An active set that a typed code may belong to.
#[derive(Debug, Clone)]
pub struct CandidateSet {
    pub id: i64,
    pub spec: CodeSpec,
    pub salt: Vec<u8>,
    pub params: HashParams,
    /// (code id, hash) for every code with a use left.
    pub codes: Vec<(i64, CodeHash)>,
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
}

/// An open store, on one of the backends.
pub enum Store {
    Sqlite(SqliteStore),
}

/// Calls the same method on whichever backend is open.
macro_rules! dispatch {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$method($($arg),*),
        }
    };
}

impl Store {
    /// Opens (creating on first use) and migrates the store named by
    /// `locator`: a file path or `sqlite://PATH`.
    pub fn open(locator: &Path) -> Result<Store> {
        let text = locator.to_string_lossy();
        let path = match text.strip_prefix("sqlite://") {
            Some(p) => Path::new(p).to_path_buf(),
            None => locator.to_path_buf(),
        };
        Ok(Store::Sqlite(SqliteStore::open(&path)?))
    }

    /// A private in-memory SQLite store, for unit tests.
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store::Sqlite(SqliteStore::open_in_memory()?))
    }

    pub fn find_user(&self, name: &Username) -> Result<Option<UserRow>> {
        dispatch!(self, find_user(name))
    }

    /// The user, or exit 4.
    pub fn require_user(&self, name: &Username) -> Result<UserRow> {
        dispatch!(self, require_user(name))
    }

    /// A user's devices, primary first.
    pub fn devices(&self, user_id: i64) -> Result<Vec<Device>> {
        dispatch!(self, devices(user_id))
    }

    /// Adds a device; a user who already exists needs a passed check.
    pub fn enroll_device(
        &mut self,
        user: &Username,
        new: &NewDevice,
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Enrolled> {
        dispatch!(self, enroll_device(user, new, check, operator, now))
    }

    /// Adds many devices in one transaction: all or none.
    pub fn enroll_many(
        &mut self,
        rows: &[(Username, NewDevice)],
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<Enrolled>> {
        dispatch!(self, enroll_many(rows, check, operator, now))
    }

    /// Removes one device; returns the new primary, if any.
    pub fn remove_device(
        &mut self,
        user: &Username,
        device_id: i64,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<Option<Device>> {
        dispatch!(self, remove_device(user, device_id, reason, operator, now))
    }

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
        dispatch!(
            self,
            record_identity_failure(user, outcome, method, ticket, operator, now)
        )
    }

    /// Stores a new set (pending unless `activate`), with its passed check.
    pub fn insert_set(
        &mut self,
        user: &UserRow,
        new: &NewSet,
        check: Option<&NewCheck>,
        activate: bool,
        operator: &str,
        now: i64,
    ) -> Result<Issued> {
        dispatch!(self, insert_set(user, new, check, activate, operator, now))
    }

    /// Activates a delivered pending set, ending the user's others (rule 6).
    pub fn activate_set(
        &mut self,
        user: &UserRow,
        set_id: i64,
        preserve_existing: bool,
        cap: u32,
        operator: &str,
        now: i64,
    ) -> Result<Vec<i64>> {
        dispatch!(
            self,
            activate_set(user, set_id, preserve_existing, cap, operator, now)
        )
    }

    /// Marks a pending set failed; the old codes stay.
    pub fn fail_set(
        &mut self,
        user: &UserRow,
        set_id: i64,
        reason: &str,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        dispatch!(self, fail_set(user, set_id, reason, operator, now))
    }

    /// The user's lock state and the sets a code could belong to at `now`.
    pub fn verify_view(&self, user: &Username, now: i64) -> Result<VerifyView> {
        dispatch!(self, verify_view(user, now))
    }

    /// Spends one use of a matched code, re-checked under the write lock.
    pub fn spend(
        &mut self,
        user: &UserRow,
        set_id: i64,
        code_id: i64,
        operator: &str,
        now: i64,
    ) -> Result<Spend> {
        dispatch!(self, spend(user, set_id, code_id, operator, now))
    }

    /// Records a rejected code; locks at `threshold` consecutive rejections.
    pub fn reject(
        &mut self,
        user: &UserRow,
        reason: &str,
        threshold: u32,
        operator: &str,
        now: i64,
    ) -> Result<Rejection> {
        dispatch!(self, reject(user, reason, threshold, operator, now))
    }

    /// Clears a lockout; returns whether the user was locked.
    pub fn unlock(
        &mut self,
        user: &Username,
        operator: &str,
        now: i64,
        auto: bool,
    ) -> Result<bool> {
        dispatch!(self, unlock(user, operator, now, auto))
    }

    /// Ends every live set of the user; returns their ids.
    pub fn revoke_all(
        &mut self,
        user: &Username,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<i64>> {
        dispatch!(self, revoke_all(user, reason, operator, now))
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
        dispatch!(self, revoke_set(user, set_id, reason, operator, now))
    }

    /// Appends an event that goes with no other change.
    pub fn record_event(
        &mut self,
        operator: &str,
        action: &str,
        user: Option<&str>,
        details: serde_json::Value,
        now: i64,
    ) -> Result<()> {
        dispatch!(self, record_event(operator, action, user, details, now))
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
        dispatch!(self, user_summary(name))
    }

    /// Streams audit events in order.
    pub fn for_each_event(
        &self,
        filter: &EventFilter,
        f: impl FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        dispatch!(self, for_each_event(filter, f))
    }

    /// Recomputes the whole audit chain.
    pub fn verify_chain(&self) -> Result<ChainCheck> {
        dispatch!(self, verify_chain())
    }

    /// The backend's own consistency check ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String> {
        dispatch!(self, integrity_check())
    }
}
