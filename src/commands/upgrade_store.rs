//! `upgrade-store [--dry-run]`: the one way a store's schema changes once
//! it holds anything (docs/deployment.md, "Upgrading the fleet"). Run once
//! per store after upgrading the package, by the store's owner (on
//! PostgreSQL the role that owns its tables; on one host, root through
//! sudo). The migrations it lacks are applied in one transaction, with a
//! `store-upgraded` audit event; `--dry-run` names them and changes nothing.
//! The outcome goes through the [`Sink`] like every command's: the
//! [`crate::store::upgrade::Upgrade`] as one JSON object, or the text for a
//! person (in the table, text and CSV formats), which `--quiet` leaves out.

use crate::cli::UpgradeStoreArgs;
use crate::context::Ctx;
use crate::exit::Status;
use crate::output::Sink;
use crate::store::Store;
use crate::store::upgrade::Upgrade;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, a: UpgradeStoreArgs, out: &mut dyn Write) -> Result<Status> {
    let mut store = Store::open_for_upgrade(
        &ctx.db,
        ctx.settings.store_group.as_ref(),
        ctx.settings.db_password.as_ref(),
    )?;
    let u = store.upgrade_schema(&ctx.operator, a.dry_run)?;
    Sink::of(ctx).outcome(out, &u, |out| human(out, &u))?;
    Ok(Status::Ok)
}

/// The upgrade for a person. `.ci/deb-test` greps "applied N schema
/// change": keep that wording.
fn human(out: &mut dyn Write, u: &Upgrade) -> Result<()> {
    let (from, to) = (u.from, u.to);
    if u.migrations.is_empty() {
        writeln!(
            out,
            "the store's schema is version {}, this codedesk's: nothing to do",
            from.applied
        )?;
        return Ok(());
    }
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
    Ok(())
}
