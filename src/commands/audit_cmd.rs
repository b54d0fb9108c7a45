//! `audit` (list events) and `audit verify` (recompute the chain).

use crate::audit::ChainCheck;
use crate::cli::{AuditAction, AuditArgs, Format};
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::model::Username;
use crate::output::{self, ts};
use crate::store::EventFilter;
use anyhow::Result;
use std::io::Write;

/// Reads `--since`: an RFC 3339 time or date, or a duration ago (`7d`).
pub fn parse_since(raw: &str, now: i64) -> Result<i64> {
    let t = raw.trim();
    if let Ok(d) = crate::config::parse_duration(t) {
        return Ok(now - d.as_secs() as i64);
    }
    let with_time = if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    humantime::parse_rfc3339_weak(&with_time)
        .ok()
        .and_then(|st| st.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .ok_or_else(|| {
            fail(
                Status::Usage,
                format!("--since {raw:?}: give a time like 2026-11-29 or 2026-11-29T10:00:00Z, or a duration like 7d"),
            )
        })
}

/// `--anchor` values: 64 hexadecimal digits each (case is folded).
fn parse_anchors(raw: &[String]) -> Result<Vec<String>> {
    raw.iter()
        .map(|a| {
            let h = a.trim().to_ascii_lowercase();
            if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(h)
            } else {
                Err(fail(
                    Status::Usage,
                    format!(
                        "--anchor {}: give an event hash as audit verify prints it (64 hexadecimal digits)",
                        crate::model::printable(a, 80)
                    ),
                ))
            }
        })
        .collect()
}

/// `audit verify --format csv`: a header and one row.
fn verify_csv(out: &mut dyn Write, row: [&str; 5]) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["intact", "events", "head", "event", "problem"])?;
    w.write_record(output::csv_safe(row))?;
    w.flush()?;
    Ok(())
}

pub fn run(ctx: &Ctx, a: AuditArgs, out: &mut dyn Write) -> Result<Status> {
    // Bad input is refused before the store is opened (or created).
    let user = a.user.as_deref().map(Username::parse).transpose()?;
    let filter = EventFilter {
        user: user.as_ref().map(|u| u.to_string()),
        since: a
            .since
            .as_deref()
            .map(|s| parse_since(s, ctx.now()))
            .transpose()?,
        after: None,
    };
    if a.follow && ctx.format != Format::Json {
        return Err(fail(
            Status::Usage,
            "--follow streams JSON lines: give --format json",
        ));
    }
    let anchors = match &a.action {
        Some(AuditAction::Verify(c)) => parse_anchors(&c.anchor)?,
        None => Vec::new(),
    };
    let store = ctx.open_store()?;
    if let Some(AuditAction::Verify(_)) = a.action {
        return match store.verify_chain()? {
            ChainCheck::Intact { head, count } => {
                // Anyone who can write the store can rewrite the whole
                // chain with fresh hashes, or drop its newest events; a
                // head kept elsewhere is what shows it.
                let mut found = Vec::new();
                for h in &anchors {
                    match store.audit_event_with_hash(h)? {
                        Some(id) => found.push((h, id)),
                        None => {
                            let why = format!(
                                "anchor {h} is not in the trail: events were removed or the trail was rewritten"
                            );
                            if ctx.format == Format::Json {
                                output::json_line(
                                    out,
                                    &serde_json::json!({"intact": false, "anchor": h, "problem": why}),
                                )?;
                            } else if ctx.format == Format::Csv {
                                verify_csv(out, ["false", "", "", "", &why])?;
                            }
                            return Err(fail(
                                Status::AuditAltered,
                                format!("audit trail altered: {why}"),
                            ));
                        }
                    }
                }
                // The chain holds: does the store agree with it?
                if let Some(why) = store.trail_disagreement()? {
                    if ctx.format == Format::Json {
                        output::json_line(
                            out,
                            &serde_json::json!({"intact": false, "problem": why}),
                        )?;
                    }
                    return Err(fail(
                        Status::AuditAltered,
                        format!("the store disagrees with its audit trail: {why}"),
                    ));
                }
                if ctx.format == Format::Json {
                    let found: Vec<_> = found
                        .iter()
                        .map(|(h, id)| serde_json::json!({"hash": h, "event": id}))
                        .collect();
                    output::json_line(
                        out,
                        &serde_json::json!({"intact": true, "events": count, "head": head,
                            "anchors": found}),
                    )?;
                } else if ctx.format == Format::Csv {
                    verify_csv(out, ["true", &count.to_string(), &head, "", ""])?;
                } else {
                    writeln!(out, "audit trail intact: {count} events; head {head}")?;
                    for (h, id) in &found {
                        writeln!(out, "anchor {h} is event {id}")?;
                    }
                }
                Ok(Status::Ok)
            }
            ChainCheck::Broken { id, why } => {
                if ctx.format == Format::Json {
                    output::json_line(
                        out,
                        &serde_json::json!({"intact": false, "event": id, "problem": why}),
                    )?;
                } else if ctx.format == Format::Csv {
                    verify_csv(out, ["false", "", "", &id.to_string(), &why])?;
                }
                Err(fail(
                    Status::AuditAltered,
                    format!("audit trail altered: {why}"),
                ))
            }
        };
    }
    // `--user` with a name the store has never known (a typo) is exit 4,
    // as for `list USER`; a user who exists, or whose events outlive them,
    // is not (no events since TIME is still an empty answer).
    if let Some(name) = &user
        && store.find_user(name)?.is_none()
    {
        let ever = EventFilter {
            user: filter.user.clone(),
            since: None,
            after: None,
        };
        let mut any = false;
        store.for_each_event(&ever, |_| {
            any = true;
            Ok(())
        })?;
        if !any {
            return Err(crate::store::no_such_user(name.as_str()));
        }
    }
    if a.follow {
        return follow(&store, filter, out);
    }
    match ctx.format {
        Format::Json => store.for_each_event(&filter, |e| output::json_line(out, &e))?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record([
                "id",
                "at",
                "principal",
                "operator",
                "action",
                "user",
                "details",
                "hash",
            ])?;
            store.for_each_event(&filter, |e| {
                w.write_record(output::csv_safe([
                    e.id.to_string(),
                    ts(e.at),
                    e.principal.unwrap_or_default(),
                    e.operator,
                    e.action,
                    e.user.unwrap_or_default(),
                    e.details.to_string(),
                    e.hash,
                ]))?;
                Ok(())
            })?;
            w.flush()?;
        }
        Format::Text => store.for_each_event(&filter, |e| {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                e.id,
                ts(e.at),
                e.principal.unwrap_or_default(),
                e.operator,
                e.action,
                e.user.unwrap_or_default(),
                e.details
            )?;
            Ok(())
        })?,
        Format::Table => {
            let mut t = output::table(&[
                "id",
                "time",
                "principal",
                "operator",
                "action",
                "user",
                "details",
            ]);
            let mut n = 0;
            store.for_each_event(&filter, |e| {
                n += 1;
                t.add_row(vec![
                    e.id.to_string(),
                    ts(e.at),
                    e.principal.unwrap_or_default(),
                    e.operator,
                    e.action,
                    e.user.unwrap_or_default(),
                    e.details.to_string(),
                ]);
                Ok(())
            })?;
            if n == 0 {
                writeln!(out, "no audit events match")?;
            } else {
                writeln!(out, "{t}")?;
            }
        }
    }
    Ok(Status::Ok)
}

/// `audit --follow --format json`: new events as JSON lines, as they are
/// appended, until interrupted or the reader goes away. Without `--since`
/// it starts after the newest event; with it, at that time.
fn follow(
    store: &crate::store::Store,
    mut filter: EventFilter,
    out: &mut dyn Write,
) -> Result<Status> {
    if filter.since.is_none() {
        filter.after = Some(store.last_event_id()?);
    }
    loop {
        let mut last = filter.after;
        store.for_each_event(&filter, |e| {
            last = Some(e.id);
            output::json_line(out, &e)
        })?;
        out.flush()?;
        if last != filter.after {
            // From here on, by id: --since has done its part.
            filter.after = last;
            filter.since = None;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}
