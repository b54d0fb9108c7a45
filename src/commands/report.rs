//! `report`: what each principal did, per day, from the audit trail:
//! identity checks passed and refused by method, sets issued by path,
//! privileged approvals, disputes and lockouts. Read-only; never a code.
//! Rows are per principal (the OS account or login role the backend
//! recorded), never per `--operator` display name, which anyone can give:
//! the names a principal gave are listed beside it.

use super::audit_cmd::parse_since;
use crate::cli::{ReportArgs, ReportBy};
use crate::context::Ctx;
use crate::exit::Status;
use crate::output::{self, Human, Record, Sink};
use crate::store::EventFilter;
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;

/// The identity methods, in the order columns show them; `none` is a
/// refusal recorded before a method was chosen.
const METHODS: [&str; 5] = ["in-person", "video-call", "callback", "challenge", "none"];

/// The principal of events recorded before principals were kept.
const NO_PRINCIPAL: &str = "(not recorded)";

#[derive(Debug, Default, Clone, Serialize)]
struct Row {
    /// Who the backend says ran the commands (None: `--by day`).
    principal: Option<String>,
    /// The `--operator` display names given with the counted events.
    operators: BTreeSet<String>,
    day: Option<String>,
    checks_passed: u64,
    checks_refused: u64,
    passed_by_method: BTreeMap<String, u64>,
    refused_by_method: BTreeMap<String, u64>,
    sets_helpdesk: u64,
    sets_sms: u64,
    privileged_approvals: u64,
    disputes: u64,
    lockouts: u64,
}

pub fn run(ctx: &Ctx, a: ReportArgs, out: &mut dyn Write) -> Result<Status> {
    let filter = EventFilter {
        user: None,
        since: parse_since(a.since.as_deref(), ctx.now())?,
        after: None,
    };
    let store = ctx.open_existing_store()?;
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    // A set's path, from the event that stored it, until it goes live.
    let mut via: HashMap<i64, String> = HashMap::new();
    // The checks counted from their own `identity-check` events: a device
    // enrolled on one of them (an approved request's) is not counted again.
    let mut counted: HashSet<i64> = HashSet::new();
    store.for_each_event(&filter, |e| {
        let day = output::ts(e.at).chars().take(10).collect::<String>();
        let principal = e.principal.clone().unwrap_or_else(|| NO_PRINCIPAL.into());
        let key = match a.by {
            None => (principal, day.clone()),
            Some(ReportBy::Operator) => (principal, String::new()),
            Some(ReportBy::Day) => (String::new(), day.clone()),
        };
        let d = &e.details;
        let set = d.get("set").and_then(|v| v.as_i64());
        let mut bump = |f: &dyn Fn(&mut Row)| {
            let r = rows.entry(key.clone()).or_default();
            r.operators.insert(e.operator.clone());
            f(r);
        };
        match e.action.as_str() {
            "identity-check" => {
                let method = method_of(d);
                let passed = d.get("outcome").and_then(|o| o.as_str()) == Some("passed");
                if let Some(c) = d.get("check").and_then(|v| v.as_i64()) {
                    counted.insert(c);
                }
                bump(&|r| {
                    if passed {
                        r.checks_passed += 1;
                        *r.passed_by_method.entry(method.clone()).or_default() += 1;
                    } else {
                        r.checks_refused += 1;
                        *r.refused_by_method.entry(method.clone()).or_default() += 1;
                    }
                });
            }
            "codes-pending" | "codes-issued" => {
                let path = d.get("via").and_then(|v| v.as_str()).unwrap_or_default();
                if e.action == "codes-issued" {
                    let helpdesk = path == "helpdesk";
                    bump(&|r| count_set(r, helpdesk));
                } else if let Some(s) = set {
                    via.insert(s, path.to_string());
                }
            }
            "codes-delivered" => {
                if let Some(path) = set.and_then(|s| via.remove(&s)) {
                    let helpdesk = path == "helpdesk";
                    bump(&|r| count_set(r, helpdesk));
                }
            }
            "request-approved"
                if d.get("reason").and_then(|v| v.as_str()) == Some("privileged") =>
            {
                bump(&|r| r.privileged_approvals += 1)
            }
            // A device added to an existing user passes an identity check
            // that only its enrolment event records.
            "device-enrolled" => {
                if let Some(c) = d.get("check").and_then(|v| v.as_i64())
                    && counted.insert(c)
                {
                    let method = method_of(d);
                    bump(&|r| {
                        r.checks_passed += 1;
                        *r.passed_by_method.entry(method.clone()).or_default() += 1;
                    });
                }
            }
            "dispute" => bump(&|r| r.disputes += 1),
            "lockout" => bump(&|r| r.lockouts += 1),
            _ => {}
        }
        Ok(())
    })?;
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|((principal, day), mut r)| {
            r.principal = (!principal.is_empty()).then_some(principal);
            r.day = (!day.is_empty()).then_some(day);
            r
        })
        .collect();
    render(ctx, &rows, out)?;
    Ok(Status::Ok)
}

/// The identity method an event names (`none`: refused before one was
/// chosen).
fn method_of(d: &serde_json::Value) -> String {
    d.get("method")
        .and_then(|m| m.as_str())
        .unwrap_or("none")
        .to_string()
}

fn count_set(r: &mut Row, helpdesk: bool) {
    if helpdesk {
        r.sets_helpdesk += 1;
    } else {
        r.sets_sms += 1;
    }
}

/// The display names a row's events gave, for one cell.
fn operators(r: &Row) -> String {
    r.operators.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn by_method(m: &BTreeMap<String, u64>, method: &str) -> u64 {
    m.get(method).copied().unwrap_or(0)
}

fn render(ctx: &Ctx, rows: &[Row], out: &mut dyn Write) -> Result<()> {
    Sink::of(ctx).record(out, &Report { rows })
}

/// The whole report: one JSON array, CSV with a column per method, or a
/// table (`--format text` too).
struct Report<'a> {
    rows: &'a [Row],
}

impl Record for Report<'_> {
    fn json(&self) -> impl Serialize + '_ {
        self.rows
    }

    fn csv(&self) -> Vec<Vec<String>> {
        let mut head: Vec<String> = [
            "principal",
            "operators",
            "day",
            "checks_passed",
            "checks_refused",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        head.extend(METHODS.iter().map(|m| format!("passed_{m}")));
        head.extend(METHODS.iter().map(|m| format!("refused_{m}")));
        head.extend(
            [
                "sets_helpdesk",
                "sets_sms",
                "privileged_approvals",
                "disputes",
                "lockouts",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        let mut records = vec![head];
        for r in self.rows {
            let mut rec = vec![
                r.principal.clone().unwrap_or_default(),
                operators(r),
                r.day.clone().unwrap_or_default(),
                r.checks_passed.to_string(),
                r.checks_refused.to_string(),
            ];
            rec.extend(
                METHODS
                    .iter()
                    .map(|m| by_method(&r.passed_by_method, m).to_string()),
            );
            rec.extend(
                METHODS
                    .iter()
                    .map(|m| by_method(&r.refused_by_method, m).to_string()),
            );
            rec.extend(
                [
                    r.sets_helpdesk,
                    r.sets_sms,
                    r.privileged_approvals,
                    r.disputes,
                    r.lockouts,
                ]
                .iter()
                .map(u64::to_string),
            );
            records.push(rec);
        }
        records
    }

    fn human(&self, out: &mut dyn Write, _: Human, _quiet: bool) -> Result<()> {
        let rows = self.rows;
        if rows.is_empty() {
            writeln!(out, "nothing to report")?;
            return Ok(());
        }
        let mut t = output::table(&[
            "principal",
            "operators (--operator)",
            "day",
            "checks passed",
            "checks refused",
            "by method (passed/refused)",
            "helpdesk sets",
            "sms sets",
            "approvals",
            "disputes",
            "lockouts",
        ]);
        for r in rows {
            let methods: Vec<String> = METHODS
                .iter()
                .filter_map(|m| {
                    let (p, f) = (
                        by_method(&r.passed_by_method, m),
                        by_method(&r.refused_by_method, m),
                    );
                    (p + f > 0).then(|| format!("{m} {p}/{f}"))
                })
                .collect();
            t.add_row(vec![
                r.principal.clone().unwrap_or_else(|| "(all)".into()),
                operators(r),
                r.day.clone().unwrap_or_else(|| "(all)".into()),
                r.checks_passed.to_string(),
                r.checks_refused.to_string(),
                methods.join(", "),
                r.sets_helpdesk.to_string(),
                r.sets_sms.to_string(),
                r.privileged_approvals.to_string(),
                r.disputes.to_string(),
                r.lockouts.to_string(),
            ]);
        }
        writeln!(out, "{t}")?;
        Ok(())
    }
}
