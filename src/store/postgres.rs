//! The PostgreSQL backend, for helpdesks whose workstations share one store.
//! The operations themselves are shared with SQLite (`store/ops.rs`, run
//! through this module's executor, `Pg`); what is here is what only
//! PostgreSQL needs: connecting (TLS), migrating, the write lock, error
//! mapping, streaming through portals, the integrity check, and copying a
//! store in (`codedesk migrate`). Only `store` sees this type.
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
use crate::exit::{Status, fail};
use ::postgres::config::Host;
use ::postgres::error::SqlState;
use ::postgres::types::{FromSql, ToSql};
use ::postgres::{Client, Config, GenericClient, IsolationLevel, Portal, Transaction};
use anyhow::Result;
use std::cell::{RefCell, RefMut};
use std::collections::VecDeque;
use std::time::Duration;

mod tls;

/// Append-only migrations; index + 1 is the version each one yields,
/// recorded as a row of `schema_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/pg/0001_init.sql"),
    include_str!("migrations/pg/0002_devices_by_phone.sql"),
    include_str!("migrations/pg/0003_audit_principal.sql"),
    include_str!("migrations/pg/0004_roles_and_trail.sql"),
    include_str!("migrations/pg/0005_safeguards.sql"),
    include_str!("migrations/pg/0006_schema_level.sql"),
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
const COPY_CHUNK: usize = 5000;

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

trait Db<T> {
    fn db(self) -> Result<T>;
}

impl<T> Db<T> for std::result::Result<T, ::postgres::Error> {
    fn db(self) -> Result<T> {
        self.map_err(pg_err)
    }
}

/// One column of a row; a value of an unexpected type is exit 7, not a panic.
fn get<'a, T: FromSql<'a>>(r: &'a ::postgres::Row, i: usize) -> Result<T> {
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

// ------------------------------------------------------------------- TLS

/// libpq's `sslmode`, followed as libpq does (docs/postgresql.md, "TLS"); `allow` is
/// read as `prefer` (TLS when the server offers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS if the server offers it; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is checked only against an
    /// `sslrootcert` file, if one is given (then as `verify-ca`).
    Require,
    /// TLS, and the certificate chains to a trusted root.
    VerifyCa,
    /// TLS, the chain, and the host name.
    VerifyFull,
}

impl SslMode {
    /// The mode a value names; anything else is exit 2 naming `from`.
    fn parse(value: &str, from: &str) -> Result<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(fail(
                    Status::Usage,
                    format!(
                        "invalid {from} {value:?}: expected disable, prefer, require, verify-ca or verify-full"
                    ),
                ));
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// The TLS parameters of a URL's query, as given (percent-decoded).
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query, which the
/// `postgres` crate would refuse (it knows neither `sslrootcert` nor the
/// `verify-*` modes), and gives back the rest of the URL for it. The query
/// is found as that crate finds it: at the first `?` after the first `@`.
/// A later repeat of a parameter wins, as there. Other `ssl*` parameters
/// (client certificates, CRLs) are not supported: exit 2 naming them.
fn take_tls_params(url: &str) -> Result<(String, TlsParams)> {
    let body = url.find("://").map_or(0, |i| i + 3);
    let from = url[body..].find('@').map_or(body, |i| body + i + 1);
    let Some(q) = url[from..].find('?').map(|i| from + i) else {
        return Ok((url.to_string(), TlsParams::default()));
    };
    let mut params = TlsParams::default();
    let mut kept = Vec::new();
    for kv in url[q + 1..].split('&') {
        let Some((k, v)) = kv.split_once('=') else {
            kept.push(kv);
            continue;
        };
        match percent_decode(k)?.as_str() {
            "sslmode" => params.sslmode = Some(percent_decode(v)?),
            "sslrootcert" => params.sslrootcert = Some(percent_decode(v)?),
            "sslnegotiation" => kept.push(kv),
            k if k.starts_with("ssl") => {
                return Err(fail(
                    Status::Usage,
                    format!(
                        "the PostgreSQL URL parameter {k} is not supported (codedesk reads sslmode, sslrootcert and sslnegotiation; it authenticates by password, not by client certificate)"
                    ),
                ));
            }
            _ => kept.push(kv),
        }
    }
    let mut rest = url[..q].to_string();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok((rest, params))
}

/// `%XX` escapes decoded, as in the `postgres` crate (a `%` not followed
/// by two hex digits stays as it is); not UTF-8 afterwards is exit 2.
fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        fail(
            Status::Usage,
            "invalid PostgreSQL URL: a parameter is not UTF-8",
        )
    })
}

/// Where the connections of a configuration go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Only Unix sockets: PostgreSQL never speaks TLS on them.
    Sockets,
    /// Only this machine (Unix sockets, `localhost`, 127.0.0.0/8, ::1).
    Local,
    /// At least one other host.
    Remote,
}

fn reach(config: &Config) -> Reach {
    let loopback = |name: &str| {
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    };
    // Where TCP goes: `hostaddr` if given (the host name is then only
    // for the certificate), else the host.
    let (mut sockets, mut local, mut total) = (0, 0, 0);
    if config.get_hostaddrs().is_empty() {
        for h in config.get_hosts() {
            total += 1;
            match h {
                Host::Unix(_) => sockets += 1,
                Host::Tcp(name) if loopback(name) => local += 1,
                Host::Tcp(_) => {}
            }
        }
    } else {
        for a in config.get_hostaddrs() {
            total += 1;
            if a.is_loopback() {
                local += 1;
            }
        }
    }
    if total > 0 && sockets == total {
        Reach::Sockets
    } else if sockets + local == total {
        Reach::Local
    } else {
        Reach::Remote
    }
}

/// How one store connects: the mode in force, whether it is the default,
/// and what is checked of the server's certificate.
#[derive(Debug, PartialEq, Eq)]
struct TlsPlan {
    mode: SslMode,
    defaulted: bool,
    check: tls::Check,
    /// What the `postgres` crate is told (`Disable` on Unix sockets).
    wire: ::postgres::config::SslMode,
}

/// Decides the TLS of a connection from the URL's parameters, else
/// `PGSSLMODE` / `PGSSLROOTCERT` (`env`), else the default: `prefer` when
/// every host is this machine, `verify-full` otherwise (docs/postgresql.md, "TLS").
/// `sslrootcert=system` means the system's roots and, as in libpq 16,
/// allows only `verify-full` (any public CA would pass `verify-ca`).
fn plan_tls(
    params: &TlsParams,
    env: impl Fn(&str) -> Option<String>,
    reach: Reach,
) -> Result<TlsPlan> {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let given = match (&params.sslmode, env("PGSSLMODE")) {
        (Some(v), _) => Some(SslMode::parse(v, "sslmode")?),
        (None, Some(v)) => Some(SslMode::parse(&v, "PGSSLMODE")?),
        (None, None) => None,
    };
    let rootcert = params
        .sslrootcert
        .clone()
        .filter(|v| !v.is_empty())
        .or_else(|| env("PGSSLROOTCERT"));
    let system = rootcert.as_deref() == Some("system");
    let (mode, defaulted) = match given {
        Some(m) => (m, false),
        None if system => (SslMode::VerifyFull, true),
        None if reach == Reach::Remote => (SslMode::VerifyFull, true),
        None => (SslMode::Prefer, true),
    };
    if system && mode != SslMode::VerifyFull {
        return Err(fail(
            Status::Usage,
            format!(
                "sslmode={} may not be used with sslrootcert=system (use verify-full)",
                mode.name()
            ),
        ));
    }
    let roots = match rootcert {
        Some(r) if r != "system" => Some(tls::Roots::File(r.into())),
        _ => None,
    };
    let check = match mode {
        _ if reach == Reach::Sockets => tls::Check::None,
        SslMode::Disable | SslMode::Prefer => tls::Check::None,
        SslMode::Require => roots.map_or(tls::Check::None, tls::Check::Chain),
        SslMode::VerifyCa => tls::Check::Chain(roots.unwrap_or(tls::Roots::System)),
        SslMode::VerifyFull => tls::Check::Full(roots.unwrap_or(tls::Roots::System)),
    };
    use ::postgres::config::SslMode as Wire;
    let wire = match mode {
        // As libpq: TLS is never tried on a Unix socket, whatever the
        // mode; the socket's file permissions guard it.
        _ if reach == Reach::Sockets => Wire::Disable,
        SslMode::Disable => Wire::Disable,
        SslMode::Prefer => Wire::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Wire::Require,
    };
    Ok(TlsPlan {
        mode,
        defaulted,
        check,
        wire,
    })
}

/// "host H, port P, database D" from a parsed configuration.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(dir) => dir.display().to_string(),
        })
        .chain(config.get_hostaddrs().iter().map(|a| a.to_string()))
        .collect();
    let ports: Vec<String> = match config.get_ports() {
        [] => vec!["5432".into()],
        p => p.iter().map(u16::to_string).collect(),
    };
    let db = match (config.get_dbname(), config.get_user()) {
        (Some(d), _) => d.to_string(),
        (None, Some(u)) => format!("{u} (the user's)"),
        (None, None) => "(default)".into(),
    };
    format!(
        "host {}, port {}, database {db}",
        hosts.join(","),
        ports.join(",")
    )
}

/// How long `verify` keeps retrying a store that turns connections away
/// for the moment, in all (over every connection it makes), and how.
/// Waits grow exponentially from [`ConnectRetry::FIRST`] to
/// [`ConnectRetry::MOST`], each drawn at random from its upper half, so a
/// storm of logins refused together does not come back together.
#[derive(Debug, Clone)]
pub struct ConnectRetry {
    /// The bound: time spent in failed attempts and waits, in all.
    pub budget: Duration,
    /// Spent so far.
    pub spent: Duration,
    /// Retries so far.
    pub retries: u32,
}

impl ConnectRetry {
    pub const FIRST: Duration = Duration::from_millis(10);
    pub const MOST: Duration = Duration::from_millis(1000);

    pub fn new(budget: Duration) -> ConnectRetry {
        ConnectRetry {
            budget,
            spent: Duration::ZERO,
            retries: 0,
        }
    }

    /// After a failed attempt that took `attempt`: how long to wait before
    /// the next, or `None` when the bound is reached.
    pub fn next_wait(&mut self, attempt: Duration) -> Option<Duration> {
        use rand::TryRng;
        self.spent += attempt;
        let left = self
            .budget
            .checked_sub(self.spent)
            .filter(|d| !d.is_zero())?;
        let ceiling = Self::FIRST
            .saturating_mul(1 << self.retries.min(16))
            .min(Self::MOST);
        let mut b = [0u8; 4];
        let jitter = match rand::rngs::SysRng.try_fill_bytes(&mut b) {
            Ok(()) => u32::from_le_bytes(b) as f64 / u32::MAX as f64,
            Err(_) => 0.5,
        };
        let wait = ceiling.mul_f64(0.5 + jitter / 2.0).min(left);
        self.spent += wait;
        self.retries += 1;
        Some(wait)
    }
}

/// Whether a failed connection is one a moment's wait may cure (see
/// [`PgStore::open_retrying`]).
fn transient(e: &::postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return [
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
        ]
        .contains(code);
    }
    if e.is_closed() {
        return true;
    }
    use std::io::ErrorKind::*;
    let mut next = std::error::Error::source(e);
    while let Some(c) = next {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            // NotFound: a Unix socket that is gone while the server restarts.
            return matches!(
                io.kind(),
                ConnectionRefused | ConnectionReset | ConnectionAborted | UnexpectedEof | NotFound
            );
        }
        next = c.source();
    }
    false
}

/// One connection, its session set up.
fn connect_once(
    config: &Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> std::result::Result<Client, ::postgres::Error> {
    let mut client = config.connect(tls)?;
    let ms = BUSY_TIMEOUT.as_millis();
    // The server notices a dead workstation (and frees its locks) within
    // about a minute instead of the system's default two hours.
    client.batch_execute(&format!(
        "SET lock_timeout = {ms}; SET statement_timeout = {ms};
         SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10;
         SET tcp_keepalives_count = 3;"
    ))?;
    Ok(client)
}

/// Removes the password from a library message, should it ever quote the
/// connection string: the URL as given becomes its redacted form, and the
/// password is masked where it stands in one (`:PASSWORD@`,
/// `password=PASSWORD`). The message's own words are never touched: a
/// blanket replace of a password `o` made "password authentication failed"
/// read "passw***rd authenticati***n failed".
fn scrub(text: &str, url: &str, password: Option<&[u8]>) -> String {
    let mut text = text.to_string();
    if !url.is_empty() {
        let shown = super::redact_locator(std::path::Path::new(url));
        text = text.replace(url, &shown);
    }
    if let Some(p) = password
        .and_then(|p| std::str::from_utf8(p).ok())
        .filter(|p| !p.is_empty())
    {
        text = text.replace(&format!(":{p}@"), ":***@");
        for key in ["password=", "PASSWORD=", "Password="] {
            text = text.replace(&format!("{key}{p}"), &format!("{key}***"));
        }
    }
    text
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
        let mut client = loop {
            let tried = std::time::Instant::now();
            let e = match connect_once(&config, tls.clone()) {
                Ok(client) => break client,
                Err(e) => e,
            };
            let wait = match retry.as_deref_mut() {
                Some(r) if transient(&e) => r.next_wait(tried.elapsed()),
                _ => None,
            };
            match wait {
                Some(d) => std::thread::sleep(d),
                None => {
                    let mut why = scrub(&cause(&e), &url, config.get_password());
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
        let standing = open_schema(&mut client, upgrading)?;
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
    fn transaction<T>(&mut self, f: impl FnOnce(&mut Transaction) -> Result<T>) -> Result<T> {
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
                .query_one(
                    "SELECT o_outcome, o_set, o_remaining FROM codedesk_spend($1, $2, $3, $4)",
                    &[&user.id, &sets, &hashes, &now],
                )
                .db()?;
            let outcome: String = get(&row, 0)?;
            match outcome.as_str() {
                "accepted" => {
                    let (set, remaining): (i64, i64) = (get(&row, 1)?, get(&row, 2)?);
                    ops::append_event(
                        &mut Pg(tx),
                        now,
                        operator,
                        Some(&user.name),
                        events::verify_accepted(set, remaining, service),
                    )?;
                    Ok(Spend::Accepted { remaining })
                }
                "locked" => Ok(Spend::Locked),
                _ => Ok(Spend::Stale),
            }
        })
    }

    /// `Store::reject` on PostgreSQL, through `codedesk_reject`.
    pub(super) fn reject(
        &mut self,
        user: &UserRow,
        reason: &str,
        threshold: u32,
        operator: &str,
        service: Option<&str>,
        now: i64,
    ) -> Result<Rejection> {
        self.transaction(|tx| {
            let row = tx
                .query_one(
                    "SELECT o_attempts, o_locked_now, o_already_locked FROM codedesk_reject($1, $2, $3)",
                    &[&user.id, &i64::from(threshold), &now],
                )
                .db()?;
            let r = Rejection {
                attempts: get(&row, 0)?,
                locked_now: get(&row, 1)?,
                already_locked: get(&row, 2)?,
            };
            let db = &mut Pg(tx);
            ops::append_event(
                db,
                now,
                operator,
                Some(&user.name),
                events::verify_rejected(reason, r.attempts, service),
            )?;
            if r.locked_now {
                ops::append_event(
                    db,
                    now,
                    operator,
                    Some(&user.name),
                    events::lockout(r.attempts, threshold),
                )?;
            }
            Ok(r)
        })
    }

    /// `Store::auto_unlock` on PostgreSQL, through `codedesk_auto_unlock`.
    pub(super) fn auto_unlock(
        &mut self,
        user: &UserRow,
        after: i64,
        operator: &str,
        now: i64,
    ) -> Result<bool> {
        self.transaction(|tx| {
            let row = tx
                .query_one(
                    "SELECT codedesk_auto_unlock($1, $2, $3)",
                    &[&user.id, &after, &now],
                )
                .db()?;
            let done: bool = get(&row, 0)?;
            if done {
                ops::append_event(
                    &mut Pg(tx),
                    now,
                    operator,
                    Some(&user.name),
                    events::unlock(true, true),
                )?;
            }
            Ok(done)
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
                          challenges, user_emails, notices, schema_level";
            let functions = "codedesk_spend(BIGINT, BIGINT[], BYTEA[], BIGINT), \
                             codedesk_reject(BIGINT, BIGINT, BIGINT), \
                             codedesk_auto_unlock(BIGINT, BIGINT, BIGINT), \
                             codedesk_set_events(TEXT)";
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

                 GRANT SELECT, INSERT, UPDATE ON users, identity_checks, code_sets, codes
                   TO codedesk_operator;
                 GRANT SELECT, INSERT, UPDATE, DELETE ON devices TO codedesk_operator;
                 GRANT SELECT ON audit TO codedesk_operator;
                 GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO codedesk_operator;
                 GRANT SELECT, INSERT, UPDATE ON challenges, user_emails, notices
                   TO codedesk_operator;

                 GRANT SELECT ON users, devices, identity_checks, code_sets, audit
                   TO codedesk_auditor;
                 GRANT SELECT (id, user_id, operator, contact, device_id, created_at,
                               expires_at, tries, state) ON challenges TO codedesk_auditor;
                 GRANT SELECT (user_id, action, audit_id, at, disputed_at) ON notices
                   TO codedesk_auditor;
                 GRANT SELECT (id, set_id, uses_left) ON codes TO codedesk_auditor;"
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
            Cursor::new(&tx, users, ops::user_row),
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

    // ---------------------------------------------------------- migration

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
        let target = self.target.clone();
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
                events::store_migrated(from, &rows.counts()),
            )
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
fn open_schema(client: &mut Client, upgrading: bool) -> Result<upgrade::Standing> {
    let known = upgrade::known(MIGRATIONS.len());
    let mut levels = levels(client)?;
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

/// The shared operations' executor on a connection or transaction.
struct Pg<'a, C>(&'a mut C);

impl<C: GenericClient> Exec for Pg<'_, C> {
    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64> {
        self.0.execute(sql, &pg_params(params)).db()
    }

    fn each_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        for r in self.0.query(sql, &pg_params(params)).db()? {
            f(&Row::Pg(&r))?;
        }
        Ok(())
    }

    fn principal(&mut self) -> Result<String> {
        let r = self.0.query_one("SELECT session_user::TEXT", &[]).db()?;
        get(&r, 0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(e: &anyhow::Error) -> Status {
        crate::exit::status_of(e)
    }

    fn params(sslmode: Option<&str>, sslrootcert: Option<&str>) -> TlsParams {
        TlsParams {
            sslmode: sslmode.map(str::to_string),
            sslrootcert: sslrootcert.map(str::to_string),
        }
    }

    #[test]
    fn tls_parameters_are_taken_out_of_the_url_and_the_rest_kept() {
        let (rest, p) = take_tls_params(
            "postgres://u:pw@h:5/db?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%201.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:pw@h:5/db?application_name=x&connect_timeout=3"
        );
        assert_eq!(p, params(Some("verify-full"), Some("/etc/ca 1.pem")));
        // Only TLS parameters: the '?' goes too.
        let (rest, p) = take_tls_params("postgresql://h/db?sslmode=require").unwrap();
        assert_eq!(rest, "postgresql://h/db");
        assert_eq!(p, params(Some("require"), None));
        // None: untouched.
        for url in ["postgres://h/db", "postgres://h/db?user=a", "postgres://h"] {
            assert_eq!(
                take_tls_params(url).unwrap(),
                (url.into(), TlsParams::default())
            );
        }
        // The last of a repeated parameter wins, as in the postgres crate.
        let (_, p) = take_tls_params("postgres://h/db?sslmode=disable&sslmode=verify-ca").unwrap();
        assert_eq!(p.sslmode.as_deref(), Some("verify-ca"));
        // A '?' in the password is not the query (the crate reads the
        // credentials up to the first '@' first).
        let (rest, p) = take_tls_params("postgres://u:p?w@h/db?sslmode=prefer").unwrap();
        assert_eq!(rest, "postgres://u:p?w@h/db");
        assert_eq!(p.sslmode.as_deref(), Some("prefer"));
        // sslnegotiation is the crate's own; a percent-encoded key is read.
        let (rest, p) =
            take_tls_params("postgres://h/db?sslnegotiation=direct&%73slmode=require").unwrap();
        assert_eq!(rest, "postgres://h/db?sslnegotiation=direct");
        assert_eq!(p.sslmode.as_deref(), Some("require"));
        // What the crate would refuse is left for it to refuse.
        let (rest, _) = take_tls_params("postgres://h/db?oops").unwrap();
        assert_eq!(rest, "postgres://h/db?oops");
    }

    #[test]
    fn other_ssl_parameters_are_a_usage_error_naming_them() {
        for k in ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslsni"] {
            let e = take_tls_params(&format!("postgres://u:pw@h/db?{k}=x")).unwrap_err();
            assert_eq!(status(&e), Status::Usage, "{k}");
            assert!(e.to_string().contains(k), "{e}");
            assert!(!e.to_string().contains("pw"), "{e}");
        }
    }

    #[test]
    fn percent_decoding_follows_the_postgres_crate() {
        assert_eq!(percent_decode("a%2Fb%2fc").unwrap(), "a/b/c");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4").unwrap(), "%zz%4");
        assert_eq!(percent_decode("caf%C3%A9").unwrap(), "café");
        assert_eq!(status(&percent_decode("%FF").unwrap_err()), Status::Usage);
    }

    fn reach_of(url: &str) -> Reach {
        reach(&url.parse().unwrap())
    }

    #[test]
    fn loopback_and_sockets_are_local_anything_else_remote() {
        for url in [
            "postgres://localhost/db",
            "postgres://LocalHost:5433/db",
            "postgres://127.0.0.1/db",
            "postgres://127.4.5.6/db",
            "postgres://[::1]/db",
            "postgres://localhost,127.0.0.1/db",
            "postgres://%2Fvar%2Frun%2Fpostgresql,localhost/db",
            // A tunnel: the name is remote, the traffic is not.
            "postgres://db.example.org/db?hostaddr=127.0.0.1",
        ] {
            assert_eq!(reach_of(url), Reach::Local, "{url}");
        }
        for url in [
            "postgres://db.example.org/db",
            "postgres://10.0.0.5/db",
            "postgres://localhost,db.example.org/db",
            "postgres://localhost.example.org/db",
            "postgres://localhost/db?hostaddr=192.0.2.1",
        ] {
            assert_eq!(reach_of(url), Reach::Remote, "{url}");
        }
        assert_eq!(
            reach_of("postgres://%2Fvar%2Frun%2Fpostgresql/db"),
            Reach::Sockets
        );
        assert_eq!(reach_of("postgres:///db?host=/tmp"), Reach::Sockets);
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn plan(p: TlsParams, reach: Reach) -> Result<TlsPlan> {
        plan_tls(&p, no_env, reach)
    }

    use ::postgres::config::SslMode as Wire;
    use tls::{Check, Roots};

    #[test]
    fn the_default_is_prefer_on_this_machine_and_verify_full_elsewhere() {
        let p = plan(params(None, None), Reach::Local).unwrap();
        assert_eq!(
            (p.mode, p.defaulted, p.check, p.wire),
            (SslMode::Prefer, true, Check::None, Wire::Prefer)
        );
        let p = plan(params(None, None), Reach::Remote).unwrap();
        assert_eq!(
            (p.mode, p.defaulted, p.check, p.wire),
            (
                SslMode::VerifyFull,
                true,
                Check::Full(Roots::System),
                Wire::Require
            )
        );
        // No TLS on a Unix socket, whatever is asked.
        for m in [None, Some("require"), Some("verify-full")] {
            let p = plan(params(m, None), Reach::Sockets).unwrap();
            assert_eq!((p.wire, p.check), (Wire::Disable, Check::None), "{m:?}");
        }
    }

    #[test]
    fn each_sslmode_means_what_it_means_in_libpq() {
        let ca = || Roots::File("/ca.pem".into());
        let cases = [
            ("disable", None, Check::None, Wire::Disable),
            ("disable", Some("/ca.pem"), Check::None, Wire::Disable),
            ("allow", None, Check::None, Wire::Prefer),
            ("prefer", None, Check::None, Wire::Prefer),
            ("prefer", Some("/ca.pem"), Check::None, Wire::Prefer),
            ("require", None, Check::None, Wire::Require),
            (
                "require",
                Some("/ca.pem"),
                Check::Chain(ca()),
                Wire::Require,
            ),
            (
                "verify-ca",
                None,
                Check::Chain(Roots::System),
                Wire::Require,
            ),
            (
                "verify-ca",
                Some("/ca.pem"),
                Check::Chain(ca()),
                Wire::Require,
            ),
            (
                "verify-full",
                None,
                Check::Full(Roots::System),
                Wire::Require,
            ),
            (
                "verify-full",
                Some("/ca.pem"),
                Check::Full(ca()),
                Wire::Require,
            ),
            (
                "verify-full",
                Some("system"),
                Check::Full(Roots::System),
                Wire::Require,
            ),
        ];
        for (mode, root, check, wire) in cases {
            for reach in [Reach::Local, Reach::Remote] {
                let p = plan(params(Some(mode), root), reach).unwrap();
                assert!(!p.defaulted);
                assert_eq!(
                    (&p.check, p.wire),
                    (&check, wire),
                    "{mode} {root:?} {reach:?}"
                );
            }
        }
    }

    #[test]
    fn an_unknown_sslmode_is_a_usage_error() {
        for bad in [
            "Require",
            "verify_full",
            "on",
            "true",
            " require",
            "verify-full ",
        ] {
            let e = plan(params(Some(bad), None), Reach::Local).unwrap_err();
            assert_eq!(status(&e), Status::Usage, "{bad}");
            assert!(e.to_string().contains("verify-full"), "{e}");
        }
        // An empty value is a bad value too (libpq: invalid sslmode value).
        assert_eq!(
            status(&plan(params(Some(""), None), Reach::Local).unwrap_err()),
            Status::Usage
        );
    }

    #[test]
    fn sslrootcert_system_allows_only_verify_full() {
        let p = plan(params(None, Some("system")), Reach::Local).unwrap();
        assert_eq!(
            (p.mode, p.check),
            (SslMode::VerifyFull, Check::Full(Roots::System))
        );
        for weak in ["disable", "prefer", "require", "verify-ca"] {
            let e = plan(params(Some(weak), Some("system")), Reach::Remote).unwrap_err();
            assert_eq!(status(&e), Status::Usage, "{weak}");
            assert!(e.to_string().contains("verify-full"), "{e}");
        }
    }

    #[test]
    fn the_environment_counts_only_when_the_url_is_silent() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-ca".to_string()),
            "PGSSLROOTCERT" => Some("/env-ca.pem".to_string()),
            _ => None,
        };
        let p = plan_tls(&params(None, None), env, Reach::Local).unwrap();
        assert_eq!((p.mode, p.defaulted), (SslMode::VerifyCa, false));
        assert_eq!(p.check, Check::Chain(Roots::File("/env-ca.pem".into())));
        let p = plan_tls(
            &params(Some("verify-full"), Some("/url.pem")),
            env,
            Reach::Local,
        )
        .unwrap();
        assert_eq!(p.check, Check::Full(Roots::File("/url.pem".into())));
        let e = plan_tls(&params(None, None), |_| Some("bogus".into()), Reach::Local).unwrap_err();
        assert_eq!(status(&e), Status::Usage);
        assert!(e.to_string().contains("PGSSLMODE"), "{e}");
        // Set but empty is unset, as in libpq.
        let p = plan_tls(&params(None, None), |_| Some(String::new()), Reach::Local).unwrap();
        assert_eq!((p.mode, p.defaulted), (SslMode::Prefer, true));
    }

    #[test]
    fn the_target_names_host_port_and_database_but_no_password() {
        let c: Config = "postgres://alice:s3cret@db.example:6543/helpdesk"
            .parse()
            .unwrap();
        let d = describe(&c);
        assert_eq!(d, "host db.example, port 6543, database helpdesk");
        let c: Config = "postgresql://bob@10.0.0.5".parse().unwrap();
        assert_eq!(
            describe(&c),
            "host 10.0.0.5, port 5432, database bob (the user's)"
        );
        let url = "postgres://codedesk:o@db.example/helpdesk";
        // The password where a connection string holds it, never elsewhere.
        assert_eq!(
            scrub(
                "password authentication failed for user \"codedesk\"",
                url,
                Some(b"o")
            ),
            "password authentication failed for user \"codedesk\""
        );
        assert_eq!(
            scrub(&format!("cannot reach {url}: refused"), url, Some(b"o")),
            "cannot reach postgres://codedesk:***@db.example/helpdesk: refused"
        );
        assert_eq!(
            scrub("dsn user=u password=s3cret host=h", "", Some(b"s3cret")),
            "dsn user=u password=*** host=h"
        );
        assert_eq!(
            scrub("at u:s3cret@h, s3cret stays", "", Some(b"s3cret")),
            "at u:***@h, s3cret stays"
        );
        assert_eq!(scrub("no password", url, None), "no password");
    }

    #[test]
    fn lock_keys_differ() {
        assert_ne!(MIGRATE_LOCK, WRITE_LOCK);
    }
}
