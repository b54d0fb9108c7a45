//! `issue-codes`: a new set by the SMS path or the identity-gated helpdesk
//! path. The steps are shared with `--batch` (see `batch.rs`):
//! [`plan`] decides path and limits, [`prepare`] generates and hashes (the
//! slow, parallel part, touching no store), [`commit`] stores, delivers and
//! activates.

use super::user_arg;
use crate::audit::AuditEvent;
use crate::cli::{Format, IssueArgs};
use crate::codes::{self, Code, CodeHash, CodeSpec};
use crate::config::{MAX_CODES, SmsDelivery, parse_expiry};
use crate::context::Ctx;
use crate::delivery;
use crate::exit::{Status, fail};
use crate::identity::{Attestation, Gate, Purpose, close_gate, identity_gate};
use crate::model::{Device, Username, Via};
use crate::output;
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
    pub via: Via,
    pub device: Option<Device>,
    pub hint: Option<String>,
    pub count: u32,
    pub uses: u32,
    pub expires_at: Option<i64>,
    pub preserve_existing: bool,
    pub spec: CodeSpec,
    pub check: Option<NewCheck>,
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
    /// Only for the helpdesk path (rule 4); SMS codes are never shown (rule 3).
    pub codes: Option<Vec<Code>>,
    pub notify_error: Option<String>,
}

/// Decides the path and limits for one user, and passes (or records the
/// failure of) the identity gate for the helpdesk path.
pub fn plan(
    ctx: &Ctx,
    store: &mut Store,
    name: &Username,
    req: &Request,
    gate: Gate,
) -> Result<Plan> {
    let s = &ctx.settings;
    let user = store.require_user(name)?;
    // With a directory, codes go only to a user it still knows (exit 4);
    // one that cannot be asked stops issuance (exit 7).
    crate::directory::require_user(s, name.as_str(), "nothing issued")?;
    let devices = store.devices(user.id)?;
    let (via, device, hint) = match rules::choose_path(&devices, req.device, req.via)? {
        PathChoice::Sms(d) => (Via::Sms, Some(d), None),
        PathChoice::Helpdesk { hint } => (Via::Helpdesk, None, hint),
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
    let expires_at = expires.map(|d| now + d.as_secs() as i64);
    let mut plan = Plan {
        user,
        via,
        device,
        hint,
        count,
        uses,
        expires_at,
        preserve_existing: req.preserve_existing,
        spec: s.spec,
        check: None,
    };
    // Issue 13 (approvals.rs): an approved request stands in for the
    // identity check and the quota; beyond the quota, refused here.
    let approved = crate::approvals::before_gate(
        ctx,
        store,
        &plan.user,
        req.approval_request,
        req.ask_approval,
    )?;
    if let Some(a) = approved {
        if via == Via::Helpdesk {
            plan.check = Some(a.check.ok_or_else(|| {
                fail(
                    Status::Identity,
                    "the approved request holds no identity check for helpdesk codes; nothing issued",
                )
            })?);
        }
    } else if via == Via::Helpdesk {
        let purpose = Purpose {
            what: "helpdesk bypass codes",
            nothing: "nothing issued",
            hint: plan.hint.as_deref(),
        };
        plan.check = Some(identity_gate(
            ctx, store, &plan.user, &devices, &purpose, gate,
        )?);
        // Issue 13: a privileged user, or one more set beyond the quota,
        // waits for a second principal (exit 10).
        crate::approvals::after_gate(ctx, store, &plan.user, via, plan.check.as_ref())?;
    } else if s.sms.is_none() {
        let why = "no SMS delivery is configured (set sms.command or sms.outbox)";
        store.record_event(
            &ctx.operator,
            Some(&plan.user.name),
            AuditEvent::DeliveryFailed {
                set: None,
                challenge: None,
                reason: why,
            },
            now,
        )?;
        return Err(fail(
            Status::Delivery,
            format!("{}: {why}; nothing changed", plan.user.name),
        ));
    } else {
        crate::approvals::after_gate(ctx, store, &plan.user, via, None)?;
    }
    Ok(plan)
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
        via: plan.via,
        device_id: plan.device.as_ref().map(|d| d.id),
        expires_at: plan.expires_at,
        uses: plan.uses,
        spec: plan.spec,
        salt: prep.salt.to_vec(),
        params: s.hash,
        hashes: prep.hashes,
        preserve_existing: plan.preserve_existing,
        cap: MAX_CODES,
    };
    let (issued, codes) = match plan.via {
        Via::Helpdesk => {
            close_gate(store)?;
            // Pending until the operator has been shown the codes: see `go_live`.
            let issued = store.insert_set(
                &plan.user,
                &new,
                plan.check.as_ref(),
                false,
                &ctx.operator,
                now,
            )?;
            (issued, Some(prep.codes))
        }
        Via::Sms => {
            let (Some(how), Some(device)) = (&s.sms, &plan.device) else {
                return Err(fail(Status::Delivery, "no SMS delivery is configured"));
            };
            let phone = device.phone.as_ref().ok_or_else(|| {
                fail(
                    Status::Delivery,
                    format!("device {} has no phone number", device.id),
                )
            })?;
            let mut issued = store.insert_set(&plan.user, &new, None, false, &ctx.operator, now)?;
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
            (issued, None)
        }
    };
    // A helpdesk set is not live yet: `go_live` tells notify.command.
    let notify_error = match codes {
        None => notify(ctx, store, "codes-issued", &plan.user.name),
        Some(_) => None,
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
    if o.codes.is_none() {
        return e;
    }
    let why = format!("the codes could not be shown ({})", one_line(&e));
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
    if o.codes.is_none() {
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
    o.notify_error = notify(ctx, store, "codes-issued", &o.plan.user.name);
    Ok(())
}

/// An error's whole chain on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`notify`] for a single command: a failure is a warning on standard
/// error; the change stands.
pub fn notify_or_warn(ctx: &Ctx, store: &mut Store, event: &str, user: &str) {
    if let Some(e) = notify(ctx, store, event, user) {
        output::eprose(&format!("codedesk: warning: {e}"));
    }
}

/// Tells the user's contacts on file (`safeguards::notify_user`), then runs
/// `notify.command EVENT USER`; a failure is audited and returned for the
/// operator but undoes nothing.
pub fn notify(ctx: &Ctx, store: &mut Store, event: &str, user: &str) -> Option<String> {
    let told = crate::safeguards::notify_user(ctx, store, event, user);
    if let Some(why) = &told {
        let _ = store.record_event(
            &ctx.operator,
            Some(user),
            AuditEvent::NotifyFailed { event, reason: why },
            ctx.now(),
        );
    }
    match notify_command(ctx, store, event, user) {
        Some(e) => Some(told.map_or(e.clone(), |t| format!("{t}; {e}"))),
        None => told,
    }
}

/// Only `notify.command` (an event users get no notice about).
pub fn notify_command_only(
    ctx: &Ctx,
    store: &mut Store,
    event: &str,
    user: &str,
) -> Option<String> {
    notify_command(ctx, store, event, user)
}

fn notify_command(ctx: &Ctx, store: &mut Store, event: &str, user: &str) -> Option<String> {
    let cmd = ctx.settings.notify.as_ref()?;
    let err = delivery::notify(cmd, event, user, ctx.settings.sms_timeout).err()?;
    let _ = store.record_event(
        &ctx.operator,
        Some(user),
        AuditEvent::NotifyFailed {
            event,
            reason: &err,
        },
        ctx.now(),
    );
    Some(err)
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
            via: o.plan.via.as_str(),
            batch: o.set_id,
            count: o.plan.count,
            expires_at: o.plan.expires_at.map(output::ts),
            codes: o.codes.as_ref().map(|cs| {
                cs.iter()
                    .map(|c| codes::format(o.plan.spec.alphabet, c).to_string())
                    .collect()
            }),
            uses: o.plan.uses,
            device: o.plan.device.as_ref().map(|d| d.id),
            identity_check: o.check_id,
            invalidated: o.ended.clone(),
        }
    }
}

/// Writes one outcome in the chosen format (CSV rows without a header).
pub fn render(ctx: &Ctx, o: &Outcome, out: &mut dyn Write, csv_width: usize) -> Result<()> {
    let alphabet = o.plan.spec.alphabet;
    match ctx.format {
        Format::Json => {
            let j = IssuedJson::from(o);
            output::json_line(out, &j)?;
        }
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            let mut row = vec![
                o.plan.user.name.clone(),
                o.plan.via.as_str().to_string(),
                o.set_id.to_string(),
                o.plan.expires_at.map(output::ts).unwrap_or_default(),
            ];
            if let Some(cs) = &o.codes {
                row.extend(cs.iter().map(|c| codes::format(alphabet, c).to_string()));
            }
            row.resize(4 + csv_width, String::new());
            w.write_record(output::csv_safe(&row))?;
            w.flush()?;
        }
        Format::Text if o.codes.is_some() => {
            let cs = o.codes.as_deref().unwrap_or_default();
            output::code_card(
                out,
                &o.plan.user.name,
                o.set_id,
                ctx.now(),
                o.plan.expires_at,
                o.plan.uses,
                o.plan.spec,
                cs,
            )?;
        }
        _ if ctx.quiet => {
            if let Some(cs) = &o.codes {
                for c in cs {
                    writeln!(out, "{}", codes::format(alphabet, c).as_str())?;
                }
            } else {
                writeln!(out, "{}", o.set_id)?;
            }
        }
        _ => match &o.codes {
            Some(cs) => {
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
            None => {
                let d = o.plan.device.as_ref();
                output::prose(
                    out,
                    &format!(
                        "Texted {} new codes (set {}) to {}'s {}; you will not see them.",
                        o.plan.count,
                        o.set_id,
                        o.plan.user.name,
                        d.map(output::device_line).unwrap_or_default()
                    ),
                )?;
                ended_line(o, out)?;
            }
        },
    }
    Ok(())
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

pub fn run(ctx: &Ctx, a: IssueArgs, out: &mut dyn Write) -> Result<Status> {
    let req = Request::from_args(&a)?;
    warn_if_weak(ctx);
    // Whatever goes to standard output may be codes.
    crate::output::private_stdout();
    let name = user_arg(a.user.as_deref().unwrap_or_default())?;
    let mut store = ctx.open_store()?;
    let gate = req.attestation.gate(ctx.interactive);
    let plan = match plan(ctx, &mut store, &name, &req, gate) {
        Ok(p) => p,
        // Issue 13: the request's id on standard output, exit 10.
        Err(e) => match crate::approvals::waiting_request(&e) {
            Some(r) => {
                crate::approvals::render_waiting(ctx, r, out)?;
                output::eprose(&format!("codedesk: {e:#}"));
                return Ok(Status::WaitingForApproval);
            }
            None => return Err(e),
        },
    };
    if let Some(h) = &plan.hint
        && !ctx.quiet
    {
        output::eprose(&format!("hint: {h}"));
    }
    let prep = prepare(ctx, &plan)?;
    let mut outcome = commit(ctx, &mut store, plan, prep)?;
    let shown = (|| -> Result<()> {
        let width = outcome.plan.count as usize;
        if ctx.format == Format::Csv {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(csv_header(width))?;
            w.flush()?;
        }
        render(ctx, &outcome, out, width)?;
        out.flush()?;
        Ok(())
    })();
    if let Err(e) = shown {
        return Err(not_shown(ctx, &mut store, &outcome, e));
    }
    go_live(ctx, &mut store, &mut outcome)?;
    if let Some(e) = &outcome.notify_error {
        output::eprose(&format!("codedesk: warning: {e} (the codes were issued)"));
    }
    if let Some(SmsDelivery::Outbox(p)) = &ctx.settings.sms
        && outcome.plan.via == Via::Sms
        && !ctx.quiet
        && ctx.format == Format::Table
    {
        writeln!(
            out,
            "(SMS path configured as an outbox file: {})",
            p.display()
        )?;
    }
    Ok(Status::Ok)
}
