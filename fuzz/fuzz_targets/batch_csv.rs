//! The batch CSV readers on arbitrary bytes: `commands::read_batch_csv`
//! (shared by `issue-codes --batch` and `enroll-device --batch`), the
//! enrolment rows (`enroll::batch_rows`) and the per-row request of
//! `issue-codes --batch` (`batch::row_request`), everything a batch run
//! does before it opens the store.
//!
//! Properties: nothing panics; each row's line number is within the file
//! and never goes back; errors are one line (no control characters); the
//! enrolment reader accepts a file only when every row was readable.
#![no_main]

use codedesk::commands::batch::row_request;
use codedesk::commands::enroll::batch_rows;
use codedesk::issuance::Request;
use codedesk::commands::read_batch_csv;
use codedesk::model::Username;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// Errors are printed as one line: no line breaks, no terminal escapes.
fn one_line(e: &anyhow::Error) {
    let msg = format!("{e:#}");
    assert!(!msg.chars().any(char::is_control), "raw control: {msg:?}");
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new("batch.csv");
    let enrolled = batch_rows(data, path);
    if let Err(e) = &enrolled {
        one_line(e);
    }
    let Ok(csv) = read_batch_csv(data) else {
        assert!(enrolled.is_err(), "enrolled a file with no header row");
        return;
    };

    let lines = data.iter().filter(|b| **b == b'\n').count() + 1;
    let mut last = 1;
    for row in &csv.rows {
        assert!(
            (last..=lines).contains(&row.line),
            "line {} after line {last}, in a file of {lines}",
            row.line
        );
        last = row.line;
    }
    if let Ok(rows) = &enrolled {
        assert!(csv.rows.iter().all(|r| r.record.is_ok()));
        assert_eq!(rows.len(), csv.rows.len());
    }

    // issue-codes --batch: the user name and the row's request.
    let Some(cu) = csv.column("user") else { return };
    let (cc, cv, cd) = (csv.column("count"), csv.column("via"), csv.column("device"));
    let base = Request::default();
    for rec in csv.rows.iter().filter_map(|r| r.record.as_ref().ok()) {
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).filter(|v| !v.is_empty());
        if let Err(e) = Username::parse(get(Some(cu)).unwrap_or("")) {
            one_line(&e);
        }
        if let Err(e) = row_request(&base, get(cc), get(cv), get(cd)) {
            one_line(&e);
        }
    }
});
