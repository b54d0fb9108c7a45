//! `upgrade-store [--dry-run]`: the one way a store's schema changes once
//! it holds anything (docs/deployment.md, "Upgrading the fleet"). Run once
//! per store after upgrading the package, by the store's owner (on
//! PostgreSQL the role that owns its tables; on one host, root through
//! sudo). The migrations it lacks are applied in one transaction, with a
//! `store-upgraded` audit event; `--dry-run` names them and changes nothing.

use crate::cli::{Format, UpgradeStoreArgs};
use crate::context::Ctx;
use crate::exit::Status;
use crate::output;
use crate::store::Store;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, a: UpgradeStoreArgs, out: &mut dyn Write) -> Result<Status> {
    let mut store = Store::open_for_upgrade(
        &ctx.db,
        ctx.settings.store_group.as_ref(),
        ctx.settings.db_password.as_ref(),
    )?;
    let u = store.upgrade_schema(&ctx.operator, a.dry_run)?;
    let (from, to) = (u.from, u.to);
    match ctx.format {
        Format::Json => output::json_line(out, &u)?,
        _ if ctx.quiet => {}
        _ if u.migrations.is_empty() => writeln!(
            out,
            "the store's schema is version {}, this codedesk's: nothing to do",
            from.applied
        )?,
        _ => {
            let verb = match u.dry_run {
                true => "would apply",
                false => "applied",
            };
            writeln!(
                out,
                "{verb} {} schema change(s), version {} to {}:",
                u.migrations.len(),
                from.applied,
                to.applied
            )?;
            for m in &u.migrations {
                writeln!(out, "  {m}")?;
            }
            writeln!(
                out,
                "codedesk at schema {} and later {} verify and read the store",
                to.compatible_back_to,
                match u.dry_run {
                    true => "would then",
                    false => "can",
                }
            )?;
        }
    }
    Ok(Status::Ok)
}
