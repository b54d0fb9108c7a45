//! Dispatch: one parsed command line to the command that runs it, with the
//! run's [`Ctx`](crate::context::Ctx). This is the one place that knows
//! every command.

use crate::cli::{Cli, Command};
use crate::context;
use crate::exit::{Status, fail};
use crate::{principal, prompt};
use anyhow::Result;
use std::io::Write;

/// Runs one parsed command line, writing results to `out`. Returns the exit
/// status for outcomes that are not errors (a rejected code is status 1).
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Status> {
    run_as(cli, prompt::at_terminal(), out)
}

/// [`run`], saying whether prompts may be shown: `demo` runs its scripted
/// steps with `interactive` false, so none ever stops at a prompt.
fn run_as(cli: Cli, interactive: bool, out: &mut dyn Write) -> Result<Status> {
    use crate::commands::*;
    // Commands whose arguments name files or stores of the caller's
    // choosing are not run with privileges the caller lacks: `migrate`
    // would copy the store to any server, `generate-artifacts` write into
    // any folder.
    if matches!(
        cli.command,
        Command::Migrate(_) | Command::GenerateArtifacts(_)
    ) && let Some(why) = principal::elevated()
    {
        return Err(fail(
            Status::Usage,
            format!(
                "{} is refused: {why}; run it as the store's owner, without sudo",
                match cli.command {
                    Command::Migrate(_) => "migrate",
                    _ => "generate-artifacts",
                }
            ),
        ));
    }
    // Commands that need no configuration or store.
    match &cli.command {
        Command::GenerateArtifacts(a) => return artifacts::run(a, out),
        Command::Demo => return demo::run(scripted, out),
        _ => {}
    }
    let ctx = context::context(&cli, interactive)?;
    let status = match cli.command {
        Command::EnrollDevice(a) => enroll::run(&ctx, a, out)?,
        Command::IssueCodes(a) if a.batch.is_some() => batch::run(&ctx, a, out)?,
        Command::IssueCodes(a) => issue::run(&ctx, a, out)?,
        Command::Verify(a) => verify::run(&ctx, a, &mut verify::StdinSource, out)?,
        Command::Revoke(a) => revoke::run(&ctx, a, out)?,
        Command::Unlock(a) => revoke::unlock(&ctx, a, out)?,
        Command::List(a) => list::run(&ctx, a, out)?,
        Command::Audit(a) => audit_cmd::run(&ctx, a, out)?,
        Command::Config => config_cmd::run(&ctx, out)?,
        Command::Calibrate(a) => calibrate::run(&ctx, a, out)?,
        Command::Migrate(a) => migrate::run(&ctx, a, out)?,
        Command::Challenge(a) => challenge::run(&ctx, a, out)?,
        Command::Dispute(a) => challenge::dispute(&ctx, a, out)?,
        Command::Report(a) => report::run(&ctx, a, out)?,
        Command::SetupRoles => setup_roles::run(&ctx, out)?,
        Command::UpgradeStore(a) => upgrade_store::run(&ctx, a, out)?,
        Command::Sync(a) => sync::run(&ctx, a, out)?,
        // Issue 13: approvals (commands/approve.rs).
        Command::Privileged(a) => approve::privileged(&ctx, a, out)?,
        Command::Approve(a) => approve::decide(&ctx, a, true, out)?,
        Command::Deny(a) => approve::decide(&ctx, a, false, out)?,
        Command::Demo | Command::GenerateArtifacts(_) => unreachable!("handled above"),
    };
    out.flush()?;
    Ok(status)
}

/// One of `demo`'s steps: [`run_as`] with no prompts.
fn scripted(cli: Cli, out: &mut dyn Write) -> Result<Status> {
    run_as(cli, false, out)
}
