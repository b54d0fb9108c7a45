//! Renderers: tables, JSON, CSV and plain text over rows the commands have
//! already fetched. Renderers never query and never prompt; they write to
//! the writer they are given so tests can read what they wrote.
//!
//! The format is decided once: a command makes its [`Sink`] from
//! `--format` when it starts and hands it typed data, a stream of [`Row`]s
//! or one [`Record`]; only the sink looks at the format.

use crate::cli::Format;
use crate::codes::{self, Code, CodeSpec};
use crate::model::{Device, Via};
use crate::rules;
use crate::store::{SetSummary, UserSummary};
use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use std::io::Write;

/// Where a command's results go, in the format `--format` chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sink {
    format: Format,
    quiet: bool,
}

/// How a person reads a [`Record`]: `--format table` (the default) or
/// `--format text` (plain text; for helpdesk codes, a printable card).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Human {
    Table,
    Text,
}

/// One kind of row in a stream (`list`, `audit`): the sink writes a JSON
/// array or JSON lines, CSV with a header, tab-separated text, or a table.
pub trait Row {
    /// The CSV header.
    const CSV_HEADER: &'static [&'static str];
    /// The table's header (and [`Row::table`]'s columns).
    const TABLE_HEADER: &'static [&'static str];
    /// A JSON array (`[`, one row a line, `]`) rather than JSON lines.
    const JSON_ARRAY: bool;
    fn json(&self, out: &mut dyn Write) -> Result<()>;
    fn csv(&self) -> Vec<String>;
    /// The cells of a `--format text` line, joined by tabs.
    fn text(&self) -> Vec<String>;
    fn table(&self) -> Vec<String>;
}

/// One result (an issued set, a verdict): its JSON object, its CSV rows
/// (a header, if any, goes through [`Sink::csv_header`]) and its text for
/// a person. Every CSV cell goes through [`csv_safe`].
pub trait Record {
    fn json(&self) -> impl Serialize + '_;
    fn csv(&self) -> Vec<Vec<String>>;
    fn human(&self, out: &mut dyn Write, how: Human, quiet: bool) -> Result<()>;
}

impl Sink {
    pub fn new(format: Format, quiet: bool) -> Sink {
        Sink { format, quiet }
    }

    /// The sink for this run's `--format` and `--quiet`.
    pub fn of(ctx: &crate::context::Ctx) -> Sink {
        Sink::new(ctx.format, ctx.quiet)
    }

    /// JSON: the only format a stream such as `audit --follow` can take.
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// A table (the default) for a person at a terminal.
    pub fn is_table(&self) -> bool {
        self.format == Format::Table
    }

    /// A CSV header row; nothing in the other formats.
    pub fn csv_header<S: AsRef<str>>(
        &self,
        out: &mut dyn Write,
        header: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        if self.format == Format::Csv {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(header.into_iter().map(|h| h.as_ref().to_string()))?;
            w.flush()?;
        }
        Ok(())
    }

    /// A command's one outcome: its JSON object, or in every other format
    /// (CSV included) the text for a person, which `--quiet` leaves out.
    pub fn outcome(
        &self,
        out: &mut dyn Write,
        json: &impl Serialize,
        human: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        self.outcome_or(out, json, None, human)
    }

    /// [`Sink::outcome`] whose `--quiet` form is the line `quiet` (an id to
    /// pipe into the next command).
    pub fn outcome_or(
        &self,
        out: &mut dyn Write,
        json: &impl Serialize,
        quiet: Option<&str>,
        human: impl FnOnce(&mut dyn Write) -> Result<()>,
    ) -> Result<()> {
        if self.format == Format::Json {
            json_line(out, json)
        } else if self.quiet {
            match quiet {
                Some(line) => Ok(writeln!(out, "{line}")?),
                None => Ok(()),
            }
        } else {
            human(out)
        }
    }

    /// A summary for a person on standard error: in the table and text
    /// formats, not with `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet && matches!(self.format, Format::Table | Format::Text) {
            crate::eline!("{text}");
        }
    }

    /// One [`Record`] in the chosen format.
    pub fn record<R: Record>(&self, out: &mut dyn Write, r: &R) -> Result<()> {
        match self.format {
            Format::Json => json_line(out, &r.json())?,
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(&mut *out);
                for row in r.csv() {
                    w.write_record(csv_safe(&row))?;
                }
                w.flush()?;
            }
            Format::Table => r.human(out, Human::Table, self.quiet)?,
            Format::Text => r.human(out, Human::Text, self.quiet)?,
        }
        Ok(())
    }

    /// A stream of rows, each given to the sink as `feed` produces it (a
    /// table waits for the last one to size its columns). `empty` is what
    /// a table says when there was no row.
    pub fn rows<R: Row>(
        &self,
        out: &mut dyn Write,
        empty: Option<&str>,
        feed: impl FnOnce(&mut dyn FnMut(R) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        match self.format {
            Format::Json if R::JSON_ARRAY => {
                // A JSON array, streamed one row at a time.
                write!(out, "[")?;
                let mut first = true;
                feed(&mut |r| {
                    if !first {
                        write!(out, ",")?;
                    }
                    first = false;
                    writeln!(out)?;
                    r.json(out)
                })?;
                writeln!(out, "{}]", if first { "" } else { "\n" })?;
            }
            Format::Json => feed(&mut |r| {
                r.json(out)?;
                writeln!(out)?;
                Ok(())
            })?,
            Format::Csv => {
                let mut w = csv::Writer::from_writer(&mut *out);
                w.write_record(R::CSV_HEADER)?;
                feed(&mut |r| {
                    w.write_record(csv_safe(r.csv()))?;
                    Ok(())
                })?;
                w.flush()?;
            }
            Format::Text => feed(&mut |r| {
                writeln!(out, "{}", r.text().join("\t"))?;
                Ok(())
            })?,
            Format::Table => {
                let mut t = table(R::TABLE_HEADER);
                let mut n = 0usize;
                feed(&mut |r| {
                    n += 1;
                    t.add_row(r.table());
                    Ok(())
                })?;
                if n > 0 {
                    writeln!(out, "{t}")?;
                } else if let Some(m) = empty {
                    writeln!(out, "{m}")?;
                }
            }
        }
        Ok(())
    }
}

/// An RFC 3339 UTC timestamp for unix seconds.
pub fn ts(secs: i64) -> String {
    use std::fmt::Write as _;
    // A time the store holds but RFC 3339 cannot show (after the year
    // 9999: a damaged or altered row) is shown raw, never a panic.
    let raw = || format!("{secs} (seconds since 1970: not a time codedesk can show)");
    let Some(t) = u64::try_from(secs.max(0))
        .ok()
        .and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
    else {
        return raw();
    };
    let mut s = String::new();
    match write!(s, "{}", humantime::format_rfc3339_seconds(t)) {
        Ok(()) => s,
        Err(_) => raw(),
    }
}

pub fn ts_opt(secs: Option<i64>) -> String {
    secs.map(ts).unwrap_or_else(|| "never".into())
}

/// A table that fits the terminal (comfy-table reads its width) and draws
/// plain ASCII when the output is not a terminal.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        t.load_style(presets::ASCII_MARKDOWN);
    }
    // A terminal that reports no usable width (a fresh pseudo-terminal, a
    // serial console says 0 columns) squeezed every column to one letter.
    if t.width().is_some_and(|w| w < 20) {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

/// Standard output is about to hold live codes. When it is a regular file
/// (`> letters.csv`, which a shell creates 0644 under the usual umask), it
/// is made private to its owner, whatever the umask; when that fails (the
/// file is someone else's) a warning says so. A pipe or terminal is left
/// alone.
pub fn private_stdout() {
    use std::os::fd::AsFd;
    use std::os::unix::fs::PermissionsExt;
    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return;
    };
    let file = std::fs::File::from(fd);
    let Ok(meta) = file.metadata() else {
        return;
    };
    let mode = meta.permissions().mode();
    if !meta.is_file() || mode & 0o077 == 0 {
        return;
    }
    if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700)) {
        eprose(&format!(
            "codedesk: warning: the output file is open to other users (mode {:o}) and cannot be made private ({e}); codes written to it can be read: chmod 600 it",
            mode & 0o777
        ));
    }
}

/// A CSV record whose cells a spreadsheet will not run: a cell starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return is taken for a
/// formula by Excel, LibreOffice and Google Sheets (OWASP, "CSV
/// Injection"), so it gets a leading `'`, which they show as text. A
/// masked phone number (`+*******5999`) comes out as `'+*******5999`.
pub fn csv_safe<S: AsRef<str>>(row: impl IntoIterator<Item = S>) -> Vec<String> {
    row.into_iter()
        .map(|cell| {
            let cell = cell.as_ref();
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{cell}")
            } else {
                cell.to_string()
            }
        })
        .collect()
}

/// `T` with every JSON object's keys in sorted order (it is serialized
/// through a `serde_json::Value`, whose maps are sorted), for outputs that
/// have always been written that way.
pub struct SortedKeys<T>(pub T);

impl<T: Serialize> Serialize for SortedKeys<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        serde_json::to_value(&self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// One JSON value on its own line.
pub fn json_line(out: &mut dyn Write, v: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

#[derive(Serialize)]
pub struct DeviceJson {
    pub id: i64,
    pub kind: &'static str,
    pub sms: bool,
    pub primary: bool,
    /// Masked to the last four digits.
    pub phone: Option<String>,
    pub label: Option<String>,
}

pub fn device_json(d: &Device, primary: bool) -> DeviceJson {
    DeviceJson {
        id: d.id,
        kind: d.kind.as_str(),
        sms: d.sms,
        primary,
        phone: d.phone.as_ref().map(|p| p.masked()),
        label: d.label.clone(),
    }
}

#[derive(Serialize)]
pub struct SetJson {
    pub id: i64,
    pub via: &'static str,
    pub issued_at: String,
    pub issued_by: String,
    pub expires_at: Option<String>,
    pub expired: bool,
    pub remaining: i64,
    pub identity_check: Option<i64>,
    pub device: Option<i64>,
}

fn set_json(s: &SetSummary, now: i64) -> SetJson {
    SetJson {
        id: s.id,
        via: s.via.as_str(),
        issued_at: ts(s.created_at),
        issued_by: s.operator.clone(),
        expires_at: s.expires_at.map(ts),
        expired: s.expires_at.is_some_and(|e| e <= now),
        remaining: s.remaining,
        identity_check: s.identity_check_id,
        device: s.device_id,
    }
}

#[derive(Serialize)]
pub struct UserJson {
    pub user: String,
    pub locked: bool,
    pub locked_at: Option<String>,
    pub failed_attempts: i64,
    /// Marked privileged (`codedesk privileged`, docs/approvals.md).
    pub privileged: bool,
    pub codes_remaining: i64,
    pub devices: Vec<DeviceJson>,
    pub sets: Vec<SetJson>,
    pub created_at: String,
}

pub fn user_json(u: &UserSummary, now: i64) -> UserJson {
    UserJson {
        user: u.user.name.clone(),
        locked: u.user.locked_at.is_some(),
        locked_at: u.user.locked_at.map(ts),
        failed_attempts: u.user.failed_attempts,
        privileged: u.privileged,
        codes_remaining: u.codes_remaining(now),
        devices: u
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| device_json(d, i == 0))
            .collect(),
        sets: u.sets.iter().map(|s| set_json(s, now)).collect(),
        created_at: ts(u.user.created_at),
    }
}

/// A short description of a device for tables: `mobile +*******5999 (SMS)`.
pub fn device_line(d: &Device) -> String {
    let mut s = format!("{} {}", d.id, d.kind.as_str());
    if let Some(p) = &d.phone {
        s.push(' ');
        s.push_str(&p.masked());
    }
    if d.sms {
        s.push_str(" (SMS)");
    }
    if let Some(l) = &d.label {
        s.push_str(&format!(" \"{l}\""));
    }
    s
}

/// The newest live set, which `list` reports as "current".
pub fn current_set(u: &UserSummary) -> Option<&SetSummary> {
    u.sets.iter().max_by_key(|s| s.id)
}

/// What a printable code card shows.
pub struct Card<'a> {
    pub user: &'a str,
    pub set_id: i64,
    /// When the set was issued (unix seconds).
    pub now: i64,
    pub expires_at: Option<i64>,
    pub uses: u32,
    pub spec: CodeSpec,
    pub codes: &'a [Code],
}

/// Helpdesk codes as a printable card (`--format text`): the user, the
/// date, the codes and the article's advice.
pub fn code_card(out: &mut dyn Write, card: &Card) -> Result<()> {
    let Card {
        user,
        set_id,
        now,
        expires_at,
        uses,
        spec,
        codes,
    } = *card;
    let rule = "-".repeat(44);
    writeln!(out, "{rule}")?;
    writeln!(out, " Backup codes for {user}")?;
    writeln!(out, " Issued {} (set {set_id})", ts(now))?;
    if let Some(e) = expires_at {
        writeln!(out, " Valid until {}", ts(e))?;
    }
    writeln!(out, "{rule}")?;
    for (i, c) in codes.iter().enumerate() {
        writeln!(
            out,
            " [ ] {:>2}.  {}",
            i + 1,
            codes::format(spec.alphabet, c).as_str()
        )?;
    }
    writeln!(out, "{rule}")?;
    let advice = rules::keep_codes_advice(uses, expires_at.map(ts).as_deref());
    for line in wrap(&advice, 42) {
        writeln!(out, " {line}")?;
    }
    writeln!(out, "{rule}")?;
    Ok(())
}

/// `text` in lines of at most `width` columns, broken between words (a
/// word longer than a line keeps a line of its own, whole).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let columns = dialoguer::console::measure_text_width;
    let mut lines = Vec::new();
    let mut last = String::new();
    for word in text.split_whitespace() {
        if !last.is_empty() && columns(&last) + 1 + columns(word) > width {
            lines.push(std::mem::replace(&mut last, word.to_string()));
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines.push(last);
    lines
}

/// The columns of the terminal on standard error (`stderr`) or standard
/// output, when that is a terminal that reports a usable width.
fn terminal_columns(stderr: bool) -> Option<usize> {
    use dialoguer::console::Term;
    let term = if stderr {
        Term::stderr()
    } else {
        Term::stdout()
    };
    if !term.is_term() {
        return None;
    }
    term.size_checked()
        .map(|(_, cols)| usize::from(cols))
        .filter(|c| *c >= 20)
}

/// Prose for a person (advice, a hint, a warning) fitted to `columns`:
/// at a terminal, broken between words, continuation lines indented two
/// spaces, instead of the terminal cutting a word at its edge ("passwo" /
/// "rd"); elsewhere (a file, a pipe, a log) one line, as given.
pub fn fit_prose(text: &str, columns: Option<usize>) -> String {
    let Some(width) = columns else {
        return text.to_string();
    };
    let measure = dialoguer::console::measure_text_width;
    let fit_line = |line: &str| {
        let mut out = String::new();
        let mut used = 0;
        for word in line.split_whitespace() {
            let w = measure(word);
            if used > 0 && used + 1 + w > width {
                out.push_str("\n  ");
                used = 2;
            } else if used > 0 {
                out.push(' ');
                used += 1;
            }
            out.push_str(word);
            used += w;
        }
        out
    };
    text.split('\n')
        .map(fit_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `eprintln!` that cannot panic: a failed write to standard error (a
/// closed pipe, say) is ignored, so the run goes on exactly as it would
/// with standard error open. Every line codedesk writes there goes
/// through it (`eprintln!` panics when the write fails).
#[macro_export]
macro_rules! eline {
    ($($arg:tt)*) => {
        $crate::output::eline_args(format_args!($($arg)*))
    };
}

/// What [`eline!`] writes: one line on standard error, errors ignored.
pub fn eline_args(args: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "{args}");
}

/// [`fit_prose`] on standard error.
pub fn eprose(text: &str) {
    crate::eline!("{}", fit_prose(text, terminal_columns(true)));
}

/// [`fit_prose`] to `out`, which is standard output.
pub fn prose(out: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(out, "{}", fit_prose(text, terminal_columns(false)))?;
    Ok(())
}

pub fn via_str(v: Via) -> &'static str {
    v.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_lists_codes_and_advice() {
        let spec = CodeSpec::default();
        let codes = codes::generate(spec, 2).unwrap();
        let card = |expires_at, uses| Card {
            user: "bob",
            set_id: 7,
            now: 0,
            expires_at,
            uses,
            spec,
            codes: &codes,
        };
        let mut out = Vec::new();
        code_card(&mut out, &card(None, 1)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("bob") && text.contains("1970-01-01"));
        assert!(text.contains(codes::format(spec.alphabet, &codes[1]).as_str()));
        assert!(text.contains("not your") && text.contains("phone"));
        assert!(text.contains("works once"));
        let mut out = Vec::new();
        code_card(&mut out, &card(Some(7200), 3)).unwrap();
        let text = String::from_utf8(out).unwrap().replace("\n ", " ");
        assert!(text.contains("works 3 times"), "{text}");
        assert!(text.contains("They expire 1970-01-01T02:00:00Z."), "{text}");
        assert!(!text.contains("once"), "{text}");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(ts(253_402_300_799), "9999-12-31T23:59:59Z");
        assert!(ts(253_402_300_800).starts_with("253402300800 (seconds since 1970"));
        assert!(ts(i64::MAX).starts_with(&i64::MAX.to_string()));
    }
}
