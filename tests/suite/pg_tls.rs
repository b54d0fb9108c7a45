//! TLS to PostgreSQL through the real binary: each `sslmode` against a
//! server whose certificate comes from a throwaway CA, and the failures
//! (wrong CA, a name the certificate lacks, no TLS where it is required,
//! a TLS-only role asked to go without) as exit 7 with one line naming the
//! server and never the password; usage mistakes as exit 2.
//!
//! Unlike its neighbours this file is no twin of a SQLite suite: it runs
//! once, on a TLS server that `.ci/run` sets up (`pg_tls_setup`; run
//! `bash .ci/run --pg-only` to set this machine up the same way):
//! - `CODEDESK_TEST_PG_TLS`: a URL (no `sslmode`) of a role and database
//!   that pg_hba.conf admits over TLS only, on a server whose certificate
//!   names `localhost` and not `127.0.0.1`; default
//!   `postgres://codedesk_tls:tls-only-pw@localhost:5432/codedesk_tls`;
//! - `CODEDESK_TEST_PG_TLS_CA`: the PEM CA that signed it; default
//!   `/var/lib/postgresql/codedesk-tls/ca.pem`;
//! - `CODEDESK_TEST_PG_TLS_OTHER_CA`: a CA that signed nothing there;
//!   default `other-ca.pem` beside the CA.
//!
//! Without them (no CA file, or no server listening) the server tests say
//! SKIPPED loudly on stderr and pass, except in CI (`CI` set), where they
//! fail, as in tests/common/mod.rs. The tests that need no server (a
//! server that refuses TLS is faked here) always run.

use crate::common;

use common::{BIN, scrub};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

const DEFAULT_URL: &str = "postgres://codedesk_tls:tls-only-pw@localhost:5432/codedesk_tls";
const DEFAULT_CA: &str = "/var/lib/postgresql/codedesk-tls/ca.pem";

/// The TLS server of the run.
struct Server {
    /// Its URL, without query.
    url: String,
    ca: PathBuf,
    other_ca: PathBuf,
}

impl Server {
    /// The server, or `None` after a loud SKIPPED (a panic under `CI`).
    fn get() -> Option<Server> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let url = var("CODEDESK_TEST_PG_TLS").unwrap_or_else(|| DEFAULT_URL.into());
        let ca = PathBuf::from(var("CODEDESK_TEST_PG_TLS_CA").unwrap_or_else(|| DEFAULT_CA.into()));
        let other_ca = var("CODEDESK_TEST_PG_TLS_OTHER_CA")
            .map(PathBuf::from)
            .unwrap_or_else(|| ca.with_file_name("other-ca.pem"));
        let (host, port) = host_port(&url);
        let why = if !ca.is_file() || !other_ca.is_file() {
            Some(format!(
                "no test CA at {} and {} (CODEDESK_TEST_PG_TLS_CA, CODEDESK_TEST_PG_TLS_OTHER_CA)",
                ca.display(),
                other_ca.display()
            ))
        } else {
            std::net::TcpStream::connect((host.as_str(), port))
                .err()
                .map(|e| format!("no server at {host}:{port} (CODEDESK_TEST_PG_TLS): {e}"))
        };
        let Some(why) = why else {
            return Some(Server { url, ca, other_ca });
        };
        if std::env::var_os("CI").is_some() {
            panic!("{why}; CI is set, so the PostgreSQL TLS tests must run (.ci/run sets them up)");
        }
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        // Straight to stderr: the test harness would swallow eprintln!.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            let bar = "=".repeat(78);
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\nSKIPPED (no PostgreSQL TLS server): pg_tls: its TLS tests were not run.\n  \
                 {why}\n  Run `bash .ci/run --pg-only` (as root) to set one up.\n{bar}\n"
            );
        });
        let _ = writeln!(std::io::stderr(), "pg_tls: {test}: SKIPPED (no TLS server)");
        None
    }

    /// Its URL with `query` (and with host `host` instead of its own).
    fn url(&self, query: &str) -> String {
        format!("{}?{query}", self.url)
    }

    fn url_at(&self, host: &str, query: &str) -> String {
        let (old, _) = host_port(&self.url);
        let at = self.url.rfind('@').map_or(0, |i| i + 1);
        let rest = &self.url[at..];
        format!("{}{}{}?{query}", &self.url[..at], host, &rest[old.len()..])
    }

    fn password(&self) -> String {
        password_of(&self.url)
    }

    fn ca(&self) -> String {
        self.ca.display().to_string()
    }

    fn other_ca(&self) -> String {
        self.other_ca.display().to_string()
    }
}

/// Host and port of a URL (`user:pw@host:port/db`).
fn host_port(url: &str) -> (String, u16) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..end];
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().expect("port")),
        None => (hostport.to_string(), 5432),
    }
}

fn password_of(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let at = url.rfind('@').expect("a URL with credentials");
    url[start..at]
        .split_once(':')
        .map(|(_, p)| p.to_string())
        .expect("a URL with a password")
}

/// A user name of its own for every call, so tests sharing the server's
/// one database (and runs after runs) never meet.
fn fresh_user(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "tls-{what}-{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `codedesk --db URL ARGS` with a fast-hashing config, the
/// environment scrubbed (and libpq's TLS variables and the system roots
/// pinned: `SSL_CERT_FILE` / `SSL_CERT_DIR` as `roots` says, else unset).
/// Returns (status, stdout, stderr).
fn run(url: &str, args: &[&str], roots: Option<&Path>) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n",
    )
    .unwrap();
    let mut c = assert_cmd::Command::new(BIN);
    scrub(&mut c);
    for v in [
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGPASSWORD",
        "SSL_CERT_DIR",
        "SSL_CERT_FILE",
    ] {
        c.env_remove(v);
    }
    if let Some(file) = roots {
        c.env("SSL_CERT_FILE", file);
    }
    let out = c
        .env("HOME", dir.path())
        .arg("--db")
        .arg(url)
        .arg("--config")
        .arg(&config)
        .arg("--operator")
        .arg("tester")
        .args(args)
        .write_stdin(Vec::new())
        .output()
        .expect("run codedesk");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Enrols a user and finds it in `list`: the store works over this URL.
fn enroll_and_list(url: &str, roots: Option<&Path>) {
    // The TLS database outlives a run (.ci/run keeps it): one an earlier
    // codedesk made gets this one's schema first, as its owner would
    // after an upgrade (docs/deployment.md, "Upgrading the fleet").
    let (code, _, err) = run(url, &["upgrade-store", "-q"], roots);
    assert_eq!(code, 0, "upgrade-store over {url}: {err}");
    let user = fresh_user("ok");
    let (code, out, err) = run(
        url,
        &[
            "enroll-device",
            &user,
            "--kind",
            "mobile",
            "--phone",
            "5072225999",
            "-q",
        ],
        roots,
    );
    assert_eq!(code, 0, "enroll-device over {url}: {err}");
    assert!(out.trim().parse::<i64>().is_ok(), "a device id: {out}");
    let (code, out, err) = run(url, &["list", &user, "--format", "json"], roots);
    assert_eq!(code, 0, "list over {url}: {err}");
    assert!(out.contains(&format!("\"{user}\"")), "{out}");
    assert!(out.contains("5999"), "{out}");
}

/// Exit 7, one line, naming host, port and database and the sslmode,
/// never the password; returns the line.
fn refused(url: &str, roots: Option<&Path>, password: &str) -> String {
    let (code, out, err) = run(url, &["list"], roots);
    assert_eq!(code, 7, "{url}: {err}");
    let (host, port) = host_port(url);
    // (Besides the weak-hash warning of the tests' config.)
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("warning: Argon2id"))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    let err = lines[0].to_string();
    assert!(
        err.contains(&format!("host {host}, port {port}, database ")),
        "{err}"
    );
    assert!(err.contains("sslmode="), "{err}");
    assert!(!err.contains(password) && !out.contains(password), "{err}");
    err
}

// ------------------------------------------------------- with a server

#[test]
fn verify_full_with_the_ca_connects_over_tls_and_the_store_works() {
    let Some(s) = Server::get() else { return };
    enroll_and_list(
        &s.url(&format!("sslmode=verify-full&sslrootcert={}", s.ca())),
        None,
    );
    // And the password exchange is bound to that TLS session (SCRAM's
    // channel binding, from the certificate tokio-postgres-rustls hashes).
    let url = s.url(&format!(
        "sslmode=verify-full&sslrootcert={}&channel_binding=require",
        s.ca()
    ));
    assert_eq!(run(&url, &["list"], None).0, 0);
}

#[test]
fn require_connects_without_a_ca() {
    let Some(s) = Server::get() else { return };
    enroll_and_list(&s.url("sslmode=require"), None);
    // channel binding works without a checked certificate too.
    assert_eq!(
        run(
            &s.url("sslmode=require&channel_binding=require"),
            &["list"],
            None
        )
        .0,
        0
    );
}

#[test]
fn on_localhost_the_default_is_prefer_and_takes_the_tls_offered() {
    // The role is TLS-only: connecting at all proves TLS was used.
    let Some(s) = Server::get() else { return };
    let (code, _, err) = run(&s.url.clone(), &["list"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(&s.url("sslmode=prefer"), &["list"], None).0, 0);
}

#[test]
fn verify_full_with_the_system_roots_reads_ssl_cert_file() {
    let Some(s) = Server::get() else { return };
    // No sslrootcert: the system's roots, which SSL_CERT_FILE replaces.
    let url = s.url("sslmode=verify-full");
    assert_eq!(run(&url, &["list"], Some(&s.ca)).0, 0);
    let err = refused(&url, Some(&s.other_ca), &s.password());
    assert!(err.contains("UnknownIssuer"), "{err}");
    // sslrootcert=system is the same roots, and verify-full by default.
    assert_eq!(
        run(&s.url("sslrootcert=system"), &["list"], Some(&s.ca)).0,
        0
    );
}

#[test]
fn the_wrong_ca_is_exit_7_naming_the_server_never_the_password() {
    let Some(s) = Server::get() else { return };
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = s.url(&format!("sslmode={mode}&sslrootcert={}", s.other_ca()));
        let err = refused(&url, None, &s.password());
        assert!(err.contains(&format!("sslmode={mode}")), "{err}");
        assert!(
            err.contains("codedesk_tls") || err.contains("database"),
            "{err}"
        );
        assert!(
            err.contains("certificate") || err.contains("Issuer"),
            "{err}"
        );
    }
}

#[test]
fn a_name_the_certificate_lacks_fails_verify_full_but_passes_verify_ca() {
    // The certificate names localhost, not 127.0.0.1.
    let Some(s) = Server::get() else { return };
    let full = s.url_at(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", s.ca()),
    );
    let err = refused(&full, None, &s.password());
    assert!(err.contains("127.0.0.1"), "{err}");
    assert!(err.contains("not valid for name"), "{err}");
    let ca = s.url_at(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", s.ca()),
    );
    enroll_and_list(&ca, None);
}

#[test]
fn sslmode_disable_to_a_tls_only_role_is_refused_exit_7() {
    let Some(s) = Server::get() else { return };
    let err = refused(&s.url("sslmode=disable"), None, &s.password());
    assert!(err.contains("sslmode=disable"), "{err}");
    assert!(
        err.contains("no encryption"),
        "the server's pg_hba.conf refusal: {err}"
    );
}

// ---------------------------------------------------- without a server

#[test]
fn an_unknown_sslmode_is_exit_2_before_any_connection() {
    for bad in ["bogus", "Require", "verify_full", ""] {
        let url = format!("postgres://u:Sekr1t-pw@127.0.0.1:1/x?sslmode={bad}");
        let (code, out, err) = run(&url, &["list"], None);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains("sslmode"), "{err}");
        assert!(err.contains("verify-full"), "names the choices: {err}");
        assert!(!err.contains("Sekr1t") && !out.contains("Sekr1t"), "{err}");
    }
}

#[test]
fn a_missing_sslrootcert_file_and_client_certificates_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ca.pem");
    let url = format!(
        "postgres://u:Sekr1t-pw@127.0.0.1:1/x?sslmode=verify-full&sslrootcert={}",
        missing.display()
    );
    let (code, _, err) = run(&url, &["list"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-ca.pem"), "{err}");
    let (code, _, err) = run(
        "postgres://u:Sekr1t-pw@127.0.0.1:1/x?sslcert=/c.pem",
        &["list"],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("sslcert"), "{err}");
    assert!(!err.contains("Sekr1t"), "{err}");
    // sslrootcert=system allows verify-full only (as libpq 16).
    let (code, _, err) = run(
        "postgres://u@127.0.0.1:1/x?sslmode=require&sslrootcert=system",
        &["list"],
        None,
    );
    assert_eq!(code, 2, "{err}");
}

/// A "server" on a loopback port that answers every TLS request with
/// PostgreSQL's 'N' (no TLS here), as a server built without TLS does.
fn server_without_tls() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            let mut request = [0u8; 8];
            if s.read_exact(&mut request).is_ok() && request == [0, 0, 0, 8, 4, 210, 22, 47] {
                let _ = s.write_all(b"N");
                let mut rest = Vec::new();
                let _ = s.take(1 << 16).read_to_end(&mut rest);
            }
        }
    });
    port
}

#[test]
fn a_server_without_tls_is_exit_7_when_tls_is_required() {
    let port = server_without_tls();
    for mode in ["require", "verify-ca", "verify-full"] {
        let url = format!(
            "postgres://helpdesk:Sup3r-Secret-Pw@127.0.0.1:{port}/codedesk_prod?sslmode={mode}"
        );
        // Roots that exist, so that only the server can be the failure.
        let roots = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(roots.path(), FAKE_ROOT).unwrap();
        let err = refused(&url, Some(roots.path()), "Sup3r-Secret-Pw");
        assert!(err.contains("codedesk_prod"), "{err}");
        assert!(err.contains("does not support TLS"), "{err}");
    }
}

/// Any well-formed CA certificate (self-signed, P-256, made once with the
/// openssl CLI); it signs nothing the tests meet.
const FAKE_ROOT: &str = "-----BEGIN CERTIFICATE-----
MIIBqzCCAVGgAwIBAgIUXA0AbGjYxwAQZzBB6w4HkIlUDkkwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXY29kZWRlc2sgdGVzdCBmYWtlIHJvb3QwIBcNMjYxMTI5MTI1
NTI0WhgPMjEyNjExMDUxMjU1MjRaMCIxIDAeBgNVBAMMF2NvZGVkZXNrIHRlc3Qg
ZmFrZSByb290MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+xjdYUuY+93awIYX
UZnnRXBSYg50wH01uAJyqXIRreczUKAnQML+9peTo/IdvM7Cb2u+ystBQ17W/S+u
dHBBUqNjMGEwHQYDVR0OBBYEFGLJ7ZVVKamOYiV0iTP+Fqui1dk8MB8GA1UdIwQY
MBaAFGLJ7ZVVKamOYiV0iTP+Fqui1dk8MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgEGMAoGCCqGSM49BAMCA0gAMEUCIQC+v3CbeQtF25d0Zu+Vjqd4VM8W
nqJH3oqCGneTyxUunAIgEh0n+VnrtNC6+Sb7uEJgsfgz+3okO3buAaWHpSCOdZ8=
-----END CERTIFICATE-----
";
