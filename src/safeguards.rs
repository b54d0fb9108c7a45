//! Safeguards against a helpdesk talked into it (docs/safeguards.md):
//! a one-time challenge codedesk sends to a contact on file and checks
//! itself, the email address on file, and a notice with an unguessable
//! reference to every contact on file after every sensitive event.
//!
//! Never a code, a challenge or a full phone number or email address in a
//! notice, an audit event or a message to the operator (the challenge
//! goes to the user's contact only; the number to call back is shown to
//! the operator at the prompt's callback step, nowhere else).

use crate::codes::{self, HashParams};
use crate::config::parse_duration;
use crate::context::Ctx;
use crate::delivery;
use crate::exit::{Status, fail};
use crate::model::{Device, Phone, printable};
use crate::store::safeguards::{ChallengeAnswer, NewChallenge};
use crate::store::{Store, UserRow};
use anyhow::Result;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long a challenge may be read back.
pub const CHALLENGE_TTL: i64 = 600;

// ---------------------------------------------------------- configuration

/// `[email]`: how notices and challenges are mailed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailFile {
    command: Option<String>,
    from: Option<String>,
}

/// `[safeguards]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafeguardsFile {
    notify_users: Option<bool>,
    failed_login_debounce: Option<String>,
}

/// `[audit]`: the trail also to syslog.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFile {
    syslog: Option<bool>,
    syslog_socket: Option<PathBuf>,
}

/// `[email]`, `[safeguards]` and `[audit]`, validated.
#[derive(Debug, Clone)]
pub struct SafeguardSettings {
    /// The sendmail interface: the program and its arguments (split on
    /// white space, never run through a shell); the message on stdin.
    pub email_command: Vec<String>,
    pub email_from: Option<String>,
    /// Tell every contact on file about every sensitive event.
    pub notify_users: bool,
    /// At most one notice about failed logins (lockout) per user this often.
    pub debounce: Duration,
    /// `[audit] syslog = true`: the socket each audit event also goes to.
    pub syslog: Option<PathBuf>,
}

pub const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

pub const DEFAULT_EMAIL_COMMAND: &str = "/usr/sbin/sendmail -t -i";

impl Default for SafeguardSettings {
    fn default() -> Self {
        SafeguardSettings {
            email_command: DEFAULT_EMAIL_COMMAND
                .split_whitespace()
                .map(String::from)
                .collect(),
            email_from: None,
            notify_users: true,
            debounce: Duration::from_secs(3600),
            syslog: None,
        }
    }
}

pub fn settings(
    e: Option<&EmailFile>,
    g: Option<&SafeguardsFile>,
    a: Option<&AuditFile>,
) -> std::result::Result<SafeguardSettings, (&'static str, String)> {
    let mut s = SafeguardSettings::default();
    if let Some(e) = e {
        if let Some(c) = &e.command {
            let argv: Vec<String> = c.split_whitespace().map(String::from).collect();
            if argv.is_empty() {
                return Err(("email.command", "is empty".into()));
            }
            s.email_command = argv;
        }
        if let Some(f) = &e.from {
            s.email_from = Some(parse_email(f).map_err(|e| ("email.from", e.to_string()))?);
        }
    }
    if let Some(g) = g {
        if let Some(n) = g.notify_users {
            s.notify_users = n;
        }
        if let Some(d) = &g.failed_login_debounce {
            s.debounce = parse_duration(d).map_err(|e| ("safeguards.failed_login_debounce", e))?;
        }
    }
    if let Some(a) = a {
        let socket = a
            .syslog_socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SYSLOG_SOCKET));
        if !socket.is_absolute() {
            return Err(("audit.syslog_socket", "give an absolute path".into()));
        }
        if a.syslog == Some(true) {
            s.syslog = Some(socket);
        }
    }
    Ok(s)
}

// ------------------------------------------------------------------ email

/// An email address as an operator types it: `local@domain`, plain
/// characters only (so nothing can break out of a mail header).
pub fn parse_email(raw: &str) -> Result<String> {
    let t = raw.trim();
    let bad = |why: &str| {
        fail(
            Status::Usage,
            format!("invalid email address {}: {why}", printable(raw, 60)),
        )
    };
    if t.len() > 254 {
        return Err(bad("too long"));
    }
    let Some((local, domain)) = t.split_once('@') else {
        return Err(bad("no '@'"));
    };
    let local_ok = (1..=64).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && !local.starts_with(['.', '-']);
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !local_ok || !domain_ok {
        return Err(bad("use local@domain with letters, digits and . _ % + -"));
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// `a***@example.org`: what events and the operator see.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((l, d)) => format!("{}***@{d}", l.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// Mails `body` to `to` through the sendmail interface.
fn send_email(ctx: &Ctx, to: &str, subject: &str, body: &str) -> std::result::Result<(), String> {
    let s = &ctx.settings.safeguards;
    let mut m = Zeroizing::new(String::new());
    m.push_str(&format!("To: {to}\n"));
    if let Some(f) = &s.email_from {
        m.push_str(&format!("From: codedesk <{f}>\n"));
    }
    m.push_str(&format!(
        "Subject: {subject}\nAuto-Submitted: auto-generated\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    ));
    delivery::send_email(&s.email_command, &m, ctx.settings.sms_timeout)
}

// --------------------------------------------------------------- contacts

/// A contact on file that can receive a challenge or a notice.
#[derive(Debug, Clone)]
pub enum Contact {
    /// An SMS-capable device with a number.
    Sms(Device),
    /// A mobile number in the directory that no enrolled SMS-capable device
    /// has: texted through the SMS gateway, as Specops does.
    DirectoryMobile(Phone),
    Email(String),
}

impl Contact {
    /// As recorded and shown: never the whole number or address.
    pub fn masked(&self) -> String {
        match self {
            Contact::Sms(d) => format!(
                "device {} ({})",
                d.id,
                d.phone.as_ref().map(|p| p.masked()).unwrap_or_default()
            ),
            Contact::DirectoryMobile(p) => format!("directory mobile ({})", p.masked()),
            Contact::Email(e) => format!("email {}", mask_email(e)),
        }
    }

    fn device_id(&self) -> Option<i64> {
        match self {
            Contact::Sms(d) => Some(d.id),
            Contact::DirectoryMobile(_) | Contact::Email(_) => None,
        }
    }

    /// The number a text goes to.
    fn phone(&self) -> Option<&Phone> {
        match self {
            Contact::Sms(d) => d.phone.as_ref(),
            Contact::DirectoryMobile(p) => Some(p),
            Contact::Email(_) => None,
        }
    }
}

/// A number the operator may call back: shown in full at the prompt's
/// callback step only, recorded masked.
#[derive(Debug, Clone)]
pub struct CallbackNumber {
    /// In full, for the operator's screen only: "+15072225001 (directory
    /// mobile)", "+15072225999 (mobile, device 3)".
    pub shown: String,
    /// As recorded: "directory mobile (+*******5001)", "device 3
    /// (+*******5999)".
    pub masked: String,
}

impl CallbackNumber {
    fn device(d: &Device) -> Option<CallbackNumber> {
        let p = d.phone.as_ref()?;
        Some(CallbackNumber {
            shown: format!("{} ({}, device {})", p.as_str(), d.kind.as_str(), d.id),
            masked: format!("device {} ({})", d.id, p.masked()),
        })
    }

    fn directory(p: &Phone, what: &str) -> CallbackNumber {
        CallbackNumber {
            shown: format!("{} (directory {what})", p.as_str()),
            masked: format!("directory {what} ({})", p.masked()),
        }
    }
}

/// What the challenge and callback methods may use for one user.
#[derive(Debug, Clone)]
pub struct OnFile {
    /// Contacts a challenge can go to, in the order offered.
    pub contacts: Vec<Contact>,
    /// Numbers to call back.
    pub callback: Vec<CallbackNumber>,
    /// The directory they come from (its URL), when one is configured.
    pub directory: Option<String>,
}

/// The contacts in the store for `user`: each SMS-capable device with a
/// number, then the email address on file. Notices go to these (so that
/// `verify`'s lockout notice never waits on the directory); a challenge
/// and a call-back use [`on_file`].
pub fn contacts_on_file(store: &Store, user: &UserRow) -> Result<Vec<Contact>> {
    let mut out: Vec<Contact> = store
        .devices(user.id)?
        .into_iter()
        .filter(|d| d.sms && d.phone.is_some())
        .map(Contact::Sms)
        .collect();
    if let Some(e) = store.email_of(user.id)? {
        out.push(Contact::Email(e));
    }
    Ok(out)
}

/// What the challenge and callback methods use for `user` (`devices`:
/// theirs). Without a directory: the store's contacts
/// ([`contacts_on_file`]) and every enrolled number to call back. With
/// one, the directory is the source of truth (exit 4 when it does not
/// know the user, `nothing` saying what did not happen; exit 7 naming the
/// server when it cannot be asked):
///
/// - for each of the directory's numbers (mobiles first), the enrolled
///   SMS-capable devices with that number; a directory mobile no device
///   has is texted through the SMS gateway itself. An enrolled device
///   whose number is not one of the directory's is no contact on file;
/// - the email is the directory's `mail`, not the one in the store;
/// - the numbers to call back are the directory's (mobile and telephone).
pub fn on_file(
    ctx: &Ctx,
    store: &Store,
    user: &UserRow,
    devices: &[Device],
    nothing: &str,
) -> Result<OnFile> {
    let Some(d) = crate::directory::require_user(&ctx.settings, &user.name, nothing)? else {
        return Ok(OnFile {
            contacts: contacts_on_file(store, user)?,
            callback: devices.iter().filter_map(CallbackNumber::device).collect(),
            directory: None,
        });
    };
    let mut contacts = Vec::new();
    for n in d.numbers() {
        let enrolled: Vec<&Device> = devices
            .iter()
            .filter(|dev| dev.sms && dev.phone.as_ref() == Some(n))
            .collect();
        if !enrolled.is_empty() {
            contacts.extend(enrolled.into_iter().cloned().map(Contact::Sms));
        } else if d.mobiles.contains(n) {
            contacts.push(Contact::DirectoryMobile(n.clone()));
        }
    }
    if let Some(e) = &d.email {
        match parse_email(e) {
            Ok(e) => contacts.push(Contact::Email(e)),
            Err(_) => crate::eline!(
                "codedesk: warning: {}'s mail in the directory is not an address codedesk sends to ({}): no email contact",
                user.name,
                printable(e, 60)
            ),
        }
    }
    let callback = d
        .mobiles
        .iter()
        .map(|p| CallbackNumber::directory(p, "mobile"))
        .chain(
            d.phones
                .iter()
                .map(|p| CallbackNumber::directory(p, "telephone")),
        )
        .collect();
    let url = ctx.settings.directory.as_ref().map(|c| c.url.clone());
    Ok(OnFile {
        contacts,
        callback,
        directory: url,
    })
}

/// `contacts` without those whose number is the number of a device the
/// caller says is lost (`lost`: device ids of `devices`): a directory
/// mobile is the lost phone's number as often as not.
pub fn without_lost_numbers(
    contacts: Vec<Contact>,
    devices: &[Device],
    lost: &[i64],
) -> Vec<Contact> {
    let lost_numbers: Vec<&Phone> = devices
        .iter()
        .filter(|d| lost.contains(&d.id))
        .filter_map(|d| d.phone.as_ref())
        .collect();
    contacts
        .into_iter()
        .filter(|c| c.phone().is_none_or(|p| !lost_numbers.contains(&p)))
        .collect()
}

/// The contact `challenge --device ID | --email` names, or the first one
/// on file; never a device the caller says is lost. `directory`: the
/// contacts come from the directory at this URL (for messages).
pub fn pick_contact(
    user: &str,
    contacts: &[Contact],
    device: Option<i64>,
    email: bool,
    lost: &[i64],
    directory: Option<&str>,
) -> Result<Contact> {
    if let Some(id) = device
        && lost.contains(&id)
    {
        return Err(fail(
            Status::Usage,
            format!("device {id} is lost: a challenge never goes to a lost device"),
        ));
    }
    let usable = contacts
        .iter()
        .filter(|c| c.device_id().is_none_or(|id| !lost.contains(&id)));
    let found = match (device, email) {
        (Some(id), _) => usable.clone().find(|c| c.device_id() == Some(id)),
        (None, true) => usable.clone().find(|c| matches!(c, Contact::Email(_))),
        (None, false) => usable.clone().next(),
    };
    found.cloned().ok_or_else(|| {
        let what = match (device, email, directory) {
            (Some(id), _, None) => format!("device {id} is not an SMS-capable device of {user}"),
            (Some(id), _, Some(url)) => format!(
                "device {id} is not a contact on file for {user}: not an SMS-capable device with one of their numbers in the directory ({url})"
            ),
            (None, true, None) => format!("{user} has no email address on file"),
            (None, true, Some(url)) => {
                format!("{user} has no email address on file in the directory ({url})")
            }
            (None, false, None) => {
                format!("{user} has no contact on file that can receive a challenge")
            }
            (None, false, Some(url)) => format!(
                "{user} has no contact on file in the directory ({url}) that can receive a challenge"
            ),
        };
        fail(
            Status::NotFound,
            format!("{what}; verify the person another way (in person, video call, or call back the number on file)"),
        )
    })
}

// -------------------------------------------------------------- challenge

/// Six digits from the operating system's CSPRNG, uniformly.
fn new_challenge() -> Result<Zeroizing<String>> {
    loop {
        let mut b = [0u8; 4];
        codes::os_random(&mut b)?;
        let v = u32::from_le_bytes(b);
        // Below the largest multiple of 10^6: no digit is likelier.
        if v < 4_294_000_000 {
            return Ok(Zeroizing::new(format!("{:06}", v % 1_000_000)));
        }
    }
}

/// A read-back as typed: digits only (spaces and dashes dropped).
fn canonical_answer(raw: &str) -> Zeroizing<String> {
    Zeroizing::new(
        raw.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect(),
    )
}

/// Sends a new challenge to `contact` and records it (hashed); returns
/// its id. A challenge that could not be sent is spent (exit 6).
pub fn send_challenge(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    contact: &Contact,
) -> Result<i64> {
    let now = ctx.now();
    let challenge = new_challenge()?;
    let salt = codes::new_salt()?;
    let params: HashParams = ctx.settings.hash;
    let hash = codes::hash_code(&params, &salt, &challenge)?;
    let id = store.insert_challenge(
        user,
        &NewChallenge {
            contact: contact.masked(),
            device_id: contact.device_id(),
            salt: salt.to_vec(),
            params,
            hash,
            expires_at: now + CHALLENGE_TTL,
        },
        &ctx.operator,
        now,
    )?;
    let text = Zeroizing::new(format!(
        "codedesk ({}): your helpdesk verification code is {}. Read it to the helpdesk only if you are on the phone with them now. It expires in 10 minutes.",
        user.name,
        challenge.as_str()
    ));
    let sent = match contact {
        Contact::Sms(_) | Contact::DirectoryMobile(_) => {
            match (&ctx.settings.sms, contact.phone()) {
                (Some(how), Some(phone)) => delivery::deliver(
                    how,
                    phone,
                    &Zeroizing::new(format!("{}\n", text.as_str())),
                    ctx.settings.sms_timeout,
                ),
                _ => Err("no SMS delivery is configured (set sms.command or sms.outbox)".into()),
            }
        }
        Contact::Email(e) => send_email(ctx, e, "Your helpdesk verification code", &text),
    };
    drop(text);
    drop(challenge);
    if let Err(why) = sent {
        store.fail_challenge(user, id, &why, &ctx.operator, ctx.now())?;
        return Err(fail(
            Status::Delivery,
            format!(
                "{}: the challenge could not be sent to {}: {why}",
                user.name,
                contact.masked()
            ),
        ));
    }
    Ok(id)
}

/// Checks one read-back of challenge `id` (hash, then a constant-time
/// comparison in the store, which records the outcome).
pub fn check_challenge(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    id: i64,
    answer: &str,
) -> Result<ChallengeAnswer> {
    let salt = store.challenge_salt(user, id)?;
    let answer = canonical_answer(answer);
    let tag = codes::hash_code(&salt.params, &salt.salt, &answer)?;
    store.answer_challenge(user, id, &tag, &ctx.operator, ctx.now())
}

/// Why a read-back did not pass, for the operator.
pub fn answer_problem(a: &ChallengeAnswer) -> String {
    match a {
        ChallengeAnswer::Passed { .. } => "passed".into(),
        ChallengeAnswer::Wrong { tries_left: 0 } => {
            "the challenge read back does not match; no tries left, the challenge is spent".into()
        }
        ChallengeAnswer::Wrong { tries_left } => {
            format!("the challenge read back does not match ({tries_left} tries left)")
        }
        ChallengeAnswer::Spent => "the challenge was used already or has failed".into(),
        ChallengeAnswer::Expired => "the challenge has expired (10 minutes)".into(),
    }
}

// ---------------------------------------------------------------- notices

/// What a notice says happened, for the events users are told about.
fn notice_text(event: &str) -> Option<&'static str> {
    Some(match event {
        "codes-issued" => "new backup codes were issued for your account",
        "device-enrolled" => "a new device was added to your account",
        "device-removed" => "a device was removed from your account",
        "codes-revoked" => "your backup codes were revoked",
        "lockout" => "your account was locked after repeated wrong codes",
        "email-set" => "the email address on file for your account was changed",
        // Issue 13 (docs/approvals.md).
        "privileged-approval" => {
            "a second helpdesk person approved backup codes or a new device for your account"
        }
        _ => return None,
    })
}

/// A reference the user can quote: 20 symbols of Crockford base32 (100
/// random bits) in groups of five.
fn new_reference() -> Result<String> {
    let mut b = [0u8; 20];
    codes::os_random(&mut b)?;
    let s: Vec<char> = b
        .iter()
        .map(|x| codes::CROCKFORD[usize::from(x & 31)] as char)
        .collect();
    Ok(s.chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// A reference as the user reads it out: case, spaces and dashes do not
/// matter, nor O/0 and I/L/1 (Crockford).
pub fn canonical_reference(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    if s.len() != 20 || !s.bytes().all(|b| codes::CROCKFORD.contains(&b)) {
        return None;
    }
    let v: Vec<char> = s.chars().collect();
    Some(
        v.chunks(5)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-"),
    )
}

/// Who hears of a change: the contacts on file, and for a removed device,
/// that device too.
#[derive(Debug, Clone, Copy)]
pub enum Recipients<'a> {
    /// The user's contacts on file.
    OnFile,
    /// The contacts on file and `devices`, no longer on file but that
    /// should hear of the change (the device `revoke --device` removed).
    AlsoRemoved(&'a [Device]),
}

impl Recipients<'_> {
    /// The devices told besides the contacts on file.
    fn removed(&self) -> &[Device] {
        match self {
            Recipients::OnFile => &[],
            Recipients::AlsoRemoved(d) => d,
        }
    }
}

/// Tells `to` about `event` (if users are told about it), with a fresh
/// reference, and records it. Returns a warning for the operator when a
/// contact could not be told; the change stands.
pub fn notify_user(
    ctx: &Ctx,
    store: &mut Store,
    event: &str,
    user: &str,
    to: Recipients,
) -> Option<String> {
    let s = &ctx.settings.safeguards;
    if !s.notify_users {
        return None;
    }
    let what = notice_text(event)?;
    match notify_inner(ctx, store, event, user, what, to.removed()) {
        Ok(None) => None,
        Ok(Some(w)) => Some(w),
        Err(e) => Some(format!("could not notify {user}: {e:#}")),
    }
}

fn notify_inner(
    ctx: &Ctx,
    store: &mut Store,
    event: &str,
    user: &str,
    what: &str,
    also: &[Device],
) -> Result<Option<String>> {
    let name = crate::model::Username::parse(user)?;
    let Some(u) = store.find_user(&name)? else {
        return Ok(None);
    };
    let now = ctx.now();
    if event == "lockout"
        && let Some(last) = store.last_notice_at(user, event)?
        && now.saturating_sub(last) < ctx.settings.safeguards.debounce.as_secs() as i64
    {
        return Ok(None);
    }
    let mut contacts = contacts_on_file(store, &u)?;
    for d in also {
        if d.sms && d.phone.is_some() && !contacts.iter().any(|c| c.device_id() == Some(d.id)) {
            contacts.push(Contact::Sms(d.clone()));
        }
    }
    if contacts.is_empty() {
        // A removed device was how a takeover starts: when nobody at all
        // can be told, the operator is (and it is recorded as notify-failed).
        return Ok((event == "device-removed").then(|| {
            format!("could not notify {user}: no contact on file to tell (no SMS-capable device or email)")
        }));
    }
    let reference = new_reference()?;
    let when = crate::output::ts(now);
    let body = format!(
        "codedesk: {what} ({user}, {when}). If this was not you, call the helpdesk and quote {reference}."
    );
    let (mut sent, mut failed) = (Vec::new(), Vec::new());
    for c in &contacts {
        let r = match c {
            Contact::Sms(_) | Contact::DirectoryMobile(_) => match (&ctx.settings.sms, c.phone()) {
                (Some(how), Some(p)) => {
                    delivery::deliver(how, p, &format!("{body}\n"), ctx.settings.sms_timeout)
                }
                _ => Err("no SMS delivery is configured".into()),
            },
            Contact::Email(e) => send_email(ctx, e, &format!("codedesk: {what}"), &body),
        };
        match r {
            Ok(()) => sent.push(c.masked()),
            Err(why) => failed.push(format!("{}: {why}", c.masked())),
        }
    }
    store.insert_notice(user, event, &reference, &sent, &failed, &ctx.operator, now)?;
    Ok((!failed.is_empty()).then(|| format!("could not notify {user} at {}", failed.join("; "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_six_digits_and_vary() {
        let a = new_challenge().unwrap();
        assert_eq!(a.len(), 6);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        let many: std::collections::HashSet<String> = (0..50)
            .map(|_| new_challenge().unwrap().to_string())
            .collect();
        assert!(many.len() > 40);
    }

    #[test]
    fn references_round_trip_as_read_out() {
        let r = new_reference().unwrap();
        assert_eq!(r.len(), 23);
        assert_eq!(canonical_reference(&r).as_deref(), Some(r.as_str()));
        let spoken = r.to_lowercase().replace('-', " ");
        assert_eq!(canonical_reference(&spoken).as_deref(), Some(r.as_str()));
        assert!(canonical_reference("ABC").is_none());
        assert!(canonical_reference(&"U".repeat(20)).is_none());
    }

    #[test]
    fn emails_are_plain_and_masked() {
        assert_eq!(parse_email(" Ann@Example.ORG ").unwrap(), "Ann@example.org");
        for bad in [
            "a",
            "a@",
            "@b",
            "a b@c",
            "a@b\nBcc: x@y",
            "-x@y",
            "a@-b",
            "a@b..c",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(mask_email("ann@example.org"), "a***@example.org");
    }
}
