//! The `codedesk` binary: parse, run, map the outcome to an exit status.

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};
use codedesk::exit::{self, Status};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // As `Cli::try_parse`, keeping the parser for the one-line messages.
    let mut cmd = codedesk::cli::Cli::command();
    let parsed = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|mut matches| {
            codedesk::cli::Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
        });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            // Help and version exactly as clap prints them, with clap's
            // exit status.
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
            // No subcommand: one usage line, not the whole help.
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
                codedesk::eline!("codedesk: {}", codedesk::cli::missing_subcommand(&cmd));
                return ExitCode::from(Status::Usage.code());
            }
            // Any other usage error: one line, exit 2.
            _ => {
                codedesk::eline!("codedesk: {}", codedesk::cli::one_line_error(&e));
                return ExitCode::from(Status::Usage.code());
            }
        },
    };
    // A global option repeated before and after the subcommand: clap lets
    // the later one win; codedesk refuses it (a wrapper's pinned --db or
    // --config must not be overridden by what its caller appends).
    if let Some(name) = codedesk::cli::repeated_global(&cmd, std::env::args_os()) {
        codedesk::eline!(
            "codedesk: the argument '{name}' was given more than once; give each global option once, before or after the subcommand"
        );
        return ExitCode::from(Status::Usage.code());
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A command its PostgreSQL role may not run (exit 9) names the role.
    let name = codedesk::roles::command_name(&cli.command);
    let result =
        codedesk::dispatch::run(cli, &mut out).map_err(|e| codedesk::roles::explain(e, name));
    let flushed = out.flush();
    let status = match result {
        Ok(status) => match flushed {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                codedesk::eline!("codedesk: cannot write output: {e}");
                Status::Usage
            }
            _ => status,
        },
        Err(err) if exit::is_broken_pipe(&err) => Status::Ok,
        Err(err) => {
            // One line: the whole anyhow chain, outermost first. After a
            // signal the terminal may be gone: a failed write must not
            // change the exit status.
            let _ = writeln!(std::io::stderr(), "codedesk: {err:#}");
            if codedesk::interrupt::is_stopped(&err) {
                return ExitCode::from(codedesk::interrupt::STOPPED);
            }
            exit::status_of(&err)
        }
    };
    ExitCode::from(status.code())
}
