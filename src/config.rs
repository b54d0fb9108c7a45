//! The configuration file (TOML), turned into plain [`Settings`] before any
//! work. Every key is optional; an unknown key or a bad value is a usage
//! error naming the key and the file.

use crate::codes::{Alphabet, CodeSpec, HashParams, check_length};
use crate::exit::{Status, fail};
use anyhow::Result;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    codes: Option<CodesFile>,
    helpdesk: Option<HelpdeskFile>,
    lockout: Option<LockoutFile>,
    hash: Option<HashFile>,
    sms: Option<SmsFile>,
    notify: Option<NotifyFile>,
    store: Option<StoreFile>,
    email: Option<crate::safeguards::EmailFile>,
    safeguards: Option<crate::safeguards::SafeguardsFile>,
    audit: Option<crate::safeguards::AuditFile>,
    directory: Option<crate::directory::DirectoryFile>,
    verify: Option<VerifyFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyFile {
    connect_retry: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    db: Option<String>,
    /// The shared-group mode: files writable by this group are trusted.
    group: Option<String>,
    /// A file holding the PostgreSQL password (never the config text).
    password_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodesFile {
    count: Option<i64>,
    alphabet: Option<String>,
    length: Option<i64>,
    uses: Option<i64>,
    expires: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HelpdeskFile {
    default_expires: Option<String>,
    max_expires: Option<String>,
    max_uses: Option<i64>,
    // Issue 13, docs/approvals.md (parsed in approvals.rs).
    max_sets_per_operator: Option<String>,
    approval_expires: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockoutFile {
    threshold: Option<i64>,
    auto_unlock: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HashFile {
    memory_kib: Option<i64>,
    iterations: Option<i64>,
    parallelism: Option<i64>,
    allow_weak: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsFile {
    command: Option<String>,
    outbox: Option<PathBuf>,
    timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyFile {
    command: Option<String>,
}

/// Where SMS messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsDelivery {
    /// A program run with the E.164 number as its only argument.
    Command(PathBuf),
    /// A file each message is appended to.
    Outbox(PathBuf),
}

/// The most codes a set may hold, and a user may hold at once (Duo's limit).
pub const MAX_CODES: u32 = 100;

/// The shortest `lockout.auto_unlock` accepted.
pub const MIN_AUTO_UNLOCK: Duration = Duration::from_secs(60);

/// Everything the commands need from the configuration, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub count: u32,
    pub spec: CodeSpec,
    pub uses: u32,
    pub expires: Option<Duration>,
    pub helpdesk_default_expires: Option<Duration>,
    pub helpdesk_max_expires: Option<Duration>,
    pub helpdesk_max_uses: Option<u32>,
    pub lockout_threshold: u32,
    pub auto_unlock: Option<Duration>,
    pub hash: HashParams,
    pub allow_weak: bool,
    pub sms: Option<SmsDelivery>,
    pub sms_timeout: Duration,
    pub notify: Option<PathBuf>,
    /// `store.db`: the store when neither `--db` nor `CODEDESK_DB` names one
    /// (a path, `sqlite://PATH` or `postgres://...`).
    pub db: Option<PathBuf>,
    /// `verify.connect_retry`: how long, in all, `verify` keeps retrying a
    /// PostgreSQL store that refuses connections for the moment (too many
    /// clients, restarting); zero (`off`) fails at once, as other commands do.
    pub verify_connect_retry: Duration,
    /// `[email]` and `[safeguards]` (docs/safeguards.md).
    pub safeguards: crate::safeguards::SafeguardSettings,
    /// `store.group`: the group whose write access to the store, its WAL
    /// files and the config is accepted (every member is trusted).
    pub store_group: Option<crate::trust::Group>,
    /// The PostgreSQL password read from `store.password_file`.
    pub db_password: Option<Secret>,
    /// `[directory]`: the LDAP directory users are checked against.
    pub directory: Option<crate::directory::DirectoryConfig>,
    /// `helpdesk.max_sets_per_operator` and `helpdesk.approval_expires`.
    pub approvals: crate::approvals::ApprovalSettings,
    /// Each key and where its value came from ("default" or the file).
    pub sources: Vec<(&'static str, String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            count: 10,
            spec: CodeSpec::default(),
            uses: 1,
            expires: None,
            helpdesk_default_expires: None,
            helpdesk_max_expires: None,
            helpdesk_max_uses: None,
            approvals: Default::default(),
            lockout_threshold: 10,
            auto_unlock: None,
            hash: HashParams::OWASP,
            allow_weak: false,
            sms: None,
            sms_timeout: Duration::from_secs(30),
            notify: None,
            db: None,
            verify_connect_retry: DEFAULT_CONNECT_RETRY,
            safeguards: Default::default(),
            store_group: None,
            db_password: None,
            directory: None,
            sources: Vec::new(),
        }
    }
}

/// The default of `verify.connect_retry`. A login waits on the slowest
/// client in its path: sshd gives a whole login 120 s (LoginGraceTime),
/// but a VPN concentrator asking RADIUS gives up after a few seconds per
/// try times a few tries (about 5-30 s), and FreeRADIUS's exec module
/// kills its program after 10 s. 8 s of retrying leaves the hash and the
/// spend time inside the tightest of these (docs/postgresql-pooling.md).
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(8);

/// Reads `90s`, `15m`, `1h`, `7d` (any humantime duration) or `never`.
pub fn parse_expiry(raw: &str) -> std::result::Result<Option<Duration>, String> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let d = parse_duration(t)?;
    // Shorter, and the codes would expire before they are handed over.
    if d < Duration::from_secs(60) {
        return Err(format!("{raw:?} is shorter than a minute"));
    }
    Ok(Some(d))
}

/// Reads a positive duration such as `90s`, `15m`, `1h`, `7d`.
pub fn parse_duration(raw: &str) -> std::result::Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{:?} is not a duration like 90s, 15m, 1h or 7d ({e})", raw))?;
    if d.is_zero() {
        return Err(format!("{raw:?} is not a positive duration"));
    }
    // Ten years is the horizon; beyond it a timestamp could overflow.
    if d > Duration::from_secs(10 * 366 * 86400) {
        return Err(format!("{raw:?} is longer than ten years"));
    }
    Ok(d)
}

/// A secret read from a file (the PostgreSQL password): never shown, wiped
/// when dropped.
#[derive(Clone)]
pub struct Secret(pub zeroize::Zeroizing<String>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The largest configuration (or password) file read; a bigger one is
/// refused rather than read into memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The defaults, each with its source, when no file applies.
pub fn defaults() -> Settings {
    with_sources(Settings::default(), &File::default(), None)
}

/// Loads the configuration. `explicit` is true when the path came from
/// `--config` or `CODEDESK_CONFIG`, where a missing file is an error; a
/// missing default file means defaults.
pub fn load(path: &Path, explicit: bool) -> Result<Settings> {
    load_file(path, explicit, false)
}

/// Loads the system configuration (`/etc/codedesk/config.toml`): as
/// [`load`] of a default file, but it must be owned by root and writable
/// by nobody else, and a password in its `store.db` URL is refused.
pub fn load_system(path: &Path) -> Result<Settings> {
    let s = load_file(path, false, true)?;
    if let Some(db) = &s.db
        && crate::store::redact_locator(db) != db.display().to_string()
    {
        return Err(fail(
            Status::Usage,
            format!(
                "config file {}: store.db: holds a password; put it in a file named by store.password_file",
                path.display()
            ),
        ));
    }
    Ok(s)
}

/// Opens `path` without following a symbolic link; its bytes and its
/// metadata (of the open file, for the caller's `trust::distrust`), or
/// `None` when there is no such file.
fn read_nofollow(
    path: &Path,
    what: &str,
) -> std::result::Result<Option<(Vec<u8>, std::fs::Metadata)>, String> {
    use std::io::Read;
    let f = match crate::trust::open_nofollow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if crate::trust::is_symlink_error(&e) => {
            return Err(format!(
                "{what} {} is not trusted: it is a symbolic link",
                path.display()
            ));
        }
        Err(e) => return Err(format!("cannot read {what} {}: {e}", path.display())),
    };
    let m = f
        .metadata()
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if !m.is_file() {
        return Err(format!("{what} {}: not a regular file", path.display()));
    }
    if m.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "{what} {}: larger than {} KiB",
            path.display(),
            MAX_CONFIG_BYTES / 1024
        ));
    }
    let mut bytes = Vec::new();
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    Ok(Some((bytes, m)))
}

fn load_file(path: &Path, explicit: bool, root_only: bool) -> Result<Settings> {
    let (bytes, meta) = match read_nofollow(path, "config file") {
        Ok(Some(found)) => found,
        Ok(None) if !explicit => {
            return Ok(with_sources(Settings::default(), &File::default(), None));
        }
        Ok(None) => {
            return Err(fail(
                Status::Usage,
                format!("cannot read config file {}: no such file", path.display()),
            ));
        }
        Err(why) => return Err(fail(Status::Usage, why)),
    };
    let untrusted = |why: String| {
        fail(
            Status::Usage,
            format!("config file {} is not trusted: {why}", path.display()),
        )
    };
    // Owner and others first, before anything in the file is believed;
    // the group write after parsing, against the group the file names.
    if let Some(why) = crate::trust::distrust_owner(&meta, root_only) {
        return Err(untrusted(why));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(
            Status::Usage,
            format!("config file {}: not UTF-8 text", path.display()),
        )
    })?;
    let s = parse(&text, path)?;
    match crate::trust::distrust(&meta, s.store_group.as_ref(), root_only) {
        Some(why) => Err(untrusted(why)),
        None => Ok(s),
    }
}

/// Reads `store.password_file`: trusted as a config is, and not readable
/// by others. The first line is the password.
fn read_password(
    path: &Path,
    group: Option<&crate::trust::Group>,
) -> std::result::Result<Secret, String> {
    use std::os::unix::fs::MetadataExt;
    let (bytes, m) = read_nofollow(path, "password file")?
        .ok_or_else(|| format!("password file {}: no such file", path.display()))?;
    if let Some(why) = crate::trust::distrust(&m, group, false) {
        return Err(format!(
            "password file {} is not trusted: {why}",
            path.display()
        ));
    }
    if m.mode() & 0o004 != 0 {
        return Err(format!(
            "password file {} is not trusted: others can read it (mode {:o})",
            path.display(),
            m.mode() & 0o7777
        ));
    }
    let text = zeroize::Zeroizing::new(
        String::from_utf8(bytes)
            .map_err(|_| format!("password file {}: not UTF-8 text", path.display()))?,
    );
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(format!("password file {}: is empty", path.display()));
    }
    Ok(Secret(zeroize::Zeroizing::new(line.to_string())))
}

/// Parses configuration text; `path` names the file in messages.
pub fn parse(text: &str, path: &Path) -> Result<Settings> {
    let file: File = toml::from_str(text).map_err(|e| {
        // toml's message spans several lines with a source excerpt; keep
        // the first line, and name the key (table.key) it points at.
        let msg = escape_controls(e.message().lines().next().unwrap_or("invalid TOML"));
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                match key_at(text, s.start) {
                    Some(k) => format!(" (line {line}): {k}"),
                    None => format!(" (line {line})"),
                }
            })
            .unwrap_or_default();
        fail(
            Status::Usage,
            format!("config file {}{at}: {msg}", path.display()),
        )
    })?;
    let bad = |key: &str, why: String| {
        fail(
            Status::Usage,
            format!("config file {}: {key}: {why}", path.display()),
        )
    };
    let mut s = Settings::default();
    let ranged = |key: &str, v: i64, lo: i64, hi: i64| -> Result<u32> {
        if v < lo || v > hi {
            return Err(bad(key, format!("{v} is out of range {lo}..={hi}")));
        }
        Ok(v as u32)
    };

    if let Some(c) = &file.codes {
        if let Some(v) = c.count {
            s.count = ranged("codes.count", v, 1, i64::from(MAX_CODES))?;
        }
        if let Some(a) = &c.alphabet {
            s.spec.alphabet = match a.as_str() {
                "base32" => Alphabet::Base32,
                "digits" => Alphabet::Digits,
                other => {
                    return Err(bad(
                        "codes.alphabet",
                        format!("{other:?} is not \"base32\" or \"digits\""),
                    ));
                }
            };
            s.spec.length = s.spec.alphabet.default_length();
        }
        if let Some(v) = c.length {
            let r = s.spec.alphabet.length_range();
            s.spec.length = ranged("codes.length", v, *r.start() as i64, *r.end() as i64)? as usize;
        }
        check_length(s.spec.alphabet, s.spec.length)
            .map_err(|e| bad("codes.length", e.to_string()))?;
        if let Some(v) = c.uses {
            s.uses = ranged("codes.uses", v, 1, 100)?;
        }
        if let Some(v) = &c.expires {
            s.expires = parse_expiry(v).map_err(|e| bad("codes.expires", e))?;
        }
    }
    if let Some(h) = &file.helpdesk {
        if let Some(v) = &h.default_expires {
            s.helpdesk_default_expires =
                parse_expiry(v).map_err(|e| bad("helpdesk.default_expires", e))?;
        }
        if let Some(v) = &h.max_expires {
            s.helpdesk_max_expires =
                Some(parse_duration(v).map_err(|e| bad("helpdesk.max_expires", e))?);
        }
        if let Some(v) = h.max_uses {
            s.helpdesk_max_uses = Some(ranged("helpdesk.max_uses", v, 1, 100)?);
        }
        if let Some(v) = &h.max_sets_per_operator {
            s.approvals.quota = crate::approvals::parse_quota(v)
                .map_err(|e| bad("helpdesk.max_sets_per_operator", e))?;
        }
        if let Some(v) = &h.approval_expires {
            s.approvals.request_expires =
                parse_duration(v).map_err(|e| bad("helpdesk.approval_expires", e))?;
        }
    }
    if let Some(l) = &file.lockout {
        if let Some(v) = l.threshold {
            s.lockout_threshold = ranged("lockout.threshold", v, 1, 100)?;
        }
        if let Some(v) = &l.auto_unlock {
            s.auto_unlock = match v.trim() {
                "off" | "never" => None,
                d => Some(parse_duration(d).map_err(|e| bad("lockout.auto_unlock", e))?),
            };
            // Below a minute a lockout barely slows a guesser down.
            if s.auto_unlock.is_some_and(|d| d < MIN_AUTO_UNLOCK) {
                return Err(bad(
                    "lockout.auto_unlock",
                    format!("{v:?} is below the floor of 1m (or \"off\")"),
                ));
            }
        }
    }
    if let Some(h) = &file.hash {
        if let Some(v) = h.memory_kib {
            s.hash.memory_kib = ranged("hash.memory_kib", v, 8, 4 * 1024 * 1024)?;
        }
        if let Some(v) = h.iterations {
            s.hash.iterations = ranged("hash.iterations", v, 1, 100)?;
        }
        if let Some(v) = h.parallelism {
            s.hash.parallelism = ranged("hash.parallelism", v, 1, 64)?;
        }
        if s.hash.memory_kib < 8 * s.hash.parallelism {
            return Err(bad(
                "hash.memory_kib",
                "must be at least 8 KiB per lane of hash.parallelism".into(),
            ));
        }
        s.allow_weak = h.allow_weak.unwrap_or(false);
        if s.hash.below_floor() && !s.allow_weak {
            return Err(bad(
                "hash",
                format!(
                    "m={} KiB, t={} is below the OWASP floor (m=19456, t=2); set hash.allow_weak = true only for tests",
                    s.hash.memory_kib, s.hash.iterations
                ),
            ));
        }
    }
    if let Some(sms) = &file.sms {
        s.sms = match (&sms.command, &sms.outbox) {
            (Some(_), Some(_)) => {
                return Err(bad("sms", "set sms.command or sms.outbox, not both".into()));
            }
            (Some(c), None) if c.trim().is_empty() => {
                return Err(bad("sms.command", "is empty".into()));
            }
            (Some(c), None) => Some(SmsDelivery::Command(PathBuf::from(c))),
            (None, Some(o)) => Some(SmsDelivery::Outbox(relative_to(path, o))),
            (None, None) => None,
        };
        if let Some(v) = &sms.timeout {
            s.sms_timeout = parse_duration(v).map_err(|e| bad("sms.timeout", e))?;
        }
    }
    if let Some(n) = &file.notify
        && let Some(c) = &n.command
    {
        if c.trim().is_empty() {
            return Err(bad("notify.command", "is empty".into()));
        }
        s.notify = Some(PathBuf::from(c));
    }
    if let Some(v) = file.verify.as_ref().and_then(|v| v.connect_retry.as_ref()) {
        s.verify_connect_retry = match v.trim() {
            "off" | "0" | "0s" => Duration::ZERO,
            d => parse_duration(d).map_err(|e| bad("verify.connect_retry", e))?,
        };
    }
    if let Some(st) = &file.store
        && let Some(g) = &st.group
    {
        let gid = crate::principal::group_id(g).ok_or_else(|| {
            bad(
                "store.group",
                format!("no such group {}", crate::model::printable(g, 40)),
            )
        })?;
        s.store_group = Some(crate::trust::Group {
            name: g.clone(),
            gid,
        });
    }
    if let Some(st) = &file.store
        && let Some(pf) = &st.password_file
    {
        let pf = relative_to(path, Path::new(pf));
        s.db_password = Some(
            read_password(&pf, s.store_group.as_ref())
                .map_err(|why| bad("store.password_file", why))?,
        );
    }
    if let Some(st) = &file.store
        && let Some(db) = &st.db
    {
        if db.trim().is_empty() {
            return Err(bad("store.db", "is empty".into()));
        }
        if crate::store::Locator::parse(Path::new(db)) == crate::store::Locator::Conninfo {
            return Err(bad(
                "store.db",
                "looks like a key=value connection string; give a postgres:// URL".into(),
            ));
        }
        s.db = Some(match db.contains("://") {
            true => PathBuf::from(db),
            false => relative_to(path, Path::new(db)),
        });
    }
    s.safeguards = crate::safeguards::settings(
        file.email.as_ref(),
        file.safeguards.as_ref(),
        file.audit.as_ref(),
    )
    .map_err(|(key, why)| bad(key, why))?;
    if let Some(d) = &file.directory {
        s.directory = Some(crate::directory::DirectoryConfig::from_file(d, path)?);
    }
    Ok(with_sources(s, &file, Some(path)))
}

/// Text quoted from the file (a key, toml's message naming it) with its
/// control characters escaped: it goes into a one-line error, where a
/// carriage return or an escape sequence would rewrite the terminal.
fn escape_controls(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The dotted key (`codes.count`) on the line holding byte `offset`, its
/// control characters escaped.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let t = line.trim();
    if t.starts_with('[') {
        return Some(escape_controls(
            t.trim_matches(|c| c == '[' || c == ']').trim(),
        ));
    }
    let key = t.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return None;
    }
    Some(escape_controls(&match table {
        Some(tb) => format!("{tb}.{key}"),
        None => key.to_string(),
    }))
}

/// An outbox path in the config file is read relative to the file.
fn relative_to(config: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn fmt_expiry(d: Option<Duration>) -> String {
    d.map(|d| humantime::format_duration(d).to_string())
        .unwrap_or_else(|| "never".into())
}

/// Records each effective value and where it came from, for `codedesk config`.
fn with_sources(mut s: Settings, f: &File, path: Option<&Path>) -> Settings {
    let file = path
        .map(|p| format!("file {}", p.display()))
        .unwrap_or_default();
    let src = |set: bool| {
        if set {
            file.clone()
        } else {
            "default".to_string()
        }
    };
    let c = f.codes.as_ref();
    let h = f.helpdesk.as_ref();
    let l = f.lockout.as_ref();
    let hs = f.hash.as_ref();
    let sm = f.sms.as_ref();
    let n = f.notify.as_ref();
    let v = f.verify.as_ref();
    let opt = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
    s.sources = vec![
        (
            "codes.count",
            s.count.to_string(),
            src(c.is_some_and(|c| c.count.is_some())),
        ),
        (
            "codes.alphabet",
            s.spec.alphabet.name().into(),
            src(c.is_some_and(|c| c.alphabet.is_some())),
        ),
        (
            "codes.length",
            s.spec.length.to_string(),
            src(c.is_some_and(|c| c.length.is_some())),
        ),
        (
            "codes.uses",
            s.uses.to_string(),
            src(c.is_some_and(|c| c.uses.is_some())),
        ),
        (
            "codes.expires",
            fmt_expiry(s.expires),
            src(c.is_some_and(|c| c.expires.is_some())),
        ),
        (
            "helpdesk.default_expires",
            fmt_expiry(s.helpdesk_default_expires),
            src(h.is_some_and(|h| h.default_expires.is_some())),
        ),
        (
            "helpdesk.max_expires",
            opt(s
                .helpdesk_max_expires
                .map(|d| humantime::format_duration(d).to_string())),
            src(h.is_some_and(|h| h.max_expires.is_some())),
        ),
        (
            "helpdesk.max_uses",
            opt(s.helpdesk_max_uses.map(|v| v.to_string())),
            src(h.is_some_and(|h| h.max_uses.is_some())),
        ),
        (
            "helpdesk.max_sets_per_operator",
            s.approvals.quota_text(),
            src(h.is_some_and(|h| h.max_sets_per_operator.is_some())),
        ),
        (
            "helpdesk.approval_expires",
            humantime::format_duration(s.approvals.request_expires).to_string(),
            src(h.is_some_and(|h| h.approval_expires.is_some())),
        ),
        (
            "lockout.threshold",
            s.lockout_threshold.to_string(),
            src(l.is_some_and(|l| l.threshold.is_some())),
        ),
        (
            "lockout.auto_unlock",
            s.auto_unlock
                .map(|d| humantime::format_duration(d).to_string())
                .unwrap_or_else(|| "off".into()),
            src(l.is_some_and(|l| l.auto_unlock.is_some())),
        ),
        (
            "hash.memory_kib",
            s.hash.memory_kib.to_string(),
            src(hs.is_some_and(|h| h.memory_kib.is_some())),
        ),
        (
            "hash.iterations",
            s.hash.iterations.to_string(),
            src(hs.is_some_and(|h| h.iterations.is_some())),
        ),
        (
            "hash.parallelism",
            s.hash.parallelism.to_string(),
            src(hs.is_some_and(|h| h.parallelism.is_some())),
        ),
        (
            "hash.allow_weak",
            s.allow_weak.to_string(),
            src(hs.is_some_and(|h| h.allow_weak.is_some())),
        ),
        (
            "sms.command",
            opt(match &s.sms {
                Some(SmsDelivery::Command(p)) => Some(p.display().to_string()),
                _ => None,
            }),
            src(sm.is_some_and(|s| s.command.is_some())),
        ),
        (
            "sms.outbox",
            opt(match &s.sms {
                Some(SmsDelivery::Outbox(p)) => Some(p.display().to_string()),
                _ => None,
            }),
            src(sm.is_some_and(|s| s.outbox.is_some())),
        ),
        (
            "sms.timeout",
            humantime::format_duration(s.sms_timeout).to_string(),
            src(sm.is_some_and(|s| s.timeout.is_some())),
        ),
        (
            "notify.command",
            opt(s.notify.as_ref().map(|p| p.display().to_string())),
            src(n.is_some_and(|n| n.command.is_some())),
        ),
        (
            "verify.connect_retry",
            match s.verify_connect_retry {
                Duration::ZERO => "off".to_string(),
                d => humantime::format_duration(d).to_string(),
            },
            src(v.is_some_and(|v| v.connect_retry.is_some())),
        ),
    ];
    s.sources.extend(crate::safeguards::sources(
        &s.safeguards,
        f.email.as_ref(),
        f.safeguards.as_ref(),
        f.audit.as_ref(),
        &src,
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Settings> {
        parse(text, Path::new("/etc/codedesk.toml"))
    }

    fn msg(text: &str) -> String {
        let e = p(text).unwrap_err();
        assert_eq!(crate::exit::status_of(&e), Status::Usage);
        e.to_string()
    }

    #[test]
    fn empty_file_means_defaults() {
        let s = p("").unwrap();
        assert_eq!(s.count, 10);
        assert_eq!(s.spec, CodeSpec::default());
        assert_eq!(s.hash, HashParams::OWASP);
        assert_eq!(s.lockout_threshold, 10);
        assert_eq!(s.sms_timeout, Duration::from_secs(30));
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(msg("[codes]\ncolour = 1\n").contains("colour"));
        assert!(msg("[bogus]\n").contains("bogus"));
    }

    #[test]
    fn bad_values_are_named() {
        assert!(msg("[codes]\ncount = 0\n").contains("codes.count"));
        assert!(msg("[codes]\ncount = \"ten\"\n").contains("codes.count"));
        assert!(msg("[codes]\ncount = 1\ncolour = 1\n").contains("codes.colour"));
        assert!(msg("[codes]\nexpires = \"soon\"\n").contains("codes.expires"));
        assert!(msg("[hash]\nmemory_kib = 1024\n").contains("OWASP"));
        assert!(msg("[sms]\ncommand = \"/bin/x\"\noutbox = \"o\"\n").contains("not both"));
        assert!(msg("[codes]\nalphabet = \"hex\"\n").contains("codes.alphabet"));
    }

    /// Found with the `config_toml` fuzz target's one-line property: a
    /// carriage return (or any control character) in a bad key, or in a
    /// quoted key toml's message names, was copied raw into the error.
    #[test]
    fn config_error_key_with_control_characters_is_escaped() {
        for (text, key) in [
            ("[codes]\ncou\rnt = 1\n", "codes.cou\\rnt"),
            ("[co\rdes]\n", "co\\rdes"),
            ("x\u{1b}[2J = 1\n", "x\\u{1b}[2J"),
            // toml's own message names a quoted key after its escapes
            ("\"\\timeout\"=1", "unknown field `\\timeout`"),
            ("[codes]\n\"\\u001b[2J\" = 1", "unknown field `\\u{1b}[2J`"),
        ] {
            let m = msg(text);
            assert!(m.contains(key), "{m:?}");
            assert!(!m.chars().any(char::is_control), "{m:?}");
        }
    }

    #[test]
    fn digits_alphabet_defaults_to_nine() {
        let s = p("[codes]\nalphabet = \"digits\"\n").unwrap();
        assert_eq!(s.spec.length, 9);
    }

    #[test]
    fn weak_hash_allowed_only_when_asked() {
        let s = p("[hash]\nmemory_kib = 64\niterations = 1\nallow_weak = true\n").unwrap();
        assert_eq!(s.hash.memory_kib, 64);
    }

    #[test]
    fn verify_connect_retry() {
        assert_eq!(p("").unwrap().verify_connect_retry, DEFAULT_CONNECT_RETRY);
        let s = p("[verify]\nconnect_retry = \"30s\"\n").unwrap();
        assert_eq!(s.verify_connect_retry, Duration::from_secs(30));
        let s = p("[verify]\nconnect_retry = \"off\"\n").unwrap();
        assert_eq!(s.verify_connect_retry, Duration::ZERO);
        assert!(msg("[verify]\nconnect_retry = \"soon\"\n").contains("verify.connect_retry"));
        assert!(msg("[verify]\nconnect_timeout = \"8s\"\n").contains("connect_timeout"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_expiry("never").unwrap(), None);
        assert_eq!(
            parse_expiry("7d").unwrap(),
            Some(Duration::from_secs(7 * 86400))
        );
        assert!(parse_expiry("0s").is_err());
        assert!(
            parse_expiry("500ms").is_err(),
            "expires before it is handed over"
        );
        assert!(parse_expiry("59s").is_err());
        assert_eq!(parse_expiry("60s").unwrap(), Some(Duration::from_secs(60)));
        assert!(parse_expiry("-1h").is_err());
        assert!(parse_expiry("100000d").is_err());
    }

    #[test]
    fn store_db_is_relative_to_the_file_unless_a_url() {
        let s = p("[store]\ndb = \"x.db\"\n").unwrap();
        assert_eq!(s.db, Some(PathBuf::from("/etc/x.db")));
        let s = p("[store]\ndb = \"postgres://h/db\"\n").unwrap();
        assert_eq!(s.db, Some(PathBuf::from("postgres://h/db")));
        assert!(msg("[store]\ndb = \"\"\n").contains("store.db"));
        let m = msg("[store]\ndb = \"host=db password=pw\"\n");
        assert!(m.contains("store.db") && m.contains("postgres://"), "{m}");
        assert!(!m.contains("pw"), "{m}");
    }

    #[test]
    fn outbox_is_relative_to_the_file() {
        let s = p("[sms]\noutbox = \"out.txt\"\n").unwrap();
        assert_eq!(
            s.sms,
            Some(SmsDelivery::Outbox(PathBuf::from("/etc/out.txt")))
        );
    }
}
