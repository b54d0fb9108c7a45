//! `issue-codes --batch FILE`: many users in one run, each row through the
//! same issuance pipeline as a one-user `issue-codes` (`crate::issuance`).
//! Each user is planned first (path, limits, identity attestation), then a
//! producer thread generates and hashes codes on every core while this
//! thread, the single writer, commits and publishes each user in order.
//! One user's failure is reported and the run goes on; memory stays bounded
//! because at most two prepared users wait in the channel.

use super::{BatchCsv, read_batch_csv, read_input};
use crate::cli::IssueArgs;
use crate::context::Ctx;
use crate::exit::{Status, fail, status_of};
use crate::issuance::{self, Issued, Plan, Prepared, Request, Unpublished};
use crate::model::{Username, Via, printable};
use crate::output::Sink;
use crate::store::Store;
use anyhow::Result;
use indicatif::ProgressBar;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::sync_channel;

/// One CSV row's issuance, or why it cannot go ahead.
enum Item {
    Planned {
        line: usize,
        plan: Plan,
    },
    Failed {
        line: usize,
        user: String,
        err: anyhow::Error,
    },
}

/// One row's request: `base` with the row's count, via and device.
pub fn row_request(
    base: &Request,
    count: Option<&str>,
    via: Option<&str>,
    device: Option<&str>,
) -> Result<Request> {
    let mut r = base.clone();
    if let Some(c) = count {
        let n: u32 = c
            .parse()
            .ok()
            .filter(|n| (1..=crate::config::MAX_CODES).contains(n))
            .ok_or_else(|| {
                fail(
                    Status::Usage,
                    format!("count {c:?} is not 1 to {}", crate::config::MAX_CODES),
                )
            })?;
        r.count = Some(n);
    }
    if let Some(v) = via {
        r.via = Some(match v.to_ascii_lowercase().as_str() {
            "sms" => Via::Sms,
            "helpdesk" => Via::Helpdesk,
            _ => {
                return Err(fail(
                    Status::Usage,
                    format!("via {v:?} is not sms or helpdesk"),
                ));
            }
        });
    }
    if let Some(d) = device {
        r.device = Some(
            d.parse()
                .map_err(|_| fail(Status::Usage, format!("device {d:?} is not a device id")))?,
        );
    }
    Ok(r)
}

/// `issue-codes --batch FILE`: `a` gives the defaults every row can override.
pub fn run(ctx: &Ctx, a: IssueArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    let base = &Request::from_args(&a)?;
    if base.attestation.challenge.is_some() {
        return Err(fail(
            Status::Usage,
            "--challenge is for one user: not with --batch",
        ));
    }
    // Whatever goes to standard output may be codes.
    crate::output::private_stdout();
    let Some(path) = a.batch.as_deref() else {
        unreachable!("dispatched here only with --batch")
    };
    issuance::warn_if_weak(ctx);
    let bytes = read_input(path)?;
    let csv = read_batch_csv(&bytes)
        .map_err(|e| fail(Status::Usage, format!("{}: {e}", path.display())))?;
    let Some(columns) = Columns::of(&csv) else {
        return Err(fail(
            Status::Usage,
            format!("{}: the header row must have a user column", path.display()),
        ));
    };

    let mut store = ctx.open_store()?;
    let items = plan_rows(ctx, &mut store, base, csv, columns);
    if items.is_empty() {
        return Err(fail(
            Status::Usage,
            format!("{}: no users listed", path.display()),
        ));
    }

    let width = items
        .iter()
        .filter_map(|i| match i {
            Item::Planned { plan, .. } if plan.via() == Via::Helpdesk => Some(plan.count as usize),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    sink.csv_header(&mut *out, issuance::csv_header(width))?;
    let bar = progress_bar(ctx, items.len());
    let plans: Vec<Plan> = items
        .iter()
        .filter_map(|i| match i {
            Item::Planned { plan, .. } => Some(plan.clone()),
            Item::Failed { .. } => None,
        })
        .collect();
    let mut run = Run {
        ctx,
        sink,
        store: &mut store,
        out: &mut *out,
        width,
        bar: &bar,
        issued: 0,
        failed: Vec::new(),
    };
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = sync_channel::<Result<Prepared>>(2);
        scope.spawn(move || {
            for plan in &plans {
                if tx.send(issuance::prepare(ctx, plan)).is_err() {
                    break;
                }
            }
        });
        for item in items {
            match item {
                Item::Failed { line, user, err } => run.row_failed(line, &user, err),
                Item::Planned { line, plan } => {
                    let prepared = rx
                        .recv()
                        .map_err(|_| fail(Status::Usage, "the hashing thread stopped"))
                        .and_then(|p| p);
                    run.issue(line, plan, prepared)?;
                }
            }
            bar.inc(1);
        }
        Ok(())
    })?;
    let (issued, failed) = (run.issued, run.failed);
    bar.finish_and_clear();
    out.flush()?;
    if !ctx.quiet {
        let lines: Vec<String> = failed.iter().map(|(l, _)| l.to_string()).collect();
        crate::eline!(
            "batch: {issued} user(s) issued, {} failed{}",
            failed.len(),
            if lines.is_empty() {
                String::new()
            } else {
                format!(" (line {})", lines.join(", "))
            }
        );
    }
    Ok(failed.first().map(|f| f.1).unwrap_or(Status::Ok))
}

/// Where the batch file's columns are; `None` without a user column.
#[derive(Clone, Copy)]
struct Columns {
    user: usize,
    count: Option<usize>,
    via: Option<usize>,
    device: Option<usize>,
}

impl Columns {
    fn of(csv: &BatchCsv) -> Option<Columns> {
        Some(Columns {
            user: csv.column("user")?,
            count: csv.column("count"),
            via: csv.column("via"),
            device: csv.column("device"),
        })
    }
}

/// Plans every row in file order ([`issuance::plan`], identity gate and
/// admission included), before any code is generated.
fn plan_rows(
    ctx: &Ctx,
    store: &mut Store,
    base: &Request,
    csv: BatchCsv,
    col: Columns,
) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    // A user listed twice would get two sets, the second silently voiding
    // the first (rule 6): codes handed out from the first would not work.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in csv.rows {
        let line = row.line;
        let rec = match row.record {
            Ok(r) => r,
            Err(e) => {
                items.push(Item::Failed {
                    line,
                    user: String::new(),
                    err: fail(Status::Usage, format!("unreadable row: {e}")),
                });
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).filter(|v| !v.is_empty());
        let raw_user = get(Some(col.user)).unwrap_or("").to_string();
        let planned = (|| -> Result<Plan> {
            let name = Username::parse(&raw_user)?;
            if let Some(first) = seen.get(name.as_str()) {
                return Err(fail(
                    Status::Usage,
                    format!(
                        "{name} is already listed on line {first}; a second set would void the first"
                    ),
                ));
            }
            let req = row_request(base, get(col.count), get(col.via), get(col.device))?;
            // A well-formed row is noted before it is planned: a second
            // listing is named as such even when the first fails its plan
            // (an identity check, say). A malformed row (a bad count) is
            // not, so a corrected row further down still runs.
            seen.insert(name.to_string(), line);
            issuance::plan(ctx, store, &name, &req, base.attestation.gate(false))
        })();
        items.push(match planned {
            Ok(plan) => Item::Planned { line, plan },
            Err(err) => Item::Failed {
                line,
                user: raw_user,
                err,
            },
        });
    }
    items
}

/// A progress bar on a terminal's standard error, unless `--quiet`.
fn progress_bar(ctx: &Ctx, len: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() || ctx.quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} users  {elapsed_precise} (eta {eta})",
    ) {
        b.set_style(style);
    }
    b
}

/// The single writer's state while the rows are committed and published.
struct Run<'a> {
    ctx: &'a Ctx,
    sink: Sink,
    store: &'a mut Store,
    out: &'a mut dyn Write,
    /// Code columns in CSV output: the most codes any helpdesk row shows.
    width: usize,
    bar: &'a ProgressBar,
    issued: usize,
    failed: Vec<(usize, Status)>,
}

impl Run<'_> {
    /// Commits and publishes one planned row. A row's failure is reported
    /// and counted; `Err` only when the output is gone, which stops the run.
    fn issue(&mut self, line: usize, plan: Plan, prepared: Result<Prepared>) -> Result<()> {
        let ctx = self.ctx;
        let user = plan.user.name.clone();
        let committed = prepared.and_then(|p| issuance::commit(ctx, self.store, plan, p));
        let mut o = match committed {
            Ok(o) => o,
            Err(err) => {
                self.row_failed(line, &user, err);
                return Ok(());
            }
        };
        // Flushed per user, and a helpdesk set goes live only once shown:
        // once the output is gone (a closed pipe, a full disk) no code can
        // reach anyone, so this user's set is not activated and the run
        // stops, leaving the earlier codes of every user still to come alone.
        let (bar, sink, out) = (self.bar, self.sink, &mut *self.out);
        let csv_width = self.width;
        let published = issuance::publish(ctx, self.store, &mut o, |outcome| {
            bar.suspend(|| -> Result<()> {
                sink.record(
                    out,
                    &Issued {
                        ctx,
                        outcome,
                        csv_width,
                    },
                )?;
                out.flush()?;
                Ok(())
            })
        });
        match published {
            Ok(()) => {
                if let Some(w) = issuance::notify_warning(&o, true) {
                    bar.suspend(|| crate::output::eprose(&w));
                }
                self.issued += 1;
            }
            Err(Unpublished::NotLive(err)) => self.row_failed(line, &user, err),
            Err(Unpublished::NotShown(err)) => {
                bar.finish_and_clear();
                return Err(fail(
                    status_of(&err),
                    format!(
                        "cannot write the output: {} (line {line}); the users after line {line} were not processed",
                        crate::delivery::one_line(&err)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Reports one row's failure on standard error and counts it.
    fn row_failed(&mut self, line: usize, user: &str, err: anyhow::Error) {
        let status = status_of(&err);
        self.bar.suspend(|| {
            crate::eline!(
                "codedesk: line {line}{}: {err:#}",
                if user.is_empty() {
                    String::new()
                } else if user.chars().any(char::is_control) {
                    format!(" ({})", printable(user, 64))
                } else {
                    format!(" ({user})")
                }
            )
        });
        self.failed.push((line, status));
    }
}
