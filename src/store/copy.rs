//! Copying a SQLite store into an empty PostgreSQL one (`codedesk
//! migrate`): every row, ids and audit chain intact. What is read from
//! SQLite, what is written to PostgreSQL, and the checks around them.

use super::exec::Exec;
use super::ops::{AUDIT_COLUMNS, audit_row, user_row};
use super::postgres::{COPY_CHUNK, Db as _, Pg, get};
use super::sqlite::{Db as _, Lite};
use super::*;
use crate::audit::{AuditEvent, ChainCheck};
use crate::exit::{Status, fail};
use ::postgres::Transaction;
use anyhow::Result;
use std::path::Path;

/// Every row of a store, ids included: what `codedesk migrate` copies.
#[derive(Debug, Clone, Default)]
pub struct StoreRows {
    pub users: Vec<UserRow>,
    pub devices: Vec<DeviceRow>,
    pub identity_checks: Vec<CheckRow>,
    pub code_sets: Vec<SetRow>,
    pub codes: Vec<CodeRow>,
    pub audit: Vec<AuditRow>,
    /// Issue 13: privileged users and approval requests.
    pub approvals: super::approvals::ApprovalRows,
    /// The highest id each table has ever handed out, where the source
    /// keeps it (SQLite's `sqlite_sequence`, for AUTOINCREMENT tables).
    pub sequences: Vec<(String, i64)>,
    /// The safeguards' tables (schema 5).
    pub safeguards: super::copy_safeguards::SafeguardRows,
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

impl SqliteStore {
    /// Every row of every table, ids included, read in one transaction (a
    /// consistent snapshot while other operators write): what `codedesk
    /// migrate` copies, with the ids SQLite has handed out.
    pub fn export_rows(&self) -> Result<StoreRows> {
        let tx = self.conn.unchecked_transaction().db()?;
        let db: &mut dyn Exec = &mut Lite(&tx);
        let mut rows = export_rows(db)?;
        let has_seq: bool = db.one(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
            &[],
            |r| r.get(0),
        )?;
        if has_seq {
            rows.sequences = db.rows("SELECT name, seq FROM sqlite_sequence", &[], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        }
        tx.commit().db()?;
        Ok(rows)
    }
}

impl PgStore {
    /// Copies `rows` (ids included) into this store, which must be empty
    /// (exit 2 otherwise), in one transaction under the write lock; resets
    /// the id sequences past the copied ids; then appends a
    /// `store-migrated` event to the copied chain.
    pub fn import_rows(
        &mut self,
        rows: &StoreRows,
        from: &str,
        operator: &str,
        now: i64,
    ) -> Result<()> {
        let target = self.target().to_string();
        self.transaction(|tx| {
            let row = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM users), EXISTS (SELECT 1 FROM devices),
                            EXISTS (SELECT 1 FROM identity_checks), EXISTS (SELECT 1 FROM code_sets),
                            EXISTS (SELECT 1 FROM codes), EXISTS (SELECT 1 FROM audit)",
                    &[],
                )
                .db()?;
            let names = [
                "users",
                "devices",
                "identity checks",
                "code sets",
                "codes",
                "audit events",
            ];
            let mut held = Vec::new();
            for (i, name) in names.iter().enumerate() {
                if get::<bool>(&row, i)? {
                    held.push(*name);
                }
            }
            if !held.is_empty() {
                return Err(fail(
                    Status::Usage,
                    format!(
                        "the PostgreSQL store ({target}) is not empty (it holds {}); `codedesk migrate` copies only into an empty store; nothing was copied",
                        held.join(", ")
                    ),
                ));
            }
            copy_rows(tx, rows)?;
            super::copy_safeguards::import(&mut Pg(tx), &rows.safeguards)?;
            super::approvals::import_pg(&mut Pg(tx), &rows.approvals)?;
            // Ids go on above the highest the source ever handed out (not
            // just above the rows left): a removed device's id never returns.
            for table in ["users", "devices", "identity_checks", "code_sets", "codes"] {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                   GREATEST($1, COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1,
                                   false)"
                    ),
                    &[&rows.id_high_water(table)],
                )
                .db()?;
            }
            ops::append_event(
                &mut Pg(tx),
                now,
                operator,
                None,
                {
                    let c = rows.counts();
                    AuditEvent::StoreMigrated {
                        from,
                        users: c.users,
                        devices: c.devices,
                        identity_checks: c.identity_checks,
                        sets: c.code_sets,
                        codes: c.codes,
                        events: c.audit,
                    }
                },
            )
        })
    }
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
        approvals: super::approvals::export(db)?,
        sequences: Vec::new(),
        safeguards: super::copy_safeguards::export(db)?,
    })
}

/// Inserts `rows` as they are, table by table in foreign-key order, each
/// in statements of `COPY_CHUNK` rows (`UNNEST` of one array per column,
/// which PostgreSQL-compatible engines also accept).
fn copy_rows(tx: &mut Transaction, rows: &StoreRows) -> Result<()> {
    for c in rows.users.chunks(COPY_CHUNK) {
        tx.execute(
            "INSERT INTO users (id, name, created_at, failed_attempts, locked_at)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[])",
            &[
                &c.iter().map(|r| r.id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.created_at).collect::<Vec<_>>(),
                &c.iter().map(|r| r.failed_attempts).collect::<Vec<_>>(),
                &c.iter().map(|r| r.locked_at).collect::<Vec<_>>(),
            ],
        )
        .db()?;
    }
    for c in rows.identity_checks.chunks(COPY_CHUNK) {
        tx.execute(
            "INSERT INTO identity_checks (id, user_id, operator, method, ticket, outcome, at)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                  $6::TEXT[], $7::BIGINT[])",
            &[
                &c.iter().map(|r| r.id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.user_id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.operator.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.method.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.ticket.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.at).collect::<Vec<_>>(),
            ],
        )
        .db()?;
    }
    for c in rows.devices.chunks(COPY_CHUNK) {
        tx.execute(
            "INSERT INTO devices (id, user_id, position, kind, phone, sms, label, created_at)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[],
                                  $6::BOOLEAN[], $7::TEXT[], $8::BIGINT[])",
            &[
                &c.iter().map(|r| r.id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.user_id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.position).collect::<Vec<_>>(),
                &c.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.phone.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.sms).collect::<Vec<_>>(),
                &c.iter().map(|r| r.label.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.created_at).collect::<Vec<_>>(),
            ],
        )
        .db()?;
    }
    for c in rows.code_sets.chunks(COPY_CHUNK) {
        tx.execute(
            "INSERT INTO code_sets (id, user_id, via, device_id, identity_check_id, operator,
                created_at, expires_at, uses, alphabet, length, salt, m_cost, t_cost, p_cost,
                state, ended_at, ended_reason)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[],
                $5::BIGINT[], $6::TEXT[], $7::BIGINT[], $8::BIGINT[], $9::BIGINT[], $10::TEXT[],
                $11::BIGINT[], $12::BYTEA[], $13::BIGINT[], $14::BIGINT[], $15::BIGINT[],
                $16::TEXT[], $17::BIGINT[], $18::TEXT[])",
            &[
                &c.iter().map(|r| r.id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.user_id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.via.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.device_id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.identity_check_id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.operator.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.created_at).collect::<Vec<_>>(),
                &c.iter().map(|r| r.expires_at).collect::<Vec<_>>(),
                &c.iter().map(|r| r.uses).collect::<Vec<_>>(),
                &c.iter().map(|r| r.alphabet.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.length).collect::<Vec<_>>(),
                &c.iter().map(|r| r.salt.as_slice()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.m_cost).collect::<Vec<_>>(),
                &c.iter().map(|r| r.t_cost).collect::<Vec<_>>(),
                &c.iter().map(|r| r.p_cost).collect::<Vec<_>>(),
                &c.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.ended_at).collect::<Vec<_>>(),
                &c.iter()
                    .map(|r| r.ended_reason.as_deref())
                    .collect::<Vec<_>>(),
            ],
        )
        .db()?;
    }
    for c in rows.codes.chunks(COPY_CHUNK) {
        tx.execute(
            "INSERT INTO codes (id, set_id, hash, uses_left)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BYTEA[], $4::BIGINT[])",
            &[
                &c.iter().map(|r| r.id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.set_id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.hash.as_slice()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.uses_left).collect::<Vec<_>>(),
            ],
        )
        .db()?;
    }
    // The copied events keep the principals they were chained with: the
    // trigger that writes the login role is off for this transaction only
    // (ALTER TABLE is transactional and locks the table until the commit,
    // so no other session ever inserts without it; it takes the table's
    // owner, as creating the schema did).
    tx.batch_execute("ALTER TABLE audit DISABLE TRIGGER audit_principal")
        .db()?;
    for c in rows.audit.chunks(COPY_CHUNK) {
        tx.execute(
            "INSERT INTO audit (id, at, operator, action, \"user\", details, prev_hash, hash, principal)
             SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                                  $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[])",
            &[
                &c.iter().map(|r| r.id).collect::<Vec<_>>(),
                &c.iter().map(|r| r.at).collect::<Vec<_>>(),
                &c.iter().map(|r| r.operator.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.user.as_deref()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.details.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.prev_hash.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.hash.as_str()).collect::<Vec<_>>(),
                &c.iter().map(|r| r.principal.as_deref()).collect::<Vec<_>>(),
            ],
        )
        .db()?;
    }
    tx.batch_execute("ALTER TABLE audit ENABLE TRIGGER audit_principal")
        .db()?;
    Ok(())
}
