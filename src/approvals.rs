//! A second pair of eyes (issue 13, docs/approvals.md): the two-person
//! rule for privileged users and the per-operator quota.
//!
//! - Helpdesk codes or a new device for a privileged user (marked with
//!   `codedesk privileged USER on`, or in one of the directory's
//!   `privileged_groups`) need a second principal: the requester's run
//!   records a request and ends with exit 10, "waiting for approval";
//!   `codedesk approve REQUEST` by another principal (on PostgreSQL a
//!   `codedesk_supervisor`) approves it, `codedesk deny REQUEST` refuses
//!   it; the requester then runs the command again with `--request
//!   REQUEST`, which stands in for the identity check recorded with the
//!   request.
//! - `helpdesk.max_sets_per_operator = "20/24h"`: beyond that many sets
//!   stored by one principal in the window, issuance is refused (exit 9,
//!   recorded); with `--ask-approval` it records a request for one more
//!   instead (exit 10), approved the same way.
//!
//! The issuing and enrolling commands call [`before_gate`],
//! [`after_gate`] and [`enrolment`]; everything else is here, in
//! `store::approvals` and in `commands::approve`.

use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::model::Via;
use crate::output;
use crate::store::approvals::{NewRequest, RequestRow};
use crate::store::{NewCheck, Store, UserRow};
use anyhow::Result;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// How long a request waits for a decision, and then for its use, when
/// `helpdesk.approval_expires` does not say.
pub const DEFAULT_REQUEST_EXPIRES: Duration = Duration::from_secs(30 * 60);

/// `helpdesk.max_sets_per_operator`: at most `max` sets per principal in
/// any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub max: u32,
    pub window: Duration,
}

/// The approval settings of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalSettings {
    pub quota: Option<Quota>,
    pub request_expires: Duration,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        ApprovalSettings {
            quota: None,
            request_expires: DEFAULT_REQUEST_EXPIRES,
        }
    }
}

impl ApprovalSettings {
    /// As `codedesk config` shows it.
    pub fn quota_text(&self) -> String {
        match self.quota {
            Some(q) => format!("{}/{}", q.max, humantime::format_duration(q.window)),
            None => "off".into(),
        }
    }
}

/// Reads `COUNT/WINDOW` ("20/24h") or `off`.
pub fn parse_quota(raw: &str) -> std::result::Result<Option<Quota>, String> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let Some((n, w)) = t.split_once('/') else {
        return Err(format!(
            "{raw:?} is not COUNT/WINDOW like \"20/24h\" (or \"off\")"
        ));
    };
    let max: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=100_000).contains(n))
        .ok_or_else(|| format!("{n:?} is not a count of sets from 1 to 100000"))?;
    let window = crate::config::parse_duration(w)?;
    Ok(Some(Quota { max, window }))
}

/// The error that ends a run waiting for approval (exit 10). Its source
/// is the [`crate::exit::Failure`] that carries the status and the line
/// the operator reads.
#[derive(Debug)]
pub struct Waiting {
    pub request: RequestRow,
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("waiting for approval")
    }
}

fn waiting(r: RequestRow) -> anyhow::Error {
    let why = match r.reason.as_str() {
        "privileged" => format!("{} is a privileged user", r.user),
        _ => "one more set beyond helpdesk.max_sets_per_operator".to_string(),
    };
    let what = if r.what == "device" {
        "enroll-device"
    } else {
        "issue-codes"
    };
    let msg = format!(
        "request {id} recorded ({why}): a second principal must approve it with `codedesk approve {id}` before {expires}; then run `codedesk {what} {user} --request {id}`{more}",
        id = r.id,
        expires = output::ts(r.expires_at),
        user = r.user,
        more = if r.what == "device" {
            " with the same device options"
        } else {
            ""
        },
    );
    fail(Status::WaitingForApproval, msg).context(Waiting { request: r })
}

/// A refusal of the two-person rule or the quota (exit 9): not a missing
/// role, so `roles::explain` leaves its message alone.
#[derive(Debug)]
pub struct Refusal;

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

/// Exit 9 for a refusal of this module's rules (see [`Refusal`]).
pub fn refused(message: impl Into<String>) -> anyhow::Error {
    fail(Status::NotPermitted, message).context(Refusal)
}

/// The request an error is waiting on, if it is [`Waiting`].
pub fn waiting_request(e: &anyhow::Error) -> Option<&RequestRow> {
    e.downcast_ref::<Waiting>().map(|w| &w.request)
}

/// Whether a user is privileged: marked in the store, or (adding, never
/// removing) in one of the directory's `privileged_groups`.
pub fn is_privileged(ctx: &Ctx, store: &Store, user: &UserRow) -> Result<bool> {
    if store.is_privileged(user.id)? {
        return Ok(true);
    }
    Ok(
        crate::directory::require_user(&ctx.settings, &user.name, "nothing issued")?
            .is_some_and(|d| d.privileged),
    )
}

/// Sets this run has let through the quota and not yet stored (a batch
/// plans every row before storing any).
static PLANNED: AtomicI64 = AtomicI64::new(0);

/// What an approved request brings to an issuance.
pub struct Approved {
    /// The identity check recorded with the request (helpdesk path).
    pub check: Option<NewCheck>,
}

fn check_of(r: &RequestRow) -> Option<NewCheck> {
    use clap::ValueEnum;
    let method = crate::model::IdentityMethod::from_str(r.method.as_deref()?, false).ok()?;
    Some(NewCheck {
        method,
        ticket: r.ticket.clone().unwrap_or_default(),
        recorded: r.check,
    })
}

/// Issuance, before the identity gate: `--request` spends an approved
/// request (it stands in for the check and the quota); otherwise, beyond
/// the quota and without `--ask-approval`, the issuance is refused (exit
/// 9) and recorded.
pub fn before_gate(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    request: Option<i64>,
    ask: bool,
) -> Result<Option<Approved>> {
    let now = ctx.now();
    if let Some(id) = request {
        let r = store.spend_request(id, user, "codes", &ctx.operator, now)?;
        return Ok(Some(Approved {
            check: check_of(&r),
        }));
    }
    if let Some((stored, q)) = over_quota(ctx, store)?
        && !ask
    {
        let window = q.window.as_secs() as i64;
        store.record_quota_refusal(user, stored, q.max, window, &ctx.operator, now)?;
        return Err(refused(format!(
            "{}: this principal stored {stored} set(s) in the last {}, the most helpdesk.max_sets_per_operator allows ({}); ask a supervisor for one more: run again with --ask-approval; nothing issued",
            user.name,
            humantime::format_duration(q.window),
            ctx.settings.approvals.quota_text()
        )));
    }
    Ok(None)
}

/// (sets stored in the window, the quota) when this principal is at or
/// beyond the quota.
fn over_quota(ctx: &Ctx, store: &Store) -> Result<Option<(i64, Quota)>> {
    let Some(q) = ctx.settings.approvals.quota else {
        return Ok(None);
    };
    let since = ctx.now() - q.window.as_secs() as i64;
    let stored = store.sets_stored_by_me_since(since)? + PLANNED.load(Ordering::Relaxed);
    Ok((stored >= i64::from(q.max)).then_some((stored, q)))
}

/// Issuance, once the identity gate passed (`check`, on the helpdesk
/// path): a privileged user's helpdesk codes, or one more set beyond the
/// quota (asked for with `--ask-approval`), record a request and end the
/// run waiting for approval (exit 10).
pub fn after_gate(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    via: Via,
    check: Option<&NewCheck>,
) -> Result<()> {
    let reason = if via == Via::Helpdesk && is_privileged(ctx, store, user)? {
        Some("privileged")
    } else if over_quota(ctx, store)?.is_some() {
        Some("quota")
    } else {
        None
    };
    if let Some(reason) = reason {
        return Err(record(ctx, store, user, "codes", reason, check)?);
    }
    PLANNED.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Enrolment of a new device for an existing user: `--request` spends an
/// approved request (returning its check); otherwise, once the identity
/// gate passed, a privileged user's new device records a request and ends
/// the run waiting for approval.
pub fn enrolment(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    request: Option<i64>,
    check: Option<&NewCheck>,
) -> Result<Option<NewCheck>> {
    if let Some(id) = request {
        let r = store.spend_request(id, user, "device", &ctx.operator, ctx.now())?;
        return Ok(check_of(&r));
    }
    if is_privileged(ctx, store, user)? {
        return Err(record(ctx, store, user, "device", "privileged", check)?);
    }
    Ok(None)
}

fn record(
    ctx: &Ctx,
    store: &mut Store,
    user: &UserRow,
    what: &str,
    reason: &str,
    check: Option<&NewCheck>,
) -> Result<anyhow::Error> {
    let now = ctx.now();
    let r = store.insert_request(
        user,
        &NewRequest {
            what,
            reason,
            check,
            expires_at: now + ctx.settings.approvals.request_expires.as_secs() as i64,
        },
        &ctx.operator,
        now,
    )?;
    Ok(waiting(r))
}

/// Writes a waiting request for the run that recorded it: JSON
/// `{"request": ID, ...}`, the bare id with `--quiet`, else a sentence.
pub fn render_waiting(ctx: &Ctx, r: &RequestRow, out: &mut dyn std::io::Write) -> Result<()> {
    let json = serde_json::json!({
        "request": r.id, "user": r.user, "what": r.what, "reason": r.reason,
        "status": "waiting for approval", "expires_at": output::ts(r.expires_at),
    });
    output::Sink::of(ctx).outcome_or(out, &json, Some(&r.id.to_string()), |out| {
        output::prose(
            out,
            &format!(
                "Request {} is waiting for approval: {} for {} ({}). Nothing was issued yet.",
                r.id,
                r.what_text(),
                r.user,
                if r.reason == "privileged" {
                    "a privileged user"
                } else {
                    "beyond the operator's quota"
                }
            ),
        )
    })
}
