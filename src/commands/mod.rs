//! One module per subcommand: each turns its clap arguments into plain
//! values, calls the store, and renders through `output`.

pub mod artifacts;
pub mod audit_cmd;
pub mod batch;
pub mod calibrate;
pub mod config_cmd;
pub mod demo;
pub mod enroll;
pub mod issue;
pub mod list;
pub mod revoke;
pub mod verify;

use crate::exit::{Status, fail};
use crate::model::Username;
use anyhow::Result;
use std::io::Read;
use std::path::Path;

/// Parses a user name given on the command line.
pub fn user_arg(raw: &str) -> Result<Username> {
    Username::parse(raw)
}

/// Opens a CSV input: a file, or standard input for `-`. Capped at 64 MiB so
/// a wrong file cannot exhaust memory.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    const CAP: u64 = 64 << 20;
    let mut buf = Vec::new();
    let r: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| {
            fail(
                Status::Usage,
                format!("cannot read {}: {e}", path.display()),
            )
        })?)
    };
    r.take(CAP + 1).read_to_end(&mut buf).map_err(|e| {
        fail(
            Status::Usage,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    if buf.len() as u64 > CAP {
        return Err(fail(
            Status::Usage,
            format!("{} is larger than 64 MiB", path.display()),
        ));
    }
    Ok(buf)
}
