//! What `verify` and the lockout do to the store: the live sets a typed
//! code may belong to, spending a matched code, rejections and the
//! lockout, unlocking.

use super::audit::{stored_digests, trail_live_sets};
use super::*;

impl Store {
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
            let event = AuditEvent::VerifyAccepted {
                set: set_id,
                remaining,
                service,
            };
            append_event(db, now, operator, Some(&user.name), event)?;
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
            let spend = || pg.spend_tags(&view.user, tags, operator, service, now);
            return crate::audit_syslog::forwarding(spend);
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
        let unlock = |db: &mut dyn Exec, pg: bool| -> Result<bool> {
            let done = match pg {
                true => db.one(
                    "SELECT codedesk_auto_unlock($1, $2, $3)",
                    &[&user.id, &after, &now],
                    |r| r.get(0),
                )?,
                false => {
                    db.execute(
                        "UPDATE users SET locked_at = NULL, failed_attempts = 0
                         WHERE id = $1 AND locked_at IS NOT NULL AND $2 >= locked_at + $3",
                        &[&user.id, &now, &after],
                    )? > 0
                }
            };
            if done {
                let unlock = AuditEvent::Unlock {
                    was_locked: true,
                    auto: true,
                };
                append_event(db, now, operator, Some(&user.name), unlock)?;
            }
            Ok(done)
        };
        self.verifier_write(unlock)
    }

    /// Records a rejected code; locks the user at `threshold` consecutive
    /// rejections (on PostgreSQL through `codedesk_reject`, which a
    /// verifier may call).
    pub fn reject(
        &mut self,
        user: &UserRow,
        reason: &str,
        threshold: u32,
        operator: &str,
        service: Option<&str>,
        now: i64,
    ) -> Result<Rejection> {
        let reject = |db: &mut dyn Exec, pg: bool| -> Result<Rejection> {
            let r = match pg {
                true => db.one(
                    "SELECT o_attempts, o_locked_now, o_already_locked FROM codedesk_reject($1, $2, $3)",
                    &[&user.id, &i64::from(threshold), &now],
                    |r| {
                        Ok(Rejection {
                            attempts: r.get(0)?,
                            locked_now: r.get(1)?,
                            already_locked: r.get(2)?,
                        })
                    },
                )?,
                false => {
                    let (attempts, locked): (i64, Option<i64>) = db.one(
                        "SELECT failed_attempts, locked_at FROM users WHERE id = $1",
                        &[&user.id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    let (attempts, locked_now) =
                        after_rejection(attempts, locked.is_some(), threshold);
                    db.execute(
                        "UPDATE users SET failed_attempts = $2,
                            locked_at = CASE WHEN $3 THEN $4 ELSE locked_at END WHERE id = $1",
                        &[&user.id, &attempts, &locked_now, &now],
                    )?;
                    Rejection {
                        attempts,
                        locked_now,
                        already_locked: locked.is_some(),
                    }
                }
            };
            let consecutive = r.attempts;
            let rejected = AuditEvent::VerifyRejected {
                reason,
                consecutive,
                service,
            };
            append_event(db, now, operator, Some(&user.name), rejected)?;
            if r.locked_now {
                let lockout = AuditEvent::Lockout {
                    consecutive,
                    threshold,
                };
                append_event(db, now, operator, Some(&user.name), lockout)?;
            }
            Ok(r)
        };
        self.verifier_write(reject)
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
            let event = AuditEvent::Unlock {
                was_locked: u.locked_at.is_some(),
                auto,
            };
            append_event(db, now, operator, Some(&u.name), event)?;
            Ok(u.locked_at.is_some())
        })
    }

    /// The user's lock state and the sets a code could belong to at `now`.
    pub fn verify_view(&self, user: &Username, now: i64) -> Result<VerifyView> {
        let pg = matches!(self, Store::Postgres(_));
        let digests = self.digests();
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
            sets.retain(|s| live.iter().any(|(id, _)| *id == s.id));
            // A set accepted from must be what the trail issued (its salt,
            // parameters, codes, uses, expiry): one hashed in place by
            // someone who could write the tables is a store problem. Where
            // the store computes digests ([`Store::digests`]), a function
            // dropped is an error too, never a check skipped.
            for s in sets.iter().filter(|_| digests) {
                let Some((_, Some(want))) = live.iter().find(|(id, _)| *id == s.id) else {
                    continue;
                };
                let have = stored_digests(db, pg, Some(s.id))?;
                if have.get(&s.id) != Some(want) {
                    return Err(fail(
                        Status::Store,
                        format!(
                            "set {} of {} is not what the audit trail issued (altered in the store); run `codedesk audit verify`",
                            s.id, u.name
                        ),
                    ));
                }
            }
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
}
