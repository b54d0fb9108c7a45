//! `audit` (list events) and `audit verify` (recompute the chain).

use crate::audit::{ChainCheck, Event};
use crate::cli::{AuditAction, AuditArgs};
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::model::Username;
use crate::output::{self, Human, Record, Row, Sink, ts};
use crate::store::{EventFilter, Store};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

/// Reads `--since`, if given: an RFC 3339 time or date, or a duration
/// ago (`7d`).
pub fn parse_since(raw: Option<&str>, now: i64) -> Result<Option<i64>> {
    raw.map(|raw| since(raw, now)).transpose()
}

fn since(raw: &str, now: i64) -> Result<i64> {
    let t = raw.trim();
    if let Ok(d) = crate::config::parse_duration(t) {
        return Ok(now.saturating_sub(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
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

/// `audit verify`'s verdict as JSON (keys in sorted order, as always).
#[derive(Serialize, Default)]
struct VerdictJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    anchor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anchors: Option<Vec<AnchorJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<String>,
    intact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

#[derive(Serialize)]
struct AnchorJson {
    event: i64,
    hash: String,
}

/// `audit verify`'s verdict: JSON, a CSV header and row when the verdict
/// has one, and lines for a person (none when the error says it all).
struct Verdict {
    json: VerdictJson,
    csv: Option<[String; 5]>,
    lines: Vec<String>,
}

impl Record for Verdict {
    fn json(&self) -> impl Serialize + '_ {
        &self.json
    }
    fn csv(&self) -> Vec<Vec<String>> {
        let Some(row) = &self.csv else {
            return Vec::new();
        };
        vec![
            ["intact", "events", "head", "event", "problem"]
                .map(String::from)
                .to_vec(),
            row.to_vec(),
        ]
    }
    fn human(&self, out: &mut dyn Write, _: Human, _quiet: bool) -> Result<()> {
        for l in &self.lines {
            writeln!(out, "{l}")?;
        }
        Ok(())
    }
}

/// One event in `audit`: JSON lines, or CSV, text and a table.
impl Row for Event {
    const CSV_HEADER: &'static [&'static str] = &[
        "id",
        "at",
        "principal",
        "operator",
        "action",
        "user",
        "details",
        "hash",
    ];
    const TABLE_HEADER: &'static [&'static str] = &[
        "id",
        "time",
        "principal",
        "operator",
        "action",
        "user",
        "details",
    ];
    const JSON_ARRAY: bool = false;
    fn json(&self, out: &mut dyn Write) -> Result<()> {
        serde_json::to_writer(out, self)?;
        Ok(())
    }
    fn csv(&self) -> Vec<String> {
        let mut row = self.table();
        row.push(self.hash.clone());
        row
    }
    fn text(&self) -> Vec<String> {
        self.table()
    }
    fn table(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            ts(self.at),
            self.principal.clone().unwrap_or_default(),
            self.operator.clone(),
            self.action.clone(),
            self.user.clone().unwrap_or_default(),
            self.details.to_string(),
        ]
    }
}

pub fn run(ctx: &Ctx, a: AuditArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    // Bad input is refused before the store is opened (or created).
    let user = a.user.as_deref().map(Username::parse).transpose()?;
    let filter = EventFilter {
        user: user.as_ref().map(|u| u.to_string()),
        since: parse_since(a.since.as_deref(), ctx.now())?,
        after: None,
    };
    if a.follow && !sink.is_json() {
        return Err(fail(
            Status::Usage,
            "--follow streams JSON lines: give --format json",
        ));
    }
    let anchors = match &a.action {
        Some(AuditAction::Verify(c)) => parse_anchors(&c.anchor)?,
        None => Vec::new(),
    };
    let store = ctx.open_existing_store()?;
    if let Some(AuditAction::Verify(_)) = a.action {
        return verify(&sink, &store, &anchors, out);
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
    sink.rows(out, Some("no audit events match"), |row| {
        store.for_each_event(&filter, row)
    })?;
    Ok(Status::Ok)
}

/// `audit verify`: recomputes the chain, looks up each anchor, and asks
/// whether the store agrees with the trail.
fn verify(sink: &Sink, store: &Store, anchors: &[String], out: &mut dyn Write) -> Result<Status> {
    let (verdict, why) = match store.verify_chain()? {
        ChainCheck::Intact { head, count } => {
            // Anyone who can write the store can rewrite the whole chain
            // with fresh hashes, or drop its newest events; a head kept
            // elsewhere is what shows it.
            let mut found = Vec::new();
            for h in anchors {
                match store.audit_event_with_hash(h)? {
                    Some(id) => found.push(AnchorJson {
                        event: id,
                        hash: h.clone(),
                    }),
                    None => {
                        let why = format!(
                            "anchor {h} is not in the trail: events were removed or the trail was rewritten"
                        );
                        let verdict = Verdict {
                            json: VerdictJson {
                                anchor: Some(h.clone()),
                                problem: Some(why.clone()),
                                ..VerdictJson::default()
                            },
                            csv: Some(["false", "", "", "", &why].map(String::from)),
                            lines: Vec::new(),
                        };
                        return altered(sink, out, &verdict, format!("audit trail altered: {why}"));
                    }
                }
            }
            // The chain holds: does the store agree with it?
            if let Some(why) = store.trail_disagreement()? {
                let verdict = Verdict {
                    json: VerdictJson {
                        problem: Some(why.clone()),
                        ..VerdictJson::default()
                    },
                    csv: None,
                    lines: Vec::new(),
                };
                return altered(
                    sink,
                    out,
                    &verdict,
                    format!("the store disagrees with its audit trail: {why}"),
                );
            }
            let mut lines = vec![format!("audit trail intact: {count} events; head {head}")];
            lines.extend(
                found
                    .iter()
                    .map(|a| format!("anchor {} is event {}", a.hash, a.event)),
            );
            let verdict = Verdict {
                json: VerdictJson {
                    anchors: Some(found),
                    events: Some(count),
                    head: Some(head.clone()),
                    intact: true,
                    ..VerdictJson::default()
                },
                csv: Some([
                    "true".to_string(),
                    count.to_string(),
                    head,
                    String::new(),
                    String::new(),
                ]),
                lines,
            };
            (verdict, None)
        }
        ChainCheck::Broken { id, why } => {
            let verdict = Verdict {
                json: VerdictJson {
                    event: Some(id),
                    problem: Some(why.clone()),
                    ..VerdictJson::default()
                },
                csv: Some(["false", "", "", &id.to_string(), &why].map(String::from)),
                lines: Vec::new(),
            };
            (verdict, Some(format!("audit trail altered: {why}")))
        }
    };
    match why {
        Some(why) => altered(sink, out, &verdict, why),
        None => {
            sink.record(out, &verdict)?;
            Ok(Status::Ok)
        }
    }
}

/// Writes the verdict and returns the exit-9 error that says what is wrong.
fn altered(sink: &Sink, out: &mut dyn Write, verdict: &Verdict, why: String) -> Result<Status> {
    sink.record(out, verdict)?;
    Err(fail(Status::AuditAltered, why))
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
