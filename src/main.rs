//! The `codedesk` binary: parse, run, map the outcome to an exit status.

use clap::Parser;
use codedesk::exit::{self, Status};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = codedesk::cli::Cli::parse();
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
