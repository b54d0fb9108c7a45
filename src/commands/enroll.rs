//! `enroll-device`: add a device, creating the user on first enrolment;
//! `--batch` adds many in one transaction, all or none.

use super::{read_batch_csv, read_input, user_arg};
use crate::audit::AuditEvent;
use crate::cli::EnrollArgs;
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::identity::{Attestation, Purpose, close_gate, identity_gate};
use crate::model::{DeviceKind, Phone, Username, parse_text};
use crate::output::{self, Human, Record, Sink, device_json};
use crate::rules;
use crate::store::{Enrolled, NewCheck, NewDevice};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Validates one device from operator input.
pub fn new_device(
    kind: DeviceKind,
    phone: Option<&str>,
    sms: Option<bool>,
    label: Option<&str>,
    primary: bool,
) -> Result<NewDevice> {
    let sms = rules::sms_capability(kind, sms)?;
    let phone = match (
        kind.has_phone(),
        phone.map(str::trim).filter(|p| !p.is_empty()),
    ) {
        (true, Some(p)) => Some(Phone::parse(p)?),
        (true, None) => {
            return Err(fail(
                Status::Usage,
                format!("a {} needs --phone", kind.as_str()),
            ));
        }
        (false, Some(_)) => {
            return Err(fail(
                Status::Usage,
                format!("a {} has no phone number: drop --phone", kind.as_str()),
            ));
        }
        (false, None) => None,
    };
    let label = match label {
        Some(l) if !l.is_empty() => Some(parse_text("label", l)?),
        _ => None,
    };
    Ok(NewDevice {
        kind,
        phone,
        sms,
        label,
        primary,
        directory: None,
    })
}

/// What the identity gate is for when enrolling.
const PURPOSE: Purpose<'static> = Purpose {
    what: "a new device (it changes where this user's backup codes go)",
    nothing: "nothing enrolled",
    hint: None,
};

pub fn run(ctx: &Ctx, a: EnrollArgs, out: &mut dyn Write) -> Result<Status> {
    let attested = Attestation::from_flags(a.identity_verified, a.ticket.as_deref())
        .with_challenge(a.challenge);
    if let Some(path) = &a.batch {
        if attested.challenge.is_some() {
            return Err(fail(
                Status::Usage,
                "--challenge is for one user: not with --batch",
            ));
        }
        return batch(ctx, path, &attested, out);
    }
    let user = user_arg(a.user.as_deref().unwrap_or_default())?;
    let kind = a
        .kind
        .ok_or_else(|| fail(Status::Usage, "--kind is required"))?;
    let sms = match (a.sms, a.no_sms) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let mut new = new_device(kind, a.phone.as_deref(), sms, a.label.as_deref(), a.primary)?;
    // With a directory: the user must be in it (exit 4), and a number
    // that is not one of theirs there needs the identity check.
    let off_file = directory_check(ctx, &user, &mut new)?;
    let email = a
        .email
        .as_deref()
        .map(crate::safeguards::parse_email)
        .transpose()?;
    let mut store = ctx.open_store()?;
    // A first device comes from onboarding; a device added to an existing
    // user is what a caller impersonating them would ask for, so it is gated.
    let check = match store.find_user(&user)? {
        Some(existing) => {
            // Said before the identity check, so the operator weighs it
            // while checking ("my new phone" may be somebody else's); how
            // many, not who, so no name is read out to a caller who has
            // not been verified. The names follow once it is enrolled.
            if let Some(phone) = &new.phone {
                let (others, more) = store.users_sharing_phone(phone, &user)?;
                warn_shared_before_check(phone, others.len(), more);
            }
            // Issue 13 (approvals.rs): an approved request stands in for
            // the identity check; a privileged user's new device waits
            // for a second principal (exit 10).
            if a.request.is_some() {
                crate::approvals::enrolment(ctx, &mut store, &existing, a.request, None)?
            } else {
                let devices = store.devices(existing.id)?;
                let gate = attested.gate(ctx.interactive);
                let check = identity_gate(ctx, &mut store, &existing, &devices, &PURPOSE, gate)?;
                close_gate(&mut store)?;
                if let Err(e) =
                    crate::approvals::enrolment(ctx, &mut store, &existing, None, Some(&check))
                {
                    return match crate::approvals::waiting_request(&e) {
                        Some(r) => {
                            crate::approvals::render_waiting(ctx, r, out)?;
                            crate::output::eprose(&format!("codedesk: {e:#}"));
                            Ok(Status::WaitingForApproval)
                        }
                        None => Err(e),
                    };
                }
                Some(check)
            }
        }
        // A new user's first device needs no check, unless its number is
        // not on file: then the operator must attest one (flags only).
        None if off_file => match &attested.given {
            Some((method, ticket)) => Some(NewCheck {
                method: *method,
                ticket: ticket.clone(),
                recorded: None,
            }),
            None => {
                store.record_event(
                    &ctx.operator,
                    Some(user.as_str()),
                    AuditEvent::IdentityCheck {
                        check: None,
                        request: None,
                        outcome: "not-attested",
                        method: attested.method.map(|m| m.as_str()),
                        ticket: attested.ticket.as_deref(),
                        phone_on_file: Some(false),
                    },
                    ctx.now(),
                )?;
                return Err(fail(
                    Status::Identity,
                    format!(
                        "{user}: the number is not one of the user's numbers in the directory: enrolling it needs an identity check: give --identity-verified METHOD --ticket REF{}; nothing enrolled",
                        attested
                            .problem
                            .as_deref()
                            .map(|p| format!(" ({p})"))
                            .unwrap_or_default()
                    ),
                ));
            }
        },
        None => None,
    };
    let e = store.enroll_device(&user, &new, check.as_ref(), &ctx.operator, ctx.now())?;
    if let Some(phone) = &e.device.phone {
        warn_shared(phone, &e);
    }
    // A new device on an existing account is the classic takeover signal:
    // tell the user, as for issuance (a failing notifier undoes nothing).
    if !e.new_user {
        crate::delivery::notify_or_warn(
            ctx,
            &mut store,
            "device-enrolled",
            user.as_str(),
            crate::delivery::Recipients::OnFile,
        );
    }
    if let Some(email) = &email {
        let masked = crate::safeguards::mask_email(email);
        store.set_email(&user, email, &masked, &ctx.operator, ctx.now())?;
        if !e.new_user {
            crate::delivery::notify_or_warn(
                ctx,
                &mut store,
                "email-set",
                user.as_str(),
                crate::delivery::Recipients::OnFile,
            );
        }
    }
    render(ctx, &[e], out)?;
    Ok(Status::Ok)
}

/// Looks the user up in the directory, if one is configured: exit 4 when
/// it does not know them, exit 7 when it cannot be asked. Notes on `new`
/// whether its number is on file and whether the user is privileged;
/// true when the number is not on file (warned about on standard error).
fn directory_check(ctx: &Ctx, user: &Username, new: &mut NewDevice) -> Result<bool> {
    let Some(d) = crate::directory::require_user(&ctx.settings, user.as_str(), "nothing enrolled")?
    else {
        return Ok(false);
    };
    let phone_on_file = new.phone.as_ref().map(|p| d.has_number(p));
    new.directory = Some(crate::directory::DirectoryNote {
        phone_on_file,
        privileged: d.privileged,
    });
    if let (Some(false), Some(p)) = (phone_on_file, &new.phone) {
        crate::eline!(
            "codedesk: warning: {} is not one of {user}'s numbers in the directory: it needs an identity check, and is recorded as phone_on_file: false",
            p.masked()
        );
    }
    Ok(phone_on_file == Some(false))
}

/// A phone number that other users have too: codes texted to it, and an
/// identity check by calling it back, reach whoever holds that phone. A
/// warning on standard error (a shared desk phone is normal), and the
/// names go into the audit event (`shared_with`).
/// Before the identity check, or with none: that the number is other
/// users', not whose.
fn warn_shared_before_check(phone: &Phone, others: usize, more: bool) {
    if others == 0 {
        return;
    }
    let who = match (others, more) {
        (_, true) => format!("more than {others} other users"),
        (1, false) => "another user".to_string(),
        (n, false) => format!("{n} other users"),
    };
    output::eprose(&format!(
        "codedesk: warning: {} is already enrolled for {who}: texted codes and call-backs to it reach whoever holds that phone",
        phone.masked()
    ));
}

/// After the enrolment: who, when it passed an identity check; otherwise
/// (a first device needs none) how many, as before a check: names would
/// let anyone asking to be "set up" on a number learn who holds it.
fn warn_shared(phone: &Phone, e: &Enrolled) {
    let (others, more) = (&e.shared_with, e.shared_with_more);
    if !e.checked {
        return warn_shared_before_check(phone, others.len(), more);
    }
    if others.is_empty() {
        return;
    }
    let more = if more { " and others" } else { "" };
    output::eprose(&format!(
        "codedesk: warning: {} is also enrolled for {}{more}: texted codes and call-backs to it reach whoever holds that phone",
        phone.masked(),
        others.join(", ")
    ));
}

#[derive(Serialize)]
struct EnrolledJson {
    user: String,
    device: output::DeviceJson,
    new_user: bool,
    /// Other users enrolled with the same phone number, by name, after a
    /// passed identity check.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_shared_with: Option<Vec<String>>,
    /// Without an identity check: how many other users (up to ten), and
    /// whether there are more than that; never who.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_shared_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_shared_more: Option<bool>,
    /// With a directory: whether the number is one of the user's there.
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_on_file: Option<Option<bool>>,
    /// With a directory: whether the user is in a privileged group.
    #[serde(skip_serializing_if = "Option::is_none")]
    privileged: Option<bool>,
}

/// The enrolled devices, one record each, under a CSV header (with a
/// `phone_on_file` column when a directory is configured).
fn render(ctx: &Ctx, rows: &[Enrolled], out: &mut dyn Write) -> Result<()> {
    let sink = Sink::of(ctx);
    let directory = ctx.settings.directory.is_some();
    let mut header = vec!["user", "device", "kind", "sms", "primary", "phone", "label"];
    if directory {
        header.push("phone_on_file");
    }
    sink.csv_header(&mut *out, header)?;
    for e in rows {
        sink.record(&mut *out, &EnrolledRecord { e, directory })?;
    }
    Ok(())
}

/// One enrolled device as the sink writes it.
struct EnrolledRecord<'a> {
    e: &'a Enrolled,
    /// A directory is configured: CSV has its `phone_on_file` column.
    directory: bool,
}

impl Record for EnrolledRecord<'_> {
    fn json(&self) -> impl Serialize + '_ {
        let e = self.e;
        EnrolledJson {
            user: e.user.clone(),
            device: device_json(&e.device, e.primary),
            new_user: e.new_user,
            phone_shared_with: e.checked.then(|| e.shared_with.clone()),
            phone_shared_count: (!e.checked).then_some(e.shared_with.len()),
            phone_shared_more: (!e.checked).then_some(e.shared_with_more),
            phone_on_file: e.directory.map(|d| d.phone_on_file),
            privileged: e.directory.map(|d| d.privileged),
        }
    }

    fn csv(&self) -> Vec<Vec<String>> {
        let (e, d) = (self.e, &self.e.device);
        let mut rec = vec![
            e.user.clone(),
            d.id.to_string(),
            d.kind.as_str().into(),
            d.sms.to_string(),
            e.primary.to_string(),
            d.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
            d.label.clone().unwrap_or_default(),
        ];
        if self.directory {
            rec.push(
                e.directory
                    .and_then(|d| d.phone_on_file)
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
            );
        }
        vec![rec]
    }

    fn human(&self, out: &mut dyn Write, _: Human, quiet: bool) -> Result<()> {
        let e = self.e;
        if quiet {
            writeln!(out, "{}", e.device.id)?;
            return Ok(());
        }
        writeln!(
            out,
            "enrolled device {} for {}{}: {}{}{}",
            e.device.id,
            e.user,
            if e.new_user { " (new user)" } else { "" },
            output::device_line(&e.device),
            if e.primary { ", primary" } else { "" },
            match e.directory {
                Some(d) if d.phone_on_file == Some(false) =>
                    " [phone NOT on file in the directory]",
                _ => "",
            }
        )?;
        Ok(())
    }
}

/// `enroll-device --batch FILE`: columns `user,kind,phone,sms,label` (and
/// optional `primary`); a short row leaves its last columns empty. Every
/// row is checked first; any bad row rejects the whole file, naming every
/// bad line.
fn batch(ctx: &Ctx, path: &Path, attestation: &Attestation, out: &mut dyn Write) -> Result<Status> {
    let attested = attestation.given.as_ref();
    let bytes = read_input(path)?;
    let mut rows = batch_rows(&bytes, path)?;
    // With a directory: every user must be in it, and numbers not on file
    // need the run's attestation.
    let mut unknown: Vec<String> = Vec::new();
    let mut off_file: Vec<String> = Vec::new();
    for (u, d) in rows.iter_mut() {
        match directory_check(ctx, u, d) {
            Ok(true) => off_file.push(u.to_string()),
            Ok(false) => {}
            Err(e) if crate::exit::status_of(&e) == Status::NotFound => unknown.push(u.to_string()),
            Err(e) => return Err(e),
        }
    }
    if !unknown.is_empty() {
        unknown.dedup();
        return Err(fail(
            Status::NotFound,
            format!(
                "{}: not in the directory: {}; nothing enrolled",
                path.display(),
                unknown.join(", ")
            ),
        ));
    }
    if !off_file.is_empty() && attested.is_none() {
        off_file.dedup();
        return Err(fail(
            Status::Identity,
            format!(
                "{}: numbers not on file in the directory for {}: they need --identity-verified METHOD --ticket REF for the run; nothing enrolled",
                path.display(),
                off_file.join(", ")
            ),
        ));
    }
    let mut store = ctx.open_store()?;
    // Issue 13 (approvals.rs): a privileged user's new device needs a
    // second principal, which an all-or-none batch cannot wait for.
    let mut privileged = Vec::new();
    for (u, _) in &rows {
        if let Some(existing) = store.find_user(u)?
            && crate::approvals::is_privileged(ctx, &store, &existing)?
            && !privileged.contains(&u.as_str())
        {
            privileged.push(u.as_str());
        }
    }
    if !privileged.is_empty() {
        return Err(fail(
            Status::NotPermitted,
            format!(
                "{}: {} privileged: a new device for them needs a second principal's approval; enrol them one at a time; nothing enrolled",
                path.display(),
                privileged.join(", ")
            ),
        ));
    }
    // Adding devices to users who already exist needs the run's attestation.
    let check = attested.map(|(method, ticket)| NewCheck {
        method: *method,
        ticket: ticket.clone(),
        recorded: None,
    });
    if check.is_none() {
        let mut existing = Vec::new();
        for (u, _) in &rows {
            if store.find_user(u)?.is_some() && !existing.contains(&u.as_str()) {
                existing.push(u.as_str());
            }
        }
        if !existing.is_empty() {
            return Err(fail(
                Status::Identity,
                format!(
                    "{}: {} already exist(s): adding devices to existing users needs --identity-verified METHOD --ticket REF for the run{}; nothing enrolled",
                    path.display(),
                    existing.join(", "),
                    attestation
                        .problem
                        .as_deref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    let done = store.enroll_many(&rows, check.as_ref(), &ctx.operator, ctx.now())?;
    for e in &done {
        if let Some(phone) = &e.device.phone {
            warn_shared(phone, e);
        }
    }
    render(ctx, &done, out)?;
    Sink::of(ctx).note(&format!("enrolled {} device(s)", done.len()));
    Ok(Status::Ok)
}

/// The devices of an `enroll-device --batch` file, every row validated;
/// any bad row is a usage error naming every bad line (`path` names the
/// file in messages). Pure: reads no file and opens no store.
pub fn batch_rows(bytes: &[u8], path: &Path) -> Result<Vec<(Username, NewDevice)>> {
    let csv = read_batch_csv(bytes)
        .map_err(|e| fail(Status::Usage, format!("{}: {e}", path.display())))?;
    let headers = &csv.headers;
    let col = |name: &str| csv.column(name);
    let (Some(cu), Some(ck)) = (col("user"), col("kind")) else {
        return Err(fail(
            Status::Usage,
            format!(
                "{}: the header must have user and kind columns",
                path.display()
            ),
        ));
    };
    let (cp, cs, cl, cprim) = (col("phone"), col("sms"), col("label"), col("primary"));
    let mut rows: Vec<(Username, NewDevice)> = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    for row in &csv.rows {
        let line = row.line;
        let rec = match &row.record {
            Ok(r) => r,
            Err(e) => {
                bad.push(format!("line {line}: {}", one_line(&e.to_string())));
                continue;
            }
        };
        if rec.len() > headers.len() {
            bad.push(format!(
                "line {line}: {} fields, but the header has {}",
                rec.len(),
                headers.len()
            ));
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).filter(|v| !v.is_empty());
        let row = (|| -> Result<(Username, NewDevice)> {
            let user = Username::parse(get(Some(cu)).unwrap_or(""))?;
            let kind_s = get(Some(ck)).unwrap_or("");
            let kind = <DeviceKind as clap::ValueEnum>::from_str(kind_s, true).map_err(|_| {
                fail(
                    Status::Usage,
                    format!("kind {kind_s:?} is not mobile, landline, tablet or token"),
                )
            })?;
            let sms = get(cs).map(parse_bool).transpose()?;
            let primary = get(cprim).map(parse_bool).transpose()?.unwrap_or(false);
            // The checks of `new_device`, worded for the file's columns
            // rather than the command line's options.
            let phone = get(cp).map(str::trim).filter(|p| !p.is_empty());
            let why = match (kind.has_phone(), phone) {
                (true, None) => Some("needs a number in the phone column"),
                (false, Some(_)) => Some("has no phone number: leave the phone column empty"),
                _ if sms == Some(true) && kind != DeviceKind::Mobile => {
                    Some("cannot receive SMS: the sms column must be no or empty")
                }
                _ => None,
            };
            if let Some(why) = why {
                return Err(fail(Status::Usage, format!("a {} {why}", kind.as_str())));
            }
            Ok((user, new_device(kind, phone, sms, get(cl), primary)?))
        })();
        match row {
            Ok(r) => rows.push(r),
            Err(e) => bad.push(format!("line {line}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(fail(
            Status::Usage,
            format!(
                "{}: {} bad row(s), nothing enrolled: {}",
                path.display(),
                bad.len(),
                bad.join("; ")
            ),
        ));
    }
    if rows.is_empty() {
        return Err(fail(
            Status::Usage,
            format!("{}: no rows to enrol", path.display()),
        ));
    }
    Ok(rows)
}

fn parse_bool(v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(fail(Status::Usage, format!("{v:?} is not yes or no"))),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
