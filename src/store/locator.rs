//! Store locators (`--db`, `CODEDESK_DB`): which backend a locator names,
//! and the form of it that is fit to show (no password).

use crate::exit::{Status, fail};
use std::path::Path;

/// Where a store locator (`--db`, `CODEDESK_DB`) points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// A SQLite file: a plain path or `sqlite://PATH`.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL: `postgres://...` or `postgresql://...`.
    Postgres(String),
    /// A libpq key=value connection string (`host=db dbname=helpdesk`),
    /// which codedesk refuses (exit 2) rather than create a SQLite file of
    /// that name; write `./host=...` for a file really called that.
    Conninfo,
}

/// The keywords a libpq key=value connection string starts with.
const CONNINFO_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "service",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
    "channel_binding",
    "gssencmode",
];

/// Whether `text` starts like `keyword =` for a libpq keyword.
fn looks_like_conninfo(text: &str) -> bool {
    let t = text.trim_start();
    let word_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let (word, rest) = t.split_at(word_end);
    CONNINFO_KEYWORDS
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
        && rest.trim_start().starts_with('=')
}

/// The refusal of a key=value connection string; it is not echoed, since
/// it may hold `password=`.
pub(crate) fn conninfo_refused(what: &str) -> anyhow::Error {
    fail(
        Status::Usage,
        format!(
            "{what} looks like a PostgreSQL key=value connection string; codedesk takes a URL: postgres://USER@HOST:PORT/DBNAME?sslmode=verify-full (the password from PGPASSWORD)"
        ),
    )
}

impl Locator {
    /// Reads a locator. URL schemes are matched ignoring case.
    pub fn parse(locator: &Path) -> Locator {
        let text = locator.to_string_lossy();
        let lower = text.get(..13).unwrap_or(&text).to_ascii_lowercase();
        for scheme in ["postgresql://", "postgres://"] {
            if lower.starts_with(scheme) {
                return Locator::Postgres(format!("{scheme}{}", &text[scheme.len()..]));
            }
        }
        match lower.starts_with("sqlite://") {
            true => Locator::Sqlite(Path::new(&text[9..]).to_path_buf()),
            false if looks_like_conninfo(&text) => Locator::Conninfo,
            false => Locator::Sqlite(locator.to_path_buf()),
        }
    }
}

/// A store locator fit to show: a PostgreSQL URL's password (in
/// `user:password@` or a `password=` parameter) becomes `***`; a path is
/// shown as it is.
pub fn redact_locator(locator: &Path) -> String {
    let text = locator.to_string_lossy();
    let url = match Locator::parse(locator) {
        Locator::Postgres(url) => url,
        Locator::Conninfo => return "(a key=value connection string, not shown)".into(),
        Locator::Sqlite(_) => return text.into_owned(),
    };
    let (scheme, rest) = url.split_at(url.find("://").map_or(0, |i| i + 3));
    // The authority ends at the first '/' or '?'; its userinfo at the last '@'.
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = authority.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***{host}"),
                None => authority.to_string(),
            }
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_pick_the_backend() {
        let pg = |s: &str| Locator::parse(Path::new(s));
        assert_eq!(
            pg("postgres://u@h/db"),
            Locator::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            pg("PostgreSQL://u@h/db"),
            Locator::Postgres("postgresql://u@h/db".into())
        );
        assert_eq!(
            pg("sqlite:///var/x.db"),
            Locator::Sqlite("/var/x.db".into())
        );
        assert_eq!(pg("x.db"), Locator::Sqlite("x.db".into()));
        assert_eq!(
            pg("./postgres://odd"),
            Locator::Sqlite("./postgres://odd".into())
        );
        // libpq's key=value form is recognised (to be refused), whatever
        // keyword comes first; a path that merely holds '=' is a path
        for conninfo in [
            "host=db dbname=helpdesk",
            "  dbname = helpdesk user=codedesk",
            "PORT=5432",
            "password='s3 cr=t' host=db",
            "sslmode=verify-full host=db",
        ] {
            assert_eq!(pg(conninfo), Locator::Conninfo, "{conninfo}");
        }
        for path in [
            "./host=db",
            "hosts=x.db",
            "a=b.db",
            "/srv/host=db",
            "host.db",
        ] {
            assert_eq!(pg(path), Locator::Sqlite(path.into()), "{path}");
        }
    }

    #[test]
    fn passwords_in_locators_are_masked() {
        let r = |s: &str| redact_locator(Path::new(s));
        assert_eq!(
            r("postgres://alice:s3cr@t@db:5432/helpdesk"),
            "postgres://alice:***@db:5432/helpdesk"
        );
        assert_eq!(r("postgresql://alice@db/x"), "postgresql://alice@db/x");
        assert_eq!(
            r("postgres://db/x?user=a&password=pw&sslmode=disable"),
            "postgres://db/x?user=a&password=***&sslmode=disable"
        );
        assert_eq!(r("postgres://a:pw@db?x=1"), "postgres://a:***@db?x=1");
        assert_eq!(r("/home/u/a:b@c.db"), "/home/u/a:b@c.db");
        assert!(!r("host=db password=pw").contains("pw"));
    }
}
