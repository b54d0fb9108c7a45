//! `config`: the effective configuration and where each value came from.

use crate::cli::Format;
use crate::config::Settings;
use crate::context::Ctx;
use crate::exit::Status;
use crate::output;
use anyhow::Result;
use std::io::Write;

/// A guessing chance per user per year at or above this is warned about.
const FEASIBLE_PER_YEAR: f64 = 1e-4;

/// With `lockout.auto_unlock`, an attacker gets `threshold` guesses per
/// unlock period, for ever: at most `threshold * year / period` guesses a
/// year, each matching one of the `count` codes of a live set out of
/// `2^bits` possible codes. Returns (guesses per day, chance per year), or
/// None when lockouts last until an operator clears them.
pub fn guessing_odds(s: &Settings) -> Option<(f64, f64)> {
    let period = s.auto_unlock?.as_secs_f64().max(1.0);
    let per_day = f64::from(s.lockout_threshold) * 86_400.0 / period;
    let space = s.spec.alphabet.entropy_bits(s.spec.length).exp2();
    let per_year = (per_day * 365.0 * f64::from(s.count) / space).min(1.0);
    Some((per_day, per_year))
}

/// What the configuration does that its text does not say: a default
/// capped by a limit, and lockouts that end so soon that guessing a code
/// becomes feasible.
fn warnings(s: &Settings) -> Vec<String> {
    let mut w = Vec::new();
    let fmt = |d: Option<std::time::Duration>| {
        d.map_or("never".to_string(), |d| {
            humantime::format_duration(d).to_string()
        })
    };
    let default = s.helpdesk_default_expires.or(s.expires);
    if let Some(max) = s.helpdesk_max_expires
        && default.is_none_or(|d| d > max)
    {
        w.push(format!(
            "helpdesk codes issued without --expires last {}, not {}: the default (helpdesk.default_expires, else codes.expires) is capped by helpdesk.max_expires",
            fmt(Some(max)),
            fmt(default)
        ));
    }
    if let Some(max) = s.helpdesk_max_uses
        && s.uses > max
    {
        w.push(format!(
            "helpdesk codes issued without --uses work {max} time(s), not {}: codes.uses is capped by helpdesk.max_uses",
            s.uses
        ));
    }
    if let Some((per_day, per_year)) = guessing_odds(s)
        && per_year >= FEASIBLE_PER_YEAR
    {
        w.push(format!(
            "lockout.auto_unlock = {} with lockout.threshold = {} lets an attacker try {per_day:.0} codes a day per user: a {:.2e} chance a year of guessing one of {} live codes of {:.0} random bits; turn auto_unlock off, make it longer, or use longer codes",
            fmt(s.auto_unlock),
            s.lockout_threshold,
            per_year,
            s.count,
            s.spec.alphabet.entropy_bits(s.spec.length)
        ));
    }
    w
}

pub fn run(ctx: &Ctx, out: &mut dyn Write) -> Result<Status> {
    for w in warnings(&ctx.settings) {
        output::eprose(&format!("codedesk: warning: {w}"));
    }
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
                w.write_record(output::csv_safe([*k, v.as_str(), s.as_str()]))?;
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
