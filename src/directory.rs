//! The organisation's directory (LDAP: OpenLDAP, Active Directory) as the
//! source of truth for who a user is, which numbers are on file for them,
//! their email and whether they are privileged.
//!
//! Configured under `[directory]` (see docs/directory.md). The connection
//! follows the PostgreSQL store's secure-by-default rule: a directory on
//! this machine (`localhost`, 127.0.0.0/8, `::1`) may be reached in clear;
//! any other host is reached through TLS (`ldaps://`, or StartTLS for
//! `ldap://`) with its certificate checked against `ca_file` (else the
//! system's roots) and the host name of the URL, unless the file says
//! `tls = "none"` on purpose.
//!
//! Lookups are cached for the run only (one connection, one search per
//! user). Nothing here is used by `verify`: logins never depend on the
//! directory.
//!
//! The API for other commands is [`lookup`], returning a [`DirUser`].

use crate::exit::{Status, fail};
use crate::model::Phone;
use anyhow::Result;
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry, ldap_escape};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ------------------------------------------------------------ configuration

/// `[directory]` as written in the configuration file, each value checked
/// as it is read; the checks between keys are in
/// [`DirectoryConfig::from_file`].
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryFile {
    url: Option<LdapUrl>,
    tls: Option<String>,
    ca_file: Option<PathBuf>,
    bind_dn: Option<String>,
    password_file: Option<PathBuf>,
    base_dn: Option<BaseDn>,
    user_filter: Option<UserFilter>,
    preset: Option<PresetName>,
    privileged_groups: Option<Vec<GroupDn>>,
    group_member_attribute: Option<AttributeName>,
    min_fraction: Option<Fraction>,
    timeout: Option<crate::config::Positive>,
    attributes: Option<AttributesFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AttributesFile {
    uid: Option<AttributeName>,
    display_name: Option<AttributeName>,
    mobile: Option<AttributeName>,
    telephone: Option<AttributeName>,
    mail: Option<AttributeName>,
    member_of: Option<MemberOf>,
}

/// A URL [`parse_url`] accepts, with what it found in it.
#[derive(Debug, Clone)]
struct Url {
    url: String,
    ldaps: bool,
    host: String,
}

const BASE_DN_REQUIRED: &str = "is required (e.g. \"dc=example,dc=org\")";

crate::config::checked! {
    /// `url`: `ldap://HOST[:PORT]` or `ldaps://...`.
    LdapUrl(Url) = |url| parse_url(&url).map(|(ldaps, host)| Url { url, ldaps, host });

    /// `base_dn`: not blank.
    BaseDn(String) = |b| match b.trim().is_empty() {
        true => Err(BASE_DN_REQUIRED.into()),
        false => Ok(b),
    };

    /// `user_filter`: an LDAP filter in parentheses.
    UserFilter(String) = |u| match u.trim() {
        u if u.starts_with('(') && u.ends_with(')') => Ok(u.to_string()),
        u => Err(format!("{u:?} is not an LDAP filter in parentheses")),
    };

    /// `preset`: `openldap` or `active-directory`.
    PresetName(Preset) = |p| Preset::parse(&p)
        .ok_or_else(|| format!("{p:?} is not \"openldap\" or \"active-directory\""));

    /// A group DN, normalised ([`normalize_dn`]).
    GroupDn(String) = |g| match g.contains('=') {
        true => Ok(normalize_dn(&g)),
        false => Err(format!("{g:?} is not a DN (cn=admins,ou=groups,dc=example,dc=org)")),
    };

    /// An attribute name ([`attribute_name`]).
    AttributeName(String) = |v| attribute_name(&v);

    /// `attributes.member_of`: an attribute name, or blank for none (read
    /// each privileged group's members instead).
    MemberOf(Option<String>) = |m| match m.trim() {
        "" => Ok(None),
        m => attribute_name(m).map(Some),
    };
}

/// `min_fraction`: between 0 and 1.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "f64")]
struct Fraction(f64);

impl TryFrom<f64> for Fraction {
    type Error = crate::config::Invalid;
    fn try_from(v: f64) -> std::result::Result<Self, Self::Error> {
        match (0.0..=1.0).contains(&v) {
            true => Ok(Fraction(v)),
            false => Err(crate::config::Invalid(format!(
                "{v} is not between 0 and 1"
            ))),
        }
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded by the StartTLS operation before the bind.
    StartTls,
    /// In clear: the default only on loopback, else asked for.
    None,
}

impl Tls {
    pub fn as_str(self) -> &'static str {
        match self {
            Tls::Ldaps => "ldaps",
            Tls::StartTls => "starttls",
            Tls::None => "none",
        }
    }
}

/// The attribute names read from user entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub uid: String,
    pub display_name: String,
    pub mobile: String,
    pub telephone: String,
    pub mail: String,
    /// The user attribute listing the groups (DNs) the user is in
    /// (`memberOf`); `None`: read each privileged group's members instead.
    pub member_of: Option<String>,
}

/// A preset's attribute names and filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// inetOrgPerson: `uid`, `displayName`, `mobile`, `telephoneNumber`,
    /// `mail`; group membership from the groups' `member` attribute.
    OpenLdap,
    /// `sAMAccountName`, `displayName`, `mobile`, `telephoneNumber`,
    /// `mail`, `memberOf`.
    ActiveDirectory,
}

impl Preset {
    fn parse(s: &str) -> Option<Preset> {
        match s {
            "openldap" => Some(Preset::OpenLdap),
            "active-directory" => Some(Preset::ActiveDirectory),
            _ => None,
        }
    }

    /// The name `preset` takes in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::OpenLdap => "openldap",
            Preset::ActiveDirectory => "active-directory",
        }
    }

    pub fn attributes(self) -> Attributes {
        let (uid, member_of) = match self {
            Preset::OpenLdap => ("uid", None),
            Preset::ActiveDirectory => ("sAMAccountName", Some("memberOf".to_string())),
        };
        Attributes {
            uid: uid.into(),
            display_name: "displayName".into(),
            mobile: "mobile".into(),
            telephone: "telephoneNumber".into(),
            mail: "mail".into(),
            member_of,
        }
    }

    pub fn user_filter(self) -> &'static str {
        match self {
            Preset::OpenLdap => "(objectClass=inetOrgPerson)",
            // Person accounts only (not computers), and not disabled ones
            // (userAccountControl bit 2, ACCOUNTDISABLE).
            Preset::ActiveDirectory => {
                "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
            }
        }
    }
}

/// `[directory]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryConfig {
    pub url: String,
    /// The host of the URL, as named in messages.
    pub host: String,
    pub tls: Tls,
    pub ca_file: Option<PathBuf>,
    pub bind_dn: Option<String>,
    pub password_file: Option<PathBuf>,
    pub base_dn: String,
    pub user_filter: String,
    pub preset: Preset,
    pub attributes: Attributes,
    /// Group DNs, normalised (see [`normalize_dn`]).
    pub privileged_groups: Vec<String>,
    /// The attribute of group entries listing members' DNs.
    pub group_member_attribute: String,
    /// `sync` changes nothing when the directory returns fewer users than
    /// this fraction of the last sync's count.
    pub min_fraction: f64,
    pub timeout: Duration,
}

impl DirectoryConfig {
    /// Validates `[directory]` of the file at `path` (which names it in
    /// messages and anchors relative paths).
    pub fn from_file(f: &DirectoryFile, path: &Path) -> Result<DirectoryConfig> {
        let bad = |key: &str, why: String| {
            fail(
                Status::Usage,
                format!("config file {}: directory.{key}: {why}", path.display()),
            )
        };
        let Url { url, ldaps, host } = f
            .url
            .clone()
            .ok_or_else(|| bad("url", "is required (ldap://HOST or ldaps://HOST)".into()))?
            .0;
        let tls = match (ldaps, f.tls.as_deref()) {
            (true, None | Some("ldaps")) => Tls::Ldaps,
            (true, Some(other)) => {
                return Err(bad(
                    "tls",
                    format!("{other:?} does not go with an ldaps:// URL (leave tls out)"),
                ));
            }
            (false, Some("starttls")) => Tls::StartTls,
            (false, Some("none")) => Tls::None,
            (false, None) if is_loopback(&host) => Tls::None,
            (false, None) => Tls::StartTls,
            (false, Some(other)) => {
                return Err(bad(
                    "tls",
                    format!("{other:?} is not \"starttls\" or \"none\""),
                ));
            }
        };
        let preset = f.preset.as_ref().map_or(Preset::OpenLdap, |p| p.0);
        let mut attributes = preset.attributes();
        if let Some(a) = &f.attributes {
            let set = |slot: &mut String, v: &Option<AttributeName>| {
                if let Some(v) = v {
                    *slot = v.0.clone();
                }
            };
            set(&mut attributes.uid, &a.uid);
            set(&mut attributes.display_name, &a.display_name);
            set(&mut attributes.mobile, &a.mobile);
            set(&mut attributes.telephone, &a.telephone);
            set(&mut attributes.mail, &a.mail);
            if let Some(m) = &a.member_of {
                attributes.member_of = m.0.clone();
            }
        }
        let base_dn = f
            .base_dn
            .as_ref()
            .map(|b| b.0.clone())
            .ok_or_else(|| bad("base_dn", BASE_DN_REQUIRED.into()))?;
        if f.bind_dn.is_some() != f.password_file.is_some() {
            return Err(bad(
                "bind_dn",
                "bind_dn and password_file go together (neither: anonymous bind)".into(),
            ));
        }
        let rel = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                path.parent().unwrap_or(Path::new(".")).join(p)
            }
        };
        Ok(DirectoryConfig {
            url,
            host,
            tls,
            ca_file: f.ca_file.as_ref().map(rel),
            bind_dn: f.bind_dn.clone(),
            password_file: f.password_file.as_ref().map(rel),
            base_dn,
            user_filter: match &f.user_filter {
                Some(u) => u.0.clone(),
                None => preset.user_filter().to_string(),
            },
            preset,
            attributes,
            privileged_groups: f
                .privileged_groups
                .iter()
                .flatten()
                .map(|g| g.0.clone())
                .collect(),
            group_member_attribute: f
                .group_member_attribute
                .as_ref()
                .map_or_else(|| "member".into(), |g| g.0.clone()),
            min_fraction: f.min_fraction.map_or(0.9, |m| m.0),
            timeout: f.timeout.as_ref().map_or(Duration::from_secs(10), |t| t.0),
        })
    }

    /// The server as named in messages: the URL (it holds no password).
    pub fn server(&self) -> String {
        format!("{} ({})", self.url, self.tls.as_str())
    }
}

/// `ldap://HOST[:PORT][/]` or `ldaps://...`: (is ldaps, host).
fn parse_url(url: &str) -> std::result::Result<(bool, String), String> {
    let (ldaps, rest) = if let Some(r) = url.strip_prefix("ldaps://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("ldap://") {
        (false, r)
    } else {
        return Err(format!("{url:?} is not an ldap:// or ldaps:// URL"));
    };
    let authority = rest.split('/').next().unwrap_or("");
    if rest.trim_end_matches('/') != authority {
        return Err(format!(
            "{url:?}: give only the server (scheme, host, port); the base DN goes in base_dn"
        ));
    }
    if authority.contains('@') {
        return Err(format!(
            "{url:?}: no user or password in the URL; use bind_dn and password_file"
        ));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    Ok((ldaps, host))
}

/// This machine: no network between codedesk and the directory.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// An attribute name (or OID) as LDAP allows them.
fn attribute_name(v: &str) -> std::result::Result<String, String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b';');
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("{v:?} is not an LDAP attribute name"))
    }
}

/// A DN for comparison: lower case, no spaces around `,` and `=`. An
/// escaped character (`\,`, `\=`, `\ `, `\2C`) is part of its value, as
/// RFC 4514 says: `CN=Smith\, Jane,OU=Staff` is two RDNs, not three.
pub fn normalize_dn(dn: &str) -> String {
    split_unescaped(dn, ',')
        .iter()
        .map(|rdn| {
            split_unescaped(rdn, '=')
                .iter()
                .map(|p| trim_unescaped(p).to_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `s` split on each `sep` not escaped by a backslash.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if c == sep && !escaped {
            parts.push(std::mem::take(&mut part));
            continue;
        }
        escaped = c == '\\' && !escaped;
        part.push(c);
    }
    parts.push(part);
    parts
}

/// `s` without the spaces around it, except an escaped trailing one.
fn trim_unescaped(s: &str) -> &str {
    let start = s.trim_start();
    let t = start.trim_end();
    let backslashes = t.bytes().rev().take_while(|&b| b == b'\\').count();
    if backslashes % 2 == 1 && t.len() < start.len() {
        // `\ ` at the end: the escaped space is the value's.
        &start[..t.len() + 1]
    } else {
        t
    }
}

// ------------------------------------------------------------------ users

/// A user as the directory knows them. This is the API for other commands
/// (the identity check's call-back and challenge methods use `mobiles`,
/// `phones` and `email`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirUser {
    /// The user id (`uid`, `sAMAccountName`), lower case as codedesk's
    /// user names are.
    pub uid: String,
    pub dn: String,
    pub display_name: Option<String>,
    /// Mobile numbers on file, E.164.
    pub mobiles: Vec<Phone>,
    /// Other telephone numbers on file, E.164.
    pub phones: Vec<Phone>,
    pub email: Option<String>,
    /// Group DNs the user is in, as the directory spells them (only the
    /// privileged groups when membership is read from the groups).
    pub groups: Vec<String>,
    /// In one of `privileged_groups`.
    pub privileged: bool,
}

impl DirUser {
    /// Every number on file (mobiles first).
    pub fn numbers(&self) -> impl Iterator<Item = &Phone> {
        self.mobiles.iter().chain(self.phones.iter())
    }

    /// Whether `phone` is one of the user's numbers on file.
    pub fn has_number(&self, phone: &Phone) -> bool {
        self.numbers().any(|p| p == phone)
    }
}

/// The privileged groups as read from the directory, the groups nested in
/// them expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privileged {
    /// Normalised DNs of every entry reached through the groups' members,
    /// nested groups followed: users (and the nested groups themselves).
    pub members: BTreeSet<String>,
    /// Normalised DNs of the privileged groups and every group nested in
    /// them, for a `member_of` attribute that lists direct groups only.
    pub groups: BTreeSet<String>,
}

/// Builds a user from an entry's attributes (`attrs` keyed as the server
/// returned them; names compare without case). `privileged`: the
/// privileged groups with nested groups expanded, when read (`None`: only
/// direct membership of `privileged_groups` through `member_of` counts).
pub fn user_from_entry(
    cfg: &DirectoryConfig,
    dn: &str,
    attrs: &HashMap<String, Vec<String>>,
    privileged: Option<&Privileged>,
) -> Option<DirUser> {
    let get = |name: &str| -> Vec<String> {
        attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter().cloned())
            .collect()
    };
    let a = &cfg.attributes;
    let uid = get(&a.uid).into_iter().next()?.to_ascii_lowercase();
    let numbers = |name: &str| -> Vec<Phone> {
        let mut out: Vec<Phone> = Vec::new();
        for raw in get(name) {
            if let Ok(p) = Phone::parse(&raw)
                && !out.contains(&p)
            {
                out.push(p);
            }
        }
        out
    };
    let mobiles = numbers(&a.mobile);
    let phones: Vec<Phone> = numbers(&a.telephone)
        .into_iter()
        .filter(|p| !mobiles.contains(p))
        .collect();
    let (groups, privileged) = match &a.member_of {
        Some(m) => {
            let groups = get(m);
            let privileged = groups.iter().any(|g| {
                let g = normalize_dn(g);
                cfg.privileged_groups.contains(&g)
                    || privileged.is_some_and(|p| p.groups.contains(&g))
            });
            (groups, privileged)
        }
        None => {
            let privileged = privileged.is_some_and(|p| p.members.contains(&normalize_dn(dn)));
            (Vec::new(), privileged)
        }
    };
    Some(DirUser {
        uid,
        dn: dn.to_string(),
        display_name: get(&a.display_name).into_iter().next(),
        mobiles,
        phones,
        email: get(&a.mail).into_iter().next(),
        groups,
        privileged,
    })
}

/// The search filter for one user: the configured filter and the uid,
/// the user name escaped per RFC 4515 so that `*`, `(`, `)`, `\` and NUL
/// in it match only themselves.
pub fn user_search_filter(cfg: &DirectoryConfig, user: &str) -> String {
    format!(
        "(&{}({}={}))",
        cfg.user_filter,
        cfg.attributes.uid,
        ldap_escape(user)
    )
}

/// Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: `memberOf` matched
/// through nested groups, evaluated by the domain controller.
pub const LDAP_MATCHING_RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// How deep groups nested in a privileged group are followed when codedesk
/// expands them itself (OpenLDAP): the privileged group is level 0.
pub const MAX_GROUP_DEPTH: usize = 10;

/// With the Active Directory preset and `member_of`: the filter matching an
/// entry that is in any privileged group, directly or through nested
/// groups (LDAP_MATCHING_RULE_IN_CHAIN on `memberOf`); each group DN
/// escaped per RFC 4515 as an assertion value. `None` otherwise (no
/// privileged groups, another preset, or membership read from the groups).
pub fn in_chain_filter(cfg: &DirectoryConfig) -> Option<String> {
    let member_of = cfg.attributes.member_of.as_ref()?;
    if cfg.preset != Preset::ActiveDirectory || cfg.privileged_groups.is_empty() {
        return None;
    }
    let mut terms: Vec<String> = cfg
        .privileged_groups
        .iter()
        .map(|g| {
            format!(
                "({member_of}:{LDAP_MATCHING_RULE_IN_CHAIN}:={})",
                ldap_escape(g)
            )
        })
        .collect();
    Some(if terms.len() == 1 {
        terms.remove(0)
    } else {
        format!("(|{})", terms.concat())
    })
}

/// For `sync` on Active Directory: every user the filter selects who is in
/// a privileged group, nested groups included (one paged search).
pub fn privileged_users_filter(cfg: &DirectoryConfig) -> Option<String> {
    in_chain_filter(cfg).map(|f| format!("(&{}{f})", cfg.user_filter))
}

fn wanted_attributes(cfg: &DirectoryConfig) -> Vec<String> {
    let a = &cfg.attributes;
    let mut v = vec![
        a.uid.clone(),
        a.display_name.clone(),
        a.mobile.clone(),
        a.telephone.clone(),
        a.mail.clone(),
    ];
    if let Some(m) = &a.member_of {
        v.push(m.clone());
    }
    v
}

// ------------------------------------------------------------- connection

/// Exit 7: "store or directory unreachable", the server named, never the
/// password.
fn unreachable(cfg: &DirectoryConfig, why: impl std::fmt::Display) -> anyhow::Error {
    fail(
        Status::Store,
        format!(
            "directory unreachable: {}: {why}; nothing changed",
            cfg.server()
        ),
    )
}

/// The bind password: the file's first line. The file must not be
/// readable by everyone (exit 2 before any connection).
fn read_password(path: &Path) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(
            Status::Usage,
            format!("directory.password_file {}: {e}", path.display()),
        )
    })?;
    if meta.permissions().mode() & 0o004 != 0 {
        return Err(fail(
            Status::Usage,
            format!(
                "directory.password_file {} is readable by everyone: chmod o-r it (0600 or 0640)",
                path.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail(
            Status::Usage,
            format!("directory.password_file {}: {e}", path.display()),
        )
    })?;
    let pw = text.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        return Err(fail(
            Status::Usage,
            format!("directory.password_file {} is empty", path.display()),
        ));
    }
    Ok(pw)
}

/// rustls with the *ring* provider, always checking the chain (to
/// `ca_file`, else the system's roots) and the host name.
fn tls_config(cfg: &DirectoryConfig) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            let bad = |why: String| {
                fail(
                    Status::Usage,
                    format!("directory.ca_file {}: {why}", path.display()),
                )
            };
            let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let certs = CertificateDer::pem_slice_iter(&bytes)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("not a PEM certificate file: {e}")))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad("no usable CA certificate in it".into()));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(unreachable(
                    cfg,
                    "no system CA certificates to check its certificate with; set directory.ca_file",
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unreachable(cfg, format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// One bound connection and the run's cache.
struct Session {
    conn: LdapConn,
    cache: HashMap<String, Option<DirUser>>,
    /// The privileged groups expanded, unless Active Directory evaluates
    /// nesting itself ([`in_chain_filter`]).
    privileged: Option<Privileged>,
}

/// The run's sessions, one per directory configuration (a run has one;
/// tests calling [`lookup`] in one process may have several), opened on
/// first use.
static SESSIONS: Mutex<Vec<(String, Session)>> = Mutex::new(Vec::new());

/// What tells two configurations' sessions apart.
fn session_key(cfg: &DirectoryConfig) -> String {
    format!("{cfg:?}")
}

fn connect(cfg: &DirectoryConfig) -> Result<LdapConn> {
    let password = match &cfg.password_file {
        Some(p) => Some(zeroize::Zeroizing::new(read_password(p)?)),
        None => None,
    };
    let mut settings = LdapConnSettings::new().set_conn_timeout(cfg.timeout);
    if cfg.tls != Tls::None {
        settings = settings
            .set_config(tls_config(cfg)?)
            .set_starttls(cfg.tls == Tls::StartTls);
    }
    let mut conn = LdapConn::with_settings(settings, &cfg.url).map_err(|e| unreachable(cfg, e))?;
    conn.with_timeout(cfg.timeout);
    let bound = match (&cfg.bind_dn, &password) {
        (Some(dn), Some(pw)) => conn.simple_bind(dn, pw.as_str()),
        _ => conn.simple_bind("", ""),
    };
    match bound {
        Ok(r) if r.rc == 0 => Ok(conn),
        Ok(r) => Err(unreachable(
            cfg,
            format!(
                "bind as {} refused (LDAP result {}{})",
                cfg.bind_dn.as_deref().unwrap_or("anonymous"),
                r.rc,
                if r.rc == 49 {
                    ": invalid credentials; check bind_dn and password_file"
                } else {
                    ""
                }
            ),
        )),
        Err(e) => Err(unreachable(cfg, e)),
    }
}

/// Runs `f` on the run's session, connecting on first use.
fn with_session<T>(
    cfg: &DirectoryConfig,
    f: impl FnOnce(&DirectoryConfig, &mut Session) -> Result<T>,
) -> Result<T> {
    let key = session_key(cfg);
    let mut guard = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
    let at = match guard.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            let mut conn = connect(cfg)?;
            let privileged = if in_chain_filter(cfg).is_some() || cfg.privileged_groups.is_empty() {
                None
            } else {
                Some(expand_groups(cfg, &mut conn)?)
            };
            guard.push((
                key,
                Session {
                    conn,
                    cache: HashMap::new(),
                    privileged,
                },
            ));
            guard.len() - 1
        }
    };
    f(cfg, &mut guard[at].1)
}

/// The privileged groups with the groups nested in them, read from the
/// groups' member attribute (`groupOfNames`/`member`: no memberof overlay
/// needed). Each member is read once (only an entry that has members is a
/// group, and its members are read in turn), level by level, down to
/// [`MAX_GROUP_DEPTH`] levels below a privileged group; an entry seen
/// before is not read again, so a loop of groups ends. Deeper groups are
/// not followed, with a warning. A privileged group that does not exist
/// has no members, with a warning.
fn expand_groups(cfg: &DirectoryConfig, conn: &mut LdapConn) -> Result<Privileged> {
    let attr = cfg.group_member_attribute.as_str();
    let has_members = format!("({attr}=*)");
    let mut out = Privileged::default();
    let mut level: Vec<String> = cfg.privileged_groups.clone();
    let mut depth = 0;
    while !level.is_empty() {
        if depth > MAX_GROUP_DEPTH {
            crate::eline!(
                "codedesk: warning: groups nested more than {MAX_GROUP_DEPTH} levels inside the privileged groups are not followed ({} entries not read, {} among them); their members are not privileged",
                level.len(),
                level[0]
            );
            break;
        }
        let mut next = Vec::new();
        for dn in level {
            let res = conn
                .search(&dn, Scope::Base, &has_members, vec![attr])
                .map_err(|e| unreachable(cfg, e))?;
            if res.1.rc == 32 {
                if depth == 0 {
                    crate::eline!(
                        "codedesk: warning: privileged group {dn} is not in the directory"
                    );
                }
                continue;
            }
            let (entries, _) = res.success().map_err(|e| unreachable(cfg, e))?;
            for e in entries {
                let e = SearchEntry::construct(e);
                out.groups.insert(normalize_dn(&dn));
                for (k, vals) in &e.attrs {
                    if !k.eq_ignore_ascii_case(attr) {
                        continue;
                    }
                    for v in vals {
                        let n = normalize_dn(v);
                        if !out.groups.contains(&n) && out.members.insert(n) {
                            next.push(v.clone());
                        }
                    }
                }
            }
        }
        level = next;
        depth += 1;
    }
    Ok(out)
}

/// Active Directory: the normalised DNs of every user in a privileged
/// group, nested groups included, as the domain controller evaluates them.
fn in_chain_members(cfg: &DirectoryConfig, s: &mut Session) -> Result<Option<BTreeSet<String>>> {
    use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
    let Some(filter) = privileged_users_filter(cfg) else {
        return Ok(None);
    };
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(500)),
    ];
    let mut stream = s
        .conn
        .streaming_search_with(adapters, &cfg.base_dn, Scope::Subtree, &filter, vec!["1.1"])
        .map_err(|e| unreachable(cfg, e))?;
    let mut out = BTreeSet::new();
    while let Some(e) = stream.next().map_err(|e| unreachable(cfg, e))? {
        out.insert(normalize_dn(&SearchEntry::construct(e).dn));
    }
    stream.result().success().map_err(|e| unreachable(cfg, e))?;
    Ok(Some(out))
}

/// The directory's entry for `user`, or `None` when it does not know
/// them; exit 7 when it cannot be asked. Cached for the run.
pub fn lookup(cfg: &DirectoryConfig, user: &str) -> Result<Option<DirUser>> {
    with_session(cfg, |cfg, s| {
        if let Some(hit) = s.cache.get(user) {
            return Ok(hit.clone());
        }
        let filter = user_search_filter(cfg, user);
        let (entries, _) = s
            .conn
            .search(
                &cfg.base_dn,
                Scope::Subtree,
                &filter,
                wanted_attributes(cfg),
            )
            .and_then(|r| r.success())
            .map_err(|e| unreachable(cfg, e))?;
        // Active Directory searched from the domain's root also returns
        // references to other partitions: not entries.
        let found: Vec<DirUser> = entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .filter_map(|e| {
                let e = SearchEntry::construct(e);
                // The server matched the filter; the entry must also hold
                // the name exactly (any of a multi-valued uid's values).
                let holds = e.attrs.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(&cfg.attributes.uid)
                        && v.iter().any(|v| v.eq_ignore_ascii_case(user))
                });
                let mut u = user_from_entry(cfg, &e.dn, &e.attrs, s.privileged.as_ref())?;
                u.uid = user.to_string();
                holds.then_some(u)
            })
            .collect();
        if found.len() > 1 {
            return Err(fail(
                Status::NotFound,
                format!(
                    "the directory has {} entries for {user}; refusing to guess which is theirs",
                    found.len()
                ),
            ));
        }
        let mut hit = found.into_iter().next();
        // Active Directory: a privileged group reached through nested
        // groups, as the domain controller evaluates it.
        if let (Some(u), Some(filter)) = (hit.as_mut(), in_chain_filter(cfg))
            && !u.privileged
        {
            let (entries, _) = s
                .conn
                .search(&u.dn, Scope::Base, &filter, vec!["1.1"])
                .and_then(|r| r.success())
                .map_err(|e| unreachable(cfg, e))?;
            u.privileged = !entries.is_empty();
        }
        s.cache.insert(user.to_string(), hit.clone());
        Ok(hit)
    })
}

/// Every user the filter selects, for `sync` (paged, 500 at a time).
/// `progress` is called with the count so far.
pub fn all_users(cfg: &DirectoryConfig, progress: &mut dyn FnMut(u64)) -> Result<Vec<DirUser>> {
    use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
    with_session(cfg, |cfg, s| {
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(500)),
        ];
        let mut stream = s
            .conn
            .streaming_search_with(
                adapters,
                &cfg.base_dn,
                Scope::Subtree,
                &cfg.user_filter,
                wanted_attributes(cfg),
            )
            .map_err(|e| unreachable(cfg, e))?;
        let mut out = Vec::new();
        let mut n = 0u64;
        while let Some(e) = stream.next().map_err(|e| unreachable(cfg, e))? {
            let e = SearchEntry::construct(e);
            n += 1;
            progress(n);
            if let Some(u) = user_from_entry(cfg, &e.dn, &e.attrs, s.privileged.as_ref()) {
                out.push(u);
            }
        }
        let res = stream.result();
        res.success().map_err(|e| unreachable(cfg, e))?;
        if let Some(members) = in_chain_members(cfg, s)? {
            for u in &mut out {
                u.privileged |= members.contains(&normalize_dn(&u.dn));
            }
        }
        for u in &out {
            s.cache.insert(u.uid.clone(), Some(u.clone()));
        }
        Ok(out)
    })
}

/// What enrolment learnt from the directory, carried into the store's
/// `device-enrolled` event and the command's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DirectoryNote {
    /// Whether the device's number is one of the user's numbers in the
    /// directory (`None`: the device has no number).
    pub phone_on_file: Option<bool>,
    pub privileged: bool,
}

/// With a directory configured, the user's entry, or exit 4 when the
/// directory does not know them (`nothing`: what did not happen, as
/// "nothing enrolled"); exit 7 when it cannot be asked. `Ok(None)` when
/// no directory is configured.
pub fn require_user(
    settings: &crate::config::Settings,
    user: &str,
    nothing: &str,
) -> Result<Option<DirUser>> {
    let Some(cfg) = &settings.directory else {
        return Ok(None);
    };
    match lookup(cfg, user)? {
        Some(u) => Ok(Some(u)),
        None => Err(fail(
            Status::NotFound,
            format!("{user} is not in the directory ({}); {nothing}", cfg.url),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Result<DirectoryConfig> {
        let text = format!("[directory]\n{text}");
        let s = crate::config::parse(&text, Path::new("/etc/codedesk/config.toml"))?;
        Ok(s.directory.expect("[directory] is configured"))
    }

    #[test]
    fn tls_is_required_off_this_machine() {
        let local = cfg("url = \"ldap://127.0.0.1:3890\"\nbase_dn = \"dc=x\"").unwrap();
        assert_eq!(local.tls, Tls::None);
        let remote = cfg("url = \"ldap://ldap.example.org\"\nbase_dn = \"dc=x\"").unwrap();
        assert_eq!(remote.tls, Tls::StartTls);
        let asked =
            cfg("url = \"ldap://ldap.example.org\"\ntls = \"none\"\nbase_dn = \"dc=x\"").unwrap();
        assert_eq!(asked.tls, Tls::None);
        let ldaps = cfg("url = \"ldaps://ldap.example.org:636\"\nbase_dn = \"dc=x\"").unwrap();
        assert_eq!(ldaps.tls, Tls::Ldaps);
        assert!(cfg("url = \"ldaps://h\"\ntls = \"none\"\nbase_dn = \"dc=x\"").is_err());
        assert!(cfg("url = \"http://h\"\nbase_dn = \"dc=x\"").is_err());
        assert!(cfg("url = \"ldap://u:pw@h\"\nbase_dn = \"dc=x\"").is_err());
        assert!(cfg("url = \"ldap://h\"").is_err());
    }

    #[test]
    fn bind_dn_needs_a_password_file_and_groups_are_dns() {
        let e =
            cfg("url = \"ldap://localhost\"\nbase_dn = \"dc=x\"\nbind_dn = \"cn=a\"").unwrap_err();
        assert!(e.to_string().contains("password_file"), "{e}");
        let e =
            cfg("url = \"ldap://localhost\"\nbase_dn = \"dc=x\"\nprivileged_groups = [\"admins\"]")
                .unwrap_err();
        assert!(e.to_string().contains("not a DN"), "{e}");
        let c = cfg("url = \"ldap://localhost\"\nbase_dn = \"dc=x\"\nprivileged_groups = [\"CN=Admins, OU=Groups,DC=x\"]\npassword_file = \"pw\"\nbind_dn = \"cn=a\"").unwrap();
        assert_eq!(c.privileged_groups, vec!["cn=admins,ou=groups,dc=x"]);
        assert_eq!(c.password_file, Some(PathBuf::from("/etc/codedesk/pw")));
    }

    #[test]
    fn user_names_are_escaped_per_rfc_4515() {
        let c = cfg("url = \"ldap://localhost\"\nbase_dn = \"dc=x\"").unwrap();
        assert_eq!(
            user_search_filter(&c, "*)(uid=*"),
            "(&(objectClass=inetOrgPerson)(uid=\\2a\\29\\28uid=\\2a))"
        );
        assert_eq!(
            user_search_filter(&c, "a\\b\0"),
            "(&(objectClass=inetOrgPerson)(uid=a\\5cb\\00))"
        );
    }

    /// The example configurations docs/directory.md points to are valid,
    /// and secure: TLS with a CA file, a bind password file.
    #[test]
    fn example_configurations_parse() {
        for (file, text, preset, tls) in [
            (
                "openldap.toml",
                include_str!("../examples/directory/openldap.toml"),
                Preset::OpenLdap,
                Tls::StartTls,
            ),
            (
                "active-directory.toml",
                include_str!("../examples/directory/active-directory.toml"),
                Preset::ActiveDirectory,
                Tls::Ldaps,
            ),
        ] {
            let s = crate::config::parse(text, Path::new(file)).unwrap();
            let d = s.directory.expect(file);
            assert_eq!(d.preset, preset, "{file}");
            assert_eq!(d.tls, tls, "{file}");
            assert_eq!(d.attributes, preset.attributes(), "{file}");
            assert!(d.ca_file.is_some() && d.password_file.is_some(), "{file}");
            assert!(!d.privileged_groups.is_empty(), "{file}");
        }
    }

    /// Active Directory's attribute shapes, as a search of a Windows
    /// Server 2022 domain controller returns them: attribute names in the
    /// schema's case, `memberOf` DNs with upper-case keywords, numbers as
    /// typed into "Active Directory Users and Computers".
    #[test]
    fn active_directory_preset_reads_recorded_entries() {
        let c = crate::config::parse(
            include_str!("../examples/directory/active-directory.toml"),
            Path::new("ad.toml"),
        )
        .unwrap()
        .directory
        .unwrap();
        assert_eq!(c.attributes.uid, "sAMAccountName");
        assert_eq!(c.attributes.member_of.as_deref(), Some("memberOf"));
        assert!(c.user_filter.contains("objectCategory=person"));
        let mut attrs: HashMap<String, Vec<String>> = HashMap::new();
        attrs.insert("sAMAccountName".into(), vec!["JSmith".into()]);
        attrs.insert("displayName".into(), vec!["Smith, Jane".into()]);
        attrs.insert("mobile".into(), vec!["+1 (415) 555-0142".into()]);
        attrs.insert(
            "telephoneNumber".into(),
            vec!["+1 415 555 0100".into(), "ext. 4410".into()],
        );
        attrs.insert("mail".into(), vec!["Jane.Smith@corp.example.com".into()]);
        attrs.insert(
            "memberOf".into(),
            vec![
                "CN=VPN Users,OU=Groups,DC=corp,DC=example,DC=com".into(),
                "CN=Domain Admins,CN=Users,DC=corp,DC=example,DC=com".into(),
            ],
        );
        let dn = "CN=Jane Smith,OU=Staff,DC=corp,DC=example,DC=com";
        let u = user_from_entry(&c, dn, &attrs, None).unwrap();
        assert_eq!(u.uid, "jsmith");
        assert_eq!(u.display_name.as_deref(), Some("Smith, Jane"));
        assert_eq!(u.mobiles, vec![Phone::parse("+14155550142").unwrap()]);
        // The extension is not a number; it is skipped, not an error.
        assert_eq!(u.phones, vec![Phone::parse("+14155550100").unwrap()]);
        assert_eq!(u.email.as_deref(), Some("Jane.Smith@corp.example.com"));
        assert!(u.privileged);
        assert_eq!(u.groups.len(), 2);
        attrs.insert(
            "memberOf".into(),
            vec!["CN=VPN Users,OU=Groups,DC=corp,DC=example,DC=com".into()],
        );
        assert!(!user_from_entry(&c, dn, &attrs, None).unwrap().privileged);
        // An entry without the uid attribute is not a user.
        attrs.remove("sAMAccountName");
        assert!(user_from_entry(&c, dn, &attrs, None).is_none());
    }

    #[test]
    fn dns_normalise_around_escaped_commas_and_spaces() {
        assert_eq!(
            normalize_dn("CN=Smith\\, Jane , OU=Staff,DC=corp"),
            "cn=smith\\, jane,ou=staff,dc=corp"
        );
        assert_eq!(normalize_dn("cn=a\\ ,dc=x"), "cn=a\\ ,dc=x");
        assert_eq!(normalize_dn("cn = A\\=B , dc = X"), "cn=a\\=b,dc=x");
        assert_eq!(normalize_dn("cn=a\\\\ ,dc=x"), "cn=a\\\\,dc=x");
    }

    /// Active Directory evaluates nesting itself: the membership query is
    /// LDAP_MATCHING_RULE_IN_CHAIN on `memberOf`, one term per privileged
    /// group, each DN escaped as an RFC 4515 assertion value. The DNs are
    /// as ADUC shows them (upper-case keywords, an escaped comma in a
    /// name, parentheses in a group name).
    #[test]
    fn active_directory_membership_follows_nested_groups_in_chain() {
        let mut c = crate::config::parse(
            include_str!("../examples/directory/active-directory.toml"),
            Path::new("ad.toml"),
        )
        .unwrap()
        .directory
        .unwrap();
        assert_eq!(
            in_chain_filter(&c).as_deref(),
            Some(
                "(|(memberOf:1.2.840.113556.1.4.1941:=cn=domain admins,cn=users,dc=corp,dc=example,dc=com)\
                 (memberOf:1.2.840.113556.1.4.1941:=cn=helpdesk admins,ou=groups,dc=corp,dc=example,dc=com))"
            )
        );
        assert_eq!(
            privileged_users_filter(&c).unwrap(),
            format!("(&{}{})", c.user_filter, in_chain_filter(&c).unwrap())
        );
        c.privileged_groups = vec![normalize_dn(
            "CN=Tier 0 (Admins)\\, EMEA,OU=Groups,DC=corp,DC=example,DC=com",
        )];
        assert_eq!(
            in_chain_filter(&c).as_deref(),
            Some(
                "(memberOf:1.2.840.113556.1.4.1941:=cn=tier 0 \\28admins\\29\\5c, emea,ou=groups,dc=corp,dc=example,dc=com)"
            )
        );
        // No privileged groups: no query at all.
        c.privileged_groups.clear();
        assert_eq!(in_chain_filter(&c), None);
        // OpenLDAP (and AD read from the groups' member attribute):
        // codedesk expands nested groups itself instead.
        let o = cfg(
            "url = \"ldap://localhost\"\nbase_dn = \"dc=x\"\nprivileged_groups = [\"cn=a,dc=x\"]",
        )
        .unwrap();
        assert_eq!(in_chain_filter(&o), None);
        let ad_groups = cfg("url = \"ldap://localhost\"\nbase_dn = \"dc=x\"\npreset = \"active-directory\"\nprivileged_groups = [\"cn=a,dc=x\"]\n[directory.attributes]\nmember_of = \"\"").unwrap();
        assert_eq!(in_chain_filter(&ad_groups), None);
    }

    /// With `member_of` listing direct groups only, a group nested in a
    /// privileged group (found by expanding the groups) counts too.
    #[test]
    fn a_member_of_value_naming_a_nested_group_is_privileged() {
        let c = cfg("url = \"ldap://localhost\"\nbase_dn = \"dc=x\"\nprivileged_groups = [\"cn=admins,dc=x\"]\n[directory.attributes]\nmember_of = \"memberOf\"").unwrap();
        let mut attrs: HashMap<String, Vec<String>> = HashMap::new();
        attrs.insert("uid".into(), vec!["erin".into()]);
        attrs.insert("memberOf".into(), vec!["CN=OnCall,DC=x".into()]);
        assert!(
            !user_from_entry(&c, "uid=erin,dc=x", &attrs, None)
                .unwrap()
                .privileged
        );
        let p = Privileged {
            members: BTreeSet::new(),
            groups: ["cn=admins,dc=x", "cn=oncall,dc=x"]
                .map(String::from)
                .into(),
        };
        assert!(
            user_from_entry(&c, "uid=erin,dc=x", &attrs, Some(&p))
                .unwrap()
                .privileged
        );
    }
}
