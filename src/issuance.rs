//! One issuance path, shared by a one-user `issue-codes` (`commands/issue.rs`)
//! and every row of `issue-codes --batch` (`commands/batch.rs`):
//!
//! 1. [`plan`]: decide the path (SMS or helpdesk, a [`PathChoice`]) and the
//!    limits, pass the identity gate (helpdesk path), then [`admit`] (the
//!    hook for checks that may hold an issuance back);
//! 2. [`prepare`]: generate and hash the codes (the slow, parallel part,
//!    touching no store);
//! 3. [`commit`]: store the set pending; for SMS, deliver it and activate it;
//! 4. [`publish`]: write the outcome out ([`render`]), and only then put a
//!    helpdesk set live ([`go_live`]); if it could not be written,
//!    [`not_shown`] fails the set instead;
//! 5. [`notify_warning`]: a failed notification is a warning, the codes stand.

use crate::audit::AuditEvent;
use crate::cli::IssueArgs;
use crate::codes::{self, Code, CodeHash, CodeSpec};
use crate::config::{MAX_CODES, parse_expiry};
use crate::context::Ctx;
use crate::delivery;
use crate::exit::{Status, fail};
use crate::identity::{Attestation, Gate, Purpose, close_gate, identity_gate};
use crate::model::{Device, Username, Via};
use crate::output::{self, Card, Human, Record};
use crate::rules::{self, PathChoice};
use crate::store::{NewCheck, NewSet, Store, UserRow};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use std::time::Duration;

/// What the operator asked for, before looking at the user.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub count: Option<u32>,
    pub device: Option<i64>,
    pub via: Option<Via>,
    /// `Some(None)` is an explicit `never`.
    pub expires: Option<Option<Duration>>,
    pub uses: Option<u32>,
    pub preserve_existing: bool,
    pub attestation: Attestation,
    /// Issue 13 (approvals.rs): `--request ID`, an approved request to
    /// spend, and `--ask-approval`.
    pub approval_request: Option<i64>,
    pub ask_approval: bool,
}

impl Request {
    pub fn from_args(a: &IssueArgs) -> Result<Request> {
        let expires = a
            .expires
            .as_deref()
            .map(|e| parse_expiry(e).map_err(|m| fail(Status::Usage, format!("--expires: {m}"))))
            .transpose()?;
        let attestation = Attestation::from_flags(a.identity_verified, a.ticket.as_deref())
            .with_challenge(a.challenge);
        if let Some(c) = a.count
            && !(1..=MAX_CODES).contains(&c)
        {
            return Err(fail(
                Status::Usage,
                format!("--count {c} is out of range: 1 to {MAX_CODES} codes"),
            ));
        }
        if let Some(u) = a.uses
            && !(1..=100).contains(&u)
        {
            return Err(fail(
                Status::Usage,
                format!("--uses {u} is out of range: 1 to 100"),
            ));
        }
        Ok(Request {
            count: a.count,
            device: a.device,
            via: a.via,
            expires,
            uses: a.uses,
            preserve_existing: a.preserve_existing,
            attestation,
            approval_request: a.request,
            ask_approval: a.ask_approval,
        })
    }
}

/// A decided issuance for one user: everything but the codes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub user: UserRow,
    /// How the set reaches the user: everything path-dependent is decided
    /// from this, never from whether codes are at hand.
    pub path: PathChoice,
    pub count: u32,
    pub uses: u32,
    pub expires_at: Option<i64>,
    pub preserve_existing: bool,
    pub spec: CodeSpec,
    pub check: Option<NewCheck>,
}

impl Plan {
    pub fn via(&self) -> Via {
        match self.path {
            PathChoice::Sms(_) => Via::Sms,
            PathChoice::Helpdesk { .. } => Via::Helpdesk,
        }
    }

    /// The phone an SMS set goes to.
    pub fn device(&self) -> Option<&Device> {
        match &self.path {
            PathChoice::Sms(d) => Some(d),
            PathChoice::Helpdesk { .. } => None,
        }
    }

    /// Another device that could receive SMS, for a helpdesk set.
    pub fn hint(&self) -> Option<&str> {
        match &self.path {
            PathChoice::Sms(_) => None,
            PathChoice::Helpdesk { hint } => hint.as_deref(),
        }
    }
}

/// Generated codes and their hashes for a plan.
pub struct Prepared {
    pub codes: Vec<Code>,
    pub salt: [u8; codes::SALT_LEN],
    pub hashes: Vec<CodeHash>,
}

/// What was issued.
pub struct Outcome {
    pub plan: Plan,
    pub set_id: i64,
    pub check_id: Option<i64>,
    pub ended: Vec<i64>,
    /// The codes to show: kept only on the helpdesk path (rule 4); SMS codes
    /// are never shown (rule 3), so this is empty there.
    pub codes: Vec<Code>,
    pub notify_error: Option<String>,
}

impl Outcome {
    /// The codes the operator is shown: `None` on the SMS path.
    pub fn shown(&self) -> Option<&[Code]> {
        match self.plan.path {
            PathChoice::Helpdesk { .. } => Some(&self.codes),
            PathChoice::Sms(_) => None,
        }
    }
}

/// Plans one user's issuance: [`decide`] the path and limits, pass the
/// identity [`gate`] (or find the SMS path unconfigured), then [`admit`].
/// Whatever fails here changes no set: nothing was generated yet.
pub fn plan(
    ctx: &Ctx,
    store: &mut Store,
    name: &Username,
    req: &Request,
    gate: Gate,
) -> Result<Plan> {
    let (mut plan, devices) = decide(ctx, store, name, req)?;
    // Issue 13 (approvals.rs): an approved request (`--request`) stands in
    // for the identity gate and the quota; beyond the quota without
    // `--ask-approval`, refused here (exit 9) before the gate.
    let approved = crate::approvals::before_gate(
        ctx,
        store,
        &plan.user,
        req.approval_request,
        req.ask_approval,
    )?;
    match approved {
        Some(a) => {
            if plan.via() == Via::Helpdesk {
                plan.check = Some(a.check.ok_or_else(|| {
                    fail(
                        Status::Identity,
                        "the approved request holds no identity check for helpdesk codes; nothing issued",
                    )
                })?);
            }
        }
        None => {
            self::gate(ctx, store, &mut plan, &devices, gate)?;
            admit(ctx, store, &plan)?;
        }
    }
    Ok(plan)
}

/// The hook for checks that may hold back a planned issuance after its
/// identity gate passed and before any code is generated or stored (issue
/// 13: a second principal's approval for privileged users, exit 10 "waiting
/// for approval"; a per-operator quota). Return `Err(fail(status, why))` to
/// stop this user: a one-user `issue-codes` exits with that status, and a
/// `--batch` row is reported failed with it while the run goes on. Both
/// paths reach it through [`plan`] and nowhere else.
pub fn admit(ctx: &Ctx, store: &mut Store, plan: &Plan) -> Result<()> {
    // A privileged user's helpdesk codes, or one more set beyond the
    // quota, record a request and wait (exit 10): approvals.rs.
    crate::approvals::after_gate(ctx, store, &plan.user, plan.via(), plan.check.as_ref())
}

/// The path (rules 3 and 4) and the limits for one user, with the user's
/// devices for the identity gate. Checks what it can before the gate.
fn decide(
    ctx: &Ctx,
    store: &mut Store,
    name: &Username,
    req: &Request,
) -> Result<(Plan, Vec<Device>)> {
    let s = &ctx.settings;
    let user = store.require_user(name)?;
    // With a directory, codes go only to a user it still knows (exit 4);
    // one that cannot be asked stops issuance (exit 7).
    crate::directory::require_user(s, name.as_str(), "nothing issued")?;
    let devices = store.devices(user.id)?;
    let path = rules::choose_path(&devices, req.device, req.via)?;
    let via = match path {
        PathChoice::Sms(_) => Via::Sms,
        PathChoice::Helpdesk { .. } => Via::Helpdesk,
    };
    let count = req.count.unwrap_or(s.count);
    let mut uses = req.uses.unwrap_or(s.uses);
    let mut expires = match (req.expires, via) {
        (Some(e), _) => e,
        (None, Via::Helpdesk) => s.helpdesk_default_expires.or(s.expires),
        (None, Via::Sms) => s.expires,
    };
    if via == Via::Helpdesk {
        if let Some(max) = s.helpdesk_max_expires {
            match expires {
                Some(e) if e <= max => {}
                _ if req.expires.is_none() => expires = Some(max),
                _ => {
                    return Err(fail(
                        Status::Usage,
                        format!(
                            "helpdesk codes may last at most {} (helpdesk.max_expires)",
                            humantime::format_duration(max)
                        ),
                    ));
                }
            }
        }
        if let Some(max) = s.helpdesk_max_uses
            && uses > max
        {
            // Like the expiry: the limit caps the configured default, and
            // refuses only what the operator asked for explicitly.
            if req.uses.is_none() {
                uses = max;
            } else {
                return Err(fail(
                    Status::Usage,
                    format!(
                        "helpdesk codes may be used at most {max} time(s) each (helpdesk.max_uses)"
                    ),
                ));
            }
        }
    }
    if u64::from(count) * u64::from(uses) > u64::from(MAX_CODES) {
        return Err(fail(
            Status::Usage,
            format!(
                "a set may hold at most {MAX_CODES} code uses (--count {count} x --uses {uses}); nothing issued"
            ),
        ));
    }
    let now = ctx.now();
    if req.preserve_existing {
        // Checked before the identity gate, hashing or delivery, so a
        // refusal changes nothing (the store re-checks under its lock).
        let live = store.user_summary(name)?.codes_remaining(now);
        let adding = i64::from(count) * i64::from(uses);
        if live + adding > i64::from(MAX_CODES) {
            return Err(fail(
                Status::Usage,
                format!(
                    "{}: --preserve-existing would leave {} live code uses ({live} now, {adding} new), above the cap of {MAX_CODES}; revoke a set first; nothing issued",
                    user.name,
                    live + adding
                ),
            ));
        }
    }
    let expires_at = expires
        .map(|d| {
            i64::try_from(d.as_secs())
                .ok()
                .and_then(|d| now.checked_add(d))
                .ok_or_else(|| fail(Status::Usage, "--expires: too far in the future"))
        })
        .transpose()?;
    let plan = Plan {
        user,
        path,
        count,
        uses,
        expires_at,
        preserve_existing: req.preserve_existing,
        spec: s.spec,
        check: None,
    };
    Ok((plan, devices))
}

/// The helpdesk path's identity gate (its passed check goes into the plan);
/// on the SMS path, a refusal when no SMS delivery is configured.
fn gate(
    ctx: &Ctx,
    store: &mut Store,
    plan: &mut Plan,
    devices: &[Device],
    gate: Gate,
) -> Result<()> {
    if let PathChoice::Helpdesk { hint } = &plan.path {
        let purpose = Purpose {
            what: "helpdesk bypass codes",
            nothing: "nothing issued",
            hint: hint.as_deref(),
        };
        plan.check = Some(identity_gate(
            ctx, store, &plan.user, devices, &purpose, gate,
        )?);
    } else if ctx.settings.sms.is_none() {
        let why = "no SMS delivery is configured (set sms.command or sms.outbox)";
        store.record_event(
            &ctx.operator,
            Some(&plan.user.name),
            AuditEvent::DeliveryFailed {
                set: None,
                challenge: None,
                reason: why,
            },
            ctx.now(),
        )?;
        return Err(fail(
            Status::Delivery,
            format!("{}: {why}; nothing changed", plan.user.name),
        ));
    }
    Ok(())
}

/// Generates and hashes a plan's codes on every core. Touches no store.
pub fn prepare(ctx: &Ctx, plan: &Plan) -> Result<Prepared> {
    let codes = codes::generate(plan.spec, plan.count as usize)?;
    let salt = codes::new_salt()?;
    let hashes = codes::hash_codes(&ctx.settings.hash, &salt, &codes)?;
    Ok(Prepared {
        codes,
        salt,
        hashes,
    })
}

/// Stores the set; for SMS, delivers it and only then activates it.
pub fn commit(ctx: &Ctx, store: &mut Store, plan: Plan, prep: Prepared) -> Result<Outcome> {
    let s = &ctx.settings;
    let now = ctx.now();
    let new = NewSet {
        via: plan.via(),
        device_id: plan.device().map(|d| d.id),
        expires_at: plan.expires_at,
        uses: plan.uses,
        spec: plan.spec,
        salt: prep.salt.to_vec(),
        params: s.hash,
        hashes: prep.hashes,
        preserve_existing: plan.preserve_existing,
        cap: MAX_CODES,
    };
    let (issued, codes, notify_error) = match &plan.path {
        PathChoice::Helpdesk { .. } => {
            close_gate(store)?;
            // Pending until the operator has been shown the codes: see
            // `go_live`, which also tells notify.command.
            let issued =
                store.insert_set(&plan.user, &new, plan.check.as_ref(), &ctx.operator, now)?;
            (issued, prep.codes, None)
        }
        PathChoice::Sms(device) => {
            let Some(how) = &s.sms else {
                return Err(fail(Status::Delivery, "no SMS delivery is configured"));
            };
            let phone = device.phone.as_ref().ok_or_else(|| {
                fail(
                    Status::Delivery,
                    format!("device {} has no phone number", device.id),
                )
            })?;
            let mut issued = store.insert_set(&plan.user, &new, None, &ctx.operator, now)?;
            let message = delivery::sms_message(
                &plan.user.name,
                plan.spec,
                &prep.codes,
                plan.uses,
                plan.expires_at,
            );
            drop(prep.codes);
            if let Err(why) = delivery::deliver(how, phone, &message, s.sms_timeout) {
                store.fail_set(&plan.user, issued.set_id, &why, &ctx.operator, ctx.now())?;
                return Err(fail(
                    Status::Delivery,
                    format!(
                        "{}: delivery failed: {why}; the new set was not activated and the old codes still work",
                        plan.user.name
                    ),
                ));
            }
            issued.ended = store.activate_set(
                &plan.user,
                issued.set_id,
                plan.preserve_existing,
                MAX_CODES,
                &ctx.operator,
                ctx.now(),
            )?;
            let notify_error = delivery::notify(
                ctx,
                store,
                "codes-issued",
                &plan.user.name,
                delivery::Recipients::OnFile,
            );
            (issued, Vec::new(), notify_error)
        }
    };
    Ok(Outcome {
        plan,
        set_id: issued.set_id,
        check_id: issued.check_id,
        ended: issued.ended,
        codes,
        notify_error,
    })
}

/// The operator's screen is where helpdesk codes are delivered, so a
/// helpdesk set goes live only once its codes were written out (`commit`
/// leaves it pending). When they could not be (a closed pipe, a full
/// disk), this marks the set failed, so that codes nobody saw never void
/// the user's earlier ones, and returns the error to report: exit 6, as
/// for a text message that could not be sent. An SMS set is live already
/// (its codes went to the phone); the write error is returned as it is.
pub fn not_shown(ctx: &Ctx, store: &mut Store, o: &Outcome, e: anyhow::Error) -> anyhow::Error {
    if o.shown().is_none() {
        return e;
    }
    let why = format!("the codes could not be shown ({})", delivery::one_line(&e));
    if let Err(f) = store.fail_set(&o.plan.user, o.set_id, &why, &ctx.operator, ctx.now()) {
        return f.context(format!("{}: {why}", o.plan.user.name));
    }
    fail(
        Status::Delivery,
        format!(
            "{}: {why}; set {} was not activated and the earlier codes still work",
            o.plan.user.name, o.set_id
        ),
    )
}

/// Activates a helpdesk set whose codes were shown (see [`not_shown`]),
/// ending the user's earlier sets (rule 6), and tells `notify.command`.
/// Nothing to do for an SMS set, which `commit` activated on delivery.
pub fn go_live(ctx: &Ctx, store: &mut Store, o: &mut Outcome) -> Result<()> {
    if o.shown().is_none() {
        return Ok(());
    }
    let ended = store.activate_set(
        &o.plan.user,
        o.set_id,
        o.plan.preserve_existing,
        MAX_CODES,
        &ctx.operator,
        ctx.now(),
    )?;
    if ended != o.ended && !ctx.quiet {
        let ids: Vec<String> = ended.iter().map(i64::to_string).collect();
        output::eprose(&format!(
            "codedesk: note: {}'s earlier codes invalidated: set {} (another set was issued meanwhile)",
            o.plan.user.name,
            ids.join(", ")
        ));
    }
    o.ended = ended;
    o.notify_error = delivery::notify(
        ctx,
        store,
        "codes-issued",
        &o.plan.user.name,
        delivery::Recipients::OnFile,
    );
    Ok(())
}

/// Why [`publish`] stopped short of a live set.
pub enum Unpublished {
    /// The outcome could not be written out (a closed pipe, a full disk):
    /// [`not_shown`] failed a helpdesk set, and no later output can reach
    /// anyone either.
    NotShown(anyhow::Error),
    /// Written out, but the set could not be activated.
    NotLive(anyhow::Error),
}

impl Unpublished {
    pub fn into_error(self) -> anyhow::Error {
        match self {
            Unpublished::NotShown(e) | Unpublished::NotLive(e) => e,
        }
    }
}

/// After [`commit`]: `show` writes the outcome out (and flushes it), and
/// only then does a helpdesk set go live ([`go_live`]); when it could not
/// be written, the set is failed instead ([`not_shown`]).
pub fn publish(
    ctx: &Ctx,
    store: &mut Store,
    o: &mut Outcome,
    show: impl FnOnce(&Outcome) -> Result<()>,
) -> std::result::Result<(), Unpublished> {
    if let Err(e) = show(o) {
        return Err(Unpublished::NotShown(not_shown(ctx, store, o, e)));
    }
    go_live(ctx, store, o).map_err(Unpublished::NotLive)
}

/// A notification that failed after the codes were issued, as the warning
/// to print (naming the user when `name_user`, as `--batch` does).
pub fn notify_warning(o: &Outcome, name_user: bool) -> Option<String> {
    let e = o.notify_error.as_ref()?;
    Some(if name_user {
        format!(
            "codedesk: warning: {}: {e} (the codes were issued)",
            o.plan.user.name
        )
    } else {
        format!("codedesk: warning: {e} (the codes were issued)")
    })
}

/// `issue-codes` as its documented JSON object.
#[derive(Serialize)]
pub struct IssuedJson {
    pub user: String,
    pub via: &'static str,
    pub batch: i64,
    pub count: u32,
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<String>>,
    pub uses: u32,
    pub device: Option<i64>,
    pub identity_check: Option<i64>,
    pub invalidated: Vec<i64>,
}

impl IssuedJson {
    pub fn from(o: &Outcome) -> IssuedJson {
        IssuedJson {
            user: o.plan.user.name.clone(),
            via: o.plan.via().as_str(),
            batch: o.set_id,
            count: o.plan.count,
            expires_at: o.plan.expires_at.map(output::ts),
            codes: o.shown().map(|cs| {
                cs.iter()
                    .map(|c| codes::format(o.plan.spec.alphabet, c).to_string())
                    .collect()
            }),
            uses: o.plan.uses,
            device: o.plan.device().map(|d| d.id),
            identity_check: o.check_id,
            invalidated: o.ended.clone(),
        }
    }
}

/// One outcome as the sink writes it: [`IssuedJson`], a CSV row of `csv_width`
/// code columns (under [`csv_header`]), or text for the operator.
pub struct Issued<'a> {
    pub ctx: &'a Ctx,
    pub outcome: &'a Outcome,
    pub csv_width: usize,
}

impl Record for Issued<'_> {
    fn json(&self) -> impl Serialize + '_ {
        IssuedJson::from(self.outcome)
    }

    fn csv(&self) -> Vec<Vec<String>> {
        let o = self.outcome;
        let mut row = vec![
            o.plan.user.name.clone(),
            o.plan.via().as_str().to_string(),
            o.set_id.to_string(),
            o.plan.expires_at.map(output::ts).unwrap_or_default(),
        ];
        if let Some(cs) = o.shown() {
            row.extend(
                cs.iter()
                    .map(|c| codes::format(o.plan.spec.alphabet, c).to_string()),
            );
        }
        row.resize(4 + self.csv_width, String::new());
        vec![row]
    }

    fn human(&self, out: &mut dyn Write, how: Human, quiet: bool) -> Result<()> {
        let (ctx, o) = (self.ctx, self.outcome);
        let alphabet = o.plan.spec.alphabet;
        match (how, o.shown()) {
            (Human::Text, Some(cs)) => output::code_card(
                out,
                &Card {
                    user: &o.plan.user.name,
                    set_id: o.set_id,
                    now: ctx.now(),
                    expires_at: o.plan.expires_at,
                    uses: o.plan.uses,
                    spec: o.plan.spec,
                    codes: cs,
                },
            )?,
            (_, Some(cs)) if quiet => {
                for c in cs {
                    writeln!(out, "{}", codes::format(alphabet, c).as_str())?;
                }
            }
            (_, None) if quiet => writeln!(out, "{}", o.set_id)?,
            (_, Some(cs)) => {
                let check = o.plan.check.as_ref();
                output::prose(
                    out,
                    &format!(
                        "Identity check {} passed: {}, ticket {}, operator {}.",
                        o.check_id.unwrap_or_default(),
                        check.map(|c| c.method.as_str()).unwrap_or("?"),
                        check.map(|c| c.ticket.as_str()).unwrap_or("?"),
                        ctx.operator
                    ),
                )?;
                output::prose(
                    out,
                    &format!(
                        "Bypass codes for {} (set {}, {} codes, {}, expires {}). Shown once: hand them over now.",
                        o.plan.user.name,
                        o.set_id,
                        cs.len(),
                        if o.plan.uses == 1 {
                            "each works once".to_string()
                        } else {
                            format!("each works {} times", o.plan.uses)
                        },
                        output::ts_opt(o.plan.expires_at)
                    ),
                )?;
                for (i, c) in cs.iter().enumerate() {
                    writeln!(
                        out,
                        "  {:>2}. {}",
                        i + 1,
                        codes::format(alphabet, c).as_str()
                    )?;
                }
                let expires = o.plan.expires_at.map(output::ts);
                let advice = rules::keep_codes_advice(o.plan.uses, expires.as_deref());
                output::prose(out, &format!("Tell the user: {advice}"))?;
                ended_line(o, out)?;
            }
            (_, None) => {
                output::prose(
                    out,
                    &format!(
                        "Texted {} new codes (set {}) to {}'s {}; you will not see them.",
                        o.plan.count,
                        o.set_id,
                        o.plan.user.name,
                        o.plan.device().map(output::device_line).unwrap_or_default()
                    ),
                )?;
                ended_line(o, out)?;
            }
        }
        Ok(())
    }
}

fn ended_line(o: &Outcome, out: &mut dyn Write) -> Result<()> {
    if !o.ended.is_empty() {
        let ids: Vec<String> = o.ended.iter().map(|i| i.to_string()).collect();
        writeln!(out, "Earlier codes invalidated (set {}).", ids.join(", "))?;
    } else if o.plan.preserve_existing {
        writeln!(out, "Earlier codes kept (--preserve-existing).")?;
    }
    Ok(())
}

pub fn csv_header(width: usize) -> Vec<String> {
    let mut h: Vec<String> = ["user", "via", "batch", "expires_at"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    h.extend((1..=width).map(|i| format!("code{i}")));
    h
}

/// Codes below NIST SP 800-63B-4's 64-bit floor for saved recovery codes
/// (short base32, or Duo-style digits) are allowed, but never silently.
pub fn warn_if_weak(ctx: &Ctx) {
    let spec = ctx.settings.spec;
    let bits = spec.alphabet.entropy_bits(spec.length);
    if bits < 64.0 {
        output::eprose(&format!(
            "codedesk: warning: {} codes of {} symbols carry {bits:.0} random bits, below the 64-bit floor for saved recovery codes; they rely on lockout",
            spec.alphabet.name(),
            spec.length
        ));
    }
}
