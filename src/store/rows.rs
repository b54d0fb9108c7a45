//! The rows the store reads and writes, as the rest of codedesk sees them
//! (users, sets, listings) and as they are stored (for copying a store).

use crate::codes::{CodeHash, CodeSpec, HashParams};
use crate::model::{Device, DeviceKind, IdentityMethod, Phone, Via};

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
    /// A passed identity check was recorded with this enrolment (only
    /// then may the other users on the number be named).
    pub checked: bool,
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
    /// The check's id when it was recorded already: with the approval
    /// request it was made for (docs/approvals.md), so spending the
    /// request reuses that check instead of recording it a second time.
    pub recorded: Option<i64>,
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
    /// Marked privileged in the store (`codedesk privileged USER on`); a
    /// directory's `privileged_groups` are not asked here.
    pub privileged: bool,
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
