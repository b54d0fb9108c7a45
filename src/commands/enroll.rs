//! `enroll-device`: add a device, creating the user on first enrolment;
//! `--batch` adds many in one transaction, all or none.

use super::{CsvLines, read_input, user_arg};
use crate::Ctx;
use crate::cli::{EnrollArgs, Format};
use crate::exit::{Status, fail};
use crate::model::{DeviceKind, Phone, Username, parse_text};
use crate::output::{self, device_json, json_line};
use crate::rules;
use crate::store::{Enrolled, NewDevice};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Validates one device from operator input.
pub fn new_device(
    kind: DeviceKind,
    phone: Option<&str>,
    sms: Option<bool>,
    label: Option<&str>,
    primary: bool,
) -> Result<NewDevice> {
    let sms = rules::sms_capability(kind, sms)?;
    let phone = match (
        kind.has_phone(),
        phone.map(str::trim).filter(|p| !p.is_empty()),
    ) {
        (true, Some(p)) => Some(Phone::parse(p)?),
        (true, None) => {
            return Err(fail(
                Status::Usage,
                format!("a {} needs --phone", kind.as_str()),
            ));
        }
        (false, Some(_)) => {
            return Err(fail(
                Status::Usage,
                format!("a {} has no phone number: drop --phone", kind.as_str()),
            ));
        }
        (false, None) => None,
    };
    let label = match label {
        Some(l) if !l.is_empty() => Some(parse_text("label", l)?),
        _ => None,
    };
    Ok(NewDevice {
        kind,
        phone,
        sms,
        label,
        primary,
    })
}

pub fn run(ctx: &Ctx, a: EnrollArgs, out: &mut dyn Write) -> Result<Status> {
    if let Some(path) = &a.batch {
        return batch(ctx, path, out);
    }
    let user = user_arg(a.user.as_deref().unwrap_or_default())?;
    let kind = a
        .kind
        .ok_or_else(|| fail(Status::Usage, "--kind is required"))?;
    let sms = match (a.sms, a.no_sms) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let new = new_device(kind, a.phone.as_deref(), sms, a.label.as_deref(), a.primary)?;
    let mut store = ctx.open_store()?;
    let e = store.enroll_device(&user, &new, &ctx.operator, ctx.now())?;
    render(ctx, &[e], out)?;
    Ok(Status::Ok)
}

#[derive(Serialize)]
struct EnrolledJson {
    user: String,
    device: output::DeviceJson,
    new_user: bool,
}

fn render(ctx: &Ctx, rows: &[Enrolled], out: &mut dyn Write) -> Result<()> {
    match ctx.format {
        Format::Json => {
            for e in rows {
                json_line(
                    out,
                    &EnrolledJson {
                        user: e.user.clone(),
                        device: device_json(&e.device, e.primary),
                        new_user: e.new_user,
                    },
                )?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["user", "device", "kind", "sms", "primary", "phone", "label"])?;
            for e in rows {
                let d = &e.device;
                w.write_record([
                    e.user.clone(),
                    d.id.to_string(),
                    d.kind.as_str().into(),
                    d.sms.to_string(),
                    e.primary.to_string(),
                    d.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
                    d.label.clone().unwrap_or_default(),
                ])?;
            }
            w.flush()?;
        }
        Format::Table | Format::Text => {
            for e in rows {
                if ctx.quiet {
                    writeln!(out, "{}", e.device.id)?;
                    continue;
                }
                writeln!(
                    out,
                    "enrolled device {} for {}{}: {}{}",
                    e.device.id,
                    e.user,
                    if e.new_user { " (new user)" } else { "" },
                    output::device_line(&e.device),
                    if e.primary { ", primary" } else { "" }
                )?;
            }
        }
    }
    Ok(())
}

/// `enroll-device --batch FILE`: columns `user,kind,phone,sms,label` (and
/// optional `primary`); a short row leaves its last columns empty. Every
/// row is checked first; any bad row rejects the whole file, naming every
/// bad line.
fn batch(ctx: &Ctx, path: &Path, out: &mut dyn Write) -> Result<Status> {
    let bytes = read_input(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(&bytes[..]);
    let headers = rdr
        .headers()
        .map_err(|e| fail(Status::Usage, format!("{}: {e}", path.display())))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(cu), Some(ck)) = (col("user"), col("kind")) else {
        return Err(fail(
            Status::Usage,
            format!(
                "{}: the header must have user and kind columns",
                path.display()
            ),
        ));
    };
    let (cp, cs, cl, cprim) = (col("phone"), col("sms"), col("label"), col("primary"));
    let mut rows: Vec<(Username, NewDevice)> = Vec::new();
    let mut bad: Vec<String> = Vec::new();
    let mut lines = CsvLines::new(&bytes);
    let mut last_line = 1;
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                last_line = e.position().map_or(last_line + 1, |p| lines.line(p));
                bad.push(format!("line {last_line}: {}", one_line(&e.to_string())));
                continue;
            }
        };
        let line = rec.position().map_or(last_line + 1, |p| lines.line(p));
        last_line = line;
        if rec.len() > headers.len() {
            bad.push(format!(
                "line {line}: {} fields, but the header has {}",
                rec.len(),
                headers.len()
            ));
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).filter(|v| !v.is_empty());
        let row = (|| -> Result<(Username, NewDevice)> {
            let user = Username::parse(get(Some(cu)).unwrap_or(""))?;
            let kind_s = get(Some(ck)).unwrap_or("");
            let kind = <DeviceKind as clap::ValueEnum>::from_str(kind_s, true).map_err(|_| {
                fail(
                    Status::Usage,
                    format!("kind {kind_s:?} is not mobile, landline, tablet or token"),
                )
            })?;
            let sms = get(cs).map(parse_bool).transpose()?;
            let primary = get(cprim).map(parse_bool).transpose()?.unwrap_or(false);
            Ok((user, new_device(kind, get(cp), sms, get(cl), primary)?))
        })();
        match row {
            Ok(r) => rows.push(r),
            Err(e) => bad.push(format!("line {line}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(fail(
            Status::Usage,
            format!(
                "{}: {} bad row(s), nothing enrolled: {}",
                path.display(),
                bad.len(),
                bad.join("; ")
            ),
        ));
    }
    if rows.is_empty() {
        return Err(fail(
            Status::Usage,
            format!("{}: no rows to enrol", path.display()),
        ));
    }
    let mut store = ctx.open_store()?;
    let done = store.enroll_many(&rows, &ctx.operator, ctx.now())?;
    render(ctx, &done, out)?;
    if !ctx.quiet && matches!(ctx.format, Format::Table | Format::Text) {
        eprintln!("enrolled {} device(s)", done.len());
    }
    Ok(Status::Ok)
}

fn parse_bool(v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok(true),
        "no" | "n" | "false" | "0" => Ok(false),
        _ => Err(fail(Status::Usage, format!("{v:?} is not yes or no"))),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
