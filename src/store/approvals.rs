//! The store's side of approvals (docs/approvals.md): users marked
//! privileged, requests waiting for a second principal, and the count of
//! sets one principal stored in a window (`helpdesk.max_sets_per_operator`;
//! a set that could not be delivered does not count).
//! Written once for both backends, like `ops`; every write appends its
//! audit event in the same transaction. Principals are the backend's
//! (`Exec::principal`): the OS account on SQLite, the login role on
//! PostgreSQL, where the triggers of migration 0006 write them again
//! whatever the client sends.

use super::ops::{append_event, record_check_for, require_user};
use super::*;
use crate::audit::{AuditEvent, Decision};

/// A request, as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestRow {
    pub id: i64,
    pub user: String,
    #[serde(skip)]
    pub user_id: i64,
    /// `codes` or `device`.
    pub what: String,
    /// `privileged` or `quota`.
    pub reason: String,
    pub requested_by: String,
    pub operator: String,
    pub method: Option<String>,
    pub ticket: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// `pending`, `approved` or `denied`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub used_at: Option<i64>,
    /// The identity check recorded with the request, from its
    /// `request-recorded` event: read only when the request is spent.
    #[serde(skip)]
    pub check: Option<i64>,
}

impl RequestRow {
    /// What was asked for, as the operator reads it.
    pub fn what_text(&self) -> &'static str {
        if self.what == "device" {
            "a new device"
        } else {
            "helpdesk codes"
        }
    }
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub what: &'a str,
    pub reason: &'a str,
    pub check: Option<&'a NewCheck>,
    pub expires_at: i64,
}

const REQUEST_COLUMNS: &str = "r.id, u.name, r.user_id, r.what, r.reason, r.requested_by, \
     r.operator, r.method, r.ticket, r.created_at, r.expires_at, r.state, r.decided_by, \
     r.decided_at, r.used_at";

fn request_row(r: &exec::Row) -> Result<RequestRow> {
    Ok(RequestRow {
        id: r.get(0)?,
        user: r.get(1)?,
        user_id: r.get(2)?,
        what: r.get(3)?,
        reason: r.get(4)?,
        requested_by: r.get(5)?,
        operator: r.get(6)?,
        method: r.get(7)?,
        ticket: r.get(8)?,
        created_at: r.get(9)?,
        expires_at: r.get(10)?,
        state: r.get(11)?,
        decided_by: r.get(12)?,
        decided_at: r.get(13)?,
        used_at: r.get(14)?,
        check: None,
    })
}

fn find_request(db: &mut dyn Exec, id: i64) -> Result<RequestRow> {
    db.row(
        &format!(
            "SELECT {REQUEST_COLUMNS} FROM approval_requests r JOIN users u ON u.id = r.user_id
             WHERE r.id = $1"
        ),
        &[&id],
        request_row,
    )?
    .ok_or_else(|| fail(Status::NotFound, format!("no approval request {id}")))
}

fn user_named(db: &mut dyn Exec, name: &str) -> Result<UserRow> {
    require_user(db, name)
}

impl Store {
    /// The principal this store's connection acts for.
    pub fn principal(&self) -> Result<String> {
        self.read(|db| db.principal())
    }

    /// Whether the store marks the user privileged.
    pub fn is_privileged(&self, user_id: i64) -> Result<bool> {
        self.read(|db| {
            db.one(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM privileged_users WHERE user_id = $1",
                &[&user_id],
                |r| r.get::<i64>(0),
            )
            .map(|n| n > 0)
        })
    }

    /// Marks or unmarks a user privileged; false when it already was so.
    pub fn set_privileged(
        &mut self,
        user: &Username,
        on: bool,
        operator: &str,
        now: i64,
    ) -> Result<bool> {
        self.write(|db| {
            let u = user_named(db, user.as_str())?;
            let principal = db.principal()?;
            let was: i64 = db.one(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM privileged_users WHERE user_id = $1",
                &[&u.id],
                |r| r.get(0),
            )?;
            if (was > 0) == on {
                return Ok(false);
            }
            if on {
                db.execute(
                    "INSERT INTO privileged_users (user_id, set_by, set_at) VALUES ($1, $2, $3)",
                    &[&u.id, &principal, &now],
                )?;
            } else {
                db.execute("DELETE FROM privileged_users WHERE user_id = $1", &[&u.id])?;
            }
            append_event(
                db,
                now,
                operator,
                Some(&u.name),
                if on {
                    AuditEvent::PrivilegedOn {}
                } else {
                    AuditEvent::PrivilegedOff {}
                },
            )?;
            Ok(true)
        })
    }

    /// Sets this principal stored (helpdesk or SMS) at or after `since`,
    /// from the trail, but for those that never went live because they
    /// could not be delivered (a `delivery-failed` event names the set: an
    /// SMS the gateway refused, helpdesk codes that could not be shown).
    pub fn sets_stored_by_me_since(&self, since: i64) -> Result<i64> {
        self.read(|db| {
            let me = db.principal()?;
            let events: Vec<(String, String)> = db.rows(
                "SELECT action, details FROM audit
                 WHERE principal = $1 AND at >= $2
                   AND action IN ('codes-pending', 'codes-issued', 'delivery-failed')
                 ORDER BY id",
                &[&me, &since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut stored = std::collections::BTreeSet::new();
            let mut failed = std::collections::BTreeSet::new();
            for (action, details) in events {
                let v: serde_json::Value = serde_json::from_str(&details)
                    .map_err(|e| fail(Status::Store, format!("store error: audit details: {e}")))?;
                let Some(set) = v.get("set").and_then(|s| s.as_i64()) else {
                    continue;
                };
                if action == "delivery-failed" {
                    failed.insert(set);
                } else {
                    stored.insert(set);
                }
            }
            Ok(stored.difference(&failed).count() as i64)
        })
    }

    /// Records an issuance refused by the quota.
    pub fn record_quota_refusal(
        &mut self,
        user: &UserRow,
        stored: i64,
        max: u32,
        window: i64,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|db| {
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                AuditEvent::QuotaRefused {
                    stored,
                    max,
                    window_secs: window,
                },
            )
        })
    }

    /// Records a request; returns it.
    pub fn insert_request(
        &mut self,
        user: &UserRow,
        new: &NewRequest,
        operator: &str,
        now: i64,
    ) -> Result<RequestRow> {
        self.write(|db| {
            let principal = db.principal()?;
            let method = new.check.map(|c| c.method.as_str());
            let ticket = new.check.map(|c| c.ticket.as_str());
            let id = db.insert(
                "INSERT INTO approval_requests (user_id, what, reason, requested_by, operator,
                    method, ticket, created_at, expires_at, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') RETURNING id",
                &[
                    &user.id,
                    &new.what,
                    &new.reason,
                    &principal,
                    &operator,
                    &method,
                    &ticket,
                    &now,
                    &new.expires_at,
                ],
            )?;
            // The identity check this request was made after is recorded
            // now, as an issuance records its own, naming the request: the
            // report counts it once, and spending the request reuses it.
            let check = new
                .check
                .map(|c| {
                    record_check_for(
                        db,
                        user,
                        operator,
                        Some(c.method),
                        Some(&c.ticket),
                        "passed",
                        Some(id),
                        now,
                    )
                })
                .transpose()?;
            append_event(
                db,
                now,
                operator,
                Some(&user.name),
                AuditEvent::RequestRecorded {
                    request: id,
                    what: new.what,
                    reason: new.reason,
                    method,
                    ticket,
                    expires_at: new.expires_at,
                    check,
                },
            )?;
            find_request(db, id)
        })
    }

    /// One request.
    pub fn request(&self, id: i64) -> Result<RequestRow> {
        self.read(|db| find_request(db, id))
    }

    /// Requests still waiting for a decision (not expired), oldest first.
    pub fn pending_requests(&self, now: i64) -> Result<Vec<RequestRow>> {
        self.read(|db| {
            db.rows(
                &format!(
                    "SELECT {REQUEST_COLUMNS} FROM approval_requests r
                     JOIN users u ON u.id = r.user_id
                     WHERE r.state = 'pending' AND r.expires_at > $1 ORDER BY r.id"
                ),
                &[&now],
                request_row,
            )
        })
    }

    /// Approves (`approve` true) or denies a pending request, as a
    /// principal other than the one who asked: self-approval and a
    /// request decided or expired already are exit 9.
    pub fn decide_request(
        &mut self,
        id: i64,
        approve: bool,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<RequestRow> {
        self.write(|db| {
            let r = find_request(db, id)?;
            let me = db.principal()?;
            if r.requested_by == me {
                return Err(crate::approvals::refused(
                    format!(
                        "request {id} was asked for by {me}: a second principal must decide it (self-approval is refused)"
                    ),
                ));
            }
            if r.state != "pending" {
                return Err(crate::approvals::refused(
                    format!(
                        "request {id} was already {} by {}",
                        r.state,
                        r.decided_by.as_deref().unwrap_or("?")
                    ),
                ));
            }
            if r.expires_at <= now {
                return Err(crate::approvals::refused(
                    format!("request {id} expired at {}", crate::output::ts(r.expires_at)),
                ));
            }
            let state = if approve { "approved" } else { "denied" };
            db.execute(
                "UPDATE approval_requests SET state = $2, decided_by = $3, decided_at = $4
                 WHERE id = $1 AND state = 'pending'",
                &[&id, &state, &me, &now],
            )?;
            append_event(
                db,
                now,
                operator,
                Some(&r.user),
                {
                    let d = Decision {
                        request: id,
                        what: &r.what,
                        reason: &r.reason,
                        requested_by: &r.requested_by,
                        why: reason,
                    };
                    if approve {
                        AuditEvent::RequestApproved(d)
                    } else {
                        AuditEvent::RequestDenied(d)
                    }
                },
            )?;
            find_request(db, id)
        })
    }

    /// Spends an approved request of `what` for `user` on one issuance or
    /// enrolment, as the principal who asked for it: anything else (not
    /// approved, spent, expired, another user, another principal) is exit 9.
    pub fn spend_request(
        &mut self,
        id: i64,
        user: &UserRow,
        what: &str,
        operator: &str,
        now: i64,
    ) -> Result<RequestRow> {
        self.write(|db| {
            let r = find_request(db, id)?;
            let me = db.principal()?;
            let refuse = |why: String| {
                Err(crate::approvals::refused(format!(
                    "request {id}: {why}; nothing issued"
                )))
            };
            if r.user_id != user.id || r.what != what {
                return refuse(format!("it is for {} of {}, not this", r.what, r.user));
            }
            if r.requested_by != me {
                return refuse(format!(
                    "it was asked for by {}, and only they may use it",
                    r.requested_by
                ));
            }
            match r.state.as_str() {
                "approved" => {}
                "pending" if r.expires_at > now => {
                    return Err(fail(
                        Status::WaitingForApproval,
                        format!("request {id} is still waiting for approval"),
                    ));
                }
                "pending" => return refuse("it expired without a decision".into()),
                other => return refuse(format!("it was {other}")),
            }
            if r.used_at.is_some() {
                return refuse("it was used already".into());
            }
            if r.expires_at <= now {
                return refuse(format!("it expired at {}", crate::output::ts(r.expires_at)));
            }
            let n = db.execute(
                "UPDATE approval_requests SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                &[&id, &now],
            )?;
            if n != 1 {
                return refuse("it was used already".into());
            }
            append_event(
                db,
                now,
                operator,
                Some(&r.user),
                AuditEvent::RequestUsed {
                    request: id,
                    what: &r.what,
                },
            )?;
            let mut r = find_request(db, id)?;
            r.check = recorded_check(db, &r)?;
            Ok(r)
        })
    }
}

/// The identity check recorded with a request, from its `request-recorded`
/// event; None for a request recorded without one (the quota's, on the SMS
/// path) or before the check was recorded with it.
fn recorded_check(db: &mut dyn Exec, r: &RequestRow) -> Result<Option<i64>> {
    let details: Vec<String> = db.rows(
        "SELECT details FROM audit
         WHERE action = 'request-recorded' AND \"user\" = $1 AND at = $2 ORDER BY id",
        &[&r.user, &r.created_at],
        |row| row.get(0),
    )?;
    for d in details {
        let v: serde_json::Value = serde_json::from_str(&d)
            .map_err(|e| fail(Status::Store, format!("store error: audit details: {e}")))?;
        if v.get("request").and_then(|x| x.as_i64()) == Some(r.id) {
            return Ok(v.get("check").and_then(|c| c.as_i64()));
        }
    }
    Ok(None)
}

/// The live sets `principal` stored (from the trail: the principal the
/// backend recorded with the event that stored each set), at or after
/// `since`, as (user, set) ordered by user and set: what
/// `revoke --issued-by` ends. The display name `--operator` plays no part.
pub(super) fn live_sets_by_principal(
    db: &mut dyn Exec,
    principal: &str,
    since: Option<i64>,
) -> Result<Vec<(String, i64)>> {
    let details: Vec<String> = db.rows(
        "SELECT details FROM audit
         WHERE principal = $1 AND action IN ('codes-pending', 'codes-issued')
         ORDER BY id",
        &[&principal],
        |r| r.get(0),
    )?;
    let mut sets = Vec::new();
    for d in details {
        let v: serde_json::Value = serde_json::from_str(&d)
            .map_err(|e| fail(Status::Store, format!("store error: audit details: {e}")))?;
        let Some(set) = v.get("set").and_then(|s| s.as_i64()) else {
            continue;
        };
        let live: Option<String> = db.row(
            "SELECT u.name FROM code_sets s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.state IN ('active', 'pending')
               AND (CAST($2 AS BIGINT) IS NULL OR s.created_at >= $2)",
            &[&set, &since],
            |r| r.get(0),
        )?;
        if let Some(name) = live {
            sets.push((name, set));
        }
    }
    sets.sort();
    sets.dedup();
    Ok(sets)
}
