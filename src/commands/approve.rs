//! `approve`, `deny` and `privileged` (issue 13, docs/approvals.md): the
//! second principal's side of the two-person rule and the quota.

use super::user_arg;
use crate::cli::{DecideArgs, OnOff, PrivilegedArgs};
use crate::context::Ctx;
use crate::exit::Status;
use crate::model::parse_text;
use crate::output::{self, Sink};
use crate::store::approvals::RequestRow;
use anyhow::Result;
use std::io::Write;

/// `privileged USER on|off`.
pub fn privileged(ctx: &Ctx, a: PrivilegedArgs, out: &mut dyn Write) -> Result<Status> {
    let name = user_arg(&a.user)?;
    let on = a.state == OnOff::On;
    let mut store = ctx.open_store()?;
    let changed = store.set_privileged(&name, on, &ctx.operator, ctx.now())?;
    let state = if on { "on" } else { "off" };
    Sink::of(ctx).outcome(
        out,
        &serde_json::json!({"user": name.as_str(), "privileged": on, "changed": changed}),
        |out| {
            writeln!(
                out,
                "{name}: privileged {state}{}.",
                if changed { "" } else { " (already)" }
            )?;
            Ok(())
        },
    )?;
    Ok(Status::Ok)
}

/// `approve [REQUEST]`, `deny REQUEST`.
pub fn decide(ctx: &Ctx, a: DecideArgs, approve: bool, out: &mut dyn Write) -> Result<Status> {
    let reason = a
        .reason
        .as_deref()
        .map(|r| parse_text("--reason", r))
        .transpose()?;
    let mut store = ctx.open_store()?;
    let Some(id) = a.request else {
        if !approve {
            return Err(crate::exit::fail(
                Status::Usage,
                "deny needs the request id",
            ));
        }
        let waiting = store.pending_requests(ctx.now())?;
        return list(ctx, &waiting, out);
    };
    // Shown before it is decided: who asked, why, and the check.
    let sink = Sink::of(ctx);
    let before = store.request(id)?;
    // Only a request this principal could approve is asked about; the
    // others are refused by `decide_request` as before.
    let decidable = before.state == "pending"
        && before.expires_at > ctx.now()
        && before.requested_by != store.principal()?;
    if approve && ctx.interactive && !a.yes && decidable {
        // At a terminal, on the terminal, then a yes/no question (no by
        // default); a script (standard input not a terminal) or --yes is
        // not asked, as before the question existed.
        let mut shown = Vec::new();
        describe(&before, &mut shown)?;
        match crate::prompt::approve_request(&String::from_utf8_lossy(&shown), id) {
            Some(true) => {}
            answer => {
                return Err(crate::approvals::refused(format!(
                    "request {id} was not approved ({}); it still waits, nothing was recorded; `codedesk deny {id}` refuses it",
                    match answer {
                        None => crate::interrupt::pending()
                            .map_or("interrupted", crate::interrupt::cause),
                        _ => "answered no, or cancelled, at the prompt",
                    }
                )));
            }
        }
    } else if !ctx.quiet && sink.is_table() {
        describe(&before, out)?;
        out.flush()?;
    }
    let r = store.decide_request(id, approve, reason.as_deref(), &ctx.operator, ctx.now())?;
    // A privileged approval is a sensitive event: the user is told.
    if approve && r.reason == "privileged" {
        crate::delivery::notify_or_warn(
            ctx,
            &mut store,
            "privileged-approval",
            &r.user,
            crate::delivery::Recipients::OnFile,
        );
    }
    sink.outcome(out, &r, |out| {
        if !sink.is_table() {
            describe(&r, out)?;
        }
        output::prose(
            out,
            &format!(
                "Request {} {} by {}.{}",
                r.id,
                r.state,
                r.decided_by.as_deref().unwrap_or("?"),
                if approve {
                    format!(
                        " {} can now run `codedesk {} {} --request {}` until {}.",
                        r.requested_by,
                        if r.what == "device" {
                            "enroll-device"
                        } else {
                            "issue-codes"
                        },
                        r.user,
                        r.id,
                        output::ts(r.expires_at)
                    )
                } else {
                    String::new()
                }
            ),
        )
    })?;
    Ok(Status::Ok)
}

fn describe(r: &RequestRow, out: &mut dyn Write) -> Result<()> {
    output::prose(
        out,
        &format!(
            "Request {}: {} for {}, asked by {} (operator {}) at {}, because {}.",
            r.id,
            r.what_text(),
            r.user,
            r.requested_by,
            r.operator,
            output::ts(r.created_at),
            if r.reason == "privileged" {
                format!("{} is a privileged user", r.user)
            } else {
                "the operator's quota (helpdesk.max_sets_per_operator) is spent".to_string()
            }
        ),
    )?;
    output::prose(
        out,
        &format!(
            "Identity check: {}, ticket {}.",
            r.method.as_deref().unwrap_or("none (SMS path)"),
            r.ticket.as_deref().unwrap_or("-")
        ),
    )?;
    Ok(())
}

fn list(ctx: &Ctx, rows: &[RequestRow], out: &mut dyn Write) -> Result<Status> {
    Sink::of(ctx).outcome(out, &rows, |out| {
        if rows.is_empty() {
            writeln!(out, "No request is waiting for approval.")?;
        }
        for r in rows {
            describe(r, out)?;
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}
