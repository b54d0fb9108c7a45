//! The store's side of the safeguards (docs/safeguards.md): one-time
//! challenges sent to a contact on file, the email address on file, the
//! notices sent to users with the reference they quote, disputes, and
//! revoking everything one operator issued. Like `ops`, written once for
//! both backends; every write appends its audit event in the same
//! transaction. Never a challenge in clear, never a full phone number or
//! email address in an event.

use super::ops::{active_set_ids, append_event, require_user, revoke_in};
use super::*;
use crate::audit::AuditEvent;
use crate::codes::{CodeHash, HASH_LEN, HashParams};
use subtle::ConstantTimeEq;

/// Wrong read-backs a challenge survives before it is spent.
pub const CHALLENGE_TRIES: i64 = 3;

/// A challenge to store (its hash; the challenge itself never reaches here).
#[derive(Debug, Clone)]
pub struct NewChallenge {
    /// The contact, masked, as recorded: "device 3 (+*******5999)".
    pub contact: String,
    pub device_id: Option<i64>,
    pub salt: Vec<u8>,
    pub params: HashParams,
    pub hash: CodeHash,
    pub expires_at: i64,
}

/// What a read-back needs to be hashed before it is compared.
#[derive(Debug, Clone)]
pub struct ChallengeSalt {
    pub salt: Vec<u8>,
    pub params: HashParams,
}

/// The outcome of one read-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeAnswer {
    /// Right: the challenge is spent on this check. The contact it went to.
    Passed {
        contact: String,
    },
    /// Wrong; tries left (0: the challenge is spent).
    Wrong {
        tries_left: i64,
    },
    /// Passed already (good for one issuance or enrolment), or failed.
    Spent,
    Expired,
}

/// What `dispute` did.
#[derive(Debug, Clone)]
pub struct Disputed {
    pub user: String,
    pub action: String,
    pub at: i64,
    pub revoked: Vec<i64>,
    pub was_locked: bool,
}

/// A notice as `dispute` reads it: user, action, time, audit event, disputed at.
type NoticeRow = (String, String, i64, Option<i64>, Option<i64>);

fn challenge_not_found(user: &str, id: i64) -> anyhow::Error {
    fail(
        Status::NotFound,
        format!("no challenge {id} for {user} (see `codedesk challenge`)"),
    )
}

impl Store {
    /// The id of the newest audit event (0 for none).
    pub fn last_event_id(&self) -> Result<i64> {
        self.read(|db| {
            db.one(
                "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM audit",
                &[],
                |r| r.get(0),
            )
        })
    }

    /// The email address on file for a user.
    pub fn email_of(&self, user_id: i64) -> Result<Option<String>> {
        self.read(|db| {
            db.row(
                "SELECT email FROM user_emails WHERE user_id = $1",
                &[&user_id],
                |r| r.get(0),
            )
        })
    }

    /// Records (or replaces) the email address on file, masked in the event.
    pub fn set_email(
        &mut self,
        user: &Username,
        email: &str,
        masked: &str,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|db| {
            let u = require_user(db, user.as_str())?;
            let had: Option<String> = db.row(
                "SELECT email FROM user_emails WHERE user_id = $1",
                &[&u.id],
                |r| r.get(0),
            )?;
            if had.is_some() {
                db.execute(
                    "UPDATE user_emails SET email = $2, set_at = $3 WHERE user_id = $1",
                    &[&u.id, &email, &now],
                )?;
            } else {
                db.execute(
                    "INSERT INTO user_emails (user_id, email, set_at) VALUES ($1, $2, $3)",
                    &[&u.id, &email, &now],
                )?;
            }
            let event = AuditEvent::EmailSet {
                email: masked,
                replaced: had.is_some(),
            };
            append_event(db, now, operator, Some(&u.name), event)
        })
    }

    /// Stores a challenge about to be sent; returns its id.
    pub fn insert_challenge(
        &mut self,
        user: &UserRow,
        c: &NewChallenge,
        operator: &str,
        now: i64,
    ) -> Result<i64> {
        self.write(|db| {
            let id = db.insert(
                "INSERT INTO challenges (user_id, operator, contact, device_id, salt, hash,
                    m_cost, t_cost, p_cost, created_at, expires_at, tries, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 'sent') RETURNING id",
                &[
                    &user.id,
                    &operator,
                    &c.contact,
                    &c.device_id,
                    &c.salt,
                    &c.hash.to_vec(),
                    &i64::from(c.params.memory_kib),
                    &i64::from(c.params.iterations),
                    &i64::from(c.params.parallelism),
                    &now,
                    &c.expires_at,
                ],
            )?;
            let event = AuditEvent::ChallengeSent {
                challenge: id,
                contact: &c.contact,
                device: c.device_id,
                expires_at: c.expires_at,
            };
            append_event(db, now, operator, Some(&user.name), event)?;
            Ok(id)
        })
    }

    /// A challenge that could not be sent: spent, and recorded why.
    pub fn fail_challenge(
        &mut self,
        user: &UserRow,
        id: i64,
        reason: &str,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|db| {
            db.execute(
                "UPDATE challenges SET state = 'failed' WHERE id = $1",
                &[&id],
            )?;
            let event = AuditEvent::DeliveryFailed {
                set: None,
                challenge: Some(id),
                reason,
            };
            append_event(db, now, operator, Some(&user.name), event)
        })
    }

    /// The salt and parameters to hash a read-back of challenge `id` with;
    /// exit 4 unless it is this user's.
    pub fn challenge_salt(&self, user: &UserRow, id: i64) -> Result<ChallengeSalt> {
        self.read(|db| {
            db.row(
                "SELECT salt, m_cost, t_cost, p_cost FROM challenges WHERE id = $1 AND user_id = $2",
                &[&id, &user.id],
                |r| {
                    let p = |i| -> Result<u32> {
                        u32::try_from(r.get::<i64>(i)?)
                            .map_err(|_| fail(Status::Store, "store error: bad hash parameter"))
                    };
                    Ok(ChallengeSalt {
                        salt: r.get(0)?,
                        params: HashParams {
                            memory_kib: p(1)?,
                            iterations: p(2)?,
                            parallelism: p(3)?,
                        },
                    })
                },
            )?
            .ok_or_else(|| challenge_not_found(&user.name, id))
        })
    }

    /// Compares a read-back's hash with the challenge's, in constant time,
    /// under the write lock (two operators typing at once spend one try
    /// each), and records the outcome.
    pub fn answer_challenge(
        &mut self,
        user: &UserRow,
        id: i64,
        tag: &CodeHash,
        operator: &str,
        now: i64,
    ) -> Result<ChallengeAnswer> {
        self.write(|db| {
            let row: Option<(Vec<u8>, i64, i64, String, String)> = db.row(
                "SELECT hash, expires_at, tries, state, contact FROM challenges
                 WHERE id = $1 AND user_id = $2",
                &[&id, &user.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let Some((hash, expires_at, tries, state, contact)) = row else {
                return Err(challenge_not_found(&user.name, id));
            };
            let outcome = if state != "sent" || tries >= CHALLENGE_TRIES {
                ChallengeAnswer::Spent
            } else if now >= expires_at {
                ChallengeAnswer::Expired
            } else if hash.len() == HASH_LEN && bool::from(hash.as_slice().ct_eq(&tag[..])) {
                db.execute(
                    "UPDATE challenges SET state = 'passed' WHERE id = $1",
                    &[&id],
                )?;
                ChallengeAnswer::Passed {
                    contact: contact.clone(),
                }
            } else {
                let tries = tries + 1;
                let state = if tries >= CHALLENGE_TRIES {
                    "failed"
                } else {
                    "sent"
                };
                db.execute(
                    "UPDATE challenges SET tries = $2, state = $3 WHERE id = $1",
                    &[&id, &tries, &state],
                )?;
                ChallengeAnswer::Wrong {
                    tries_left: CHALLENGE_TRIES - tries,
                }
            };
            let wrong = |tries_left, spent, expired| AuditEvent::ChallengeWrong {
                challenge: id,
                contact: &contact,
                tries_left,
                spent,
                expired,
            };
            let event = match &outcome {
                ChallengeAnswer::Passed { .. } => AuditEvent::ChallengePassed {
                    challenge: id,
                    contact: &contact,
                },
                ChallengeAnswer::Wrong { tries_left } => wrong(Some(*tries_left), None, None),
                ChallengeAnswer::Spent => wrong(None, Some(true), None),
                ChallengeAnswer::Expired => wrong(None, None, Some(true)),
            };
            append_event(db, now, operator, Some(&user.name), event)?;
            Ok(outcome)
        })
    }

    /// Records a notice sent about the user's latest `action` event, with
    /// the reference the user may quote.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_notice(
        &mut self,
        user: &str,
        action: &str,
        reference: &str,
        channels: &[String],
        failed: &[String],
        operator: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|db| {
            let u = require_user(db, user)?;
            let audit_id: Option<i64> = db.row(
                "SELECT id FROM audit WHERE \"user\" = $1 ORDER BY id DESC LIMIT 1",
                &[&u.name],
                |r| r.get(0),
            )?;
            db.execute(
                "INSERT INTO notices (ref, user_id, action, audit_id, at) VALUES ($1, $2, $3, $4, $5)",
                &[&reference, &u.id, &action, &audit_id, &now],
            )?;
            let event = AuditEvent::UserNotified {
                about: action,
                event: audit_id,
                sent: channels,
                failed,
            };
            append_event(db, now, operator, Some(&u.name), event)
        })
    }

    /// When the user was last sent a notice about `action`.
    pub fn last_notice_at(&self, user: &str, action: &str) -> Result<Option<i64>> {
        self.read(|db| {
            db.one(
                "SELECT MAX(n.at) FROM notices n JOIN users u ON u.id = n.user_id
                 WHERE u.name = $1 AND n.action = $2",
                &[&user, &action],
                |r| r.get(0),
            )
        })
    }

    /// "Not me": revokes the user's live codes (whatever the event issued
    /// among them), locks the user and records the dispute. Exit 4 for an
    /// unknown reference.
    pub fn dispute(
        &mut self,
        reference: &str,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<Disputed> {
        self.write(|db| {
            let row: Option<NoticeRow> = db.row(
                "SELECT u.name, n.action, n.at, n.audit_id, n.disputed_at FROM notices n
                 JOIN users u ON u.id = n.user_id WHERE n.ref = $1",
                &[&reference],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let Some((name, action, at, audit_id, disputed_at)) = row else {
                return Err(fail(
                    Status::NotFound,
                    "no such notice reference (check it with the user, letter by letter)",
                ));
            };
            let u = require_user(db, &name)?;
            let ids = active_set_ids(db, u.id)?;
            let why = format!("disputed by the user (notice about {action})");
            revoke_in(db, &u.name, &ids, Some(&why), operator, now)?;
            db.execute(
                "UPDATE users SET locked_at = COALESCE(locked_at, $2) WHERE id = $1",
                &[&u.id, &now],
            )?;
            db.execute(
                "UPDATE notices SET disputed_at = COALESCE(disputed_at, $2) WHERE ref = $1",
                &[&reference, &now],
            )?;
            let event = AuditEvent::Dispute {
                about: &action,
                event: audit_id,
                revoked_sets: &ids,
                locked: true,
                again: disputed_at.is_some(),
                reason,
            };
            append_event(db, now, operator, Some(&u.name), event)?;
            Ok(Disputed {
                user: u.name,
                action,
                at,
                revoked: ids,
                was_locked: u.locked_at.is_some(),
            })
        })
    }

    /// Whether the user is locked and was disputed ("not me") since their
    /// last unlock: such a lock is lifted only after an identity check.
    pub fn locked_by_dispute(&self, user: &UserRow) -> Result<bool> {
        if user.locked_at.is_none() {
            return Ok(false);
        }
        self.read(|db| {
            let n: i64 = db.one(
                "SELECT COUNT(*) FROM audit WHERE \"user\" = $1 AND action = 'dispute'
                 AND id > COALESCE((SELECT MAX(id) FROM audit
                                    WHERE \"user\" = $1 AND action = 'unlock'), 0)",
                &[&user.name],
                |r| r.get(0),
            )?;
            Ok(n > 0)
        })
    }

    /// Revokes every live set that `principal` issued (at or after
    /// `since`), user by user; returns (user, sets) for each user touched.
    pub fn revoke_issued_by(
        &mut self,
        principal: &str,
        since: Option<i64>,
        reason: Option<&str>,
        operator: &str,
        now: i64,
    ) -> Result<Vec<(String, Vec<i64>)>> {
        self.write(|db| {
            // Issue 13: matched on the principal the trail recorded, not
            // on the display name (`--operator`) kept on the set.
            let rows = super::approvals::live_sets_by_principal(db, principal, since)?;
            let mut by_user: Vec<(String, Vec<i64>)> = Vec::new();
            for (name, id) in rows {
                match by_user.last_mut() {
                    Some((n, ids)) if *n == name => ids.push(id),
                    _ => by_user.push((name, vec![id])),
                }
            }
            let default = format!("issued by {principal} (revoke --issued-by)");
            for (name, ids) in &by_user {
                revoke_in(
                    db,
                    name,
                    ids,
                    Some(reason.unwrap_or(&default)),
                    operator,
                    now,
                )?;
            }
            Ok(by_user)
        })
    }
}
