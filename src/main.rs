//! The `codedesk` binary: parse, run, map the outcome to an exit status.

use clap::Parser;
use clap::error::ErrorKind;
use codedesk::exit::{self, Status};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match codedesk::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            // Help and version (and help for a missing subcommand) exactly
            // as clap prints them, with clap's exit status.
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            // Any other usage error: one line, exit 2.
            _ => {
                eprintln!("codedesk: {}", codedesk::cli::one_line_error(&e));
                return ExitCode::from(Status::Usage.code());
            }
        },
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = codedesk::run(cli, &mut out);
    let flushed = out.flush();
    let status = match result {
        Ok(status) => match flushed {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("codedesk: cannot write output: {e}");
                Status::Usage
            }
            _ => status,
        },
        Err(err) if exit::is_broken_pipe(&err) => Status::Ok,
        Err(err) => {
            // One line: the whole anyhow chain, outermost first.
            eprintln!("codedesk: {err:#}");
            exit::status_of(&err)
        }
    };
    ExitCode::from(status.code())
}
