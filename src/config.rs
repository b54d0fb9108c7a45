//! The configuration file (TOML), turned into plain [`Settings`] before any
//! work. Every key is optional; an unknown key or a bad value is a usage
//! error naming the key and the file.
//!
//! Each key is written once, as a field of a serde section struct
//! (`#[serde(default, deny_unknown_fields)]`) whose type checks the value
//! as it is read (the `checked!` newtypes, [`Ranged`]); `build` holds
//! only the checks between keys and the defaults ([`Settings::default`]).
//! The text is parsed once into a spanned document: toml's errors name
//! the key found at their span, and `codedesk config` reads off the same
//! document whether each key in `SHOWN` came from the file.

use crate::codes::{Alphabet, CodeSpec, HashParams, check_length};
use crate::directory::{Attributes, DirectoryConfig, Preset};
use crate::exit::{Status, fail};
use anyhow::Result;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// The file as written: every section optional, every value checked by
/// its type as it is read (a bad value names its key, no line); checks
/// between keys are in [`build`]. Field order is the order toml's "expected
/// one of" messages list.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct File {
    codes: CodesFile,
    helpdesk: HelpdeskFile,
    lockout: LockoutFile,
    hash: HashFile,
    sms: SmsFile,
    notify: NotifyFile,
    store: StoreFile,
    email: Option<crate::safeguards::EmailFile>,
    safeguards: Option<crate::safeguards::SafeguardsFile>,
    audit: Option<crate::safeguards::AuditFile>,
    directory: Option<crate::directory::DirectoryFile>,
    verify: VerifyFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct VerifyFile {
    connect_retry: Option<Retry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct StoreFile {
    db: Option<DbLocator>,
    /// The shared-group mode: files writable by this group are trusted.
    group: Option<GroupName>,
    /// A file holding the PostgreSQL password (never the config text).
    password_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CodesFile {
    count: Option<Ranged<1, { MAX_CODES as i64 }>>,
    alphabet: Option<AlphabetName>,
    /// Its range depends on the alphabet: checked in [`build`].
    length: Option<i64>,
    uses: Option<Ranged<1, 100>>,
    expires: Option<Expiry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HelpdeskFile {
    default_expires: Option<Expiry>,
    max_expires: Option<Positive>,
    max_uses: Option<Ranged<1, 100>>,
    // Issue 13, docs/approvals.md.
    max_sets_per_operator: Option<QuotaSpec>,
    approval_expires: Option<Positive>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LockoutFile {
    threshold: Option<Ranged<1, 100>>,
    auto_unlock: Option<AutoUnlock>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct HashFile {
    memory_kib: Option<Ranged<8, { 4 * 1024 * 1024 }>>,
    iterations: Option<Ranged<1, 100>>,
    parallelism: Option<Ranged<1, 64>>,
    allow_weak: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SmsFile {
    command: Option<Command>,
    outbox: Option<PathBuf>,
    timeout: Option<Positive>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NotifyFile {
    command: Option<Command>,
}

// ------------------------------------------------------- checked values

/// Starts the message of a value that failed its own check, so that
/// [`parse`] words it `config file P: key: why` (no line), as against
/// toml's own errors, which also give the line.
const INVALID: char = '\u{0}';

/// A value's own check failed: `why` is the message after the key.
#[derive(Debug)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{INVALID}{}", self.0)
    }
}

impl From<String> for Invalid {
    fn from(why: String) -> Self {
        Invalid(why)
    }
}

/// An integer in `LO..=HI`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "i64")]
pub struct Ranged<const LO: i64, const HI: i64>(pub u32);

impl<const LO: i64, const HI: i64> TryFrom<i64> for Ranged<LO, HI> {
    type Error = Invalid;
    fn try_from(v: i64) -> std::result::Result<Self, Invalid> {
        in_range(v, LO, HI).map(Ranged).map_err(Invalid)
    }
}

fn in_range(v: i64, lo: i64, hi: i64) -> std::result::Result<u32, String> {
    if v < lo || v > hi {
        return Err(format!("{v} is out of range {lo}..={hi}"));
    }
    Ok(v as u32)
}

/// Newtypes read from a TOML string and checked as they are read: each
/// `Name(Inner) = check;` where `check` turns the string into the inner
/// value or the message that follows the key.
macro_rules! checked {
    ($($(#[$doc:meta])* $vis:vis $name:ident($inner:ty) = $check:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(try_from = "String")]
        $vis struct $name(pub $inner);

        impl TryFrom<String> for $name {
            type Error = $crate::config::Invalid;
            fn try_from(v: String) -> std::result::Result<Self, Self::Error> {
                let check: fn(String) -> std::result::Result<$inner, String> = $check;
                check(v).map($name).map_err($crate::config::Invalid)
            }
        }
    )*};
}
pub(crate) use checked;

checked! {
    /// `codes.alphabet`: `base32` or `digits`.
    AlphabetName(Alphabet) = |a| match a.as_str() {
        "base32" => Ok(Alphabet::Base32),
        "digits" => Ok(Alphabet::Digits),
        other => Err(format!("{other:?} is not \"base32\" or \"digits\"")),
    };

    /// An expiry ([`parse_expiry`]): a minute or more, or `never`.
    Expiry(Option<Duration>) = |v| parse_expiry(&v);

    /// A positive duration ([`parse_duration`]).
    pub Positive(Duration) = |v| parse_duration(&v);

    /// `helpdesk.max_sets_per_operator`: `COUNT/WINDOW` or `off`
    /// ([`crate::approvals::parse_quota`]).
    QuotaSpec(Option<crate::approvals::Quota>) = |v| crate::approvals::parse_quota(&v);

    /// `lockout.auto_unlock`: `off` (or `never`), else at least
    /// [`MIN_AUTO_UNLOCK`]: below a minute a lockout barely slows a guesser.
    AutoUnlock(Option<Duration>) = |v| match v.trim() {
        "off" | "never" => Ok(None),
        d => match parse_duration(d)? {
            d if d < MIN_AUTO_UNLOCK => Err(format!("{v:?} is below the floor of 1m (or \"off\")")),
            d => Ok(Some(d)),
        },
    };

    /// `verify.connect_retry`: a duration, or `off` (zero).
    Retry(Duration) = |v| match v.trim() {
        "off" | "0" | "0s" => Ok(Duration::ZERO),
        d => parse_duration(d),
    };

    /// A program to run (`sms.command`, `notify.command`): not blank.
    Command(PathBuf) = |c| match c.trim().is_empty() {
        true => Err("is empty".into()),
        false => Ok(PathBuf::from(c)),
    };

    /// `store.group`: a group that exists.
    GroupName(crate::trust::Group) = |name| match crate::principal::group_id(&name) {
        Some(gid) => Ok(crate::trust::Group { name, gid }),
        None => Err(format!("no such group {}", crate::model::printable(&name, 40))),
    };

    /// `store.db`: a path or a URL, not blank and not a key=value string.
    DbLocator(String) = |db| {
        if db.trim().is_empty() {
            return Err("is empty".into());
        }
        if crate::store::Locator::parse(Path::new(&db)) == crate::store::Locator::Conninfo {
            return Err("looks like a key=value connection string; give a postgres:// URL".into());
        }
        Ok(db)
    };
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
    /// `helpdesk.max_sets_per_operator` and `helpdesk.approval_expires`.
    pub approvals: crate::approvals::ApprovalSettings,
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
    if raw.trim().starts_with('-') {
        return Err(format!("{raw:?} is not a positive duration"));
    }
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
    with_sources(Settings::default(), &DeTable::default(), None)
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
            return Ok(defaults());
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
    let (doc, errors) = DeTable::parse_recoverable(text);
    if let Some(e) = errors.first() {
        // Not TOML: no whole document to find the key in; it is read off
        // the line the error is on.
        let key = e.span().and_then(|s| line_key(text, s.start));
        return Err(toml_error(e, key, text, path));
    }
    let file = File::deserialize(toml::de::Deserializer::from(doc.clone())).map_err(|e| {
        let key = e.span().and_then(|s| key_at(doc.get_ref(), text, s.start));
        toml_error(&e, key, text, path)
    })?;
    let s = build(file, path)?;
    Ok(with_sources(s, doc.get_ref(), Some(path)))
}

/// A toml error, or a value's own check, as one line naming the file and
/// the key; toml's errors also give the line.
fn toml_error(e: &toml::de::Error, key: Option<String>, text: &str, path: &Path) -> anyhow::Error {
    if let Some(why) = e.message().strip_prefix(INVALID) {
        let key = key.map(|k| format!("{k}: ")).unwrap_or_default();
        return fail(
            Status::Usage,
            format!(
                "config file {}: {key}{}",
                path.display(),
                escape_controls(why)
            ),
        );
    }
    // toml's message spans several lines with a source excerpt; keep
    // the first line.
    let msg = escape_controls(e.message().lines().next().unwrap_or("invalid TOML"));
    let at = e
        .span()
        .map(|s| {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            match key {
                Some(k) => format!(" (line {line}): {k}"),
                None => format!(" (line {line})"),
            }
        })
        .unwrap_or_default();
    fail(
        Status::Usage,
        format!("config file {}{at}: {msg}", path.display()),
    )
}

/// [`Settings`] from the file's values: the checks between keys, paths
/// made relative to the file, the password file read.
fn build(f: File, path: &Path) -> Result<Settings> {
    let bad = |key: &str, why: String| {
        fail(
            Status::Usage,
            format!("config file {}: {key}: {why}", path.display()),
        )
    };
    let mut s = Settings::default();
    let c = f.codes;
    s.count = c.count.map_or(s.count, |v| v.0);
    if let Some(a) = c.alphabet {
        s.spec.alphabet = a.0;
        s.spec.length = a.0.default_length();
    }
    if let Some(v) = c.length {
        let r = s.spec.alphabet.length_range();
        s.spec.length = in_range(v, *r.start() as i64, *r.end() as i64)
            .map_err(|why| bad("codes.length", why))? as usize;
    }
    check_length(s.spec.alphabet, s.spec.length).map_err(|e| bad("codes.length", e.to_string()))?;
    s.uses = c.uses.map_or(s.uses, |v| v.0);
    s.expires = c.expires.map_or(s.expires, |v| v.0);

    let h = f.helpdesk;
    s.helpdesk_default_expires = h.default_expires.and_then(|v| v.0);
    s.helpdesk_max_expires = h.max_expires.map(|v| v.0);
    s.helpdesk_max_uses = h.max_uses.map(|v| v.0);
    s.approvals.quota = h.max_sets_per_operator.and_then(|v| v.0);
    s.approvals.request_expires = h
        .approval_expires
        .map_or(s.approvals.request_expires, |v| v.0);

    let l = f.lockout;
    s.lockout_threshold = l.threshold.map_or(s.lockout_threshold, |v| v.0);
    s.auto_unlock = l.auto_unlock.and_then(|v| v.0);

    let h = f.hash;
    s.hash.memory_kib = h.memory_kib.map_or(s.hash.memory_kib, |v| v.0);
    s.hash.iterations = h.iterations.map_or(s.hash.iterations, |v| v.0);
    s.hash.parallelism = h.parallelism.map_or(s.hash.parallelism, |v| v.0);
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

    s.sms = match (f.sms.command, f.sms.outbox) {
        (Some(_), Some(_)) => {
            return Err(bad("sms", "set sms.command or sms.outbox, not both".into()));
        }
        (Some(c), None) => Some(SmsDelivery::Command(c.0)),
        (None, Some(o)) => Some(SmsDelivery::Outbox(relative_to(path, &o))),
        (None, None) => None,
    };
    s.sms_timeout = f.sms.timeout.map_or(s.sms_timeout, |v| v.0);
    s.notify = f.notify.command.map(|c| c.0);
    s.verify_connect_retry = f
        .verify
        .connect_retry
        .map_or(s.verify_connect_retry, |v| v.0);

    s.store_group = f.store.group.map(|g| g.0);
    if let Some(pf) = &f.store.password_file {
        let pf = relative_to(path, Path::new(pf));
        s.db_password = Some(
            read_password(&pf, s.store_group.as_ref())
                .map_err(|why| bad("store.password_file", why))?,
        );
    }
    s.db = f.store.db.map(|DbLocator(db)| match db.contains("://") {
        true => PathBuf::from(db),
        false => relative_to(path, Path::new(&db)),
    });
    s.safeguards =
        crate::safeguards::settings(f.email.as_ref(), f.safeguards.as_ref(), f.audit.as_ref())
            .map_err(|(key, why)| bad(key, why))?;
    if let Some(d) = &f.directory {
        s.directory = Some(crate::directory::DirectoryConfig::from_file(d, path)?);
    }
    Ok(s)
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

/// The dotted key (`codes.count`) whose name or value holds byte `at` of
/// the document, each part as written, its control characters escaped.
fn key_at(table: &DeTable, text: &str, at: usize) -> Option<String> {
    let holds = |s: std::ops::Range<usize>| s.start <= at && at <= s.end;
    table.iter().find_map(|(k, v)| {
        let written = text.get(k.span()).unwrap_or(k.get_ref());
        let name = escape_controls(written.trim_matches('"'));
        let inner = match v.get_ref() {
            DeValue::Table(t) if !holds(k.span()) => key_at(t, text, at),
            _ => None,
        };
        match inner {
            Some(sub) => Some(format!("{name}.{sub}")),
            None if holds(k.span()) || holds(v.span()) => Some(name),
            None => None,
        }
    })
}

/// For text that is not TOML: the key on the line holding byte `offset`
/// (`table.key` under a `[table]` line), its control characters escaped.
fn line_key(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let header = |l: &str| l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
    let t = text[line_start..].lines().next().unwrap_or("").trim();
    if t.starts_with('[') {
        return Some(escape_controls(&header(t)));
    }
    let key = t.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return None;
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'));
    Some(escape_controls(&match table {
        Some(tb) => format!("{}.{key}", header(tb)),
        None => key.to_string(),
    }))
}

/// Whether the document sets the dotted `key`.
fn is_set(doc: &DeTable, key: &str) -> bool {
    let mut table = doc;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(v) = table.get(part) else {
            return false;
        };
        match v.get_ref() {
            _ if parts.peek().is_none() => return true,
            DeValue::Table(t) => table = t,
            _ => return false,
        }
    }
    false
}

/// The value of the dotted `key` as written, when it is a string.
fn written<'a>(doc: &'a DeTable, key: &str) -> Option<&'a str> {
    let (table, name) = key.rsplit_once('.')?;
    match doc.get(table)?.get_ref() {
        DeValue::Table(t) => t.get(name)?.get_ref().as_str(),
        _ => None,
    }
}

/// An outbox path in the config file is read relative to the file.
fn relative_to(config: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn fmt_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn fmt_expiry(d: Option<Duration>) -> String {
    d.map_or_else(|| "never".into(), fmt_duration)
}

fn fmt_opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "(none)".into())
}

/// How `codedesk config` shows a key's effective value.
type Show = fn(&Settings, &DeTable) -> String;

/// The keys `codedesk config` lists, in its order, each with how its
/// effective value is shown; where it came from is read off the document.
const SHOWN: &[(&str, Show)] = &[
    ("codes.count", |s, _| s.count.to_string()),
    ("codes.alphabet", |s, _| s.spec.alphabet.name().into()),
    ("codes.length", |s, _| s.spec.length.to_string()),
    ("codes.uses", |s, _| s.uses.to_string()),
    ("codes.expires", |s, _| fmt_expiry(s.expires)),
    ("helpdesk.default_expires", |s, _| {
        fmt_expiry(s.helpdesk_default_expires)
    }),
    ("helpdesk.max_expires", |s, _| {
        fmt_opt(s.helpdesk_max_expires.map(fmt_duration))
    }),
    ("helpdesk.max_uses", |s, _| {
        fmt_opt(s.helpdesk_max_uses.map(|v| v.to_string()))
    }),
    ("helpdesk.max_sets_per_operator", |s, _| {
        s.approvals.quota_text()
    }),
    ("helpdesk.approval_expires", |s, _| {
        fmt_duration(s.approvals.request_expires)
    }),
    ("lockout.threshold", |s, _| s.lockout_threshold.to_string()),
    ("lockout.auto_unlock", |s, _| {
        s.auto_unlock.map_or_else(|| "off".into(), fmt_duration)
    }),
    ("hash.memory_kib", |s, _| s.hash.memory_kib.to_string()),
    ("hash.iterations", |s, _| s.hash.iterations.to_string()),
    ("hash.parallelism", |s, _| s.hash.parallelism.to_string()),
    ("hash.allow_weak", |s, _| s.allow_weak.to_string()),
    ("sms.command", |s, _| {
        fmt_opt(match &s.sms {
            Some(SmsDelivery::Command(p)) => Some(p.display().to_string()),
            _ => None,
        })
    }),
    ("sms.outbox", |s, _| {
        fmt_opt(match &s.sms {
            Some(SmsDelivery::Outbox(p)) => Some(p.display().to_string()),
            _ => None,
        })
    }),
    ("sms.timeout", |s, _| fmt_duration(s.sms_timeout)),
    ("notify.command", |s, _| {
        fmt_opt(s.notify.as_ref().map(|p| p.display().to_string()))
    }),
    ("verify.connect_retry", |s, _| {
        match s.verify_connect_retry {
            Duration::ZERO => "off".to_string(),
            d => fmt_duration(d),
        }
    }),
    ("email.command", |s, _| s.safeguards.email_command.join(" ")),
    ("email.from", |s, _| {
        fmt_opt(s.safeguards.email_from.clone())
    }),
    ("safeguards.notify_users", |s, _| {
        s.safeguards.notify_users.to_string()
    }),
    ("safeguards.failed_login_debounce", |s, _| {
        fmt_duration(s.safeguards.debounce)
    }),
    ("audit.syslog", |s, _| {
        s.safeguards.syslog.is_some().to_string()
    }),
    ("audit.syslog_socket", |_, doc| {
        written(doc, "audit.syslog_socket")
            .unwrap_or(crate::safeguards::DEFAULT_SYSLOG_SOCKET)
            .to_string()
    }),
    // Without a `[directory]` table, what its keys would be (the
    // openldap preset's); never the bind password, only its file.
    ("directory.url", |s, _| {
        fmt_opt(dir(s, |d| Some(d.url.clone())))
    }),
    ("directory.tls", |s, _| {
        fmt_opt(dir(s, |d| Some(d.tls.as_str().into())))
    }),
    ("directory.ca_file", |s, _| {
        fmt_opt(dir(s, |d| Some(d.ca_file.as_ref()?.display().to_string())))
    }),
    ("directory.bind_dn", |s, _| {
        fmt_opt(dir(s, |d| d.bind_dn.clone()))
    }),
    ("directory.password_file", |s, _| {
        fmt_opt(dir(s, |d| {
            Some(d.password_file.as_ref()?.display().to_string())
        }))
    }),
    ("directory.base_dn", |s, _| {
        fmt_opt(dir(s, |d| Some(d.base_dn.clone())))
    }),
    ("directory.preset", |s, _| preset(s).as_str().into()),
    ("directory.user_filter", |s, _| {
        dir(s, |d| Some(d.user_filter.clone())).unwrap_or_else(|| preset(s).user_filter().into())
    }),
    ("directory.privileged_groups", |s, _| {
        fmt_opt(dir(s, |d| {
            Some(d.privileged_groups.join("; ")).filter(|g| !g.is_empty())
        }))
    }),
    ("directory.group_member_attribute", |s, _| {
        dir(s, |d| Some(d.group_member_attribute.clone())).unwrap_or_else(|| "member".into())
    }),
    ("directory.min_fraction", |s, _| {
        s.directory
            .as_ref()
            .map_or(0.9, |d| d.min_fraction)
            .to_string()
    }),
    ("directory.timeout", |s, _| {
        fmt_duration(
            s.directory
                .as_ref()
                .map_or(Duration::from_secs(10), |d| d.timeout),
        )
    }),
    ("directory.attributes.uid", |s, _| attributes(s).uid),
    ("directory.attributes.display_name", |s, _| {
        attributes(s).display_name
    }),
    ("directory.attributes.mobile", |s, _| attributes(s).mobile),
    ("directory.attributes.telephone", |s, _| {
        attributes(s).telephone
    }),
    ("directory.attributes.mail", |s, _| attributes(s).mail),
    ("directory.attributes.member_of", |s, _| {
        fmt_opt(attributes(s).member_of)
    }),
];

/// A value of `[directory]`, when there is one (and the value is set).
fn dir(s: &Settings, value: impl Fn(&DirectoryConfig) -> Option<String>) -> Option<String> {
    s.directory.as_ref().and_then(value)
}

fn preset(s: &Settings) -> Preset {
    s.directory.as_ref().map_or(Preset::OpenLdap, |d| d.preset)
}

fn attributes(s: &Settings) -> Attributes {
    s.directory
        .as_ref()
        .map_or_else(|| preset(s).attributes(), |d| d.attributes.clone())
}

/// Records each effective value and where it came from, for `codedesk config`.
fn with_sources(mut s: Settings, doc: &DeTable, path: Option<&Path>) -> Settings {
    let file = path
        .map(|p| format!("file {}", p.display()))
        .unwrap_or_default();
    s.sources = SHOWN
        .iter()
        .map(|(key, show)| {
            let source = match is_set(doc, key) {
                true => file.clone(),
                false => "default".to_string(),
            };
            (*key, show(&s, doc), source)
        })
        .collect();
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
