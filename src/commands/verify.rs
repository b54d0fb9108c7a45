//! `verify`: check one code and spend it. The code comes from standard
//! input (or a hidden prompt at a terminal), never from the command line.
//! One Argon2id evaluation per live set, compared in constant time against
//! every code of the set; the spend is re-checked under the write lock.
//! Works as a pam_exec module: the user defaults to `$PAM_USER`, and the
//! `expose_authtok` token (with or without a trailing newline or NUL) is
//! read from standard input.

use super::user_arg;
use crate::audit::AuditEvent;
use crate::cli::VerifyArgs;
use crate::codes::{self, CodeSpec, HashParams, ParseError};
use crate::context::Ctx;
use crate::exit::{Status, fail, status_of};
use crate::hashslots::{self, Kind};
use crate::output::{Human, Record, Sink};
use crate::prompt;
use crate::rules;
use crate::store::{CandidateSet, ConnectRetry, Spend, Store, UserRow};
use anyhow::Result;
use serde::Serialize;
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// Longest input read as a code; anything longer is refused unread.
const MAX_INPUT: usize = 1024;

/// Where the typed code comes from.
pub trait CodeSource {
    fn read(&mut self, ctx: &Ctx, user: &str) -> Result<Zeroizing<String>>;

    /// Whether the verify answers a caller in another process (PAM, a
    /// RADIUS server), and so must die with it: see [`die_with_caller`].
    fn answers_a_caller(&self) -> bool {
        false
    }
}

/// Standard input, or a hidden prompt when an operator is at a terminal.
pub struct StdinSource;

impl CodeSource for StdinSource {
    fn answers_a_caller(&self) -> bool {
        true
    }

    fn read(&mut self, ctx: &Ctx, user: &str) -> Result<Zeroizing<String>> {
        if ctx.interactive {
            return prompt::hidden_code(user)?
                .ok_or_else(|| fail(Status::Usage, "no code was entered"));
        }
        let mut buf = Zeroizing::new(Vec::with_capacity(64));
        std::io::stdin()
            .take(MAX_INPUT as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                fail(
                    Status::Usage,
                    format!("cannot read the code from standard input: {e}"),
                )
            })?;
        if buf.len() > MAX_INPUT {
            return Err(fail(
                Status::Usage,
                format!("the input is longer than {MAX_INPUT} bytes: not a code"),
            ));
        }
        // pam_exec's expose_authtok ends the token with a NUL; a shell, a newline.
        while matches!(buf.last(), Some(b'\n' | b'\r' | 0)) {
            buf.pop();
        }
        if buf.contains(&0) {
            return Err(fail(
                Status::Usage,
                "the input contains a NUL byte: not a code",
            ));
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|_| fail(Status::Usage, "the input is not UTF-8 text: not a code"))?;
        Ok(Zeroizing::new(text.to_string()))
    }
}

/// A code already in hand (the demo).
pub struct GivenCode(pub Zeroizing<String>);

impl CodeSource for GivenCode {
    fn read(&mut self, _: &Ctx, _: &str) -> Result<Zeroizing<String>> {
        Ok(self.0.clone())
    }
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    user: &'a str,
    accepted: bool,
    remaining: i64,
    /// The user is locked out (exit 5, or this rejection locked them).
    locked: bool,
}

/// The outcome on standard output: every code that was judged (accepted,
/// rejected, a typo, or refused because the user is locked) gets the JSON
/// object or CSV row; errors before that (no such user, a bad name) print
/// nothing there, like every command's errors. At a terminal a lockout is
/// told on standard error only.
fn report(
    ctx: &Ctx,
    out: &mut dyn Write,
    user: &str,
    accepted: bool,
    remaining: i64,
    locked: bool,
) -> Result<()> {
    let judged = Judged {
        json: VerifyJson {
            user,
            accepted,
            remaining,
            locked,
        },
        refused_locked: false,
    };
    Sink::of(ctx).record(out, &judged)
}

/// A judged code as the sink writes it.
struct Judged<'a> {
    json: VerifyJson<'a>,
    /// Refused because the user is locked: nothing for a person on
    /// standard output (the error says it).
    refused_locked: bool,
}

impl Record for Judged<'_> {
    fn json(&self) -> impl Serialize + '_ {
        &self.json
    }
    fn csv(&self) -> Vec<Vec<String>> {
        let j = &self.json;
        vec![
            ["user", "accepted", "remaining", "locked"]
                .map(String::from)
                .to_vec(),
            vec![
                j.user.to_string(),
                j.accepted.to_string(),
                j.remaining.to_string(),
                j.locked.to_string(),
            ],
        ]
    }
    fn human(&self, out: &mut dyn Write, _: Human, quiet: bool) -> Result<()> {
        let j = &self.json;
        if !quiet && !self.refused_locked {
            writeln!(
                out,
                "{}: {} has {} backup code use(s) left",
                if j.accepted { "accepted" } else { "rejected" },
                j.user,
                j.remaining
            )?;
        }
        Ok(())
    }
}

/// A code refused because the user is locked out (exit 5): the JSON
/// object or CSV row for scripts, then the one-line error.
fn refuse_locked(ctx: &Ctx, out: &mut dyn Write, name: &str, remaining: i64) -> Result<Status> {
    let judged = Judged {
        json: VerifyJson {
            user: name,
            accepted: false,
            remaining,
            locked: true,
        },
        refused_locked: true,
    };
    Sink::of(ctx).record(out, &judged)?;
    Err(locked_error(name))
}

fn code_on_command_line() -> anyhow::Error {
    fail(
        Status::Usage,
        "verify reads the code from standard input (or a hidden prompt), never from the command line; nothing was checked, and a code typed there may be in shell history: treat it as exposed",
    )
}

fn locked_error(name: &str) -> anyhow::Error {
    fail(
        Status::Locked,
        format!(
            "{name} is locked out after too many rejected codes; verify the person, then `codedesk unlock {name}`"
        ),
    )
}

/// A verify whose caller is gone must not spend a code: the caller (sshd
/// past its LoginGraceTime, FreeRADIUS's exec module past its `timeout`)
/// has already refused the login, so a code spent later would be lost and
/// the trail would say verify-accepted for a login that was refused. The
/// kernel kills this process (SIGKILL) when its parent dies, so a write
/// not yet committed is never committed (SQLite and PostgreSQL roll it
/// back). The parent read before the prctl closes the race of a parent
/// that died first: this process then has another parent already. (The
/// kernel watches the thread that started verify: a threaded caller waits
/// for it in that thread, as pam_exec, a shell and `Command` do.)
#[cfg(target_os = "linux")]
fn die_with_caller() -> Result<()> {
    // SAFETY: getppid and prctl(PR_SET_PDEATHSIG) touch no memory of ours.
    let parent = unsafe { libc::getppid() };
    let set = unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if set != 0 {
        return Err(fail(
            Status::Store,
            format!(
                "cannot tie verify to its caller (prctl PR_SET_PDEATHSIG): {}",
                std::io::Error::last_os_error()
            ),
        ));
    }
    if unsafe { libc::getppid() } != parent {
        return Err(fail(
            Status::Store,
            "the caller of verify is gone: nothing was checked or spent",
        ));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn die_with_caller() -> Result<()> {
    Ok(())
}

pub fn run(
    ctx: &Ctx,
    a: VerifyArgs,
    source: &mut dyn CodeSource,
    out: &mut dyn Write,
) -> Result<Status> {
    if source.answers_a_caller() {
        die_with_caller()?;
    }
    // Under pam_exec only the auth step carries a token (expose_authtok);
    // a rule on another step (account, session, password) would check an
    // empty input, so it is refused before the store is opened.
    if let Some(t) = std::env::var_os("PAM_TYPE")
        && t != "auth"
    {
        return Err(fail(
            Status::Usage,
            format!(
                "verify checks a code at PAM's auth step only (PAM_TYPE is {}): put it on an auth rule with pam_exec's type=auth",
                crate::model::printable(&t.to_string_lossy(), 20)
            ),
        ));
    }
    let raw_user = match a.user.or_else(|| std::env::var("PAM_USER").ok()) {
        Some(u) => u,
        None => {
            return Err(fail(
                Status::Usage,
                "give a USER (or run under pam_exec, which sets PAM_USER)",
            ));
        }
    };
    if !a.code_on_command_line.is_empty() {
        return Err(code_on_command_line());
    }
    let service = service_arg(a.service)?;
    let service = service.as_deref();
    // `verify CODE` (the user forgotten): never echo the code back in an
    // "invalid user name" or "no such user" message.
    // A mistyped code (wrong check symbol) has the same shape and nearly
    // all of its secret bits, so it counts too.
    let looks_like_code = matches!(
        codes::parse(ctx.settings.spec, &raw_user),
        Ok(_) | Err(ParseError::Typo)
    );
    let name = user_arg(&raw_user).map_err(|e| {
        if looks_like_code {
            code_on_command_line()
        } else {
            e
        }
    })?;
    // Connect late, hold the connection only for the reads and the write,
    // and ride out a server that turns connections away for a moment
    // (a login storm, a restart) within verify.connect_retry.
    let mut retry = ConnectRetry::new(ctx.settings.verify_connect_retry);
    let session = hashslots::take(Kind::Store);
    Store::require_existing(&ctx.db)?;
    let now = ctx.now();
    // The reads change nothing: a server connection lost while they run
    // (the server restarting) is opened again and they are made again,
    // within the same bound. The write below is never retried that way.
    let (mut store, view) = loop {
        let tried = std::time::Instant::now();
        let store = Store::open_retrying(
            &ctx.db,
            ctx.settings.store_group.as_ref(),
            ctx.settings.db_password.as_ref(),
            &mut retry,
        )?;
        match store.verify_view(&name, now) {
            Err(e) if crate::store::is_lost(&e) => match retry.next_wait(tried.elapsed()) {
                Some(wait) => {
                    drop(store);
                    std::thread::sleep(wait);
                }
                None => return Err(e),
            },
            view => break (store, view),
        }
    };
    let mut view = match view {
        Err(e) if looks_like_code && status_of(&e) == Status::NotFound => {
            return Err(code_on_command_line());
        }
        // An unknown user costs what a known one does (see `evaluate`).
        Err(e) if status_of(&e) == Status::NotFound => {
            equalising_hash(&ctx.settings.hash)?;
            return Err(e);
        }
        v => v?,
    };
    if let (Some(at), Some(after)) = (view.user.locked_at, ctx.settings.auto_unlock)
        && now >= at.saturating_add(after.as_secs() as i64)
    {
        store.auto_unlock(&view.user, after.as_secs() as i64, &ctx.operator, now)?;
        view = store.verify_view(&name, now)?;
    }
    // "No code given" wins over a lockout: exit 2 and nothing on standard
    // output, since nothing was judged. So standard input is read first;
    // at a terminal a locked user is refused before the hidden prompt.
    let mut given = None;
    if !ctx.interactive {
        let t = source.read(ctx, name.as_str())?;
        // As `codes::parse` sees it: dashes and spaces only are no code.
        if t.bytes().all(|b| b == b'-' || b.is_ascii_whitespace()) {
            return Err(fail(Status::Usage, "no code was given"));
        }
        given = Some(t);
    }
    if view.user.locked_at.is_some() {
        store.record_uncounted(
            &ctx.operator,
            name.as_str(),
            AuditEvent::VerifyLocked {
                service,
                more_unrecorded: None,
            },
            now,
        )?;
        return refuse_locked(ctx, out, name.as_str(), view.remaining);
    }
    let typed = match given {
        Some(t) => t,
        None => source.read(ctx, name.as_str())?,
    };

    // Read the input against each distinct code shape of the live sets.
    let mut specs: Vec<CodeSpec> = view.sets.iter().map(|s| s.spec).collect();
    specs.dedup();
    if specs.is_empty() {
        specs.push(ctx.settings.spec);
    }
    let mut parsed: Vec<(CodeSpec, codes::Code)> = Vec::new();
    let mut errors: Vec<ParseError> = Vec::new();
    for spec in &specs {
        match codes::parse(*spec, &typed) {
            Ok(c) => parsed.push((*spec, c)),
            Err(e) => errors.push(e),
        }
    }
    drop(typed);
    if parsed.is_empty() {
        if errors.contains(&ParseError::Empty) {
            return Err(fail(Status::Usage, "no code was given"));
        }
        if errors.contains(&ParseError::Typo) {
            store.record_uncounted(
                &ctx.operator,
                name.as_str(),
                AuditEvent::VerifyTypo {
                    service,
                    more_unrecorded: None,
                },
                now,
            )?;
            crate::eline!("codedesk: {}", ParseError::Typo);
            report(ctx, out, name.as_str(), false, view.remaining, false)?;
            return Ok(Status::Rejected);
        }
    }

    // One Argon2id evaluation per live set of a matching shape (at least
    // one); the store matches the tags (on PostgreSQL, the server: a
    // verifier reads no hash).
    // A server's connection goes back while this process hashes (and waits
    // for a core to hash on), in one of the host's hash slots (one per
    // core); it connects again for the write, which re-checks everything
    // under the write lock anyway. Store sessions take store slots (see
    // hashslots).
    let kept = match store.is_server() {
        true => {
            drop(store);
            None
        }
        false => Some(store),
    };
    drop(session);
    let slot = hashslots::take(Kind::Hash);
    let (tags, _) = evaluate(&view.sets, &parsed, &ctx.settings.hash)?;
    drop(parsed);
    drop(slot);
    let _session = hashslots::take(Kind::Store);
    let mut store = match kept {
        Some(s) => s,
        None => Store::open_retrying(
            &ctx.db,
            ctx.settings.store_group.as_ref(),
            ctx.settings.db_password.as_ref(),
            &mut retry,
        )?,
    };
    if retry.retries > 0 && !ctx.quiet {
        crate::eline!(
            "note: the store turned connections away for a moment; connected after {} retries ({} ms)",
            retry.retries,
            retry.spent.as_millis()
        );
    }

    match patient(&mut store, |s| {
        s.spend_matching(&view, &tags, &ctx.operator, service, ctx.now())
    })? {
        Spend::Accepted { remaining } => {
            report(ctx, out, name.as_str(), true, remaining, false)?;
            if let Some(advice) = rules::used_up_advice(remaining)
                && !ctx.quiet
            {
                crate::output::eprose(&format!("note: {advice}"));
            }
            crate::delivery::notify_or_warn(
                ctx,
                &mut store,
                "code-used",
                &view.user.name,
                crate::delivery::Recipients::OnFile,
            );
            return Ok(Status::Ok);
        }
        Spend::Locked => return refuse_locked(ctx, out, name.as_str(), view.remaining),
        Spend::Stale => {}
    }
    reject(ctx, &mut store, &view.user, view.remaining, service, out)
}

/// The service that asked (`--service`, else pam_exec's `PAM_SERVICE`),
/// recorded in the verify events: 1 to 64 printable characters.
fn service_arg(flag: Option<String>) -> Result<Option<String>> {
    let Some(name) = flag.or_else(|| std::env::var("PAM_SERVICE").ok().filter(|s| !s.is_empty()))
    else {
        return Ok(None);
    };
    if name.trim().is_empty()
        || name.chars().count() > 64
        || name.chars().any(crate::model::is_hidden)
    {
        return Err(fail(
            Status::Usage,
            format!(
                "invalid service name {}: 1 to 64 printable characters{}",
                crate::model::printable(&name, 40),
                crate::model::hidden_note(&name)
            ),
        ));
    }
    Ok(Some(name))
}

/// The Argon2id evaluations of one verify: one tag per live set of the
/// typed shape, for the store to compare in constant time with every code
/// of the set. When that makes none (a user without live codes, codes of
/// another shape, input that is not a code), one evaluation with the
/// configured parameters is made anyway and thrown away: through PAM a
/// refusal must take as long as a wrong code, or the time tells an
/// attacker which users have live codes. Returns the tags (set id, tag)
/// and how many evaluations ran (at least one).
fn evaluate(
    sets: &[CandidateSet],
    parsed: &[(CodeSpec, codes::Code)],
    configured: &HashParams,
) -> Result<(Vec<(i64, codes::CodeHash)>, usize)> {
    let mut tags: Vec<(i64, codes::CodeHash)> = Vec::new();
    for set in sets {
        let Some((_, code)) = parsed.iter().find(|(s, _)| *s == set.spec) else {
            continue;
        };
        tags.push((set.id, codes::hash_code(&set.params, &set.salt, code)?));
    }
    let evaluations = tags.len();
    if evaluations == 0 {
        equalising_hash(configured)?;
        return Ok((tags, 1));
    }
    Ok((tags, evaluations))
}

/// One Argon2id evaluation whose result nobody reads: the cost of a
/// verify that has nothing to compare (see [`evaluate`]).
fn equalising_hash(configured: &HashParams) -> Result<()> {
    let tag = codes::hash_code(configured, &[0u8; codes::SALT_LEN], "NO-LIVE-CODE")?;
    std::hint::black_box(tag);
    Ok(())
}

/// Runs a write of `verify`, trying it again (twice) when it waited for
/// a PostgreSQL store's write lock longer than the busy timeout: such a
/// write rolled back whole, and re-checks everything when tried again. In
/// a login storm the writers of up to max_connections sessions queue for
/// that lock; a login is worth the wait (sshd allows 120 s).
fn patient<T>(store: &mut Store, mut write: impl FnMut(&mut Store) -> Result<T>) -> Result<T> {
    let mut again = 2;
    loop {
        match write(store) {
            Err(e) if again > 0 && store.is_server() && crate::store::is_busy(&e) => again -= 1,
            r => return r,
        }
    }
}

fn reject(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    remaining: i64,
    service: Option<&str>,
    out: &mut dyn Write,
) -> Result<Status> {
    let threshold = ctx.settings.lockout_threshold;
    let r = patient(store, |s| {
        s.reject(
            user,
            "wrong, spent, expired or revoked",
            threshold,
            &ctx.operator,
            service,
            ctx.now(),
        )
    })?;
    if r.already_locked {
        return refuse_locked(ctx, out, &user.name, remaining);
    }
    report(ctx, out, &user.name, false, remaining, r.locked_now)?;
    if r.locked_now {
        crate::eline!(
            "codedesk: code rejected; {} is now locked out after {} rejected codes",
            user.name,
            r.attempts
        );
        crate::delivery::notify_or_warn(
            ctx,
            store,
            "lockout",
            &user.name,
            crate::delivery::Recipients::OnFile,
        );
    } else {
        crate::eline!(
            "codedesk: code rejected ({} of {threshold} rejections before lockout)",
            r.attempts
        );
    }
    Ok(Status::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Alphabet;

    use crate::codes::TEST_PARAMS as FAST;

    fn set(id: i64, spec: CodeSpec, code: &codes::Code) -> CandidateSet {
        let salt = vec![7u8; codes::SALT_LEN];
        let hash = codes::hash_code(&FAST, &salt, code).unwrap();
        CandidateSet {
            id,
            spec,
            salt,
            params: FAST,
            codes: vec![(id * 10, hash)],
            live: 1,
        }
    }

    #[test]
    fn every_verify_costs_at_least_one_evaluation() {
        let base32 = CodeSpec::default();
        let digits = CodeSpec {
            alphabet: Alphabet::Digits,
            length: 9,
        };
        let code = codes::generate(base32, 1).unwrap().remove(0);
        let other = codes::generate(base32, 1).unwrap().remove(0);
        let typed = vec![(base32, code.clone())];
        let count = |sets: &[CandidateSet], typed: &[(CodeSpec, codes::Code)]| {
            let (tags, n) = evaluate(sets, typed, &FAST).unwrap();
            (tags.iter().map(|(id, _)| *id).collect::<Vec<_>>(), n)
        };
        // No live set at all: one evaluation anyway, no tag to match.
        assert_eq!(count(&[], &typed), (vec![], 1));
        // Input that is not a code: the same.
        assert_eq!(count(&[], &[]), (vec![], 1));
        // Live sets of another shape only: the same.
        let digit_code = codes::generate(digits, 1).unwrap().remove(0);
        let d = set(1, digits, &digit_code);
        assert_eq!(count(std::slice::from_ref(&d), &typed), (vec![], 1));
        // One evaluation per set of the typed shape, and no extra one; the
        // matching set's tag is its code's hash.
        let hit = set(2, base32, &code);
        let miss = set(3, base32, &other);
        assert_eq!(
            count(&[d, miss.clone(), hit.clone()], &typed),
            (vec![3, 2], 2)
        );
        let (tags, _) = evaluate(std::slice::from_ref(&hit), &typed, &FAST).unwrap();
        assert_eq!(tags[0].1, hit.codes[0].1);
        assert_eq!(count(&[miss], &typed), (vec![3], 1));
    }
}
