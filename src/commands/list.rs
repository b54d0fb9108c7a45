//! `list`: every user (streamed, a fixed number of queries), or one user in
//! detail. Phone numbers are masked; codes are never shown.

use super::user_arg;
use crate::cli::ListArgs;
use crate::context::Ctx;
use crate::exit::Status;
use crate::output::{
    self, Human, Record, Row, Sink, SortedKeys, UserJson, current_set, device_line, ts, ts_opt,
    user_json,
};
use crate::store::UserSummary;
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

pub fn run(ctx: &Ctx, a: ListArgs, out: &mut dyn Write) -> Result<Status> {
    let sink = Sink::of(ctx);
    // Bad input is refused before the store is opened (or created).
    let name = a.user.as_deref().map(user_arg).transpose()?;
    let store = ctx.open_existing_store()?;
    let now = ctx.now();
    if let Some(name) = name {
        let s = store.user_summary(&name)?;
        sink.csv_header(out, CSV_HEADER)?;
        sink.record(out, &Detail { ctx, s: &s, now })?;
        return Ok(Status::Ok);
    }
    let empty = "no users yet: codedesk enroll-device USER --kind mobile --phone NUMBER";
    sink.rows(out, (!ctx.quiet).then_some(empty), |row| {
        store.for_each_user(None, |s| row(Listed { s, now }))
    })?;
    Ok(Status::Ok)
}

/// One user in `list`.
struct Listed {
    s: UserSummary,
    now: i64,
}

impl Row for Listed {
    const CSV_HEADER: &'static [&'static str] = &CSV_HEADER;
    const TABLE_HEADER: &'static [&'static str] = &CSV_HEADER;
    const JSON_ARRAY: bool = true;
    fn json(&self, out: &mut dyn Write) -> Result<()> {
        serde_json::to_writer(out, &user_json(&self.s, self.now))?;
        Ok(())
    }
    fn csv(&self) -> Vec<String> {
        csv_row(&self.s, self.now)
    }
    fn text(&self) -> Vec<String> {
        csv_row(&self.s, self.now)
    }
    fn table(&self) -> Vec<String> {
        csv_row(&self.s, self.now)
    }
}

const CSV_HEADER: [&str; 10] = [
    "user",
    "primary",
    "devices",
    "sms",
    "codes_left",
    "set",
    "issued",
    "expires",
    "locked",
    "privileged",
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
        if s.privileged { "yes" } else { "no" }.into(),
    ]
}

/// `list USER`: one user in detail.
struct Detail<'a> {
    ctx: &'a Ctx,
    s: &'a UserSummary,
    now: i64,
}

/// `list USER --format json`: the user and what the directory says of them.
#[derive(Serialize)]
struct DetailJson {
    #[serde(flatten)]
    user: UserJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    directory: Option<DirectoryJson>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum DirectoryJson {
    Known {
        known: bool,
        display_name: Option<String>,
        privileged: bool,
    },
    Unknown {
        known: bool,
    },
    Unreachable {
        error: String,
    },
}

impl Record for Detail<'_> {
    /// Every object's keys in sorted order, as this output has always had.
    fn json(&self) -> impl Serialize + '_ {
        let directory = self.ctx.settings.directory.as_ref().map(|cfg| {
            match crate::directory::lookup(cfg, &self.s.user.name) {
                Ok(Some(d)) => DirectoryJson::Known {
                    known: true,
                    display_name: d.display_name,
                    privileged: d.privileged,
                },
                Ok(None) => DirectoryJson::Unknown { known: false },
                Err(e) => DirectoryJson::Unreachable {
                    error: e.to_string(),
                },
            }
        });
        SortedKeys(DetailJson {
            user: user_json(self.s, self.now),
            directory,
        })
    }
    fn csv(&self) -> Vec<Vec<String>> {
        vec![csv_row(self.s, self.now)]
    }
    fn human(&self, out: &mut dyn Write, _: Human, _quiet: bool) -> Result<()> {
        let (ctx, s, now) = (self.ctx, self.s, self.now);
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
        writeln!(
            out,
            "privileged:  {}",
            if s.privileged {
                "yes: helpdesk codes and new devices need a second principal (docs/approvals.md)"
            } else {
                "no"
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
            let mut t = output::table(&["set", "via", "issued", "by", "expires", "left", "check"]);
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
        Ok(())
    }
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
            crate::eline!("codedesk: warning: {e}");
            "unreachable".to_string()
        }
    })
}
