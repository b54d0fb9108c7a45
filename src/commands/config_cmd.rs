//! `config`: the effective configuration and where each value came from.

use crate::Ctx;
use crate::cli::Format;
use crate::exit::Status;
use crate::output;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, out: &mut dyn Write) -> Result<Status> {
    let rows = ctx.global_sources.iter().chain(ctx.settings.sources.iter());
    match ctx.format {
        Format::Json => {
            let m: serde_json::Map<String, serde_json::Value> = rows
                .map(|(k, v, s)| (k.to_string(), serde_json::json!({"value": v, "source": s})))
                .collect();
            output::json_line(out, &m)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(["key", "value", "source"])?;
            for (k, v, s) in rows {
                w.write_record([*k, v.as_str(), s.as_str()])?;
            }
            w.flush()?;
        }
        _ => {
            let mut t = output::table(&["key", "value", "source"]);
            for (k, v, s) in rows {
                t.add_row(vec![k.to_string(), v.clone(), s.clone()]);
            }
            writeln!(out, "{t}")?;
            let bits = ctx
                .settings
                .spec
                .alphabet
                .entropy_bits(ctx.settings.spec.length);
            writeln!(
                out,
                "codes carry {bits:.0} random bits each{}",
                if bits < 64.0 {
                    " (below NIST SP 800-63B-4's 64-bit floor for saved recovery codes)"
                } else {
                    ""
                }
            )?;
        }
    }
    Ok(Status::Ok)
}
