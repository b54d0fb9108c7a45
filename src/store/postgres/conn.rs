//! Connection settings of the PostgreSQL store: what the URL, the
//! environment (`PGSSLMODE`, `PGSSLROOTCERT`) and the defaults say about
//! TLS (the mode, and which certificate check `tls` carries out), where the
//! hosts are, how the server is named in messages, how `verify` retries a
//! server that turns connections away, and one connection's session set-up.

use super::tls;
use crate::exit::{Status, fail};
use crate::store::BUSY_TIMEOUT;
use crate::store::upgrade::Levels;
use ::postgres::config::Host;
use ::postgres::error::SqlState;
use ::postgres::{Client, Config, SimpleQueryMessage};
use anyhow::Result;
use std::time::Duration;

/// libpq's `sslmode`, followed as libpq does (docs/postgresql.md, "TLS"); `allow` is
/// read as `prefer` (TLS when the server offers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
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

    pub(super) fn name(self) -> &'static str {
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
pub(super) struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query, which the
/// `postgres` crate would refuse (it knows neither `sslrootcert` nor the
/// `verify-*` modes), and gives back the rest of the URL for it. The query
/// is found as that crate finds it: at the first `?` after the first `@`.
/// A later repeat of a parameter wins, as there. Other `ssl*` parameters
/// (client certificates, CRLs) are not supported: exit 2 naming them.
pub(super) fn take_tls_params(url: &str) -> Result<(String, TlsParams)> {
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
pub(super) fn percent_decode(s: &str) -> Result<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|d| d.into_owned())
        .map_err(|_| {
            fail(
                Status::Usage,
                "invalid PostgreSQL URL: a parameter is not UTF-8",
            )
        })
}

/// Where the connections of a configuration go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// Only Unix sockets: PostgreSQL never speaks TLS on them.
    Sockets,
    /// Only this machine (Unix sockets, `localhost`, 127.0.0.0/8, ::1).
    Local,
    /// At least one other host.
    Remote,
}

pub(super) fn reach(config: &Config) -> Reach {
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
pub(super) struct TlsPlan {
    pub(super) mode: SslMode,
    pub(super) defaulted: bool,
    pub(super) check: tls::Check,
    /// What the `postgres` crate is told (`Disable` on Unix sockets).
    pub(super) wire: ::postgres::config::SslMode,
}

/// Decides the TLS of a connection from the URL's parameters, else
/// `PGSSLMODE` / `PGSSLROOTCERT` (`env`), else the default: `prefer` when
/// every host is this machine, `verify-full` otherwise (docs/postgresql.md, "TLS").
/// `sslrootcert=system` means the system's roots and, as in libpq 16,
/// allows only `verify-full` (any public CA would pass `verify-ca`).
pub(super) fn plan_tls(
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
pub(super) fn describe(config: &Config) -> String {
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

/// What PgBouncer says (SQLSTATE 08P01, its code for every error of its
/// own) when it turns a client away for the moment: its server logins
/// failed within `server_login_retry` (PostgreSQL restarting), the client
/// waited in its queue longer than `query_wait_timeout`, it cannot reach
/// the server, or it has `max_client_conn` clients already. Its other
/// 08P01 errors (a protocol error, a failed login) are not transient.
/// The texts are PgBouncer 1.18's (Debian 12) and later versions'.
const PGBOUNCER_TRANSIENT: [&str; 5] = [
    "server_login_retry",
    "query_wait_timeout",
    "pgbouncer cannot connect to server",
    "no more connections allowed",
    "client_login_timeout (server down)",
];

/// Whether a message of PgBouncer's (08P01) turns a client away for the
/// moment.
fn pgbouncer_refusal(message: &str) -> bool {
    PGBOUNCER_TRANSIENT.iter().any(|m| message.contains(m))
}

/// Whether a failed connection is one a moment's wait may cure (see
/// [`PgStore::open_retrying`]).
pub(super) fn transient(e: &::postgres::Error) -> bool {
    if let Some(db) = e.as_db_error()
        && db.code() == &SqlState::PROTOCOL_VIOLATION
    {
        return pgbouncer_refusal(db.message());
    }
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

/// How long one connection attempt may take in all, from opening the
/// socket to the end of the session set-up: the URL's `connect_timeout`
/// (15 s when it gives none) for each host it names. The `postgres` crate
/// applies it only to opening the socket, so a server that accepts and
/// then never answers (a frozen postmaster, a stuck pooler) would hold a
/// login for ever.
pub(super) fn attempt_bound(config: &Config) -> Duration {
    let each = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(BUSY_TIMEOUT);
    let hosts = config
        .get_hosts()
        .len()
        .max(config.get_hostaddrs().len())
        .max(1);
    each.saturating_mul(hosts as u32)
}

/// Why one attempt to connect failed.
pub(super) enum Failed {
    /// The library's error (refused, authentication, a server error...).
    Pg(::postgres::Error),
    /// No answer within the bound ([`attempt_bound`]): the server is there
    /// but does not answer. Not transient.
    NoAnswer(Duration),
}

impl Failed {
    /// Whether `verify` may try again ([`transient`]).
    pub(super) fn transient(&self) -> bool {
        match self {
            Failed::Pg(e) => transient(e),
            Failed::NoAnswer(_) => false,
        }
    }

    /// The timeout's message (the library's errors are worded by the
    /// caller, which scrubs them).
    pub(super) fn no_answer(bound: Duration) -> String {
        format!(
            "timeout waiting for server (no answer within {} ms: the URL's connect_timeout, {} s by default, for each host)",
            bound.as_millis(),
            BUSY_TIMEOUT.as_secs()
        )
    }
}

/// [`connect_session`], bounded by [`attempt_bound`] as a whole: it runs
/// on a thread of its own, which is abandoned if it has not finished in
/// time (its socket is closed when this short-lived process exits). A
/// timeout is not transient: the server is there but does not answer.
pub(super) fn connect_once(
    config: &Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> std::result::Result<(Client, Option<Levels>), Failed> {
    let bound = attempt_bound(config);
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (cfg, theirs) = (config.clone(), tls.clone());
    let spawned = std::thread::Builder::new()
        .name("codedesk-pg-connect".into())
        .spawn(move || {
            let _ = tx.send(connect_session(&cfg, theirs));
        });
    if spawned.is_err() {
        // No thread to spare: connect on this one, unbounded as before.
        return connect_session(config, tls).map_err(Failed::Pg);
    }
    match rx.recv_timeout(bound) {
        Ok(done) => done.map_err(Failed::Pg),
        Err(_) => Err(Failed::NoAnswer(bound)),
    }
}

/// One connection with its session set up, and the store's schema levels
/// read in the same round trip when its tables are there (`None`: a new
/// store, or one older than schema 7, read step by step by the caller).
/// A verify connects twice; through a pooler each round trip costs the
/// pooler and the server as much as the statement itself.
fn connect_session(
    config: &Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
) -> std::result::Result<(Client, Option<Levels>), ::postgres::Error> {
    let mut client = config.connect(tls)?;
    let ms = BUSY_TIMEOUT.as_millis();
    // The server notices a dead workstation (and frees its locks) within
    // about a minute instead of the system's default two hours.
    let session = format!(
        "SET lock_timeout = {ms}; SET statement_timeout = {ms};
         SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10;
         SET tcp_keepalives_count = 3;"
    );
    // One simple query: its statements run as one implicit transaction,
    // so an error undoes the SETs too, and they are made again.
    let levels = client.simple_query(&format!(
        "{session}
         SELECT (SELECT COALESCE(MAX(version), 0) FROM schema_version)::TEXT,
                (SELECT applied FROM schema_level WHERE one = 1)::TEXT"
    ));
    match levels {
        Ok(messages) => {
            let read = messages.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => {
                    let legacy = r.get(0)?.parse().ok()?;
                    let applied = match r.get(1) {
                        Some(a) => Some(a.parse().ok()?),
                        None => None,
                    };
                    Some(Levels::of(legacy, applied))
                }
                _ => None,
            });
            Ok((client, read.filter(|l| !l.is_empty())))
        }
        // A table missing (a new or old store) or not readable by this
        // role: step by step, which says which (exit 9 for a role without
        // its grants, as any other statement). Not an error that ended the
        // session (PgBouncer's query_wait_timeout, a shutdown): that one
        // is the answer, and retried if transient.
        Err(e) if e.as_db_error().is_some() && !transient(&e) && !client.is_closed() => {
            client.batch_execute(&session)?;
            Ok((client, None))
        }
        Err(e) => Err(e),
    }
}

/// Removes the password from a library message, should it ever quote the
/// connection string: the URL as given becomes its redacted form, and the
/// password is masked where it stands in one (`:PASSWORD@`,
/// `password=PASSWORD`). The message's own words are never touched: a
/// blanket replace of a password `o` made "password authentication failed"
/// read "passw***rd authenticati***n failed".
pub(super) fn scrub(text: &str, url: &str, password: Option<&[u8]>) -> String {
    let mut text = text.to_string();
    if !url.is_empty() {
        let shown = crate::store::redact_locator(std::path::Path::new(url));
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
    fn pgbouncer_refusals_are_told_from_its_other_errors() {
        // PgBouncer 1.18's texts (strings /usr/sbin/pgbouncer) and later ones'.
        for m in [
            "server login has been failing, try again later (server_login_retry)",
            "query_wait_timeout",
            "pgbouncer cannot connect to server",
            "no more connections allowed (max_client_conn)",
            "client_login_timeout (server down)",
        ] {
            assert!(pgbouncer_refusal(m), "{m}");
        }
        for m in [
            "password authentication failed",
            "no such database: nope",
            "unsupported startup parameter: search_path",
            "client_login_timeout",
            "server conn crashed?",
        ] {
            assert!(!pgbouncer_refusal(m), "{m}");
        }
    }

    #[test]
    fn one_attempt_is_bounded_by_connect_timeout_for_each_host() {
        let c: Config = "postgres://u@h/db".parse().unwrap();
        assert_eq!(attempt_bound(&c), BUSY_TIMEOUT);
        let c: Config = "postgres://u@a,b,c/db?connect_timeout=2".parse().unwrap();
        assert_eq!(attempt_bound(&c), Duration::from_secs(6));
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
}
