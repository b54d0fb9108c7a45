//! What `codedesk migrate` copies of the safeguards' tables (schema 5,
//! docs/safeguards.md): challenges (their hashes only, never a challenge),
//! the email addresses on file, and the notices users may dispute. Read
//! with the rest of the source's rows in one snapshot, written in the
//! copy's one transaction, after the users they point at.

use super::exec::Exec;
use anyhow::Result;

/// A challenge row as stored (its Argon2id hash, never the challenge).
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub id: i64,
    pub user_id: i64,
    pub operator: String,
    pub contact: String,
    pub device_id: Option<i64>,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
    pub m_cost: i64,
    pub t_cost: i64,
    pub p_cost: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub tries: i64,
    pub state: String,
}

/// An email address on file.
#[derive(Debug, Clone)]
pub struct EmailRow {
    pub user_id: i64,
    pub email: String,
    pub set_at: i64,
}

/// A notice sent to a user (its reference is what `dispute` takes).
#[derive(Debug, Clone)]
pub struct NoticeRow {
    pub reference: String,
    pub user_id: i64,
    pub action: String,
    pub audit_id: Option<i64>,
    pub at: i64,
    pub disputed_at: Option<i64>,
}

/// The safeguards' rows of a store.
#[derive(Debug, Clone, Default)]
pub struct SafeguardRows {
    pub challenges: Vec<ChallengeRow>,
    pub user_emails: Vec<EmailRow>,
    pub notices: Vec<NoticeRow>,
}

const CHALLENGE_COLUMNS: &str = "id, user_id, operator, contact, device_id, salt, hash, \
     m_cost, t_cost, p_cost, created_at, expires_at, tries, state";

/// Every safeguards row, read through `db` (the caller's snapshot).
pub(crate) fn export(db: &mut dyn Exec) -> Result<SafeguardRows> {
    Ok(SafeguardRows {
        challenges: db.rows(
            &format!("SELECT {CHALLENGE_COLUMNS} FROM challenges ORDER BY id"),
            &[],
            |r| {
                Ok(ChallengeRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    operator: r.get(2)?,
                    contact: r.get(3)?,
                    device_id: r.get(4)?,
                    salt: r.get(5)?,
                    hash: r.get(6)?,
                    m_cost: r.get(7)?,
                    t_cost: r.get(8)?,
                    p_cost: r.get(9)?,
                    created_at: r.get(10)?,
                    expires_at: r.get(11)?,
                    tries: r.get(12)?,
                    state: r.get(13)?,
                })
            },
        )?,
        user_emails: db.rows(
            "SELECT user_id, email, set_at FROM user_emails ORDER BY user_id",
            &[],
            |r| {
                Ok(EmailRow {
                    user_id: r.get(0)?,
                    email: r.get(1)?,
                    set_at: r.get(2)?,
                })
            },
        )?,
        notices: db.rows(
            "SELECT ref, user_id, action, audit_id, at, disputed_at FROM notices ORDER BY at, ref",
            &[],
            |r| {
                Ok(NoticeRow {
                    reference: r.get(0)?,
                    user_id: r.get(1)?,
                    action: r.get(2)?,
                    audit_id: r.get(3)?,
                    at: r.get(4)?,
                    disputed_at: r.get(5)?,
                })
            },
        )?,
    })
}

/// Writes `rows` into the copy (PostgreSQL, in the copy's transaction,
/// after its users), ids kept; the challenges' id sequence goes on above
/// the highest copied id.
pub(crate) fn import(db: &mut dyn Exec, rows: &SafeguardRows) -> Result<()> {
    for c in &rows.challenges {
        db.execute(
            &format!(
                "INSERT INTO challenges ({CHALLENGE_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ),
            &[
                &c.id,
                &c.user_id,
                &c.operator,
                &c.contact,
                &c.device_id,
                &c.salt,
                &c.hash,
                &c.m_cost,
                &c.t_cost,
                &c.p_cost,
                &c.created_at,
                &c.expires_at,
                &c.tries,
                &c.state,
            ],
        )?;
    }
    for e in &rows.user_emails {
        db.execute(
            "INSERT INTO user_emails (user_id, email, set_at) VALUES ($1, $2, $3)",
            &[&e.user_id, &e.email, &e.set_at],
        )?;
    }
    for n in &rows.notices {
        db.execute(
            "INSERT INTO notices (ref, user_id, action, audit_id, at, disputed_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &n.reference,
                &n.user_id,
                &n.action,
                &n.audit_id,
                &n.at,
                &n.disputed_at,
            ],
        )?;
    }
    let high = rows.challenges.iter().map(|c| c.id).max().unwrap_or(0);
    db.execute(
        "SELECT setval(pg_get_serial_sequence('challenges', 'id'),
                       GREATEST($1, COALESCE((SELECT MAX(id) FROM challenges), 0)) + 1, false)",
        &[&high],
    )?;
    Ok(())
}
