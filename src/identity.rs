//! The identity gate. No helpdesk bypass codes exist, and no device is
//! added to a user who already has a two-factor setup, until the operator
//! has verified the person (in person or on a video call with photo ID, or
//! by calling back the number in the directory). The check is attested by
//! flags (`--identity-verified METHOD --ticket REF`) or answered at the
//! terminal through `prompt`; every outcome, passed or not, is recorded
//! with operator, method, ticket and time.

use crate::audit::AuditEvent;
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::model::{Device, IdentityMethod};
use crate::output;
use crate::prompt::{self, Answers};
use crate::rules;
use crate::safeguards::{self, Contact};
use crate::store::safeguards::ChallengeAnswer;
use crate::store::{NewCheck, Store, UserRow};
use anyhow::Result;
use std::sync::Mutex;

/// How the gate may be passed in this run.
pub enum Gate<'a> {
    /// Attested by flags (or refused for want of them when `None`).
    Flags(Option<&'a (IdentityMethod, String)>),
    /// Flags were given but attest nothing (one missing, a bad ticket):
    /// refused, naming what was wrong and keeping the method given.
    Unattested(&'a Attestation),
    /// Ask the operator at the terminal.
    Prompt,
    /// `--identity-verified challenge --challenge ID --ticket REF`: the
    /// read-back comes from standard input, and codedesk checks it.
    Challenge { id: i64, ticket: &'a str },
}

impl<'a> Gate<'a> {
    /// Flags when given; otherwise the prompt at a terminal, else refusal.
    pub fn choose(
        attestation: Option<&'a (IdentityMethod, String)>,
        interactive: bool,
    ) -> Gate<'a> {
        match (attestation, interactive) {
            (Some(a), _) => Gate::Flags(Some(a)),
            (None, true) => Gate::Prompt,
            (None, false) => Gate::Flags(None),
        }
    }
}

/// `--identity-verified METHOD --ticket REF` as given on the command line.
/// Both flags with a valid ticket attest a passed check. Anything less (one
/// flag, an empty ticket) attests nothing, and since the operator plainly
/// meant to attest, it is not turned into a prompt either: the gate refuses
/// with exit 3 and records it (both are required: exit status 3 without either).
#[derive(Debug, Clone, Default)]
pub struct Attestation {
    pub given: Option<(IdentityMethod, String)>,
    pub attempted: bool,
    /// The method given, even when the attestation is incomplete, so the
    /// refused check is recorded with it.
    pub method: Option<IdentityMethod>,
    /// A well-formed ticket given without a method, for the same record.
    pub ticket: Option<String>,
    /// Why flags that were given attest nothing, in the operator's terms.
    pub problem: Option<String>,
    /// `--challenge ID`, with `--identity-verified challenge`.
    pub challenge: Option<i64>,
}

impl Attestation {
    pub fn from_flags(method: Option<IdentityMethod>, ticket: Option<&str>) -> Attestation {
        let parsed = ticket.map(crate::model::parse_ticket);
        let problem = match (method, &parsed) {
            (_, Some(Err(e))) => Some(format!("--ticket: {e}")),
            (Some(_), None) => Some("--identity-verified was given without --ticket".to_string()),
            (None, Some(Ok(_))) => {
                Some("--ticket was given without --identity-verified".to_string())
            }
            _ => None,
        };
        let ticket = parsed.and_then(|t| t.ok());
        Attestation {
            given: match (method, &ticket) {
                (Some(m), Some(t)) => Some((m, t.clone())),
                _ => None,
            },
            attempted: method.is_some() || problem.is_some(),
            method,
            ticket,
            problem,
            challenge: None,
        }
    }

    /// Adds `--challenge ID`, which goes with `--identity-verified
    /// challenge` and nothing else.
    pub fn with_challenge(mut self, id: Option<i64>) -> Attestation {
        self.challenge = id;
        if self.problem.is_some() {
            return self;
        }
        self.problem = match (self.method, id) {
            (Some(IdentityMethod::Challenge), None) => Some(
                "--identity-verified challenge needs --challenge ID (see `codedesk challenge`)"
                    .into(),
            ),
            (Some(IdentityMethod::Challenge), Some(_)) => None,
            (_, Some(_)) => Some("--challenge goes with --identity-verified challenge".into()),
            (_, None) => None,
        };
        if self.problem.is_some() {
            self.given = None;
            self.attempted = true;
        }
        self
    }

    /// The gate for this run: the flags, else a prompt at a terminal.
    pub fn gate(&self, interactive: bool) -> Gate<'_> {
        if self.given.is_none() && self.problem.is_some() {
            return Gate::Unattested(self);
        }
        if let (Some((IdentityMethod::Challenge, ticket)), Some(id)) = (&self.given, self.challenge)
        {
            return Gate::Challenge { id, ticket };
        }
        Gate::choose(self.given.as_ref(), interactive && !self.attempted)
    }
}

/// What the check is for, in the operator's words.
pub struct Purpose<'a> {
    /// "helpdesk bypass codes (you will see them once)"
    pub what: &'a str,
    /// What did not happen when the gate is not passed: "nothing issued".
    pub nothing: &'a str,
    /// A hint to add to a refusal (another SMS-capable device, say).
    pub hint: Option<&'a str>,
}

/// Passes the gate or records why not (exit 3).
pub fn identity_gate(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    devices: &[Device],
    purpose: &Purpose,
    gate: Gate,
) -> Result<NewCheck> {
    let now = ctx.now();
    let answers = match gate {
        Gate::Flags(Some((method, ticket))) => {
            // As at the prompt: a callback needs a number on file to call
            // (never one the caller gives), so with none it is refused.
            if *method == IdentityMethod::Callback
                && safeguards::on_file(ctx, store, user, devices, purpose.nothing)?
                    .callback
                    .is_empty()
            {
                return Err(refused(
                    ctx,
                    store,
                    user,
                    *method,
                    ticket,
                    "no number on file to call back",
                    purpose.nothing,
                )?);
            }
            Answers::Passed {
                method: *method,
                ticket: ticket.clone(),
            }
        }
        Gate::Flags(None) => {
            store.record_identity_failure(user, "not-attested", None, None, &ctx.operator, now)?;
            return Err(fail(
                Status::Identity,
                format!(
                    "{} needs an identity check for {}: give --identity-verified METHOD --ticket REF (or run at a terminal); {}{}",
                    user.name,
                    purpose.what,
                    purpose.nothing,
                    purpose
                        .hint
                        .map(|h| format!(" (hint: {h})"))
                        .unwrap_or_default()
                ),
            ));
        }
        Gate::Unattested(a) => {
            store.record_identity_failure(
                user,
                "not-attested",
                a.method,
                a.ticket.as_deref(),
                &ctx.operator,
                now,
            )?;
            return Err(fail(
                Status::Identity,
                format!(
                    "{} needs an identity check for {}: {}; {}",
                    user.name,
                    purpose.what,
                    a.problem
                        .as_deref()
                        .unwrap_or("the attestation is incomplete"),
                    purpose.nothing,
                ),
            ));
        }
        Gate::Challenge { id, ticket } => {
            let answer = prompt::challenge_answer().ok_or_else(|| {
                fail(
                    Status::Usage,
                    "give the challenge the caller read back on standard input",
                )
            })?;
            let r = safeguards::check_challenge(ctx, store, user, id, &answer)?;
            if !matches!(r, ChallengeAnswer::Passed { .. }) {
                return Err(refused(
                    ctx,
                    store,
                    user,
                    IdentityMethod::Challenge,
                    ticket,
                    &safeguards::answer_problem(&r),
                    purpose.nothing,
                )?);
            }
            Answers::Passed {
                method: IdentityMethod::Challenge,
                ticket: ticket.to_string(),
            }
        }
        Gate::Prompt => {
            // The directory is asked (exit 4 or 7) before the gate is armed.
            let on_file = safeguards::on_file(ctx, store, user, devices, purpose.nothing)?;
            arm_interrupt(ctx, user, purpose.nothing);
            let mut ch = GateChallenger {
                ctx,
                store: &mut *store,
                user,
                on_file,
                id: None,
            };
            let answers =
                prompt::identity_questions(&intro(user, devices, purpose), &chose, &mut ch);
            if !matches!(answers, Answers::Passed { .. }) {
                // Answered here: nothing is left for `close_gate`.
                disarm();
            }
            answers
        }
    };
    match answers {
        Answers::Passed { method, ticket } => Ok(NewCheck {
            method,
            ticket,
            recorded: None,
        }),
        Answers::Refused { method, why } => {
            store.record_identity_failure(user, "refused", method, None, &ctx.operator, now)?;
            Err(fail(
                Status::Identity,
                format!("identity check refused ({why}); {}", purpose.nothing),
            ))
        }
        Answers::Aborted { method, why } => {
            // SIGHUP or SIGTERM interrupts the prompt's read too; whichever
            // of the two sees it first, the operator reads the same cause.
            let why = termination_cause().unwrap_or(why);
            store.record_identity_failure(user, "aborted", method, None, &ctx.operator, now)?;
            Err(fail(
                Status::Identity,
                format!("identity check aborted ({why}); {}", purpose.nothing),
            ))
        }
    }
}

/// The prompt's challenge and callback steps, on this user's contacts.
struct GateChallenger<'a> {
    ctx: &'a Ctx,
    store: &'a mut Store,
    user: &'a UserRow,
    /// Contacts and numbers to call back (the directory's, when one is
    /// configured).
    on_file: safeguards::OnFile,
    id: Option<i64>,
}

impl prompt::Challenger for GateChallenger<'_> {
    fn contacts(&self) -> Vec<String> {
        self.on_file.contacts.iter().map(Contact::masked).collect()
    }

    fn send(&mut self, i: usize) -> Result<(), String> {
        let c = self
            .on_file
            .contacts
            .get(i)
            .ok_or("no such contact")?
            .clone();
        let id = safeguards::send_challenge(self.ctx, self.store, self.user, &c)
            .map_err(|e| format!("{e:#}"))?;
        self.id = Some(id);
        Ok(())
    }

    fn check(&mut self, answer: &str) -> prompt::ChallengeStep {
        let Some(id) = self.id else {
            return prompt::ChallengeStep::Failed("no challenge was sent".into());
        };
        match safeguards::check_challenge(self.ctx, self.store, self.user, id, answer) {
            Ok(ChallengeAnswer::Passed { .. }) => prompt::ChallengeStep::Passed,
            Ok(a @ ChallengeAnswer::Wrong { tries_left }) if tries_left > 0 => {
                prompt::ChallengeStep::Retry(safeguards::answer_problem(&a))
            }
            Ok(a) => prompt::ChallengeStep::Failed(safeguards::answer_problem(&a)),
            Err(e) => prompt::ChallengeStep::Failed(format!("{e:#}")),
        }
    }

    fn callback_numbers(&mut self) -> Vec<String> {
        let numbers = &self.on_file.callback;
        if !numbers.is_empty() {
            // Shown in full here only; recorded masked.
            let masked: Vec<String> = numbers.iter().map(|n| n.masked.clone()).collect();
            let _ = self.store.record_event(
                &self.ctx.operator,
                Some(&self.user.name),
                AuditEvent::CallbackNumberShown { numbers: &masked },
                self.ctx.now(),
            );
        }
        numbers.iter().map(|n| n.shown.clone()).collect()
    }
}

fn intro(user: &UserRow, devices: &[Device], purpose: &Purpose) -> String {
    let primary = rules::primary_device(devices)
        .map(output::device_line)
        .unwrap_or_else(|| "none (no device enrolled)".into());
    let mut s = format!(
        "Identity check for {}: {}.\n  primary device: {primary}\n",
        user.name, purpose.what
    );
    if let Some(h) = purpose.hint {
        s.push_str(&format!("  note: {h}\n"));
    }
    s.push_str(
        "  Verify the person in person or on a video call with photo ID, or call back the number\n  in the directory. Never use a number, photo or ticket that the caller supplies.",
    );
    s
}

/// A signal during the identity prompt, or after a pass until the change
/// it allows is about to be written ([`close_gate`]), aborts the check:
/// the prompt's wait wakes and returns `Aborted` (`prompt::ask`), and after
/// a pass `close_gate` finds the signal noted. Either way the main flow
/// records the aborted check, once, in the caller's store, with the method
/// already chosen, and ends with exit 3. Nothing has been written for this
/// change yet.
struct Armed {
    user: UserRow,
    operator: String,
    nothing: String,
    method: Option<IdentityMethod>,
}

/// The armed gate of this run, from the prompt until `close_gate`.
static ARMED: Mutex<Option<Armed>> = Mutex::new(None);

fn armed() -> std::sync::MutexGuard<'static, Option<Armed>> {
    ARMED.lock().unwrap_or_else(|e| e.into_inner())
}

/// The method the operator picked, for an abort after it.
fn chose(m: IdentityMethod) {
    if let Some(a) = armed().as_mut() {
        a.method = Some(m);
    }
}

fn disarm() {
    armed().take();
}

/// Call just before writing the change a passed check allows. A signal
/// noted since the prompt began aborts the check here: it is recorded in
/// `store` and the error (exit 3) says nothing was done. From here on a
/// signal no longer aborts, so an interrupt can never report "nothing
/// issued" for a change that was written.
pub fn close_gate(store: &mut Store) -> Result<()> {
    let Some(a) = armed().take() else {
        return Ok(());
    };
    let Some(sig) = crate::interrupt::pending() else {
        return Ok(());
    };
    let now = crate::clock::now();
    store.record_identity_failure(&a.user, "aborted", a.method, None, &a.operator, now)?;
    // The terminal may have echoed ^C: end its line first.
    prompt::restore_terminal();
    use std::io::Write;
    let _ = writeln!(std::io::stderr());
    Err(fail(
        Status::Identity,
        format!(
            "identity check aborted ({}); {}",
            crate::interrupt::cause(sig),
            a.nothing
        ),
    ))
}

/// The termination signal received, in the operator's words.
fn termination_cause() -> Option<&'static str> {
    match crate::interrupt::pending()? {
        s @ (libc::SIGHUP | libc::SIGTERM) => Some(crate::interrupt::cause(s)),
        _ => None,
    }
}

/// Arms the gate for the identity prompt: from here a signal (Ctrl-C, and
/// SIGHUP or SIGTERM, which otherwise end codedesk unrecorded) is noted
/// for the main flow rather than ending the run.
fn arm_interrupt(ctx: &Ctx, user: &UserRow, nothing: &str) {
    *armed() = Some(Armed {
        user: user.clone(),
        operator: ctx.operator.clone(),
        nothing: nothing.to_string(),
        method: None,
    });
    crate::interrupt::clear();
    crate::interrupt::set(|| {});
    crate::interrupt::arm_termination();
}

/// Records an attested check as refused and returns the error that ends
/// the command: "identity check refused (WHY); NOTHING", exit 3.
fn refused(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    method: IdentityMethod,
    ticket: &str,
    why: &str,
    nothing: &str,
) -> Result<anyhow::Error> {
    store.record_identity_failure(
        user,
        "refused",
        Some(method),
        Some(ticket),
        &ctx.operator,
        ctx.now(),
    )?;
    Ok(fail(
        Status::Identity,
        format!("identity check refused ({why}); {nothing}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incomplete_attestation_says_what_is_wrong_and_keeps_the_method() {
        let a = Attestation::from_flags(Some(IdentityMethod::InPerson), None);
        assert!(a.given.is_none() && a.attempted);
        assert_eq!(a.method, Some(IdentityMethod::InPerson));
        assert_eq!(
            a.problem.as_deref(),
            Some("--identity-verified was given without --ticket")
        );
        assert!(matches!(a.gate(true), Gate::Unattested(_)));

        let long = "x".repeat(80);
        let a = Attestation::from_flags(Some(IdentityMethod::VideoCall), Some(&long));
        assert_eq!(a.method, Some(IdentityMethod::VideoCall));
        assert!(a.ticket.is_none());
        let p = a.problem.unwrap();
        assert!(p.starts_with("--ticket: invalid ticket reference"), "{p}");

        let a = Attestation::from_flags(Some(IdentityMethod::Callback), Some("T\u{7}1"));
        assert!(a.problem.unwrap().starts_with("--ticket: "));

        let a = Attestation::from_flags(None, Some("INC-1"));
        assert_eq!(a.ticket.as_deref(), Some("INC-1"));
        assert_eq!(
            a.problem.as_deref(),
            Some("--ticket was given without --identity-verified")
        );
    }

    #[test]
    fn a_complete_attestation_or_none_is_as_before() {
        let a = Attestation::from_flags(Some(IdentityMethod::InPerson), Some(" INC-7 "));
        assert_eq!(
            a.given,
            Some((IdentityMethod::InPerson, "INC-7".to_string()))
        );
        assert!(a.problem.is_none());
        assert!(matches!(a.gate(true), Gate::Flags(Some(_))));
        let none = Attestation::from_flags(None, None);
        assert!(!none.attempted && none.problem.is_none());
        assert!(matches!(none.gate(true), Gate::Prompt));
        assert!(matches!(none.gate(false), Gate::Flags(None)));
    }
}
