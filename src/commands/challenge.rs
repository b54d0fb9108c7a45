//! `challenge` (send a one-time challenge to a contact on file, for
//! `issue-codes` / `enroll-device --identity-verified challenge --challenge
//! ID`) and `dispute` (a user says "not me" about a notice).

use super::user_arg;
use crate::cli::{ChallengeArgs, DisputeArgs};
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::model::parse_text;
use crate::output::{self, Sink};
use crate::safeguards::{self, CHALLENGE_TTL};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

/// `challenge --format json` (keys in sorted order, as always).
#[derive(Serialize)]
struct ChallengeJson<'a> {
    challenge: i64,
    contact: String,
    expires_at: String,
    user: &'a str,
}

/// `dispute --format json`.
#[derive(Serialize)]
struct DisputedJson<'a> {
    about: &'a str,
    at: String,
    locked: bool,
    revoked: &'a [i64],
    user: &'a str,
}

pub fn run(ctx: &Ctx, a: ChallengeArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    let name = user_arg(&a.user)?;
    let mut store = ctx.open_store()?;
    let user = store.require_user(&name)?;
    // With a directory: its numbers and mail only (exit 4 for a user it
    // does not know, 7 when it cannot be asked).
    let devices = store.devices(user.id)?;
    let on_file = safeguards::on_file(ctx, &store, &user, &devices, "no challenge sent")?;
    let contacts = safeguards::without_lost_numbers(on_file.contacts, &devices, &a.lost);
    let contact = safeguards::pick_contact(
        &user.name,
        &contacts,
        a.device,
        a.email,
        &a.lost,
        on_file.directory.as_deref(),
    )?;
    let id = safeguards::send_challenge(ctx, &mut store, &user, &contact)?;
    let expires_at = ctx.now() + CHALLENGE_TTL;
    let json = ChallengeJson {
        challenge: id,
        contact: contact.masked(),
        expires_at: output::ts(expires_at),
        user: &user.name,
    };
    sink.outcome_or(out, &json, Some(&id.to_string()), |out| {
        writeln!(
                out,
                "challenge {id} sent to {}'s {}; it expires in 10 minutes.",
                user.name,
                contact.masked()
            )?;
            writeln!(
                out,
                "Have the caller read it back, then pipe it into: codedesk issue-codes {} --identity-verified challenge --challenge {id} --ticket REF",
                user.name
            )?;
        Ok(())
    })?;
    Ok(Status::Ok)
}

pub fn dispute(ctx: &Ctx, a: DisputeArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    let reference = safeguards::canonical_reference(&a.reference).ok_or_else(|| {
        fail(
            Status::Usage,
            "a notice reference is 20 letters and digits (XXXXX-XXXXX-XXXXX-XXXXX)",
        )
    })?;
    let reason = a
        .reason
        .as_deref()
        .map(|r| parse_text("reason", r))
        .transpose()?;
    let mut store = ctx.open_store()?;
    let d = store.dispute(&reference, reason.as_deref(), &ctx.operator, ctx.now())?;
    if let Some(e) = crate::delivery::notify_command_only(ctx, &mut store, "dispute", &d.user) {
        crate::eline!("codedesk: warning: {e}");
    }
    let json = DisputedJson {
        about: &d.action,
        at: output::ts(d.at),
        locked: true,
        revoked: &d.revoked,
        user: &d.user,
    };
    sink.outcome(out, &json, |out| {
        let sets = if d.revoked.is_empty() {
            "no outstanding codes to revoke".to_string()
        } else {
            let ids: Vec<String> = d.revoked.iter().map(i64::to_string).collect();
            format!("revoked set {}", ids.join(", "))
        };
        writeln!(
            out,
            "disputed {}'s notice ({} at {}): {sets}; {} is locked until `codedesk unlock` after an identity check.",
            d.user,
            d.action,
            output::ts(d.at),
            d.user
        )?;
        if d.action == "device-enrolled" {
            writeln!(
                out,
                "A device was enrolled: see `codedesk list {}` and remove it with `codedesk revoke {} --device ID`.",
                d.user, d.user
            )?;
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}
