//! `revoke` (all of a user's codes, one set, or one device) and `unlock`.

use super::issue::notify_or_warn;
use super::user_arg;
use crate::cli::{Format, RevokeArgs, UserArg};
use crate::context::Ctx;
use crate::exit::Status;
use crate::model::parse_text;
use crate::output::{self, json_line};
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, a: RevokeArgs, out: &mut dyn Write) -> Result<Status> {
    let reason = a
        .reason
        .as_deref()
        .map(|r| parse_text("reason", r))
        .transpose()?;
    if let Some(principal) = &a.issued_by {
        return issued_by(ctx, principal, a.since.as_deref(), reason.as_deref(), out);
    }
    let name = user_arg(a.user.as_deref().unwrap_or_default())?;
    let reason = reason.as_deref();
    let mut store = ctx.open_store()?;
    let now = ctx.now();
    let json = ctx.format == Format::Json;
    // Each outcome is told to the user (notify.command): a device removed or
    // codes revoked without them knowing is how a takeover starts (remove
    // their phone, then enrol another).
    if let Some(dev) = a.device {
        let (primary, revoked) = store.remove_device(&name, dev, reason, &ctx.operator, now)?;
        notify_or_warn(ctx, &mut store, "device-removed", name.as_str());
        if json {
            json_line(
                out,
                &serde_json::json!({"user": name.as_str(), "removed_device": dev,
                    "primary": primary.as_ref().map(|d| d.id), "revoked": revoked}),
            )?;
        } else if !ctx.quiet {
            writeln!(
                out,
                "removed device {dev} from {name}; primary is now {}",
                primary
                    .as_ref()
                    .map(output::device_line)
                    .unwrap_or_else(|| "none (the helpdesk path applies)".into())
            )?;
            if !revoked.is_empty() {
                let ids: Vec<String> = revoked.iter().map(|s| s.to_string()).collect();
                writeln!(
                    out,
                    "revoked the codes texted to it (set {})",
                    ids.join(", ")
                )?;
            }
        }
    } else if let Some(set) = a.batch {
        store.revoke_set(&name, set, reason, &ctx.operator, now)?;
        notify_or_warn(ctx, &mut store, "codes-revoked", name.as_str());
        if json {
            json_line(
                out,
                &serde_json::json!({"user": name.as_str(), "revoked": [set]}),
            )?;
        } else if !ctx.quiet {
            writeln!(out, "revoked set {set} of {name}")?;
        }
    } else {
        let sets = store.revoke_all(&name, reason, &ctx.operator, now)?;
        if !sets.is_empty() {
            notify_or_warn(ctx, &mut store, "codes-revoked", name.as_str());
        }
        if json {
            json_line(
                out,
                &serde_json::json!({"user": name.as_str(), "revoked": sets}),
            )?;
        } else if !ctx.quiet {
            if sets.is_empty() {
                writeln!(out, "{name} had no outstanding codes")?;
            } else {
                let ids: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
                writeln!(
                    out,
                    "revoked all outstanding codes of {name} (set {})",
                    ids.join(", ")
                )?;
            }
        }
    }
    Ok(Status::Ok)
}

/// `revoke --issued-by PRINCIPAL [--since TIME]`: a compromised operator
/// account's sets, every user's, each user told.
fn issued_by(
    ctx: &Ctx,
    principal: &str,
    since: Option<&str>,
    reason: Option<&str>,
    out: &mut dyn Write,
) -> Result<Status> {
    let principal = parse_text("--issued-by", principal)?;
    let since = since
        .map(|s| super::audit_cmd::parse_since(s, ctx.now()))
        .transpose()?;
    let mut store = ctx.open_store()?;
    let done = store.revoke_issued_by(&principal, since, reason, &ctx.operator, ctx.now())?;
    for (user, _) in &done {
        notify_or_warn(ctx, &mut store, "codes-revoked", user);
    }
    if ctx.format == Format::Json {
        let users: Vec<_> = done
            .iter()
            .map(|(u, s)| serde_json::json!({"user": u, "revoked": s}))
            .collect();
        json_line(
            out,
            &serde_json::json!({"issued_by": principal, "users": users}),
        )?;
    } else if !ctx.quiet {
        if done.is_empty() {
            writeln!(out, "{principal} issued no outstanding codes")?;
        }
        for (user, sets) in &done {
            let ids: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            writeln!(
                out,
                "revoked {user}'s codes issued by {principal} (set {})",
                ids.join(", ")
            )?;
        }
    }
    Ok(Status::Ok)
}

pub fn unlock(ctx: &Ctx, a: UserArg, out: &mut dyn Write) -> Result<Status> {
    let name = user_arg(&a.user)?;
    let mut store = ctx.open_store()?;
    let was = store.unlock(&name, &ctx.operator, ctx.now(), false)?;
    notify_or_warn(ctx, &mut store, "unlock", name.as_str());
    if ctx.format == Format::Json {
        json_line(
            out,
            &serde_json::json!({"user": name.as_str(), "was_locked": was}),
        )?;
    } else if !ctx.quiet {
        if was {
            writeln!(out, "unlocked {name}")?;
        } else {
            writeln!(out, "{name} was not locked; failure count reset")?;
        }
    }
    Ok(Status::Ok)
}
