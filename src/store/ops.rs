//! The store's operations, written once for both backends: each runs its
//! SQL through an [`Exec`], the open connection or write transaction the
//! backend hands it ([`Store`](super::Store) picks which). The backends keep
//! only what differs: opening, migrating, how a write transaction begins
//! (SQLite IMMEDIATE; PostgreSQL READ COMMITTED under the advisory write
//! lock), error mapping, streaming large listings, and the integrity check.
//! Every write here runs inside that write transaction, so what it reads
//! (the user's lock, the set's state, the last audit event) cannot change
//! before it commits: a code is spent once, the audit chain stays linear.

use super::exec::{Exec, Param, Row, Stream};
use super::*;
use crate::audit::{AuditEvent, ChainWalker, Event, SetStored};
use crate::codes::HashParams;
use crate::model::{Device, DeviceKind, IdentityMethod, Phone, Username, Via};
use crate::rules::{
    self, after_rejection, enrolment_check, new_device_position, require_check_for,
};
use std::collections::HashSet;

mod audit;
pub mod directory;
mod verify;

pub(crate) use self::audit::{append_event, for_each_event, trail_disagreement, verify_chain};

// ------------------------------------------------------------ operations

/// The operations, each one read or one write transaction of whichever
/// backend is open.
impl Store {
    pub fn find_user(&self, name: &Username) -> Result<Option<UserRow>> {
        self.read(|db| find_user(db, name.as_str()))
    }

    /// The user, or exit 4.
    pub fn require_user(&self, name: &Username) -> Result<UserRow> {
        self.read(|db| require_user(db, name.as_str()))
    }

    /// A user's devices, primary first.
    pub fn devices(&self, user_id: i64) -> Result<Vec<Device>> {
        self.read(|db| devices(db, user_id))
    }

    /// The users other than `user` with a device on this phone number (at
    /// most [`SHARED_NAMES`]), and whether there are more than that.
    pub fn users_sharing_phone(
        &self,
        phone: &Phone,
        user: &Username,
    ) -> Result<(Vec<String>, bool)> {
        self.read(|db| users_sharing_phone(db, phone, user.as_str()))
    }

    /// Adds devices, creating each user on first enrolment. A user who already
    /// existed before this transaction gets a device only with a passed
    /// identity check (`check`), recorded in the same transaction: a new device
    /// changes where that user's codes go. Users the rows themselves create
    /// need none.
    pub fn enroll_many(
        &mut self,
        rows: &[(Username, NewDevice)],
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<Enrolled>> {
        self.write(|db| {
            let mut fresh = HashSet::new();
            rows.iter()
                .map(|(u, d)| enroll_in(db, u, d, check, &mut fresh, operator, now))
                .collect()
        })
    }

    /// Adds one device (see [`Self::enroll_many`]).
    pub fn enroll_device(
        &mut self,
        user: &Username,
        new: &NewDevice,
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Enrolled> {
        self.write(|db| enroll_in(db, user, new, check, &mut HashSet::new(), operator, now))
    }

    /// Removes one device and revokes the sets texted to it; the next device
    /// becomes primary. Returns the new primary, if any, and the revoked sets.
    pub fn remove_device(
        &mut self,
        user: &Username,
        device_id: i64,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<(Option<Device>, Vec<i64>)> {
        self.write(|db| {
            let u = require_user(db, user.as_str())?;
            let n = db.execute(
                "DELETE FROM devices WHERE id = $1 AND user_id = $2",
                &[&device_id, &u.id],
            )?;
            if n == 0 {
                return Err(no_such_device(&u.name, device_id));
            }
            // Codes texted to a lost or stolen phone must die with it.
            let texted: Vec<i64> = db.rows(
                "SELECT id FROM code_sets WHERE user_id = $1 AND device_id = $2
                   AND state IN ('active', 'pending') ORDER BY id",
                &[&u.id, &device_id],
                |r| r.get(0),
            )?;
            end_sets(
                db,
                &texted,
                "revoked",
                &format!("device {device_id} removed"),
                now,
            )?;
            let left = devices(db, u.id)?;
            let primary = rules::primary_device(&left).cloned();
            let event = AuditEvent::DeviceRemoved {
                device: device_id,
                reason,
                new_primary: primary.as_ref().map(|d| d.id),
                revoked_sets: &texted,
            };
            append_event(db, now, operator, Some(&u.name), event)?;
            Ok((primary, texted))
        })
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
        self.write(|db| record_check(db, user, operator, method, ticket, outcome, now))
    }

    /// Records a passed identity check (one that gates no set or device:
    /// `unlock` after a dispute); returns its id.
    pub fn record_identity_passed(
        &mut self,
        user: &UserRow,
        check: &NewCheck,
        operator: &str,
        now: i64,
    ) -> Result<i64> {
        let (method, ticket) = (Some(check.method), Some(check.ticket.as_str()));
        self.write(|db| record_check(db, user, operator, method, ticket, "passed", now))
    }

    /// Stores a new set, pending: it goes live through [`Store::activate_set`]
    /// once its codes were delivered (SMS) or shown (helpdesk). Helpdesk sets
    /// come with their passed identity check, recorded in the same transaction.
    pub fn insert_set(
        &mut self,
        user: &UserRow,
        new: &NewSet,
        check: Option<&NewCheck>,
        operator: &str,
        now: i64,
    ) -> Result<Issued> {
        self.write(|db| {
            let check_id = match check {
                // Recorded with the approval request it was made for.
                Some(NewCheck {
                    recorded: Some(id), ..
                }) => Some(*id),
                Some(c) => {
                    let (method, ticket) = (Some(c.method), Some(c.ticket.as_str()));
                    let id = record_check(db, user, operator, method, ticket, "passed", now)?;
                    Some(id)
                }
                None => None,
            };
            require_check_for(new.via, check_id)?;
            let uses = i64::from(new.uses);
            let set_id = db.insert(
                "INSERT INTO code_sets (user_id, via, device_id, identity_check_id, operator,
                    created_at, expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'pending')
                 RETURNING id",
                &[
                    &user.id,
                    &new.via.as_str(),
                    &new.device_id,
                    &check_id,
                    &operator,
                    &now,
                    &new.expires_at,
                    &uses,
                    &new.spec.alphabet.name(),
                    &(new.spec.length as i64),
                    &new.salt,
                    &i64::from(new.params.memory_kib),
                    &i64::from(new.params.iterations),
                    &i64::from(new.params.parallelism),
                ],
            )?;
            insert_codes(db, set_id, &new.hashes, uses)?;
            let digest = crate::trail::set_digest(
                new.spec.alphabet.name(),
                new.spec.length as i64,
                &new.salt,
                [
                    i64::from(new.params.memory_kib),
                    i64::from(new.params.iterations),
                    i64::from(new.params.parallelism),
                ],
                uses,
                new.expires_at,
                new.hashes.iter().map(|h| h.as_slice()),
            );
            let stored = SetStored {
                set: set_id,
                via: new.via.as_str(),
                count: new.hashes.len(),
                device: new.device_id,
                check: check_id,
                expires_at: new.expires_at,
                uses: new.uses,
                preserve_existing: new.preserve_existing,
                digest: Some(digest),
            };
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                AuditEvent::CodesPending(stored),
            )?;
            // Pending: what activating it now would end, to show beside its codes.
            let ended =
                rules::sets_ended_by_new_set(&sets_ended_by(db, user.id, set_id)?, new.preserve_existing);
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
        self.write(|db| {
            let ended = activate_in(db, user, set_id, preserve_existing, cap, now)?;
            let event = AuditEvent::CodesDelivered {
                set: set_id,
                ended: &ended,
            };
            append_event(db, now, operator, Some(&user.name), event)?;
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
        self.write(|db| {
            db.execute(
                "UPDATE code_sets SET state = 'failed', ended_at = $2, ended_reason = $3
                 WHERE id = $1 AND state = 'pending'",
                &[&set_id, &now, &reason],
            )?;
            let event = AuditEvent::DeliveryFailed {
                set: Some(set_id),
                challenge: None,
                reason,
            };
            append_event(db, now, operator, Some(&user.name), event)
        })
    }

    /// Ends every live set of the user; returns their ids.
    pub fn revoke_all(
        &mut self,
        user: &Username,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<i64>> {
        self.write(|db| {
            let u = require_user(db, user.as_str())?;
            let ids = active_set_ids(db, u.id)?;
            revoke_in(db, &u.name, &ids, reason, operator, now)?;
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
        self.write(|db| {
            let u = require_user(db, user.as_str())?;
            require_active(&active_set_ids(db, u.id)?, set_id, &u.name)?;
            revoke_in(db, &u.name, &[set_id], reason, operator, now)
        })
    }
}

// ------------------------------------------------------------------ rows

pub(crate) fn user_row(r: &Row) -> Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: r.get(2)?,
        failed_attempts: r.get(3)?,
        locked_at: r.get(4)?,
    })
}

/// A device from the columns `id, kind, phone, sms, label` starting at `at`.
fn device_row(r: &Row, at: usize) -> Result<Device> {
    let kind: String = r.get(at + 1)?;
    Ok(Device {
        id: r.get(at)?,
        kind: DeviceKind::from_db(&kind).unwrap_or(DeviceKind::Token),
        phone: r.get::<Option<String>>(at + 2)?.map(Phone::from_db),
        sms: r.get(at + 3)?,
        label: r.get(at + 4)?,
    })
}

/// An Argon2id parameter as stored (an integer) back into its `u32`.
fn param(r: &Row, i: usize) -> Result<u32> {
    u32::try_from(r.get::<i64>(i)?)
        .map_err(|_| fail(Status::Store, "the store holds a malformed hash parameter"))
}

// --------------------------------------------------------------- listing

/// The three queries `list` merges, each ordered by user id and taking one
/// parameter (the user's id, or NULL for every user): users; `(user id,
/// device)`; `(user id, live set)`. One user is selected by an equality,
/// so that it is an index lookup.
pub(crate) fn listing_queries(only: bool) -> [String; 3] {
    let (uw, dw, sw) = match only {
        true => ("WHERE id = $1", "WHERE user_id = $1", "AND s.user_id = $1"),
        false => (
            "WHERE CAST($1 AS BIGINT) IS NULL",
            "WHERE CAST($1 AS BIGINT) IS NULL",
            "AND CAST($1 AS BIGINT) IS NULL",
        ),
    };
    [
        format!(
            "SELECT id, name, created_at, failed_attempts, locked_at,
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM privileged_users p
                      WHERE p.user_id = users.id)
             FROM users {uw} ORDER BY id"
        ),
        format!(
            "SELECT user_id, id, kind, phone, sms, label FROM devices {dw}
             ORDER BY user_id, position, id"
        ),
        format!(
            "SELECT s.user_id, s.id, s.via, s.operator, s.created_at, s.expires_at,
                    s.identity_check_id, s.device_id,
                    (SELECT CAST(COALESCE(SUM(uses_left), 0) AS BIGINT) FROM codes c
                      WHERE c.set_id = s.id)
             FROM code_sets s WHERE s.state = 'active' {sw}
             ORDER BY s.user_id, s.id"
        ),
    ]
}

/// A row of the first listing query: the user, and whether the store marks
/// them privileged (`codedesk privileged`).
pub(crate) fn listed_user(r: &Row) -> Result<(UserRow, bool)> {
    Ok((user_row(r)?, r.get::<i64>(5)? > 0))
}

/// A row of the second listing query.
pub(crate) fn owned_device(r: &Row) -> Result<(i64, Device)> {
    Ok((r.get(0)?, device_row(r, 1)?))
}

/// A row of the third listing query.
pub(crate) fn owned_set(r: &Row) -> Result<(i64, SetSummary)> {
    Ok((
        r.get(0)?,
        SetSummary {
            id: r.get(1)?,
            via: Via::from_db(&r.get::<String>(2)?),
            operator: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            identity_check_id: r.get(6)?,
            device_id: r.get(7)?,
            remaining: r.get(8)?,
        },
    ))
}

// ----------------------------------------------------------------- users

fn find_user(db: &mut dyn Exec, name: &str) -> Result<Option<UserRow>> {
    db.row(
        "SELECT id, name, created_at, failed_attempts, locked_at FROM users WHERE name = $1",
        &[&name],
        user_row,
    )
}

/// The user, or exit 4.
pub(crate) fn require_user(db: &mut dyn Exec, name: &str) -> Result<UserRow> {
    find_user(db, name)?.ok_or_else(|| no_such_user(name))
}

/// A user's devices, primary first.
fn devices(db: &mut dyn Exec, user_id: i64) -> Result<Vec<Device>> {
    db.rows(
        "SELECT id, kind, phone, sms, label FROM devices WHERE user_id = $1 ORDER BY position, id",
        &[&user_id],
        |r| device_row(r, 0),
    )
}

// --------------------------------------------------------------- devices

/// The users other than `user` with a device on this phone number, by
/// name, at most [`SHARED_NAMES`] (the earliest enrolled; found through
/// `devices_by_phone`), and whether there are more than that: one more is
/// read to tell.
fn users_sharing_phone(
    db: &mut dyn Exec,
    phone: &Phone,
    user: &str,
) -> Result<(Vec<String>, bool)> {
    let mut names: Vec<String> = db.rows(
        &format!(
            "SELECT u.name FROM users u
             JOIN (SELECT DISTINCT user_id FROM devices WHERE phone = $1) d ON d.user_id = u.id
             WHERE u.name <> $2 ORDER BY u.id LIMIT {}",
            SHARED_NAMES + 1
        ),
        &[&phone.as_str(), &user],
        |r| r.get(0),
    )?;
    let more = names.len() > SHARED_NAMES;
    names.truncate(SHARED_NAMES);
    // The earliest users, named in byte order: the same on both backends,
    // whatever collation a PostgreSQL database sorts text by.
    names.sort();
    Ok((names, more))
}

/// `fresh` holds the users this transaction created, who need no check.
#[allow(clippy::too_many_arguments)]
fn enroll_in(
    db: &mut dyn Exec,
    user: &Username,
    new: &NewDevice,
    check: Option<&NewCheck>,
    fresh: &mut HashSet<String>,
    operator: &str,
    now: i64,
) -> Result<Enrolled> {
    let (uid, new_user) = match find_user(db, user.as_str())? {
        Some(u) => (u.id, false),
        None => {
            let id = db.insert(
                "INSERT INTO users (name, created_at) VALUES ($1, $2) RETURNING id",
                &[&user.as_str(), &now],
            )?;
            fresh.insert(user.as_str().to_string());
            (id, true)
        }
    };
    // A number the directory does not have for the user needs the check
    // even for a user created here.
    let off_file = new
        .directory
        .is_some_and(|d| d.phone_on_file == Some(false));
    let check_id = match enrolment_check(user, fresh.contains(user.as_str()) && !off_file, check)? {
        // Recorded with the approval request it was made for.
        Some(NewCheck {
            recorded: Some(id), ..
        }) => Some(*id),
        Some(c) => Some(insert_check(
            db,
            uid,
            operator,
            Some(c.method),
            Some(&c.ticket),
            "passed",
            now,
        )?),
        None => None,
    };
    let (min, max) = db.one(
        "SELECT MIN(position), MAX(position) FROM devices WHERE user_id = $1",
        &[&uid],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (primary, position) = new_device_position(min, max, new.primary);
    let id = db.insert(
        "INSERT INTO devices (user_id, position, kind, phone, sms, label, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &uid,
            &position,
            &new.kind.as_str(),
            &new.phone.as_ref().map(|p| p.as_str()),
            &new.sms,
            &new.label,
            &now,
        ],
    )?;
    let device = Device {
        id,
        kind: new.kind,
        phone: new.phone.clone(),
        sms: new.sms,
        label: new.label.clone(),
    };
    let (shared_with, shared_with_more) = match &new.phone {
        Some(p) => users_sharing_phone(db, p, user.as_str())?,
        None => (Vec::new(), false),
    };
    let event = AuditEvent::DeviceEnrolled {
        device: device.id,
        kind: new.kind.as_str(),
        sms: device.sms,
        phone: new.phone.as_ref().map(|p| p.masked()),
        primary,
        new_user,
        check: check_id,
        shared_with: &shared_with,
        method: check_id.and(check.map(|c| c.method.as_str())),
        ticket: check_id.and(check.map(|c| c.ticket.as_str())),
        directory: new.directory,
    };
    append_event(db, now, operator, Some(user.as_str()), event)?;
    Ok(Enrolled {
        user: user.as_str().to_string(),
        device,
        primary,
        new_user,
        shared_with,
        shared_with_more,
        checked: check_id.is_some(),
        directory: new.directory,
    })
}

// ---------------------------------------------------------- identity gate

/// Records an identity check and its `identity-check` event.
fn record_check(
    db: &mut dyn Exec,
    user: &UserRow,
    operator: &str,
    method: Option<IdentityMethod>,
    ticket: Option<&str>,
    outcome: &str,
    now: i64,
) -> Result<i64> {
    record_check_for(db, user, operator, method, ticket, outcome, None, now)
}

/// [`record_check`], for the approval request `request` when it was made
/// for one (its event then names the request).
#[allow(clippy::too_many_arguments)]
pub(super) fn record_check_for(
    db: &mut dyn Exec,
    user: &UserRow,
    operator: &str,
    method: Option<IdentityMethod>,
    ticket: Option<&str>,
    outcome: &str,
    request: Option<i64>,
    now: i64,
) -> Result<i64> {
    let id = insert_check(db, user.id, operator, method, ticket, outcome, now)?;
    let event = AuditEvent::IdentityCheck {
        check: Some(id),
        outcome,
        method: method.map(|m| m.as_str()),
        ticket,
        phone_on_file: None,
        request,
    };
    append_event(db, now, operator, Some(&user.name), event)?;
    Ok(id)
}

fn insert_check(
    db: &mut dyn Exec,
    user_id: i64,
    operator: &str,
    method: Option<IdentityMethod>,
    ticket: Option<&str>,
    outcome: &str,
    now: i64,
) -> Result<i64> {
    db.insert(
        "INSERT INTO identity_checks (user_id, operator, method, ticket, outcome, at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &user_id,
            &operator,
            &method.map(|m| m.as_str()),
            &ticket,
            &outcome,
            &now,
        ],
    )
}

// -------------------------------------------------------------- issuance

/// Stores a set's codes in one statement (a set holds at most
/// `MAX_CODES`, well within both backends' parameter limits), their ids
/// in the codes' order (one multi-row VALUES, inserted in the order listed).
fn insert_codes(db: &mut dyn Exec, set_id: i64, hashes: &[CodeHash], uses: i64) -> Result<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (3..hashes.len() + 3)
        .map(|i| format!("($1, ${i}, $2)"))
        .collect();
    let hashes: Vec<&[u8]> = hashes.iter().map(|h| &h[..]).collect();
    let mut params: Vec<&dyn Param> = vec![&set_id, &uses];
    params.extend(hashes.iter().map(|h| h as &dyn Param));
    db.execute(
        &format!(
            "INSERT INTO codes (set_id, hash, uses_left) VALUES {}",
            rows.join(", ")
        ),
        &params,
    )?;
    Ok(())
}

fn activate_in(
    db: &mut dyn Exec,
    user: &UserRow,
    set_id: i64,
    preserve_existing: bool,
    cap: u32,
    now: i64,
) -> Result<Vec<i64>> {
    let state: Option<String> = db.row(
        "SELECT state FROM code_sets WHERE id = $1 AND user_id = $2",
        &[&set_id, &user.id],
        |r| r.get(0),
    )?;
    require_pending(state.as_deref(), set_id, user)?;
    let ended =
        rules::sets_ended_by_new_set(&sets_ended_by(db, user.id, set_id)?, preserve_existing);
    end_sets(
        db,
        &ended,
        "replaced",
        &format!("replaced by set {set_id}"),
        now,
    )?;
    db.execute(
        "UPDATE code_sets SET state = 'active' WHERE id = $1",
        &[&set_id],
    )?;
    if preserve_existing {
        require_within_cap(user, remaining_in(db, user.id, now)?, cap)?;
    }
    Ok(ended)
}

/// The sets that activating `set_id` ends (rule 6): the user's active
/// sets, and older sets still pending, whose delivery crashed or is still
/// in flight. The newest set wins: an older set whose text message arrives
/// late never replaces it, and a pending set a crash left behind is ended
/// the next time the user gets a set.
fn sets_ended_by(db: &mut dyn Exec, user_id: i64, set_id: i64) -> Result<Vec<i64>> {
    db.rows(
        "SELECT id FROM code_sets WHERE user_id = $1
           AND (state = 'active' OR (state = 'pending' AND id < $2)) ORDER BY id",
        &[&user_id, &set_id],
        |r| r.get(0),
    )
}

fn end_sets(db: &mut dyn Exec, ids: &[i64], state: &str, reason: &str, now: i64) -> Result<()> {
    for id in ids {
        db.execute(
            "UPDATE code_sets SET state = $2, ended_at = $3, ended_reason = $4 WHERE id = $1",
            &[id, &state, &now, &reason],
        )?;
    }
    Ok(())
}

/// Uses left across the user's live sets.
fn remaining_in(db: &mut dyn Exec, user_id: i64, now: i64) -> Result<i64> {
    db.one(
        "SELECT CAST(COALESCE(SUM(c.uses_left), 0) AS BIGINT) FROM codes c
         JOIN code_sets s ON s.id = c.set_id
         WHERE s.user_id = $1 AND s.state = 'active' AND (s.expires_at IS NULL OR s.expires_at > $2)",
        &[&user_id, &now],
        |r| r.get(0),
    )
}

// ---------------------------------------------------------------- verify

// ---------------------------------------------------------------- revoke

pub(crate) fn active_set_ids(db: &mut dyn Exec, user_id: i64) -> Result<Vec<i64>> {
    db.rows(
        "SELECT id FROM code_sets WHERE user_id = $1 AND state = 'active' ORDER BY id",
        &[&user_id],
        |r| r.get(0),
    )
}

/// Ends `ids` as revoked by the operator and records it: `revoke` of all
/// of a user's sets or of one.
pub(crate) fn revoke_in(
    db: &mut dyn Exec,
    user: &str,
    ids: &[i64],
    reason: Option<&str>,
    operator: &str,
    now: i64,
) -> Result<()> {
    end_sets(
        db,
        ids,
        "revoked",
        reason.unwrap_or(DEFAULT_REVOKE_REASON),
        now,
    )?;
    let event = AuditEvent::Revoke { sets: ids, reason };
    append_event(db, now, operator, Some(user), event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::exit::Status;

    use crate::codes::TEST_PARAMS as FAST;

    fn user(s: &str) -> Username {
        Username::parse(s).unwrap()
    }

    /// An in-memory store holding user `a` with one mobile phone.
    fn store_with_a() -> (Store, UserRow) {
        let mut s = Store::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        (s, u)
    }

    fn chk() -> NewCheck {
        NewCheck {
            method: IdentityMethod::InPerson,
            ticket: "T-1".into(),
            recorded: None,
        }
    }

    #[test]
    fn existing_user_needs_a_check_for_a_new_device() {
        let mut s = Store::open_in_memory().unwrap();
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

    /// The ids of `a`'s live sets at `now`.
    fn live_set_ids(s: &Store, now: i64) -> Vec<i64> {
        let v = s.verify_view(&user("a"), now).unwrap();
        v.sets.iter().map(|s| s.id).collect()
    }

    fn mobile() -> NewDevice {
        NewDevice {
            kind: DeviceKind::Mobile,
            phone: Some(Phone::parse("+15072225999").unwrap()),
            sms: true,
            label: None,
            primary: false,
            directory: None,
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

    /// Stores a set and activates it at once, as delivery would.
    fn insert_live(s: &mut Store, u: &UserRow, set: &NewSet, now: i64) -> Result<Issued> {
        let mut issued = s.insert_set(u, set, None, "op", now)?;
        issued.ended =
            s.activate_set(u, issued.set_id, set.preserve_existing, set.cap, "op", now)?;
        Ok(issued)
    }

    #[test]
    fn first_device_is_primary_and_primary_flag_moves_to_top() {
        let mut s = Store::open_in_memory().unwrap();
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
        let (mut s, u) = store_with_a();
        let (_, set) = new_set(Via::Helpdesk, 2);
        let e = insert_live(&mut s, &u, &set, 1).unwrap_err();
        assert_eq!(crate::exit::status_of(&e), Status::Identity);
    }

    #[test]
    fn a_sets_codes_are_stored_in_their_order() {
        let (mut s, u) = store_with_a();
        let (_, set) = new_set(Via::Sms, 12);
        insert_live(&mut s, &u, &set, 1).unwrap();
        let v = s.verify_view(&user("a"), 2).unwrap();
        let stored: Vec<CodeHash> = v.sets[0].codes.iter().map(|(_, h)| *h).collect();
        assert_eq!(stored, set.hashes);
        assert_eq!(v.remaining, 12);
    }

    #[test]
    fn spend_is_single_use_and_new_set_ends_old() {
        let (mut s, u) = store_with_a();
        let (_, set) = new_set(Via::Sms, 3);
        let first = insert_live(&mut s, &u, &set, 1).unwrap();
        let v = s.verify_view(&user("a"), 2).unwrap();
        let (code_id, _) = v.sets[0].codes[0];
        assert_eq!(
            s.spend(&u, first.set_id, code_id, "op", None, 2).unwrap(),
            Spend::Accepted { remaining: 2 }
        );
        assert_eq!(
            s.spend(&u, first.set_id, code_id, "op", None, 2).unwrap(),
            Spend::Stale
        );
        let (_, set2) = new_set(Via::Sms, 3);
        let second = insert_live(&mut s, &u, &set2, 3).unwrap();
        assert_eq!(second.ended, vec![first.set_id]);
        let (other, _) = v.sets[0].codes[1];
        assert_eq!(
            s.spend(&u, first.set_id, other, "op", None, 4).unwrap(),
            Spend::Stale
        );
        assert!(matches!(
            s.verify_chain().unwrap(),
            ChainCheck::Intact { .. }
        ));
    }

    #[test]
    fn pending_set_is_not_live_until_activated() {
        let (mut s, u) = store_with_a();
        let (_, set) = new_set(Via::Sms, 2);
        let old = insert_live(&mut s, &u, &set, 1).unwrap();
        let (_, set2) = new_set(Via::Sms, 2);
        let pending = s.insert_set(&u, &set2, None, "op", 2).unwrap();
        let ids = live_set_ids(&s, 2);
        assert_eq!(ids, vec![old.set_id]);
        s.fail_set(&u, pending.set_id, "gateway down", "op", 3)
            .unwrap();
        assert!(
            s.activate_set(&u, pending.set_id, false, 100, "op", 3)
                .is_err()
        );
        let ids = live_set_ids(&s, 3);
        assert_eq!(ids, vec![old.set_id]);
    }

    #[test]
    fn lockout_at_threshold_and_unlock() {
        let (mut s, u) = store_with_a();
        for i in 1..3 {
            let r = s.reject(&u, "wrong", 3, "op", None, 1).unwrap();
            assert_eq!(r.attempts, i);
            assert!(!r.locked_now);
        }
        assert!(s.reject(&u, "wrong", 3, "op", None, 1).unwrap().locked_now);
        assert!(s.require_user(&user("a")).unwrap().locked_at.is_some());
        assert!(s.unlock(&user("a"), "op", 2, false).unwrap());
        let u = s.require_user(&user("a")).unwrap();
        assert_eq!((u.failed_attempts, u.locked_at), (0, None));
    }

    #[test]
    fn listing_merges_users_devices_and_sets() {
        let mut s = Store::open_in_memory().unwrap();
        for n in ["a", "b", "c"] {
            s.enroll_device(&user(n), &mobile(), Some(&chk()), "op", 1)
                .unwrap();
        }
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let b = s.require_user(&user("b")).unwrap();
        let (_, set) = new_set(Via::Sms, 4);
        insert_live(&mut s, &b, &set, 1).unwrap();
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
        let mut s = Store::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        s.enroll_device(&user("b"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        s.write(|db| db.execute("UPDATE audit SET operator = 'mallory' WHERE id = 1", &[]))
            .unwrap();
        assert!(matches!(
            s.verify_chain().unwrap(),
            ChainCheck::Broken { id: 1, .. }
        ));
    }
}
