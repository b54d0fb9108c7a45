//! `setup-roles`: least privilege on a PostgreSQL store (docs/roles.md).
//! Run by the store's owner; creates the NOLOGIN roles codedesk_verifier,
//! codedesk_operator, codedesk_supervisor and codedesk_auditor where
//! missing and grants each what its commands need in this database. The
//! DBA then grants them to login roles.

use crate::cli::Format;
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::output;
use crate::roles;
use crate::store::Store;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, out: &mut dyn Write) -> Result<Status> {
    let store = ctx.open_store()?;
    let Store::Postgres(mut pg) = store else {
        return Err(fail(
            Status::Usage,
            "setup-roles is for a PostgreSQL store; a SQLite store is confined by its file's owner and mode (docs/roles.md)",
        ));
    };
    let schema = pg.setup_roles()?;
    match ctx.format {
        Format::Json => output::json_line(
            out,
            &serde_json::json!({"roles": roles::ALL, "schema": schema, "store": pg.target()}),
        )?,
        _ if ctx.quiet => {}
        _ => {
            writeln!(
                out,
                "roles {} granted on the store ({}, schema {schema})",
                roles::ALL.join(", "),
                pg.target()
            )?;
            writeln!(
                out,
                "grant them to login roles, e.g. GRANT codedesk_verifier TO pam_host; GRANT codedesk_operator TO alice;"
            )?;
        }
    }
    Ok(Status::Ok)
}
