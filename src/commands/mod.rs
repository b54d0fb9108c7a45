//! One module per subcommand: each turns its clap arguments into plain
//! values, calls the store, and renders through `output`.

pub mod approve;
pub mod artifacts;
pub mod audit_cmd;
pub mod batch;
pub mod calibrate;
pub mod challenge;
pub mod config_cmd;
pub mod demo;
pub mod enroll;
pub mod issue;
pub mod list;
pub mod migrate;
pub mod report;
pub mod revoke;
pub mod setup_roles;
pub mod sync;
pub mod upgrade_store;
pub mod verify;

use crate::exit::{Status, fail};
use crate::model::Username;
use anyhow::Result;
use std::io::Read;
use std::path::Path;

/// Parses a user name given on the command line.
pub fn user_arg(raw: &str) -> Result<Username> {
    Username::parse(raw)
}

/// Opens a CSV input: a file, or standard input for `-`. Capped at 64 MiB so
/// a wrong file cannot exhaust memory.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    const CAP: u64 = 64 << 20;
    let mut buf = Vec::new();
    let r: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| {
            fail(
                Status::Usage,
                format!("cannot read {}: {e}", path.display()),
            )
        })?)
    };
    r.take(CAP + 1).read_to_end(&mut buf).map_err(|e| {
        fail(
            Status::Usage,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    if buf.len() as u64 > CAP {
        return Err(fail(
            Status::Usage,
            format!("{} is larger than 64 MiB", path.display()),
        ));
    }
    Ok(buf)
}

/// The line a CSV record starts on, as an editor numbers it. The csv
/// crate's own position is where it started reading, before the blank lines
/// it skips, so a file with blank lines was reported a line or more early.
pub struct CsvLines<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> CsvLines<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        CsvLines {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record (or error) at `pos`; positions must come in
    /// file order, as a reader yields them.
    pub fn line(&mut self, pos: &csv::Position) -> usize {
        let len = self.bytes.len();
        let mut start = usize::try_from(pos.byte()).unwrap_or(len).min(len);
        while start < len && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.offset {
            (self.offset, self.line) = (0, 1);
        }
        self.line += self.bytes[self.offset..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.offset = start;
        self.line
    }
}

/// A batch CSV file read into memory: the header row, then each data row
/// with the line it starts on (as an editor numbers it) and its fields, or
/// why it could not be read. Fields are trimmed; rows may have any number
/// of fields. Pure: no store, no terminal; the commands check the columns.
pub struct BatchCsv {
    pub headers: csv::StringRecord,
    pub rows: Vec<BatchRow>,
}

/// One data row of a [`BatchCsv`].
pub struct BatchRow {
    pub line: usize,
    pub record: std::result::Result<csv::StringRecord, csv::Error>,
}

impl BatchCsv {
    /// The index of the column named `name`, ignoring ASCII case.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Reads batch CSV bytes (`issue-codes --batch`, `enroll-device --batch`).
/// An unreadable header row is an error; an unreadable data row is kept as
/// that row's error, so the commands can name every bad line.
pub fn read_batch_csv(bytes: &[u8]) -> std::result::Result<BatchCsv, csv::Error> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let headers = rdr.headers()?.clone();
    let mut rows = Vec::new();
    let mut lines = CsvLines::new(bytes);
    let mut last_line = 1;
    for rec in rdr.records() {
        let line = match &rec {
            Ok(r) => r.position(),
            Err(e) => e.position(),
        }
        .map_or(last_line + 1, |p| lines.line(p));
        last_line = line;
        rows.push(BatchRow { line, record: rec });
    }
    Ok(BatchCsv { headers, rows })
}

#[cfg(test)]
mod tests {
    use super::CsvLines;

    #[test]
    fn csv_lines_count_skipped_blank_lines_and_quoted_newlines() {
        let text = b"\xef\xbb\xbfuser,count\r\nalice,2\r\n\r\n\nzed,1\n\"b\nx\",1\nyy,1\n";
        let mut rdr = csv::Reader::from_reader(&text[..]);
        let mut lines = CsvLines::new(text);
        let got: Vec<(String, usize)> = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), lines.line(r.position().unwrap()))
            })
            .collect();
        let want = [("alice", 2), ("zed", 5), ("b\nx", 6), ("yy", 8)];
        assert_eq!(
            got,
            want.map(|(u, l)| (u.to_string(), l)).to_vec(),
            "lines as an editor shows them"
        );
    }
}
