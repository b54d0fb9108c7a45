//! `sync`: compares the store with the directory. Users the directory no
//! longer has (leavers) get their codes revoked, their devices kept for
//! the record; devices whose number is no longer one of the user's numbers
//! in the directory, and users who became privileged since the last sync,
//! are reported. Everything is written in one transaction, with a
//! `directory-sync` event whose user count is the next run's baseline.
//!
//! Safe from cron: a directory that cannot be reached, or that returns
//! fewer users than `min_fraction` of the last sync's count (a bad filter,
//! a half-replicated server), changes nothing: exit 7 and one line saying
//! why.

use crate::audit::AuditEvent;
use crate::cli::SyncArgs;
use crate::context::Ctx;
use crate::directory::{self, DirUser};
use crate::exit::{Status, fail};
use crate::output::{Row, Sink};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Write};

/// One finding.
#[derive(Debug, Serialize)]
struct Change {
    user: String,
    /// `left`, `number-changed` or `privileged`.
    change: &'static str,
    detail: String,
    /// Code sets revoked (leavers; empty in a dry run).
    revoked_sets: Vec<i64>,
}

pub fn run(ctx: &Ctx, a: SyncArgs, out: &mut dyn Write) -> Result<Status> {
    let Some(cfg) = &ctx.settings.directory else {
        return Err(fail(
            Status::Usage,
            "no [directory] in the configuration: nothing to sync with (see docs/directory.md)",
        ));
    };
    let mut store = ctx.open_store()?;
    let bar = if std::io::stderr().is_terminal() && !ctx.quiet {
        let b = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {pos} directory entries read {elapsed}",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let users = directory::all_users(cfg, &mut |n| bar.set_position(n));
    bar.finish_and_clear();
    let users = users?;
    let by_name: HashMap<&str, &DirUser> = users.iter().map(|u| (u.uid.as_str(), u)).collect();

    // The baseline: the last sync's count and privileged users.
    let last = store.last_directory_sync()?;
    let last_count = last.as_ref().and_then(|l| l["users"].as_u64());
    let was_privileged: Option<BTreeSet<String>> = last.as_ref().map(|l| {
        l["privileged"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    });
    let mut store_users = 0u64;
    let mut changes: Vec<Change> = Vec::new();
    let mut leavers: Vec<String> = Vec::new();
    store.for_each_user(None, |s| {
        store_users += 1;
        let name = s.user.name.clone();
        match by_name.get(name.as_str()) {
            None => {
                changes.push(Change {
                    user: name.clone(),
                    change: "left",
                    detail: format!(
                        "not in the directory: codes revoked, {} device(s) kept",
                        s.devices.len()
                    ),
                    revoked_sets: Vec::new(),
                });
                leavers.push(name);
            }
            Some(d) => {
                for dev in &s.devices {
                    if let Some(p) = &dev.phone
                        && !d.has_number(p)
                    {
                        let now_on_file: Vec<String> = d.numbers().map(|n| n.masked()).collect();
                        changes.push(Change {
                            user: name.clone(),
                            change: "number-changed",
                            detail: format!(
                                "device {} ({}) is no longer on file; the directory has {}",
                                dev.id,
                                p.masked(),
                                if now_on_file.is_empty() {
                                    "no number".to_string()
                                } else {
                                    now_on_file.join(", ")
                                }
                            ),
                            revoked_sets: Vec::new(),
                        });
                    }
                }
            }
        }
        Ok(())
    })?;
    let privileged: BTreeSet<String> = users
        .iter()
        .filter(|u| u.privileged)
        .map(|u| u.uid.clone())
        .collect();
    for p in &privileged {
        if was_privileged.as_ref().is_none_or(|w| !w.contains(p)) {
            changes.push(Change {
                user: p.clone(),
                change: "privileged",
                detail: match &was_privileged {
                    Some(_) => "became privileged since the last sync".into(),
                    None => "privileged (first sync)".into(),
                },
                revoked_sets: Vec::new(),
            });
        }
    }

    // A directory returning far fewer users than last time is more likely
    // a bad filter than a mass departure: change nothing.
    let n = users.len() as u64;
    let too_few = match last_count {
        Some(last) => (n as f64) < cfg.min_fraction * last as f64,
        None => n == 0 && store_users > 0,
    };
    if too_few {
        return Err(fail(
            Status::Store,
            format!(
                "the directory ({}) returned {n} users, fewer than {}% of the {} at the last sync (directory.min_fraction): a bad filter or a partial directory? nothing changed",
                cfg.url,
                (cfg.min_fraction * 100.0).round(),
                last_count.map_or_else(|| format!("{store_users} in the store"), |l| l.to_string())
            ),
        ));
    }

    if !a.dry_run {
        let names = |c: &str| -> Vec<&str> {
            changes
                .iter()
                .filter(|x| x.change == c)
                .map(|x| x.user.as_str())
                .collect()
        };
        let event = AuditEvent::DirectorySync {
            users: n,
            privileged: &privileged,
            left: &names("left"),
            numbers_changed: &names("number-changed"),
            became_privileged: &names("privileged"),
            directory: &cfg.url,
        };
        let revoked = store.directory_sync(&leavers, event, &ctx.operator, ctx.now())?;
        for (name, sets) in leavers.iter().zip(revoked) {
            if let Some(c) = changes
                .iter_mut()
                .find(|c| c.change == "left" && &c.user == name)
            {
                c.revoked_sets = sets;
            }
        }
    }
    render(ctx, &changes, n, a.dry_run, out)?;
    Ok(Status::Ok)
}

fn render(ctx: &Ctx, changes: &[Change], n: u64, dry: bool, out: &mut dyn Write) -> Result<()> {
    Sink::of(ctx).rows(out, None, |row| changes.iter().try_for_each(row))?;
    if !ctx.quiet {
        crate::eline!(
            "{} users in the directory; {} change(s){}",
            n,
            changes.len(),
            if dry {
                " (dry run: nothing changed)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// One change in `sync`: JSON lines, CSV, text (without the revoked sets)
/// and a table.
impl Row for &Change {
    const CSV_HEADER: &'static [&'static str] = &["user", "change", "detail", "revoked_sets"];
    const TABLE_HEADER: &'static [&'static str] = &["user", "change", "detail", "revoked sets"];
    const JSON_ARRAY: bool = false;
    fn json(&self, out: &mut dyn Write) -> Result<()> {
        serde_json::to_writer(out, self)?;
        Ok(())
    }
    fn csv(&self) -> Vec<String> {
        self.table()
    }
    fn text(&self) -> Vec<String> {
        vec![
            self.user.clone(),
            self.change.to_string(),
            self.detail.clone(),
        ]
    }
    fn table(&self) -> Vec<String> {
        vec![
            self.user.clone(),
            self.change.to_string(),
            self.detail.clone(),
            sets(&self.revoked_sets),
        ]
    }
}

fn sets(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
