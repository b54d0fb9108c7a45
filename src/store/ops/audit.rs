//! The audit trail's operations: appending a chained event inside a write
//! transaction, events that go with no other change, streaming and
//! verifying the chain, and replaying it against the tables (`trail`).

use super::*;
use std::collections::BTreeMap;

impl Store {
    /// The id of the audit event with this hash, if there is one.
    pub fn audit_event_with_hash(&self, hash: &str) -> Result<Option<i64>> {
        self.read(|db| {
            db.row("SELECT id FROM audit WHERE hash = $1", &[&hash], |r| {
                r.get(0)
            })
        })
    }

    /// Records an attempt that does not count towards a lockout (a typo,
    /// an attempt while locked out) as `event`, unless the user's last
    /// [`UNCOUNTED_CAP`] events are all such attempts from the last day:
    /// a flood of them then adds at most that many events a day for the
    /// user, not one per attempt. The last one recorded before the cap
    /// says so (`more_unrecorded`). Returns whether it was recorded.
    pub fn record_uncounted(
        &mut self,
        operator: &str,
        user: &str,
        mut event: AuditEvent,
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
            if streak + 1 == UNCOUNTED_CAP {
                event.mark_more_unrecorded();
            }
            append_event(db, now, operator, Some(user), event)?;
            Ok(true)
        })
    }

    /// Appends an event that goes with no other change (a failing notifier).
    pub fn record_event(
        &mut self,
        operator: &str,
        user: Option<&str>,
        event: AuditEvent,
        now: i64,
    ) -> Result<()> {
        self.write(|db| append_event(db, now, operator, user, event))
    }
}

/// The attempts that never count towards a lockout.
pub const UNCOUNTED_ACTIONS: [&str; 2] = ["verify-typo", "verify-locked"];

/// At most this many of them in a row are recorded per user and day.
pub const UNCOUNTED_CAP: usize = 20;

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

// ----------------------------------------------------------------- trail

/// The sets of `user` the trail says are live: their lifecycle events
/// (`trail::LIFECYCLE`, through the partial index `audit_lifecycle`; on
/// PostgreSQL through `codedesk_set_events`, which a verifier may call
/// without reading the trail), replayed.
pub(super) fn trail_live_sets(
    db: &mut dyn Exec,
    user: &str,
    pg: bool,
) -> Result<Vec<(i64, Option<String>)>> {
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
    Ok(replay.live_digests(user))
}

/// The whole trail replayed against every set and user, in the caller's
/// one snapshot: the first disagreement, if any (`audit verify`, exit 8).
/// Beyond the replay, every set still in the store whose issuing event
/// carries a digest must hash to it ([`stored_digests`]), and every
/// notice the trail recorded with a reference digest must be in the store
/// under that reference.
pub(crate) fn trail_disagreement(
    db: &mut dyn Exec,
    pg: bool,
    digests: bool,
) -> Result<Option<String>> {
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
    let mut notices: Vec<(i64, String, String)> = Vec::new();
    db.each_row(
        "SELECT id, action, \"user\", details FROM audit ORDER BY id",
        &[],
        &mut |r| {
            let (id, action, user, details): (i64, String, Option<String>, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            if action == "user-notified"
                && let (Some(u), Ok(d)) =
                    (&user, serde_json::from_str::<serde_json::Value>(&details))
                && let Some(h) = d.get("ref_sha256").and_then(|v| v.as_str())
            {
                notices.push((id, u.clone(), h.to_string()));
            }
            replay.step(id, &action, user.as_deref(), &details);
            Ok(())
        },
    )?;
    if let Some(why) = replay.first_disagreement(&sets, &users) {
        return Ok(Some(why));
    }
    // Only where the store computes digests ([`Store::digests`]): a
    // PostgreSQL store at a schema before 8 (read by this codedesk without
    // an upgrade) has not the functions. One at 8 or later without them had
    // them dropped: named, never a check skipped.
    let any_digest = digests && replay.sets.values().any(|t| t.digest.is_some());
    if pg && digests && !functions_present(db)? {
        return Ok(Some(
            "the store's functions that compute set digests and notice references (codedesk_set_digest, codedesk_notice_refs) are gone: dropped in the store".into(),
        ));
    }
    let stored = match any_digest {
        true => stored_digests(db, pg, None)?,
        false => BTreeMap::new(),
    };
    for (id, t) in &replay.sets {
        if let (Some(want), Some(have)) = (&t.digest, stored.get(id))
            && want != have
        {
            return Ok(Some(format!(
                "set {id} of {} is not what the trail issued: its salt, hash parameters, codes, uses or expiry changed in the store",
                t.user
            )));
        }
    }
    if digests && !notices.is_empty() {
        let held = stored_notice_refs(db, pg)?;
        for (id, user, h) in notices {
            if !held.contains(&(user.clone(), h)) {
                return Ok(Some(format!(
                    "the notice to {user} the trail recorded at event {id} is not in the store under its reference (changed or removed)"
                )));
            }
        }
    }
    Ok(None)
}

/// Whether a PostgreSQL store holds schema 8's digest functions.
fn functions_present(db: &mut dyn Exec) -> Result<bool> {
    db.one(
        "SELECT to_regprocedure('codedesk_set_digest(bigint)') IS NOT NULL
            AND to_regprocedure('codedesk_notice_refs()') IS NOT NULL",
        &[],
        |r| r.get(0),
    )
}

/// The digest ([`crate::trail::set_digest`]) of every set in the store, or
/// of the one set `only`. On PostgreSQL computed by the server
/// (`codedesk_set_digest`), so that roles that may not read code hashes
/// can check them.
pub(crate) fn stored_digests(
    db: &mut dyn Exec,
    pg: bool,
    only: Option<i64>,
) -> Result<BTreeMap<i64, String>> {
    if pg {
        return Ok(db
            .rows(
                "SELECT id, codedesk_set_digest(id) FROM code_sets
                 WHERE CAST($1 AS BIGINT) IS NULL OR id = $1",
                &[&only],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .collect());
    }
    type SetRow = (i64, String, i64, Vec<u8>, [i64; 3], i64, Option<i64>);
    let sets: Vec<SetRow> = db.rows(
        "SELECT id, alphabet, length, salt, m_cost, t_cost, p_cost, uses, expires_at
         FROM code_sets WHERE CAST($1 AS BIGINT) IS NULL OR id = $1",
        &[&only],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                [r.get(4)?, r.get(5)?, r.get(6)?],
                r.get(7)?,
                r.get(8)?,
            ))
        },
    )?;
    let mut hashes: BTreeMap<i64, Vec<Vec<u8>>> = BTreeMap::new();
    db.each_row(
        "SELECT set_id, hash FROM codes WHERE CAST($1 AS BIGINT) IS NULL OR set_id = $1
         ORDER BY set_id, id",
        &[&only],
        &mut |r| {
            hashes.entry(r.get(0)?).or_default().push(r.get(1)?);
            Ok(())
        },
    )?;
    Ok(sets
        .into_iter()
        .map(|(id, alphabet, length, salt, cost, uses, expires_at)| {
            let codes = hashes.get(&id).map(Vec::as_slice).unwrap_or_default();
            let d = crate::trail::set_digest(
                &alphabet,
                length,
                &salt,
                cost,
                uses,
                expires_at,
                codes.iter().map(Vec::as_slice),
            );
            (id, d)
        })
        .collect())
}

/// Every notice in the store as (user, SHA-256 of its reference). On
/// PostgreSQL through `codedesk_notice_refs`, for roles that may not read
/// references.
fn stored_notice_refs(db: &mut dyn Exec, pg: bool) -> Result<HashSet<(String, String)>> {
    if pg {
        return Ok(db
            .rows(
                "SELECT o_user, o_ref_sha256 FROM codedesk_notice_refs()",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .collect());
    }
    Ok(db
        .rows(
            "SELECT u.name, n.ref FROM notices n JOIN users u ON u.id = n.user_id",
            &[],
            |r| Ok((r.get(0)?, r.get::<String>(1)?)),
        )?
        .into_iter()
        .map(|(u, r)| (u, crate::trail::reference_digest(&r)))
        .collect())
}

// ----------------------------------------------------------------- audit

/// Appends one chained audit event inside the caller's write transaction
/// (which holds the write lock, so no other writer can take the same id).
pub(crate) fn append_event(
    db: &mut dyn Exec,
    now: i64,
    operator: &str,
    user: Option<&str>,
    event: AuditEvent,
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
    let e = next_event(last, now, &principal, operator, user, &event)?;
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

pub(crate) const AUDIT_COLUMNS: &str =
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
