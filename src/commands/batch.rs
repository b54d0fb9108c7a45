//! `issue-codes --batch FILE`: many users in one run. Each user is planned
//! first (path, limits, identity attestation), then a producer thread
//! generates and hashes codes on every core while this thread, the single
//! writer, stores, delivers and prints each user in order. One user's
//! failure is reported and the run goes on; memory stays bounded because at
//! most two prepared users wait in the channel.

use super::issue::{self, Plan, Prepared, Request};
use super::{read_batch_csv, read_input};
use crate::cli::{Format, IssueArgs};
use crate::context::Ctx;
use crate::exit::{Status, fail, status_of};
use crate::model::{Username, Via, printable};
use anyhow::Result;
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
    issue::warn_if_weak(ctx);
    let bytes = read_input(path)?;
    let csv = read_batch_csv(&bytes)
        .map_err(|e| fail(Status::Usage, format!("{}: {e}", path.display())))?;
    let col = |n: &str| csv.column(n);
    let Some(cu) = col("user") else {
        return Err(fail(
            Status::Usage,
            format!("{}: the header row must have a user column", path.display()),
        ));
    };
    let (cc, cv, cd) = (col("count"), col("via"), col("device"));

    let mut store = ctx.open_store()?;
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
        let raw_user = get(Some(cu)).unwrap_or("").to_string();
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
            let req = row_request(base, get(cc), get(cv), get(cd))?;
            let plan = issue::plan(ctx, &mut store, &name, &req, base.attestation.gate(false))?;
            seen.insert(name.to_string(), line);
            Ok(plan)
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
    if items.is_empty() {
        return Err(fail(
            Status::Usage,
            format!("{}: no users listed", path.display()),
        ));
    }

    let width = items
        .iter()
        .filter_map(|i| match i {
            Item::Planned { plan, .. } if plan.via == Via::Helpdesk => Some(plan.count as usize),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    if ctx.format == Format::Csv {
        let mut w = csv::Writer::from_writer(&mut *out);
        w.write_record(issue::csv_header(width))?;
        w.flush()?;
    }
    let bar = if std::io::stderr().is_terminal() && !ctx.quiet {
        let b = indicatif::ProgressBar::new(items.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} users  {elapsed_precise} (eta {eta})",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    let plans: Vec<Plan> = items
        .iter()
        .filter_map(|i| match i {
            Item::Planned { plan, .. } => Some(plan.clone()),
            Item::Failed { .. } => None,
        })
        .collect();
    let mut issued = 0usize;
    let mut failed: Vec<(usize, Status)> = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = sync_channel::<Result<Prepared>>(2);
        scope.spawn(move || {
            for plan in &plans {
                if tx.send(issue::prepare(ctx, plan)).is_err() {
                    break;
                }
            }
        });
        for item in items {
            let result = match item {
                Item::Failed { line, user, err } => Err((line, user, err)),
                Item::Planned { line, plan } => {
                    let user = plan.user.name.clone();
                    let prepared = rx
                        .recv()
                        .map_err(|_| fail(Status::Usage, "the hashing thread stopped"));
                    match prepared
                        .and_then(|p| p)
                        .and_then(|p| issue::commit(ctx, &mut store, plan, p))
                    {
                        Ok(mut o) => {
                            // Flushed per user, and a helpdesk set goes live
                            // only once shown: once the output is gone (a
                            // closed pipe, a full disk) no code can reach
                            // anyone, so this user's set is not activated
                            // and the run stops, leaving the earlier codes
                            // of every user still to come alone.
                            let shown = bar.suspend(|| -> Result<()> {
                                issue::render(ctx, &o, out, width)?;
                                out.flush()?;
                                Ok(())
                            });
                            if let Err(e) = shown {
                                bar.finish_and_clear();
                                let err = issue::not_shown(ctx, &mut store, &o, e);
                                return Err(fail(
                                    status_of(&err),
                                    format!(
                                        "cannot write the output: {} (line {line}); the users after line {line} were not processed",
                                        issue::one_line(&err)
                                    ),
                                ));
                            }
                            match issue::go_live(ctx, &mut store, &mut o) {
                                Err(err) => Err((line, user, err)),
                                Ok(()) => {
                                    if let Some(e) = &o.notify_error {
                                        bar.suspend(|| {
                                            crate::output::eprose(&format!(
                                                "codedesk: warning: {user}: {e} (the codes were issued)"
                                            ))
                                        });
                                    }
                                    Ok(())
                                }
                            }
                        }
                        Err(err) => Err((line, user, err)),
                    }
                }
            };
            match result {
                Ok(()) => issued += 1,
                Err((line, user, err)) => {
                    let status = status_of(&err);
                    bar.suspend(|| {
                        eprintln!(
                            "codedesk: line {line}{}: {err:#}",
                            if user.is_empty() {
                                String::new()
                            } else if user.chars().any(char::is_control) {
                                format!(" ({})", printable(&user, 64))
                            } else {
                                format!(" ({user})")
                            }
                        )
                    });
                    failed.push((line, status));
                }
            }
            bar.inc(1);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    out.flush()?;
    if !ctx.quiet {
        let lines: Vec<String> = failed.iter().map(|(l, _)| l.to_string()).collect();
        eprintln!(
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
