//! The audit trail where the security team looks: with `[audit] syslog =
//! true`, every audit event a write transaction appended goes to the
//! local syslog socket once that transaction has committed, as an RFC 5424
//! message with structured data (docs/safeguards.md). Events never hold a
//! code, a challenge or a full phone number, so neither does syslog.
//!
//! The store runs each write transaction through [`forwarding`], and
//! [`appended`] notes each event it appends; nothing is kept or sent
//! unless [`enable`] was called.

use crate::store::AuditRow;
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use syslog::{Facility, LogFormat, Severity};

/// The private enterprise number of RFC 5612 (for documentation and
/// examples): the SD-ID is `codedesk@32473`.
pub const SD_ID: &str = "codedesk@32473";

static SOCKET: OnceLock<PathBuf> = OnceLock::new();

thread_local! {
    static PENDING: RefCell<Vec<AuditRow>> = const { RefCell::new(Vec::new()) };
}

/// Sends every committed event to the syslog socket at `path`.
pub fn enable(path: PathBuf) {
    let _ = SOCKET.set(path);
}

/// Runs the write transaction `tx` (one that commits before it returns
/// `Ok`): the events it appended go to syslog once it returns `Ok`.
pub(crate) fn forwarding<T>(tx: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    begin();
    let r = tx();
    end(r.is_ok());
    r
}

/// A write transaction begins: nothing appended yet.
fn begin() {
    if SOCKET.get().is_some() {
        PENDING.with_borrow_mut(Vec::clear);
    }
}

/// An event was appended inside the current write transaction.
pub(crate) fn appended(e: &AuditRow) {
    if SOCKET.get().is_some() {
        PENDING.with_borrow_mut(|p| p.push(e.clone()));
    }
}

/// The transaction ended: its events go to syslog if it committed. A
/// syslog that cannot be reached is a warning; the change stands (the
/// store's trail is the record).
fn end(committed: bool) {
    let Some(path) = SOCKET.get() else { return };
    let events = PENDING.with_borrow_mut(std::mem::take);
    if !committed || events.is_empty() {
        return;
    }
    let f = Rfc5424 {
        hostname: hostname(),
        pid: std::process::id(),
    };
    let sent = syslog::unix_custom(f, path)
        .map_err(|e| e.to_string())
        .and_then(|mut log| {
            for e in &events {
                let r = match severity(&e.action) {
                    Severity::LOG_WARNING => log.warning(e),
                    _ => log.notice(e),
                };
                r.map_err(|e| e.to_string())?;
            }
            Ok(())
        });
    if let Err(why) = sent {
        crate::eline!(
            "codedesk: warning: syslog {}: {why} (the events are in the store's audit trail)",
            path.display()
        );
    }
}

fn severity(action: &str) -> Severity {
    match action {
        "lockout" | "dispute" | "challenge-wrong" | "verify-rejected" | "notify-failed"
        | "delivery-failed" => Severity::LOG_WARNING,
        _ => Severity::LOG_NOTICE,
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    if ok && !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()) {
        name
    } else {
        "-".into()
    }
}

/// RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME codedesk PROCID ACTION [SD] DETAILS`.
struct Rfc5424 {
    hostname: String,
    pid: u32,
}

/// An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424, 6.3.3).
fn sd_escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

impl LogFormat<&AuditRow> for Rfc5424 {
    fn format<W: Write>(&self, w: &mut W, severity: Severity, e: &AuditRow) -> syslog::Result<()> {
        let pri = Facility::LOG_AUTH as u8 | severity as u8;
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(e.at.max(0) as u64);
        // MSGID: the action, at most 32 printable ASCII characters.
        let msgid: String = e
            .action
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(32)
            .collect();
        let mut sd = format!(
            "[{SD_ID} id=\"{}\" operator=\"{}\" hash=\"{}\"",
            e.id,
            sd_escape(&e.operator),
            sd_escape(&e.hash)
        );
        if let Some(p) = &e.principal {
            sd.push_str(&format!(" principal=\"{}\"", sd_escape(p)));
        }
        if let Some(u) = &e.user {
            sd.push_str(&format!(" user=\"{}\"", sd_escape(u)));
        }
        sd.push(']');
        write!(
            w,
            "<{pri}>1 {} {} codedesk {} {} {sd} {}",
            humantime::format_rfc3339_seconds(at),
            self.hostname,
            self.pid,
            if msgid.is_empty() { "-".into() } else { msgid },
            e.details
        )
        .map_err(syslog::Error::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_rfc5424_with_structured_data() {
        let e = AuditRow {
            id: 7,
            at: 0,
            operator: "op \"x\"]".into(),
            action: "codes-issued".into(),
            user: Some("ann".into()),
            details: "{\"set\":1}".into(),
            prev_hash: String::new(),
            hash: "ab".into(),
            principal: Some("root".into()),
        };
        let f = Rfc5424 {
            hostname: "h".into(),
            pid: 42,
        };
        let mut out = Vec::new();
        f.format(&mut out, Severity::LOG_NOTICE, &e).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<37>1 1970-01-01T00:00:00Z h codedesk 42 codes-issued [codedesk@32473 id=\"7\" operator=\"op \\\"x\\\"\\]\" hash=\"ab\" principal=\"root\" user=\"ann\"] {\"set\":1}"
        );
    }
}
