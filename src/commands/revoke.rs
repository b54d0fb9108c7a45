//! `revoke` (all of a user's codes, one set, or one device) and `unlock`.

use super::user_arg;
use crate::cli::{RevokeArgs, UnlockArgs};
use crate::context::Ctx;
use crate::delivery::{Recipients, notify_or_warn};
use crate::exit::Status;
use crate::identity::{Attestation, Purpose, close_gate, identity_gate};
use crate::model::parse_text;
use crate::output::{self, Sink};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

/// What the identity gate is for when unlocking a disputed user.
const DISPUTED: Purpose<'static> = Purpose {
    what: "unlocking an account locked by a dispute (the user said a change was not theirs)",
    nothing: "still locked",
    hint: None,
};

/// `revoke USER --device ID --format json` (keys in sorted order, as always).
#[derive(Serialize)]
struct DeviceRemovedJson<'a> {
    primary: Option<i64>,
    removed_device: i64,
    revoked: &'a [i64],
    user: &'a str,
}

/// `revoke USER [--batch SET] --format json`, and each user of `--issued-by`.
#[derive(Serialize)]
struct RevokedJson<'a> {
    revoked: &'a [i64],
    user: &'a str,
}

/// `revoke --issued-by PRINCIPAL --format json`.
#[derive(Serialize)]
struct IssuedByJson<'a> {
    issued_by: &'a str,
    users: Vec<RevokedJson<'a>>,
}

/// `unlock USER --format json`.
#[derive(Serialize)]
struct UnlockedJson<'a> {
    user: &'a str,
    was_locked: bool,
}

pub fn run(ctx: &Ctx, a: RevokeArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    let reason = a
        .reason
        .as_deref()
        .map(|r| parse_text("reason", r))
        .transpose()?;
    if let Some(principal) = &a.issued_by {
        return issued_by(
            ctx,
            &sink,
            principal,
            a.since.as_deref(),
            reason.as_deref(),
            out,
        );
    }
    let name = user_arg(a.user.as_deref().unwrap_or_default())?;
    let reason = reason.as_deref();
    let mut store = ctx.open_store()?;
    let now = ctx.now();
    // Each outcome is told to the user (notify.command): a device removed or
    // codes revoked without them knowing is how a takeover starts (remove
    // their phone, then enrol another).
    if let Some(dev) = a.device {
        // The removed device is told too: "I lost my phone" may come from
        // somebody else, and the phone may be the user's only contact.
        let removed: Vec<_> = match store.find_user(&name)? {
            Some(u) => store
                .devices(u.id)?
                .into_iter()
                .filter(|d| d.id == dev)
                .collect(),
            None => Vec::new(),
        };
        let (primary, revoked) = store.remove_device(&name, dev, reason, &ctx.operator, now)?;
        notify_or_warn(
            ctx,
            &mut store,
            "device-removed",
            name.as_str(),
            Recipients::AlsoRemoved(&removed),
        );
        let json = DeviceRemovedJson {
            primary: primary.as_ref().map(|d| d.id),
            removed_device: dev,
            revoked: &revoked,
            user: name.as_str(),
        };
        sink.outcome(out, &json, |out| {
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
            Ok(())
        })?;
    } else if let Some(set) = a.batch {
        store.revoke_set(&name, set, reason, &ctx.operator, now)?;
        notify_or_warn(
            ctx,
            &mut store,
            "codes-revoked",
            name.as_str(),
            Recipients::OnFile,
        );
        let json = RevokedJson {
            revoked: &[set],
            user: name.as_str(),
        };
        sink.outcome(out, &json, |out| {
            writeln!(out, "revoked set {set} of {name}")?;
            Ok(())
        })?;
    } else {
        let sets = store.revoke_all(&name, reason, &ctx.operator, now)?;
        if !sets.is_empty() {
            notify_or_warn(
                ctx,
                &mut store,
                "codes-revoked",
                name.as_str(),
                Recipients::OnFile,
            );
        }
        let json = RevokedJson {
            revoked: &sets,
            user: name.as_str(),
        };
        sink.outcome(out, &json, |out| {
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
            Ok(())
        })?;
    }
    Ok(Status::Ok)
}

/// `revoke --issued-by PRINCIPAL [--since TIME]`: a compromised operator
/// account's sets, every user's, each user told.
fn issued_by(
    ctx: &Ctx,
    sink: &Sink,
    principal: &str,
    since: Option<&str>,
    reason: Option<&str>,
    out: &mut dyn Write,
) -> Result<Status> {
    let principal = parse_text("--issued-by", principal)?;
    let since = super::audit_cmd::parse_since(since, ctx.now())?;
    let mut store = ctx.open_store()?;
    let done = store.revoke_issued_by(&principal, since, reason, &ctx.operator, ctx.now())?;
    for (user, _) in &done {
        notify_or_warn(ctx, &mut store, "codes-revoked", user, Recipients::OnFile);
    }
    let json = IssuedByJson {
        issued_by: &principal,
        users: done
            .iter()
            .map(|(user, revoked)| RevokedJson { revoked, user })
            .collect(),
    };
    sink.outcome(out, &json, |out| {
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
        Ok(())
    })?;
    Ok(Status::Ok)
}

pub fn unlock(ctx: &Ctx, a: UnlockArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    let name = user_arg(&a.user)?;
    let attested = Attestation::from_flags(a.identity_verified, a.ticket.as_deref())
        .with_challenge(a.challenge);
    let mut store = ctx.open_store()?;
    // A user who said "not me" is locked until the person is verified:
    // whoever calls to be unlocked may be the one they disputed.
    if let Some(user) = store.find_user(&name)?
        && store.locked_by_dispute(&user)?
    {
        let devices = store.devices(user.id)?;
        let gate = attested.gate(ctx.interactive);
        let check = identity_gate(ctx, &mut store, &user, &devices, &DISPUTED, gate)?;
        close_gate(&mut store)?;
        store.record_identity_passed(&user, &check, &ctx.operator, ctx.now())?;
    }
    let was = store.unlock(&name, &ctx.operator, ctx.now(), false)?;
    notify_or_warn(ctx, &mut store, "unlock", name.as_str(), Recipients::OnFile);
    let json = UnlockedJson {
        user: name.as_str(),
        was_locked: was,
    };
    sink.outcome(out, &json, |out| {
        if was {
            writeln!(out, "unlocked {name}")?;
        } else {
            writeln!(out, "{name} was not locked; failure count reset")?;
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}
