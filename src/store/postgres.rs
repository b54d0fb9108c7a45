//! The PostgreSQL backend, for helpdesks whose workstations share one store.
//! The operations themselves are shared with SQLite (`store/ops.rs`, run
//! through this module's executor, `Pg`); what is here is what only
//! PostgreSQL needs: connecting (the settings in `conn`, TLS in `tls`),
//! migrating, the write lock, error mapping, streaming through portals,
//! the roles, and the integrity check. Copying a SQLite store in
//! (`codedesk migrate`) is in `store/copy.rs`. Only `store` sees this type.
//!
//! Concurrency, the way SQLite's IMMEDIATE transactions give it:
//! - every write runs in one READ COMMITTED transaction whose first
//!   statement takes `pg_advisory_xact_lock(WRITE_LOCK)`. Writers are thus
//!   serialised across all workstations: a code is spent exactly once, a
//!   new set replaces the old atomically, and each audit event links to
//!   the one committed before it. READ COMMITTED (not REPEATABLE READ) on
//!   purpose: each statement after the lock takes a fresh snapshot, so it
//!   sees everything the previous lock holder committed; a REPEATABLE READ
//!   snapshot would date from the lock statement itself, before the wait.
//! - listings and the audit trail read in one READ ONLY REPEATABLE READ
//!   transaction (one consistent snapshot for their several queries),
//!   streamed through server-side portals.
//! - `lock_timeout` and `statement_timeout` are [`BUSY_TIMEOUT`]: waiting
//!   longer for another writer is exit 7, "busy", as on SQLite.
//! - migrations run in one transaction under the advisory lock
//!   `MIGRATE_LOCK`, so two workstations upgrading at once take turns
//!   (see [`migrate`] for why that one is session level).
//!
//! Advisory locks are per database, so stores in different databases of
//! one server never wait for each other.

use super::exec::{Exec, Param, Row, Stream};
use super::*;
use crate::audit::AuditEvent;
use crate::exit::{Status, fail};
use ::postgres::error::SqlState;
use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::{FromSql, ToSql, Type};
use ::postgres::{Client, Config, GenericClient, IsolationLevel, Portal, Transaction};
use anyhow::Result;
use std::cell::{RefCell, RefMut};
use std::collections::VecDeque;

mod conn;
mod tls;

pub use conn::ConnectRetry;
use conn::{connect_once, describe, plan_tls, reach, scrub, take_tls_params};

/// Append-only migrations; index + 1 is the version each one yields,
/// recorded as a row of `schema_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/pg/0001_init.sql"),
    include_str!("migrations/pg/0002_devices_by_phone.sql"),
    include_str!("migrations/pg/0003_audit_principal.sql"),
    include_str!("migrations/pg/0004_roles_and_trail.sql"),
    include_str!("migrations/pg/0005_safeguards.sql"),
    include_str!("migrations/pg/0006_approvals.sql"),
    include_str!("migrations/pg/0007_schema_level.sql"),
    include_str!("migrations/pg/0008_integrity.sql"),
];

/// The PostgreSQL schema version this build writes.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Advisory lock keys ("cdsk" in ASCII, then which lock). `WRITE_LOCK` is
/// held for the length of a write transaction (`pg_advisory_xact_lock`);
/// `MIGRATE_LOCK` around the migration transaction.
pub const MIGRATE_LOCK: i64 = 0x6364_736b_0000_0001;
pub const WRITE_LOCK: i64 = 0x6364_736b_0000_0002;

/// Rows fetched per round trip when streaming.
const FETCH: i32 = 256;

/// Rows per statement when `codedesk migrate` copies a table.
pub(super) const COPY_CHUNK: usize = 5000;

/// Maps a database error to exit status 7 with a message naming the cause.
fn pg_err(e: ::postgres::Error) -> anyhow::Error {
    if let Some(code) = e.code() {
        let busy_codes = [
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::QUERY_CANCELED,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ];
        if busy_codes.contains(code) {
            return busy();
        }
        let what = match *code {
            SqlState::DISK_FULL => Some("the disk holding the store is full; nothing was changed"),
            SqlState::READ_ONLY_SQL_TRANSACTION => {
                Some("the store is read-only; nothing was changed")
            }
            _ => None,
        };
        if let Some(what) = what {
            return fail(Status::Store, what);
        }
        if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            // Exit 9; `roles::explain` names the role the command needs.
            let msg = e.as_db_error().map(|d| d.message()).unwrap_or("");
            return crate::roles::denied(msg);
        }
    }
    if e.is_closed() {
        return fail(
            Status::Store,
            "the connection to the PostgreSQL store was lost",
        );
    }
    fail(Status::Store, format!("store error: {}", cause(&e)))
}

/// What went wrong, in one line: the server's own message for a database
/// error, else the client's error and each of its causes ("error
/// connecting to server: Connection refused (os error 111)").
fn cause(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_string();
    }
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(c) = next {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        next = c.source();
    }
    text
}

pub(super) trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, ::postgres::Error> {
    fn db(self) -> Result<T> {
        self.map_err(pg_err)
    }
}

/// One column of a row; a value of an unexpected type is exit 7, not a panic.
pub(super) fn get<'a, T: FromSql<'a>>(r: &'a ::postgres::Row, i: usize) -> Result<T> {
    r.try_get(i)
        .map_err(|e| fail(Status::Store, format!("store error: column {i}: {e}")))
}

/// The PostgreSQL backend: one connection, advisory-locked writes.
pub struct PgStore {
    /// Read methods take `&self` in the store interface; the client needs
    /// `&mut` for every query.
    client: RefCell<Client>,
    /// Its schema against this codedesk's (`upgrade`).
    pub(super) standing: upgrade::Standing,
    /// "host H, port P, database D": how messages name the server. Built
    /// from the parsed configuration, never from the URL: no password.
    target: String,
}

impl PgStore {
    /// Connects to (and, on first use, migrates) the store at `url`, a
    /// `postgres://` or `postgresql://` URL. Without a password in the URL,
    /// `PGPASSWORD` is used if set.
    pub fn open(url: &str) -> Result<PgStore> {
        PgStore::open_with(url, None)
    }

    /// [`PgStore::open`]; `password` (from `store.password_file`) is used
    /// when the URL has none, before `PGPASSWORD`.
    pub fn open_with(url: &str, password: Option<&str>) -> Result<PgStore> {
        PgStore::open_retrying(url, password, None)
    }

    /// [`PgStore::open_with`], retrying (with `retry`) while the server turns
    /// connections away for the moment: too many clients (53300, the
    /// reserved slots included), starting up or shutting down (57P03,
    /// 57P01, 57P02), or the connection refused or cut while it restarts.
    /// Anything else (a wrong password, no such database, TLS) fails at once.
    pub fn open_retrying(
        url: &str,
        password: Option<&str>,
        retry: Option<&mut ConnectRetry>,
    ) -> Result<PgStore> {
        PgStore::open_as(url, password, retry, false)
    }

    /// [`PgStore::open_retrying`]; `upgrading` (`upgrade-store`) opens a
    /// store whatever the age of its schema.
    pub(super) fn open_as(
        url: &str,
        password: Option<&str>,
        mut retry: Option<&mut ConnectRetry>,
        upgrading: bool,
    ) -> Result<PgStore> {
        let (url, params) = take_tls_params(url)?;
        let mut config: Config = url.parse().map_err(|e: ::postgres::Error| {
            fail(
                Status::Usage,
                format!("invalid PostgreSQL URL: {}", cause(&e)),
            )
        })?;
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            config.host("localhost");
        }
        if config.get_password().is_none()
            && let Some(p) = password
        {
            config.password(p);
        }
        if config.get_password().is_none()
            && let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty())
        {
            config.password(p);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(BUSY_TIMEOUT);
        }
        config.application_name("codedesk");
        let target = describe(&config);
        let plan = plan_tls(&params, |k| std::env::var(k).ok(), reach(&config))?;
        config.ssl_mode(plan.wire);
        // The name TLS checks the certificate against is the host's; with
        // only `hostaddr` given, the address is that name.
        if config.get_hosts().is_empty() {
            for a in config.get_hostaddrs().to_vec() {
                config.host(&a.to_string());
            }
        }
        // One line naming the server and the TLS asked for, never the password.
        let cannot = |why: String| {
            fail(
                Status::Store,
                format!(
                    "cannot connect to the PostgreSQL store ({target}, sslmode={}{}): {why}",
                    plan.mode.name(),
                    if plan.defaulted { " by default" } else { "" },
                ),
            )
        };
        let tls = tls::connector(&plan.check).map_err(|e| match crate::exit::status_of(&e) {
            Status::Store => cannot(e.to_string()),
            _ => e,
        })?;
        let (mut client, levels) = loop {
            let tried = std::time::Instant::now();
            let e = match connect_once(&config, tls.clone()) {
                Ok(connected) => break connected,
                Err(e) => e,
            };
            let wait = match retry.as_deref_mut() {
                Some(r) if e.transient() => r.next_wait(tried.elapsed()),
                _ => None,
            };
            match wait {
                Some(d) => std::thread::sleep(d),
                None => {
                    let mut why = match &e {
                        conn::Failed::Pg(e) => scrub(&cause(e), &url, config.get_password()),
                        conn::Failed::NoAnswer(bound) => conn::Failed::no_answer(*bound),
                    };
                    if let Some(r) = retry.as_deref().filter(|r| r.retries > 0) {
                        why = format!(
                            "{why} (still, after {} retries in {} ms; verify.connect_retry is {} ms)",
                            r.retries,
                            r.spent.as_millis(),
                            r.budget.as_millis()
                        );
                    }
                    return Err(cannot(why));
                }
            }
        };
        let standing = open_schema(&mut client, levels, upgrading)?;
        Ok(PgStore {
            client: RefCell::new(client),
            standing,
            target,
        })
    }

    /// `upgrade-store` on this store (`apply`).
    pub(super) fn apply(
        &mut self,
        known: i64,
        dry_run: bool,
        operator: &str,
    ) -> Result<Option<upgrade::Upgrade>> {
        let done = apply(self.client.get_mut(), known, false, dry_run, operator)?;
        if let Some(u) = done.as_ref().filter(|u| !u.dry_run) {
            self.standing.levels = u.to;
        }
        Ok(done)
    }

    /// Where the store is, without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn client(&self) -> Result<RefMut<'_, Client>> {
        self.client
            .try_borrow_mut()
            .map_err(|_| fail(Status::Store, "the store connection is already in use"))
    }

    /// Runs `f` in a transaction that first takes the write lock; rolls
    /// back if it fails (dropping an uncommitted transaction rolls it back).
    pub(super) fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Transaction) -> Result<T>,
    ) -> Result<T> {
        self.standing.check_write()?;
        let mut tx = self.client.get_mut().transaction().db()?;
        tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
            .db()?;
        let out = f(&mut tx)?;
        tx.commit().db()?;
        Ok(out)
    }

    /// Runs the shared operation `f` in a write transaction (see above).
    pub(super) fn write<T>(&mut self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        self.transaction(|tx| f(&mut Pg(tx)))
    }

    /// Runs the shared operation `f` on the connection, each statement in
    /// its own transaction (reads).
    pub(super) fn read<T>(&self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        f(&mut Pg(&mut *self.client()?))
    }

    /// Runs `f` in one READ ONLY REPEATABLE READ transaction: one
    /// snapshot for all its queries.
    pub(super) fn snapshot<T>(&self, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        let mut c = self.client()?;
        let mut tx = read_snapshot(&mut c)?;
        let out = f(&mut Pg(&mut tx))?;
        tx.commit().db()?;
        Ok(out)
    }

    // -------------------------------------------- least privilege (roles)

    /// `Store::spend_matching` on PostgreSQL: the server matches the tags
    /// and spends (`codedesk_spend`, schema 0004), under the write lock;
    /// the accepted event is appended here, in the same transaction.
    pub(super) fn spend_tags(
        &mut self,
        user: &UserRow,
        tags: &[(i64, crate::codes::CodeHash)],
        operator: &str,
        service: Option<&str>,
        now: i64,
    ) -> Result<Spend> {
        let sets: Vec<i64> = tags.iter().map(|t| t.0).collect();
        let hashes: Vec<&[u8]> = tags.iter().map(|t| &t.1[..]).collect();
        self.transaction(|tx| {
            let row = tx
                .query_typed_one(
                    "SELECT o_outcome, o_set, o_remaining FROM codedesk_spend($1, $2, $3, $4)",
                    &[
                        (&user.id, Type::INT8),
                        (&sets, Type::INT8_ARRAY),
                        (&hashes, Type::BYTEA_ARRAY),
                        (&now, Type::INT8),
                    ],
                )
                .db()?;
            let outcome: String = get(&row, 0)?;
            match outcome.as_str() {
                "accepted" => {
                    let (set, remaining): (i64, i64) = (get(&row, 1)?, get(&row, 2)?);
                    let event = AuditEvent::VerifyAccepted {
                        set,
                        remaining,
                        service,
                    };
                    ops::append_event(&mut Pg(tx), now, operator, Some(&user.name), event)?;
                    Ok(Spend::Accepted { remaining })
                }
                "locked" => Ok(Spend::Locked),
                _ => Ok(Spend::Stale),
            }
        })
    }

    /// `codedesk setup-roles`: creates the NOLOGIN roles that are missing
    /// (roles belong to the whole server; one set serves every codedesk
    /// database on it) and grants each what its commands need in this
    /// database, revoking whatever else they held here. Run by the store's
    /// owner, who needs CREATEROLE while a role is missing (and, from
    /// PostgreSQL 16, ADMIN on codedesk_operator to make the supervisor a
    /// member of it). Returns the schema the grants are in.
    pub fn setup_roles(&mut self) -> Result<String> {
        let roles = crate::roles::ALL.join(", ");
        self.transaction(|tx| {
            let schema: String = get(&tx.query_one("SELECT current_schema()::TEXT", &[]).db()?, 0)?;
            let owner: bool = get(
                &tx.query_one(
                    "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables
                      WHERE schemaname = current_schema() AND tablename = 'audit'",
                    &[],
                )
                .db()?,
                0,
            )?;
            if !owner {
                return Err(crate::roles::denied(
                    "the login role does not own the store's tables",
                ));
            }
            tx.batch_execute(
                "DO $$
                 DECLARE r TEXT;
                 BEGIN
                   FOREACH r IN ARRAY ARRAY['codedesk_verifier', 'codedesk_operator',
                                            'codedesk_supervisor', 'codedesk_auditor'] LOOP
                     IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
                       BEGIN
                         EXECUTE format('CREATE ROLE %I NOLOGIN', r);
                       EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                       END;
                     END IF;
                   END LOOP;
                   IF NOT pg_has_role('codedesk_supervisor', 'codedesk_operator', 'MEMBER') THEN
                     GRANT codedesk_operator TO codedesk_supervisor;
                   END IF;
                 END $$;",
            )
            .db()?;
            let q = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
            let s = q(&schema);
            let tables = "users, devices, identity_checks, code_sets, codes, audit, schema_version, \
                          challenges, user_emails, notices, privileged_users, approval_requests, schema_level";
            let functions = "codedesk_spend(BIGINT, BIGINT[], BYTEA[], BIGINT), \
                             codedesk_reject(BIGINT, BIGINT, BIGINT), \
                             codedesk_auto_unlock(BIGINT, BIGINT, BIGINT), \
                             codedesk_set_events(TEXT), \
                             codedesk_set_digest(BIGINT), codedesk_notice_refs()";
            // INSERT on the audit table is granted column by column: a
            // column a later schema fills by its default (a principal the
            // server records) stays out of every client's reach.
            tx.batch_execute(&format!(
                "REVOKE ALL ON {tables} FROM {roles};
                 REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {roles};
                 REVOKE ALL ON FUNCTION {functions} FROM {roles};
                 GRANT USAGE ON SCHEMA {s} TO {roles};
                 GRANT SELECT ON schema_version, schema_level TO {roles};

                 GRANT SELECT ON users TO codedesk_verifier;
                 GRANT SELECT (id, user_id, state, expires_at, alphabet, length, salt,
                               m_cost, t_cost, p_cost) ON code_sets TO codedesk_verifier;
                 GRANT SELECT (id, set_id, uses_left) ON codes TO codedesk_verifier;
                 GRANT SELECT (id, hash, at, action, \"user\") ON audit TO codedesk_verifier;
                 GRANT INSERT (id, at, operator, action, \"user\", details, prev_hash, hash,
                               principal)
                   ON audit TO codedesk_verifier, codedesk_operator;
                 GRANT EXECUTE ON FUNCTION {functions} TO codedesk_verifier, codedesk_operator;

                 GRANT SELECT, INSERT, UPDATE ON users, identity_checks TO codedesk_operator;
                 GRANT SELECT, INSERT ON code_sets, codes TO codedesk_operator;
                 GRANT UPDATE (state, ended_at, ended_reason) ON code_sets TO codedesk_operator;
                 GRANT UPDATE (uses_left) ON codes TO codedesk_operator;
                 GRANT SELECT, INSERT, UPDATE, DELETE ON devices TO codedesk_operator;
                 GRANT SELECT ON audit TO codedesk_operator;
                 GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO codedesk_operator;
                 GRANT SELECT, INSERT, UPDATE ON challenges, user_emails TO codedesk_operator;
                 GRANT SELECT, INSERT, UPDATE (disputed_at) ON notices TO codedesk_operator;

                 GRANT SELECT ON users, devices, identity_checks, code_sets, audit
                   TO codedesk_auditor;
                 GRANT SELECT (id, user_id, operator, contact, device_id, created_at,
                               expires_at, tries, state) ON challenges TO codedesk_auditor;
                 GRANT SELECT (user_id, action, audit_id, at, disputed_at) ON notices
                   TO codedesk_auditor;
                 GRANT SELECT (id, set_id, uses_left) ON codes TO codedesk_auditor;
                 GRANT EXECUTE ON FUNCTION codedesk_set_digest(BIGINT), codedesk_notice_refs()
                   TO codedesk_auditor;

                 -- Approvals (docs/approvals.md): an operator reads the
                 -- marks, asks, and spends what was approved; only a
                 -- supervisor marks users and decides (the triggers of
                 -- migration 0006 keep each principal honest).
                 GRANT SELECT ON privileged_users TO codedesk_operator;
                 GRANT SELECT, INSERT ON approval_requests TO codedesk_operator;
                 GRANT UPDATE (used_at) ON approval_requests TO codedesk_operator;
                 GRANT INSERT, UPDATE, DELETE ON privileged_users TO codedesk_supervisor;
                 GRANT UPDATE (state, decided_by, decided_at) ON approval_requests
                   TO codedesk_supervisor;
                 GRANT SELECT ON privileged_users, approval_requests TO codedesk_auditor;"
            ))
            .db()?;
            Ok(schema)
        })
    }

    // ------------------------------------------------------------ listing

    /// Calls `f` for every user in id order (or the one user named), with a
    /// fixed number of queries however many users there are: three ordered
    /// cursors, merged as they stream. They are server-side portals of one
    /// READ ONLY REPEATABLE READ transaction (a `postgres::Client` holds
    /// several portals at once), fetched `FETCH` rows at a time: nothing is
    /// materialised but the current user.
    pub fn for_each_user(
        &self,
        only: Option<i64>,
        f: impl FnMut(UserSummary) -> Result<()>,
    ) -> Result<()> {
        let mut c = self.client()?;
        let mut tx = read_snapshot(&mut c)?;
        let [users, devs, sets] = ops::listing_queries(only.is_some());
        let users = tx.bind(&users, &[&only]).db()?;
        let devs = tx.bind(&devs, &[&only]).db()?;
        let sets = tx.bind(&sets, &[&only]).db()?;
        let tx = RefCell::new(tx);
        merge_users(
            Cursor::new(&tx, users, ops::listed_user),
            Cursor::new(&tx, devs, ops::owned_device),
            Cursor::new(&tx, sets, ops::owned_set),
            f,
        )?;
        tx.into_inner().commit().db()
    }

    /// The server's view of the store's soundness ("ok" when sound): the
    /// schema version, and that every constraint and index of its tables
    /// is valid (PostgreSQL itself guards pages and constraints).
    pub fn integrity_check(&self) -> Result<String> {
        let mut c = self.client()?;
        let standing = upgrade::Standing {
            levels: levels(&mut *c)?,
            ..self.standing
        };
        if let Err(e) = standing.check_open() {
            return Ok(e.to_string());
        }
        let row = c
            .query_one(
                "WITH t AS (SELECT unnest(ARRAY['users', 'devices', 'identity_checks',
                                'code_sets', 'codes', 'audit'])::regclass AS rel)
                 SELECT
                   (SELECT string_agg(format('constraint %s on %s is not validated',
                                             conname, conrelid::regclass), '; ')
                      FROM pg_constraint WHERE NOT convalidated AND conrelid IN (SELECT rel FROM t)),
                   (SELECT string_agg(format('index %s is not valid', indexrelid::regclass), '; ')
                      FROM pg_index WHERE NOT indisvalid AND indrelid IN (SELECT rel FROM t))",
                &[],
            )
            .db()?;
        let problems: Vec<String> = [get::<Option<String>>(&row, 0)?, get(&row, 1)?]
            .into_iter()
            .flatten()
            .collect();
        Ok(if problems.is_empty() {
            "ok".to_string()
        } else {
            problems.join("; ")
        })
    }
}

impl Stream for PgStore {
    /// One portal of a READ ONLY REPEATABLE READ transaction, fetched
    /// `FETCH` rows at a time.
    fn stream(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        let mut c = self.client()?;
        let mut tx = read_snapshot(&mut c)?;
        let portal = tx.bind(sql, &pg_params(params)).db()?;
        'fetch: loop {
            let rows = tx.query_portal(&portal, FETCH).db()?;
            for r in &rows {
                if !f(&Row::Pg(r))? {
                    break 'fetch;
                }
            }
            if rows.len() < FETCH as usize {
                break;
            }
        }
        tx.commit().db()
    }
}
// ------------------------------------------------------------ helpers

/// The schema version of the database `c` is connected to (0: none yet).
fn schema_version(c: &mut impl GenericClient) -> Result<i64> {
    let row = c
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .db()?;
    if !get::<bool>(&row, 0)? {
        return Ok(0);
    }
    let row = c
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )
        .db()?;
    get(&row, 0)
}

/// The store's levels (`upgrade`), read on `c`.
fn levels(c: &mut impl GenericClient) -> Result<upgrade::Levels> {
    let legacy = schema_version(c)?;
    let row = c
        .query_one("SELECT to_regclass('schema_level') IS NOT NULL", &[])
        .db()?;
    let has_table = get::<bool>(&row, 0)?;
    upgrade::read_levels(&mut Pg(c), legacy, has_table)
}

/// Reads where the store stands, giving a new, empty store its schema
/// first (any other change waits for `codedesk upgrade-store`), and
/// refuses one this codedesk cannot use unless `upgrading`.
fn open_schema(
    client: &mut Client,
    read: Option<upgrade::Levels>,
    upgrading: bool,
) -> Result<upgrade::Standing> {
    let known = upgrade::known(MIGRATIONS.len());
    let mut levels = match read {
        Some(l) => l,
        None => levels(client)?,
    };
    if levels.is_empty() {
        apply(client, known, true, false, "")?;
        levels = self::levels(client)?;
    }
    let standing = upgrade::Standing {
        levels,
        known,
        login: false,
    };
    if !upgrading || levels.compatible_back_to > known {
        standing.check_open()?;
    }
    Ok(standing)
}

/// Brings the schema up to `known`, under the migration lock (re-reading
/// the levels once it is held: another workstation may have done it).
/// `initial`: only if the store is still empty, without an audit event;
/// otherwise (`upgrade-store`) the upgrade appends a `store-upgraded`
/// event under the write lock. Nothing is written with `dry_run`.
///
/// The lock is `pg_advisory_lock` (session level), taken before the
/// migration's transaction begins and released after it ends, rather than
/// `pg_advisory_xact_lock` inside it: beginning a transaction is where a
/// PostgreSQL backend takes in the catalog changes others committed, and
/// a lock acquired inside one does not refresh them. A workstation that
/// waited for another's migration would otherwise still see no
/// `schema_version` table and run the migration again ("relation already
/// exists"; `workstations_first_use_at_once_migrate_the_schema_once`).
pub(super) fn apply(
    client: &mut Client,
    known: i64,
    initial: bool,
    dry_run: bool,
    operator: &str,
) -> Result<Option<upgrade::Upgrade>> {
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATE_LOCK})"))
        .db()?;
    let applied = apply_locked(client, known, initial, dry_run, operator).map_err(|e| {
        match crate::exit::status_of(&e) {
            // Only the store's owner may change its schema.
            Status::NotPermitted => fail(
                Status::NotPermitted,
                format!(
                    "the store's schema is older than this codedesk's ({known}), and only its owner may change it: run `codedesk upgrade-store` as the owner ({e})"
                ),
            ),
            _ => e,
        }
    });
    let unlocked = client
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATE_LOCK})"))
        .db();
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

/// [`apply`]'s transaction (the caller holds the migration lock).
fn apply_locked(
    client: &mut Client,
    known: i64,
    initial: bool,
    dry_run: bool,
    operator: &str,
) -> Result<Option<upgrade::Upgrade>> {
    let mut tx = client.transaction().db()?;
    let from = levels(&mut tx)?;
    if initial && !from.is_empty() {
        return Ok(None);
    }
    let plan = upgrade::plan(from, known, dry_run)?;
    if dry_run || plan.migrations.is_empty() {
        return Ok(Some(plan));
    }
    if !initial {
        tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
            .db()?;
    }
    let now = crate::clock::now();
    for v in from.applied.max(0) + 1..=known {
        tx.batch_execute(MIGRATIONS[(v - 1) as usize]).db()?;
        // The legacy field says "compatible back to" (`upgrade`).
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)
             ON CONFLICT (version) DO NOTHING",
            &[&(upgrade::floor(v) as i32), &now],
        )
        .db()?;
        upgrade::record(&mut Pg(&mut tx), v, now)?;
    }
    if !initial {
        ops::append_event(&mut Pg(&mut tx), now, operator, None, upgrade::event(&plan))?;
    }
    tx.commit().db()?;
    Ok(Some(plan))
}

/// A read-only transaction with one snapshot for all its queries.
fn read_snapshot(c: &mut Client) -> Result<Transaction<'_>> {
    c.build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .db()
}

/// A portal read `FETCH` rows at a time, as an iterator of mapped rows.
/// Several cursors share one transaction; each borrows it only while it
/// fetches.
struct Cursor<'t, 'c, T> {
    tx: &'t RefCell<Transaction<'c>>,
    portal: Portal,
    rows: VecDeque<::postgres::Row>,
    done: bool,
    map: fn(&Row) -> Result<T>,
}

impl<'t, 'c, T> Cursor<'t, 'c, T> {
    fn new(tx: &'t RefCell<Transaction<'c>>, portal: Portal, map: fn(&Row) -> Result<T>) -> Self {
        Cursor {
            tx,
            portal,
            rows: VecDeque::new(),
            done: false,
            map,
        }
    }
}

impl<T> Iterator for Cursor<'_, '_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.rows.is_empty() && !self.done {
            let fetched = match self.tx.try_borrow_mut() {
                Ok(mut tx) => tx.query_portal(&self.portal, FETCH).db(),
                Err(_) => Err(fail(
                    Status::Store,
                    "the store connection is already in use",
                )),
            };
            match fetched {
                Ok(rows) => {
                    self.done = rows.len() < FETCH as usize;
                    self.rows.extend(rows);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.rows.pop_front().map(|r| (self.map)(&Row::Pg(&r)))
    }
}

// ------------------------------------------------------------ executor

fn pg_params<'p>(params: &'p [&dyn Param]) -> Vec<&'p (dyn ToSql + Sync)> {
    params.iter().map(|p| p.pg()).collect()
}

/// The parameters with their types, for a statement sent in one round
/// trip ([`Param::pg_type`]).
fn typed<'p>(params: &'p [&dyn Param]) -> Vec<(&'p (dyn ToSql + Sync), Type)> {
    params.iter().map(|p| (p.pg(), p.pg_type())).collect()
}

/// The shared operations' executor on a connection or transaction.
pub(super) struct Pg<'a, C>(pub(super) &'a mut C);

impl<C: GenericClient> Exec for Pg<'_, C> {
    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        let mut rows = self.0.query_typed_raw(sql, typed(params)).db()?;
        while rows.next().db()?.is_some() {}
        Ok(rows.rows_affected().unwrap_or(0))
    }

    fn each_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        for r in self.0.query_typed(sql, &typed(params)).db()? {
            f(&Row::Pg(&r))?;
        }
        Ok(())
    }

    fn principal(&mut self) -> Result<String> {
        let r = self
            .0
            .query_typed_one("SELECT session_user::TEXT", &[])
            .db()?;
        get(&r, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ() {
        assert_ne!(MIGRATE_LOCK, WRITE_LOCK);
    }
}
