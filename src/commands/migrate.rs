//! `migrate --from SQLITE_PATH --to postgres://...`: copies a SQLite store
//! into an empty PostgreSQL store (every table, ids preserved, in one
//! transaction), then checks the copy's audit chain. The source's data is
//! only read (a source from an earlier codedesk gets this schema first);
//! a source whose audit trail is altered is refused (exit 8), and so is a
//! target that already holds anything (exit 2).

use crate::audit::ChainCheck;
use crate::cli::{Format, MigrateArgs};
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::output;
use crate::store;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, a: MigrateArgs, out: &mut dyn Write) -> Result<Status> {
    let m = store::migrate_sqlite_to_postgres(&a.from, &a.to, &ctx.operator, ctx.now())?;
    let (intact, events, head) = match &m.chain {
        ChainCheck::Intact { head, count } => (true, *count, head.clone()),
        ChainCheck::Broken { why, .. } => {
            return Err(fail(
                Status::AuditAltered,
                format!("the copy's audit trail does not verify: {why}"),
            ));
        }
    };
    let c = &m.copied;
    match ctx.format {
        Format::Json => output::json_line(
            out,
            &serde_json::json!({
                "from": a.from.display().to_string(),
                "to": m.target,
                "copied": c,
                "audit": {"intact": intact, "events": events, "head": head},
            }),
        )?,
        _ if ctx.quiet => writeln!(out, "{head}")?,
        _ => {
            writeln!(
                out,
                "copied {} users, {} devices, {} identity checks, {} sets, {} codes, {} challenges, {} email addresses, {} notices and {} audit events from {} into the PostgreSQL store ({})",
                c.users,
                c.devices,
                c.identity_checks,
                c.code_sets,
                c.codes,
                c.challenges,
                c.user_emails,
                c.notices,
                c.audit,
                a.from.display(),
                m.target
            )?;
            writeln!(
                out,
                "audit trail intact: {events} events (the last records the migration); head {head}"
            )?;
            writeln!(
                out,
                "point every workstation at the new store (--db or CODEDESK_DB) and retire the SQLite file"
            )?;
        }
    }
    Ok(Status::Ok)
}
