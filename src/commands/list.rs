//! `list`: every user (streamed, a fixed number of queries), or one user in
//! detail. Phone numbers are masked; codes are never shown.

use super::user_arg;
use crate::cli::{Format, ListArgs};
use crate::context::Ctx;
use crate::exit::Status;
use crate::output::{self, current_set, device_line, ts, ts_opt, user_json};
use crate::store::UserSummary;
use anyhow::Result;
use std::io::Write;

pub fn run(ctx: &Ctx, a: ListArgs, out: &mut dyn Write) -> Result<Status> {
    // Bad input is refused before the store is opened (or created).
    let name = a.user.as_deref().map(user_arg).transpose()?;
    let store = ctx.open_store()?;
    let now = ctx.now();
    if let Some(name) = name {
        let s = store.user_summary(&name)?;
        detail(ctx, &s, now, out)?;
        return Ok(Status::Ok);
    }
    match ctx.format {
        Format::Json => {
            // A JSON array, streamed one user at a time.
            write!(out, "[")?;
            let mut first = true;
            store.for_each_user(None, |s| {
                if !first {
                    write!(out, ",")?;
                }
                first = false;
                writeln!(out)?;
                serde_json::to_writer(&mut *out, &user_json(&s, now))?;
                Ok(())
            })?;
            writeln!(out, "{}]", if first { "" } else { "\n" })?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(CSV_HEADER)?;
            store.for_each_user(None, |s| {
                w.write_record(output::csv_safe(csv_row(&s, now)))?;
                Ok(())
            })?;
            w.flush()?;
        }
        Format::Text => {
            store.for_each_user(None, |s| {
                writeln!(out, "{}", csv_row(&s, now).join("\t"))?;
                Ok(())
            })?;
        }
        Format::Table => {
            let mut rows: Vec<Vec<String>> = Vec::new();
            store.for_each_user(None, |s| {
                rows.push(csv_row(&s, now));
                Ok(())
            })?;
            if rows.is_empty() {
                if !ctx.quiet {
                    writeln!(
                        out,
                        "no users yet: codedesk enroll-device USER --kind mobile --phone NUMBER"
                    )?;
                }
            } else {
                let mut t = output::table(&CSV_HEADER);
                for r in rows {
                    t.add_row(r);
                }
                writeln!(out, "{t}")?;
            }
        }
    }
    Ok(Status::Ok)
}

const CSV_HEADER: [&str; 9] = [
    "user",
    "primary",
    "devices",
    "sms",
    "codes_left",
    "set",
    "issued",
    "expires",
    "locked",
];

fn csv_row(s: &UserSummary, now: i64) -> Vec<String> {
    let cur = current_set(s);
    vec![
        s.user.name.clone(),
        s.devices
            .first()
            .map(device_line)
            .unwrap_or_else(|| "none".into()),
        s.devices.len().to_string(),
        if s.devices.iter().any(|d| d.sms) {
            "yes"
        } else {
            "no"
        }
        .into(),
        s.codes_remaining(now).to_string(),
        cur.map(|c| format!("{} ({}, {})", c.id, c.via.as_str(), c.operator))
            .unwrap_or_default(),
        cur.map(|c| ts(c.created_at)).unwrap_or_default(),
        cur.map(|c| ts_opt(c.expires_at)).unwrap_or_default(),
        if s.user.locked_at.is_some() {
            "LOCKED"
        } else {
            "no"
        }
        .into(),
    ]
}

fn detail(ctx: &Ctx, s: &UserSummary, now: i64, out: &mut dyn Write) -> Result<()> {
    match ctx.format {
        Format::Json => {
            let mut v = serde_json::to_value(user_json(s, now))?;
            if let (Some(cfg), Some(map)) = (&ctx.settings.directory, v.as_object_mut()) {
                let d = match crate::directory::lookup(cfg, &s.user.name) {
                    Ok(Some(d)) => serde_json::json!({"known": true,
                        "display_name": d.display_name, "privileged": d.privileged}),
                    Ok(None) => serde_json::json!({"known": false}),
                    Err(e) => serde_json::json!({"error": e.to_string()}),
                };
                map.insert("directory".into(), d);
            }
            output::json_line(out, &v)?
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(CSV_HEADER)?;
            w.write_record(output::csv_safe(csv_row(s, now)))?;
            w.flush()?;
        }
        Format::Table | Format::Text => {
            let u = &s.user;
            writeln!(out, "user:        {}", u.name)?;
            if let Some(line) = directory_line(ctx, &u.name) {
                writeln!(out, "directory:   {line}")?;
            }
            writeln!(out, "enrolled:    {}", ts(u.created_at))?;
            writeln!(
                out,
                "locked:      {}",
                match u.locked_at {
                    Some(t) => format!("yes, since {} (codedesk unlock {})", ts(t), u.name),
                    None => format!("no ({} consecutive rejections)", u.failed_attempts),
                }
            )?;
            writeln!(out, "codes left:  {}", s.codes_remaining(now))?;
            if s.devices.is_empty() {
                writeln!(out, "devices:     none (the helpdesk path applies)")?;
            } else {
                let mut t = output::table(&["id", "kind", "phone", "sms", "primary", "label"]);
                for (i, d) in s.devices.iter().enumerate() {
                    t.add_row(vec![
                        d.id.to_string(),
                        d.kind.as_str().into(),
                        d.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
                        if d.sms { "yes" } else { "no" }.into(),
                        if i == 0 { "yes" } else { "" }.into(),
                        d.label.clone().unwrap_or_default(),
                    ]);
                }
                writeln!(out, "devices:\n{t}")?;
            }
            if s.sets.is_empty() {
                writeln!(out, "sets:        none outstanding")?;
            } else {
                let mut t =
                    output::table(&["set", "via", "issued", "by", "expires", "left", "check"]);
                for c in &s.sets {
                    t.add_row(vec![
                        c.id.to_string(),
                        c.via.as_str().into(),
                        ts(c.created_at),
                        c.operator.clone(),
                        if c.expires_at.is_some_and(|e| e <= now) {
                            format!("{} (expired)", ts_opt(c.expires_at))
                        } else {
                            ts_opt(c.expires_at)
                        },
                        c.remaining.to_string(),
                        c.identity_check_id
                            .map(|i| i.to_string())
                            .unwrap_or_default(),
                    ]);
                }
                writeln!(out, "sets:\n{t}")?;
            }
        }
    }
    Ok(())
}

/// What the directory says of the user, for `list USER`: display name and
/// whether privileged. A directory that cannot be asked is a warning, not
/// a failure: listing changes nothing.
fn directory_line(ctx: &Ctx, user: &str) -> Option<String> {
    let cfg = ctx.settings.directory.as_ref()?;
    Some(match crate::directory::lookup(cfg, user) {
        Ok(Some(d)) => format!(
            "{}{}",
            d.display_name.as_deref().unwrap_or("(no display name)"),
            if d.privileged {
                ", PRIVILEGED (in a privileged group)"
            } else {
                ""
            }
        ),
        Ok(None) => "NOT in the directory (left?)".to_string(),
        Err(e) => {
            eprintln!("codedesk: warning: {e}");
            "unreachable".to_string()
        }
    })
}
