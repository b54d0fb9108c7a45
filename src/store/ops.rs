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
use crate::audit::{ChainWalker, Event};
use crate::codes::HashParams;
use crate::model::{Device, DeviceKind, IdentityMethod, Phone, Username, Via};
use crate::rules;
use std::collections::HashSet;

pub mod directory;

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

    /// The id of the audit event with this hash, if there is one.
    pub fn audit_event_with_hash(&self, hash: &str) -> Result<Option<i64>> {
        self.read(|db| {
            db.row("SELECT id FROM audit WHERE hash = $1", &[&hash], |r| {
                r.get(0)
            })
        })
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
            append_event(
                db,
                now,
                operator,
                Some(&u.name),
                events::device_removed(device_id, reason, primary.as_ref().map(|d| d.id), &texted),
            )?;
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
        self.write(|db| {
            let id = insert_check(db, user.id, operator, method, ticket, outcome, now)?;
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                events::identity_check(id, outcome, method, ticket),
            )?;
            Ok(id)
        })
    }

    /// Stores a new set. Helpdesk sets come with their passed identity check,
    /// recorded in the same transaction. `activate` false leaves the set
    /// pending (SMS path: activated only once delivered).
    pub fn insert_set(
        &mut self,
        user: &UserRow,
        new: &NewSet,
        check: Option<&NewCheck>,
        activate: bool,
        operator: &str,
        now: i64,
    ) -> Result<Issued> {
        self.write(|db| {
            let check_id = match check {
                Some(c) => {
                    let id = insert_check(
                        db,
                        user.id,
                        operator,
                        Some(c.method),
                        Some(&c.ticket),
                        "passed",
                        now,
                    )?;
                    append_event(
                        db,
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
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                events::codes_stored(set_id, new, check_id, activate),
            )?;
            let ended = if activate {
                activate_in(db, user, set_id, new.preserve_existing, new.cap, now)?
            } else {
                // Pending: what activating it now would end, to show beside its codes.
                rules::sets_ended_by_new_set(
                    &sets_ended_by(db, user.id, set_id)?,
                    new.preserve_existing,
                )
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
        self.write(|db| {
            let ended = activate_in(db, user, set_id, preserve_existing, cap, now)?;
            append_event(
                db,
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
        self.write(|db| {
            db.execute(
                "UPDATE code_sets SET state = 'failed', ended_at = $2, ended_reason = $3
                 WHERE id = $1 AND state = 'pending'",
                &[&set_id, &now, &reason],
            )?;
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                events::delivery_failed(set_id, reason),
            )
        })
    }

    /// Spends one use of a matched code, re-checking under the write lock
    /// that the user is not locked and the set is still live: racing verifies
    /// of one code, from any process or workstation, give one acceptance.
    pub fn spend(
        &mut self,
        user: &UserRow,
        set_id: i64,
        code_id: i64,
        operator: &str,
        service: Option<&str>,
        now: i64,
    ) -> Result<Spend> {
        self.write(|db| {
            let locked: Option<i64> = db.one(
                "SELECT locked_at FROM users WHERE id = $1",
                &[&user.id],
                |r| r.get(0),
            )?;
            if locked.is_some() {
                return Ok(Spend::Locked);
            }
            let uses_left: Option<i64> = db.row(
                "SELECT c.uses_left FROM codes c JOIN code_sets s ON s.id = c.set_id
                 WHERE c.id = $1 AND s.id = $2 AND s.user_id = $3 AND s.state = 'active'
                   AND (s.expires_at IS NULL OR s.expires_at > $4)",
                &[&code_id, &set_id, &user.id, &now],
                |r| r.get(0),
            )?;
            let Some(left) = uses_left.and_then(rules::spend_one_use) else {
                return Ok(Spend::Stale);
            };
            db.execute(
                "UPDATE codes SET uses_left = $2 WHERE id = $1",
                &[&code_id, &left],
            )?;
            db.execute(
                "UPDATE users SET failed_attempts = 0 WHERE id = $1",
                &[&user.id],
            )?;
            let remaining = remaining_in(db, user.id, now)?;
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                events::verify_accepted(set_id, remaining, service),
            )?;
            Ok(Spend::Accepted { remaining })
        })
    }

    /// Spends the code whose tag (the typed code hashed under each live
    /// set's salt, `tags` as `(set, tag)`) matches, if any: on SQLite
    /// compared here in constant time, then [`Self::spend`]; on
    /// PostgreSQL matched by the server (`codedesk_spend`), which a
    /// verifier can call without reading a hash. Nothing matched: `Stale`.
    pub fn spend_matching(
        &mut self,
        view: &VerifyView,
        tags: &[(i64, CodeHash)],
        operator: &str,
        service: Option<&str>,
        now: i64,
    ) -> Result<Spend> {
        if tags.is_empty() {
            return Ok(Spend::Stale);
        }
        if let Store::Postgres(pg) = self {
            return pg.spend_tags(&view.user, tags, operator, service, now);
        }
        for (set_id, tag) in tags {
            let Some(set) = view.sets.iter().find(|s| s.id == *set_id) else {
                continue;
            };
            let hashes: Vec<CodeHash> = set.codes.iter().map(|c| c.1).collect();
            if let Some(i) = crate::codes::find_match(tag, &hashes) {
                return self.spend(&view.user, *set_id, set.codes[i].0, operator, service, now);
            }
        }
        Ok(Spend::Stale)
    }

    /// `lockout.auto_unlock`: clears the user's lock if it is at least
    /// `after` seconds old (on PostgreSQL through `codedesk_auto_unlock`,
    /// which a verifier may call); whether it did.
    pub fn auto_unlock(
        &mut self,
        user: &UserRow,
        after: i64,
        operator: &str,
        now: i64,
    ) -> Result<bool> {
        if let Store::Postgres(pg) = self {
            return pg.auto_unlock(user, after, operator, now);
        }
        self.write(|db| {
            let n = db.execute(
                "UPDATE users SET locked_at = NULL, failed_attempts = 0
                 WHERE id = $1 AND locked_at IS NOT NULL AND $2 >= locked_at + $3",
                &[&user.id, &now, &after],
            )?;
            if n > 0 {
                append_event(
                    db,
                    now,
                    operator,
                    Some(&user.name),
                    events::unlock(true, true),
                )?;
            }
            Ok(n > 0)
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
        service: Option<&str>,
        now: i64,
    ) -> Result<Rejection> {
        if let Store::Postgres(pg) = self {
            return pg.reject(user, reason, threshold, operator, service, now);
        }
        self.write(|db| {
            let (attempts, locked): (i64, Option<i64>) = db.one(
                "SELECT failed_attempts, locked_at FROM users WHERE id = $1",
                &[&user.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (attempts, locked_now) = after_rejection(attempts, locked.is_some(), threshold);
            db.execute(
                "UPDATE users SET failed_attempts = $2,
                    locked_at = CASE WHEN $3 THEN $4 ELSE locked_at END WHERE id = $1",
                &[&user.id, &attempts, &locked_now, &now],
            )?;
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                events::verify_rejected(reason, attempts, service),
            )?;
            if locked_now {
                append_event(
                    db,
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
        self.write(|db| {
            let u = require_user(db, user.as_str())?;
            db.execute(
                "UPDATE users SET locked_at = NULL, failed_attempts = 0 WHERE id = $1",
                &[&u.id],
            )?;
            append_event(
                db,
                now,
                operator,
                Some(&u.name),
                events::unlock(u.locked_at.is_some(), auto),
            )?;
            Ok(u.locked_at.is_some())
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

    /// The user's lock state and the sets a code could belong to at `now`.
    pub fn verify_view(&self, user: &Username, now: i64) -> Result<VerifyView> {
        let pg = matches!(self, Store::Postgres(_));
        self.read(|db| {
            let u = require_user(db, user.as_str())?;
            let mut sets = db.rows(
                "SELECT id, alphabet, length, salt, m_cost, t_cost, p_cost FROM code_sets
                 WHERE user_id = $1 AND state = 'active' AND (expires_at IS NULL OR expires_at > $2)
                 ORDER BY id",
                &[&u.id, &now],
                |r| {
                    Ok(CandidateSet {
                        id: r.get(0)?,
                        spec: spec_from_db(&r.get::<String>(1)?, r.get(2)?),
                        salt: r.get(3)?,
                        params: HashParams {
                            memory_kib: param(r, 4)?,
                            iterations: param(r, 5)?,
                            parallelism: param(r, 6)?,
                        },
                        codes: Vec::new(),
                        live: 0,
                    })
                },
            )?;
            // Only sets the trail says are live, whatever their row says.
            let live = trail_live_sets(db, &u.name, pg)?;
            sets.retain(|s| live.contains(&s.id));
            if pg && !sets.is_empty() {
                // No hashes: the server matches (`codedesk_spend`).
                db.each_row(
                    "SELECT c.set_id, CAST(COUNT(*) AS BIGINT) FROM codes c
                     JOIN code_sets s ON s.id = c.set_id
                     WHERE s.user_id = $1 AND s.state = 'active' AND c.uses_left > 0
                     GROUP BY c.set_id",
                    &[&u.id],
                    &mut |r| {
                        let id: i64 = r.get(0)?;
                        if let Some(s) = sets.iter_mut().find(|s| s.id == id) {
                            s.live = r.get(1)?;
                        }
                        Ok(())
                    },
                )?;
            } else if !sets.is_empty() {
                db.each_row(
                    "SELECT c.set_id, c.id, c.hash FROM codes c JOIN code_sets s ON s.id = c.set_id
                     WHERE s.user_id = $1 AND s.state = 'active' AND c.uses_left > 0
                     ORDER BY c.set_id, c.id",
                    &[&u.id],
                    &mut |r| attach_code(&mut sets, r.get(0)?, r.get(1)?, r.get(2)?),
                )?;
            }
            sets.retain(|s| s.live > 0);
            let remaining = remaining_in(db, u.id, now)?;
            Ok(VerifyView {
                user: u,
                sets,
                remaining,
            })
        })
    }

    /// Records an attempt that does not count towards a lockout (a typo,
    /// an attempt while locked out) as `action`, unless the user's last
    /// [`UNCOUNTED_CAP`] events are all such attempts from the last day:
    /// a flood of them then adds at most that many events a day for the
    /// user, not one per attempt. The last one recorded before the cap
    /// says so (`more_unrecorded`). Returns whether it was recorded.
    pub fn record_uncounted(
        &mut self,
        operator: &str,
        action: &str,
        user: &str,
        details: serde_json::Value,
        now: i64,
    ) -> Result<bool> {
        self.write(|db| {
            // A PostgreSQL role that may not read these columns (one set up
            // by an earlier `setup-roles`) records every attempt, as before,
            // rather than fail the verify: the read is undone on its own.
            db.execute("SAVEPOINT uncounted", &[])?;
            let recent: Vec<(String, i64)> = match db.rows(
                "SELECT action, at FROM audit WHERE \"user\" = $1 ORDER BY id DESC LIMIT $2",
                &[&user, &(UNCOUNTED_CAP as i64)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            ) {
                Ok(rows) => rows,
                Err(_) => {
                    db.execute("ROLLBACK TO SAVEPOINT uncounted", &[])?;
                    Vec::new()
                }
            };
            db.execute("RELEASE SAVEPOINT uncounted", &[])?;
            let streak = recent
                .iter()
                .take_while(|(a, at)| UNCOUNTED_ACTIONS.contains(&a.as_str()) && *at > now - 86_400)
                .count();
            if streak >= UNCOUNTED_CAP {
                return Ok(false);
            }
            let mut details = details;
            if streak + 1 == UNCOUNTED_CAP
                && let Some(d) = details.as_object_mut()
            {
                d.insert("more_unrecorded".into(), serde_json::Value::Bool(true));
            }
            append_event(db, now, operator, Some(user), (action, details))?;
            Ok(true)
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
        self.write(|db| append_event(db, now, operator, user, (action, details)))
    }
}

/// The attempts that never count towards a lockout.
pub const UNCOUNTED_ACTIONS: [&str; 2] = ["verify-typo", "verify-locked"];

/// At most this many of them in a row are recorded per user and day.
pub const UNCOUNTED_CAP: usize = 20;

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

pub(crate) fn audit_row(r: &Row) -> Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        operator: r.get(2)?,
        action: r.get(3)?,
        user: r.get(4)?,
        details: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
        principal: r.get(8)?,
    })
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
            "SELECT id, name, created_at, failed_attempts, locked_at FROM users {uw} ORDER BY id"
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
    let mut event = events::device_enrolled(
        &device,
        new.kind,
        new.phone.as_ref(),
        primary,
        new_user,
        check_id,
        check,
        &shared_with,
    );
    if let (Some(d), Some(map)) = (new.directory, event.1.as_object_mut()) {
        map.insert("phone_on_file".into(), d.phone_on_file.into());
        map.insert("privileged".into(), d.privileged.into());
    }
    append_event(db, now, operator, Some(user.as_str()), event)?;
    Ok(Enrolled {
        user: user.as_str().to_string(),
        device,
        primary,
        new_user,
        shared_with,
        shared_with_more,
        directory: new.directory,
    })
}

// ---------------------------------------------------------- identity gate

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
    append_event(db, now, operator, Some(user), events::revoke(ids, reason))
}

// ----------------------------------------------------------------- trail

/// The sets of `user` the trail says are live: their lifecycle events
/// (`trail::LIFECYCLE`, through the partial index `audit_lifecycle`; on
/// PostgreSQL through `codedesk_set_events`, which a verifier may call
/// without reading the trail), replayed.
fn trail_live_sets(db: &mut dyn Exec, user: &str, pg: bool) -> Result<Vec<i64>> {
    let sql = match pg {
        true => "SELECT o_id, o_action, o_details FROM codedesk_set_events($1)".to_string(),
        false => format!(
            "SELECT id, action, details FROM audit WHERE \"user\" = $1 AND action IN {} ORDER BY id",
            crate::trail::LIFECYCLE
        ),
    };
    let mut replay = crate::trail::Replay::default();
    db.each_row(&sql, &[&user], &mut |r| {
        let (id, action, details): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        replay.step(id, &action, Some(user), &details);
        Ok(())
    })?;
    Ok(replay.live_sets(user))
}

/// The whole trail replayed against every set and user, in the caller's
/// one snapshot: the first disagreement, if any (`audit verify`, exit 8).
pub(crate) fn trail_disagreement(db: &mut dyn Exec) -> Result<Option<String>> {
    let sets = db.rows(
        "SELECT s.id, u.name, s.state,
                CAST(COALESCE(SUM(c.uses_left), 0) AS BIGINT),
                CAST(COALESCE(MAX(c.uses_left), 0) AS BIGINT)
         FROM code_sets s JOIN users u ON u.id = s.user_id
         LEFT JOIN codes c ON c.set_id = s.id
         GROUP BY s.id, u.name, s.state ORDER BY s.id",
        &[],
        |r| {
            Ok(crate::trail::SetState {
                id: r.get(0)?,
                user: r.get(1)?,
                state: r.get(2)?,
                uses_left: r.get(3)?,
                max_left: r.get(4)?,
            })
        },
    )?;
    let users = db.rows("SELECT name, locked_at FROM users ORDER BY id", &[], |r| {
        Ok((r.get(0)?, r.get::<Option<i64>>(1)?.is_some()))
    })?;
    let mut replay = crate::trail::Replay::default();
    db.each_row(
        "SELECT id, action, \"user\", details FROM audit ORDER BY id",
        &[],
        &mut |r| {
            let (id, action, user, details): (i64, String, Option<String>, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            replay.step(id, &action, user.as_deref(), &details);
            Ok(())
        },
    )?;
    Ok(replay.first_disagreement(&sets, &users))
}

// ----------------------------------------------------------------- audit

/// Appends one chained audit event inside the caller's write transaction
/// (which holds the write lock, so no other writer can take the same id).
pub(crate) fn append_event(
    db: &mut dyn Exec,
    now: i64,
    operator: &str,
    user: Option<&str>,
    event: (&str, serde_json::Value),
) -> Result<()> {
    let last = db.row(
        "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // The principal the backend vouches for (PostgreSQL: the login role,
    // `session_user` of this very session, which a trigger writes whatever
    // the client sends), hashed into the event. A client that hashed
    // another name would leave an event whose hash does not match its
    // stored principal: `audit verify` reports it.
    let principal = db.principal()?;
    let e = next_event(last, now, &principal, operator, user, event);
    db.execute(
        "INSERT INTO audit (id, at, principal, operator, action, \"user\", details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &e.id,
            &e.at,
            &e.principal,
            &e.operator,
            &e.action,
            &e.user,
            &e.details,
            &e.prev_hash,
            &e.hash,
        ],
    )?;
    crate::audit_syslog::appended(&e);
    Ok(())
}

const AUDIT_COLUMNS: &str =
    "id, at, operator, action, \"user\", details, prev_hash, hash, principal";

/// Streams audit events in order.
pub(crate) fn for_each_event(
    src: &dyn Stream,
    filter: &EventFilter,
    mut f: impl FnMut(Event) -> Result<()>,
) -> Result<()> {
    src.stream(
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit
             WHERE (CAST($1 AS TEXT) IS NULL OR \"user\" = $1)
               AND (CAST($2 AS BIGINT) IS NULL OR at >= $2)
               AND (CAST($3 AS BIGINT) IS NULL OR id > $3)
             ORDER BY id"
        ),
        &[&filter.user, &filter.since, &filter.after],
        &mut |r| {
            let e = audit_row(r)?;
            f(stored_event(
                e.id,
                e.at,
                e.principal,
                e.operator,
                e.action,
                e.user,
                e.details,
                e.prev_hash,
                e.hash,
            ))?;
            Ok(true)
        },
    )
}

/// Recomputes the whole audit chain, stopping at the first broken link.
pub(crate) fn verify_chain(src: &dyn Stream) -> Result<ChainCheck> {
    let mut w = ChainWalker::default();
    let mut broken = None;
    src.stream(
        &format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY id"),
        &[],
        &mut |r| {
            let e = audit_row(r)?;
            match w.step(
                e.id,
                e.at,
                &e.operator,
                &e.action,
                e.user.as_deref(),
                &e.details,
                e.principal.as_deref(),
                &e.prev_hash,
                &e.hash,
            ) {
                Ok(()) => Ok(true),
                Err(b) => {
                    broken = Some(b);
                    Ok(false)
                }
            }
        },
    )?;
    Ok(broken.unwrap_or_else(|| w.finish()))
}

// ------------------------------------------------------------- migration

/// Every row of every table, ids included (what `codedesk migrate`
/// copies), read through `db`, which the caller holds in one transaction
/// for a consistent snapshot. Codes are hashes; nothing is a secret in clear.
pub(crate) fn export_rows(db: &mut dyn Exec) -> Result<StoreRows> {
    Ok(StoreRows {
        users: db.rows(
            "SELECT id, name, created_at, failed_attempts, locked_at FROM users ORDER BY id",
            &[],
            user_row,
        )?,
        devices: db.rows(
            "SELECT id, user_id, position, kind, phone, sms, label, created_at
             FROM devices ORDER BY id",
            &[],
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
        identity_checks: db.rows(
            "SELECT id, user_id, operator, method, ticket, outcome, at
             FROM identity_checks ORDER BY id",
            &[],
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
        code_sets: db.rows(
            "SELECT id, user_id, via, device_id, identity_check_id, operator, created_at,
                    expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost, state,
                    ended_at, ended_reason
             FROM code_sets ORDER BY id",
            &[],
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
        codes: db.rows(
            "SELECT id, set_id, hash, uses_left FROM codes ORDER BY id",
            &[],
            |r| {
                Ok(CodeRow {
                    id: r.get(0)?,
                    set_id: r.get(1)?,
                    hash: r.get(2)?,
                    uses_left: r.get(3)?,
                })
            },
        )?,
        audit: db.rows(
            &format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY id"),
            &[],
            audit_row,
        )?,
        sequences: Vec::new(),
        safeguards: super::copy_safeguards::export(db)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::exit::Status;

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
        let mut s = Store::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let (_, set) = new_set(Via::Helpdesk, 2);
        let e = s.insert_set(&u, &set, None, true, "op", 1).unwrap_err();
        assert_eq!(crate::exit::status_of(&e), Status::Identity);
    }

    #[test]
    fn a_sets_codes_are_stored_in_their_order() {
        let mut s = Store::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let (_, set) = new_set(Via::Sms, 12);
        s.insert_set(&u, &set, None, true, "op", 1).unwrap();
        let v = s.verify_view(&user("a"), 2).unwrap();
        let stored: Vec<CodeHash> = v.sets[0].codes.iter().map(|(_, h)| *h).collect();
        assert_eq!(stored, set.hashes);
        assert_eq!(v.remaining, 12);
    }

    #[test]
    fn spend_is_single_use_and_new_set_ends_old() {
        let mut s = Store::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
        let (_, set) = new_set(Via::Sms, 3);
        let first = s.insert_set(&u, &set, None, true, "op", 1).unwrap();
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
        let second = s.insert_set(&u, &set2, None, true, "op", 3).unwrap();
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
        let mut s = Store::open_in_memory().unwrap();
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
        let mut s = Store::open_in_memory().unwrap();
        s.enroll_device(&user("a"), &mobile(), Some(&chk()), "op", 1)
            .unwrap();
        let u = s.require_user(&user("a")).unwrap();
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
