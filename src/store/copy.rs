//! Copying a SQLite store into an empty PostgreSQL one (`codedesk
//! migrate`): every row, ids and audit chain intact. Each table is
//! described once, in [`TABLES`] (its columns in copy order and what the
//! copy does around it); one routine reads any described table through
//! either backend's executor, one writes it into PostgreSQL.

use super::exec::{Exec, Row};
use super::postgres::{COPY_CHUNK, Db as _, Pg, get};
use super::sqlite::{Db as _, Lite};
use super::*;
use crate::audit::{AuditEvent, ChainCheck};
use crate::exit::{Status, fail};
use ::postgres::Transaction;
use ::postgres::types::ToSql;
use anyhow::Result;
use std::path::Path;

/// A table as `codedesk migrate` copies it.
struct Table {
    name: &'static str,
    /// Its columns in copy order, each with the PostgreSQL type it is
    /// copied as (one Rust type on both backends: BIGINT is an `i64`, and
    /// BOOLEAN a `bool`, SQLite's 0 or 1).
    columns: &'static str,
    order_by: &'static str,
    /// How the refusal to copy into a store that is not empty names it,
    /// if the copy checks it (the other tables' rows all name a user).
    held_as: Option<&'static str>,
    /// Its `id` is an identity whose sequence the copy sets above every id
    /// the source handed out (`StoreRows::id_high_water`).
    serial: bool,
    /// Columns (table, column) of other tables, and a key of the audit
    /// events' details, that name its ids: they count for the high water.
    named_by: &'static [(&'static str, &'static str)],
    named_in_audit: Option<&'static str>,
    /// The PostgreSQL trigger that writes the login role on insert: off
    /// while the copied rows go in, so they keep the principals they were
    /// written (and chained) with. ALTER TABLE is transactional and locks
    /// the table until the commit, so no other session ever inserts
    /// without it; it takes the table's owner, as creating the schema did.
    trigger: Option<&'static str>,
}

const PLAIN: Table = Table {
    name: "",
    columns: "",
    order_by: "id",
    held_as: None,
    serial: false,
    named_by: &[],
    named_in_audit: None,
    trigger: None,
};

/// Every table `codedesk migrate` copies, in foreign-key order. Codes and
/// challenges are hashes; nothing is a secret in clear.
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: "id BIGINT, name TEXT, created_at BIGINT, failed_attempts BIGINT, locked_at BIGINT",
        held_as: Some("users"),
        serial: true,
        ..PLAIN
    },
    Table {
        name: "devices",
        columns: "id BIGINT, user_id BIGINT, position BIGINT, kind TEXT, phone TEXT, sms BOOLEAN,
                  label TEXT, created_at BIGINT",
        held_as: Some("devices"),
        serial: true,
        named_by: &[("code_sets", "device_id")],
        named_in_audit: Some("device"),
        ..PLAIN
    },
    Table {
        name: "identity_checks",
        columns: "id BIGINT, user_id BIGINT, operator TEXT, method TEXT, ticket TEXT, outcome TEXT,
                  at BIGINT",
        held_as: Some("identity checks"),
        serial: true,
        named_by: &[("code_sets", "identity_check_id")],
        named_in_audit: Some("check"),
        ..PLAIN
    },
    Table {
        name: "code_sets",
        columns: "id BIGINT, user_id BIGINT, via TEXT, device_id BIGINT, identity_check_id BIGINT,
                  operator TEXT, created_at BIGINT, expires_at BIGINT, uses BIGINT, alphabet TEXT,
                  length BIGINT, salt BYTEA, m_cost BIGINT, t_cost BIGINT, p_cost BIGINT,
                  state TEXT, ended_at BIGINT, ended_reason TEXT",
        held_as: Some("code sets"),
        serial: true,
        ..PLAIN
    },
    Table {
        name: "codes",
        columns: "id BIGINT, set_id BIGINT, hash BYTEA, uses_left BIGINT",
        held_as: Some("codes"),
        serial: true,
        ..PLAIN
    },
    // Ids are the writer's (the previous + 1), never a sequence's.
    Table {
        name: "audit",
        columns: "id BIGINT, at BIGINT, operator TEXT, action TEXT, \"user\" TEXT, details TEXT,
                  prev_hash TEXT, hash TEXT, principal TEXT",
        held_as: Some("audit events"),
        trigger: Some("audit_principal"),
        ..PLAIN
    },
    // The safeguards' tables (schema 5, docs/safeguards.md).
    Table {
        name: "challenges",
        columns: "id BIGINT, user_id BIGINT, operator TEXT, contact TEXT, device_id BIGINT,
                  salt BYTEA, hash BYTEA, m_cost BIGINT, t_cost BIGINT, p_cost BIGINT,
                  created_at BIGINT, expires_at BIGINT, tries BIGINT, state TEXT",
        serial: true,
        ..PLAIN
    },
    Table {
        name: "user_emails",
        columns: "user_id BIGINT, email TEXT, set_at BIGINT",
        order_by: "user_id",
        ..PLAIN
    },
    Table {
        name: "notices",
        columns: "ref TEXT, user_id BIGINT, action TEXT, audit_id BIGINT, at BIGINT,
                  disputed_at BIGINT",
        order_by: "at, ref",
        ..PLAIN
    },
    // The approval tables (schema 6, docs/approvals.md), principals and
    // states as they were.
    Table {
        name: "privileged_users",
        columns: "user_id BIGINT, set_by TEXT, set_at BIGINT",
        order_by: "user_id",
        trigger: Some("privileged_principal"),
        ..PLAIN
    },
    Table {
        name: "approval_requests",
        columns: "id BIGINT, user_id BIGINT, what TEXT, reason TEXT, requested_by TEXT,
                  operator TEXT, method TEXT, ticket TEXT, created_at BIGINT, expires_at BIGINT,
                  state TEXT, decided_by TEXT, decided_at BIGINT, used_at BIGINT",
        serial: true,
        trigger: Some("request_principal"),
        ..PLAIN
    },
];

impl Table {
    /// Its columns (name, type), in copy order.
    fn columns(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        let columns: &'static str = self.columns;
        columns.split(',').map(|c| {
            let c = c.trim();
            c.rsplit_once(' ').unwrap_or((c, ""))
        })
    }

    fn column_names(&self) -> String {
        self.columns().map(|c| c.0).collect::<Vec<_>>().join(", ")
    }
}

/// One column's values, every row of a table, in the column's type.
#[derive(Debug, Clone)]
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
    Bool(Vec<bool>),
}

impl Column {
    /// An empty column of PostgreSQL type `ty`.
    fn new(table: &str, (name, ty): (&str, &str)) -> Result<Column> {
        Ok(match ty {
            "BIGINT" => Column::Int(Vec::new()),
            "TEXT" => Column::Text(Vec::new()),
            "BYTEA" => Column::Bytes(Vec::new()),
            "BOOLEAN" => Column::Bool(Vec::new()),
            _ => {
                return Err(fail(
                    Status::Store,
                    format!("store error: no copy for {table}.{name} ({ty})"),
                ));
            }
        })
    }

    /// Appends column `i` of `r`.
    fn push(&mut self, r: &Row, i: usize) -> Result<()> {
        match self {
            Column::Int(v) => v.push(r.get(i)?),
            Column::Text(v) => v.push(r.get(i)?),
            Column::Bytes(v) => v.push(r.get(i)?),
            Column::Bool(v) => v.push(r.get(i)?),
        }
        Ok(())
    }

    fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Text(v) => v.len(),
            Column::Bytes(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    /// Rows `at`, as one PostgreSQL array.
    fn array(&self, at: std::ops::Range<usize>) -> Box<dyn ToSql + Sync + '_> {
        match self {
            Column::Int(v) => Box::new(&v[at]),
            Column::Text(v) => Box::new(&v[at]),
            Column::Bytes(v) => Box::new(&v[at]),
            Column::Bool(v) => Box::new(&v[at]),
        }
    }
}

/// Every row of a store, ids included: what `codedesk migrate` copies.
#[derive(Debug, Clone, Default)]
pub struct StoreRows {
    /// Per table of [`TABLES`], in order: its columns, in order.
    tables: Vec<Vec<Column>>,
    /// The highest id each table has ever handed out, where the source
    /// keeps it (SQLite's `sqlite_sequence`, for AUTOINCREMENT tables).
    pub sequences: Vec<(String, i64)>,
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
    /// The values of `table`'s `column`, if both are described.
    fn column(&self, table: &str, column: &str) -> Option<&Column> {
        let t = TABLES.iter().position(|t| t.name == table)?;
        let c = TABLES[t].columns().position(|c| c.0 == column)?;
        self.tables.get(t)?.get(c)
    }

    /// How many rows of `table` there are.
    fn count(&self, table: &str) -> usize {
        let t = TABLES.iter().position(|t| t.name == table);
        t.and_then(|t| self.tables.get(t)?.first())
            .map_or(0, Column::len)
    }

    /// The highest id `table` has ever used, as far as the rows tell: its
    /// rows, the source's sequence, and (devices, identity checks) the ids
    /// that sets and audit events still name. A copy must hand out ids
    /// above it, so that a removed device's id never comes back and old
    /// sets and events keep pointing at the right one.
    pub fn id_high_water(&self, table: &str) -> i64 {
        let mut ids: Vec<i64> = self
            .sequences
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, s)| *s)
            .collect();
        if let Some(t) = TABLES.iter().find(|t| t.name == table) {
            for (table, column) in [(table, "id")].iter().chain(t.named_by) {
                if let Some(Column::Int(v)) = self.column(table, column) {
                    ids.extend(v.iter().flatten());
                }
            }
            if let (Some(key), Some(Column::Text(details))) =
                (t.named_in_audit, self.column("audit", "details"))
            {
                ids.extend(details.iter().flatten().filter_map(|d| {
                    serde_json::from_str::<serde_json::Value>(d)
                        .ok()?
                        .get(key)?
                        .as_i64()
                }));
            }
        }
        ids.into_iter().max().unwrap_or(0).max(0)
    }

    pub fn counts(&self) -> RowCounts {
        RowCounts {
            users: self.count("users"),
            devices: self.count("devices"),
            identity_checks: self.count("identity_checks"),
            code_sets: self.count("code_sets"),
            codes: self.count("codes"),
            audit: self.count("audit"),
            challenges: self.count("challenges"),
            user_emails: self.count("user_emails"),
            notices: self.count("notices"),
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
            let checked: Vec<(&str, &str)> = TABLES
                .iter()
                .filter_map(|t| Some((t.name, t.held_as?)))
                .collect();
            let exists: Vec<String> = checked
                .iter()
                .map(|(t, _)| format!("EXISTS (SELECT 1 FROM {t})"))
                .collect();
            let row = tx
                .query_one(&format!("SELECT {}", exists.join(", ")), &[])
                .db()?;
            let mut held = Vec::new();
            for (i, (_, name)) in checked.iter().enumerate() {
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
            for (t, columns) in TABLES.iter().zip(&rows.tables) {
                import_table(tx, t, columns, rows)?;
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

/// Every row of every table, ids included (what `codedesk migrate`
/// copies), read through `db`, which the caller holds in one transaction
/// for a consistent snapshot.
pub(crate) fn export_rows(db: &mut dyn Exec) -> Result<StoreRows> {
    let mut tables = Vec::new();
    for t in TABLES {
        let mut columns = t
            .columns()
            .map(|c| Column::new(t.name, c))
            .collect::<Result<Vec<_>>>()?;
        db.each_row(
            &format!(
                "SELECT {} FROM {} ORDER BY {}",
                t.column_names(),
                t.name,
                t.order_by
            ),
            &[],
            &mut |r| {
                for (i, c) in columns.iter_mut().enumerate() {
                    c.push(r, i)?;
                }
                Ok(())
            },
        )?;
        tables.push(columns);
    }
    Ok(StoreRows {
        tables,
        sequences: Vec::new(),
    })
}

/// Inserts table `t`'s rows as they are, in statements of `COPY_CHUNK`
/// rows (`UNNEST` of one array per column, which PostgreSQL-compatible
/// engines also accept), its principals trigger off; then, for a serial
/// table, ids go on above the highest the source ever handed out (not
/// just above the rows left): a removed device's id never returns.
fn import_table(
    tx: &mut Transaction,
    t: &Table,
    columns: &[Column],
    rows: &StoreRows,
) -> Result<()> {
    if let Some(trigger) = t.trigger {
        tx.batch_execute(&format!("ALTER TABLE {} DISABLE TRIGGER {trigger}", t.name))
            .db()?;
    }
    let unnest: Vec<String> = (t.columns().enumerate())
        .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
        .collect();
    let insert = format!(
        "INSERT INTO {} ({}) SELECT * FROM UNNEST({})",
        t.name,
        t.column_names(),
        unnest.join(", ")
    );
    let n = columns.first().map_or(0, Column::len);
    for at in (0..n).step_by(COPY_CHUNK) {
        let arrays: Vec<_> = columns
            .iter()
            .map(|c| c.array(at..n.min(at + COPY_CHUNK)))
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> = arrays.iter().map(|a| a.as_ref() as _).collect();
        tx.execute(&insert, &params).db()?;
    }
    if let Some(trigger) = t.trigger {
        tx.batch_execute(&format!("ALTER TABLE {} ENABLE TRIGGER {trigger}", t.name))
            .db()?;
    }
    if t.serial {
        let table = t.name;
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
    Ok(())
}
