//! `issue-codes`: a new set for one user by the SMS path or the
//! identity-gated helpdesk path, through the issuance pipeline
//! (`crate::issuance`) that each `--batch` row goes through as well.

use super::user_arg;
use crate::cli::IssueArgs;
use crate::config::SmsDelivery;
use crate::context::Ctx;
use crate::exit::Status;
use crate::issuance::{self, Issued, Request};
use crate::model::Via;
use crate::output::{self, Sink};
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, a: IssueArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    let req = Request::from_args(&a)?;
    issuance::warn_if_weak(ctx);
    // Whatever goes to standard output may be codes.
    output::private_stdout();
    let name = user_arg(a.user.as_deref().unwrap_or_default())?;
    let mut store = ctx.open_store()?;
    let gate = req.attestation.gate(ctx.interactive);
    let plan = match issuance::plan(ctx, &mut store, &name, &req, gate) {
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
    if let Some(h) = plan.hint()
        && !ctx.quiet
    {
        output::eprose(&format!("hint: {h}"));
    }
    let prep = issuance::prepare(ctx, &plan)?;
    let mut outcome = issuance::commit(ctx, &mut store, plan, prep)?;
    issuance::publish(ctx, &mut store, &mut outcome, |o| {
        let width = o.plan.count as usize;
        sink.csv_header(out, issuance::csv_header(width))?;
        sink.record(
            out,
            &Issued {
                ctx,
                outcome: o,
                csv_width: width,
            },
        )?;
        out.flush()?;
        Ok(())
    })
    .map_err(issuance::Unpublished::into_error)?;
    if let Some(w) = issuance::notify_warning(&outcome, false) {
        output::eprose(&w);
    }
    if let Some(SmsDelivery::Outbox(p)) = &ctx.settings.sms
        && outcome.plan.via() == Via::Sms
        && !ctx.quiet
        && sink.is_table()
    {
        writeln!(
            out,
            "(SMS path configured as an outbox file: {})",
            p.display()
        )?;
    }
    Ok(Status::Ok)
}
