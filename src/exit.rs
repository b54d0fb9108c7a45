//! The exit statuses of codedesk, written once ([`Status::ALL`] with each
//! one's label and meaning): the `--help` footer, codedesk(1) and the table in
//! docs/contract.md are generated from or tested against it. Also the one
//! error type that carries them.
//!
//! Everything below `main` returns `anyhow::Result`; where a caller (a script,
//! pam_exec) must be able to tell failures apart, the error chain holds a
//! [`Failure`] naming the status. `main` looks for it with [`status_of`].

use std::fmt;

/// Exit statuses. Their numbers are a contract with scripts and PAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Success; for `verify`, the code was accepted.
    Ok = 0,
    /// `verify`: the code was rejected (wrong, spent, expired, revoked).
    Rejected = 1,
    /// Bad arguments or values.
    Usage = 2,
    /// Identity check refused, aborted or not attested.
    Identity = 3,
    /// No such user, device or set.
    NotFound = 4,
    /// The user is locked out.
    Locked = 5,
    /// Delivery failed or is not configured; nothing changed.
    Delivery = 6,
    /// Store problem: cannot open or create, corrupt, newer schema (or an
    /// older one and a command that writes: `upgrade-store`), busy.
    Store = 7,
    /// `audit verify` found the trail altered, or the store disagreeing with it.
    AuditAltered = 8,
    /// Not permitted: the PostgreSQL login role lacks the codedesk role the
    /// command needs (docs/roles.md).
    NotPermitted = 9,
    /// Waiting for approval: the request is recorded and a second
    /// principal must approve it (`codedesk approve REQUEST`), because
    /// the user is privileged or the operator's quota is spent
    /// (docs/approvals.md). Nothing was issued yet.
    WaitingForApproval = 10,
}

impl Status {
    /// Every status, in order.
    pub const ALL: [Status; 11] = [
        Status::Ok,
        Status::Rejected,
        Status::Usage,
        Status::Identity,
        Status::NotFound,
        Status::Locked,
        Status::Delivery,
        Status::Store,
        Status::AuditAltered,
        Status::NotPermitted,
        Status::WaitingForApproval,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// A few words, for the `--help` footer.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Rejected => "code rejected",
            Status::Usage => "usage",
            Status::Identity => "identity check refused",
            Status::NotFound => "no such user/device/set",
            Status::Locked => "locked out",
            Status::Delivery => "delivery failed",
            Status::Store => "store or directory unreachable",
            Status::AuditAltered => "audit trail altered",
            Status::NotPermitted => "not permitted",
            Status::WaitingForApproval => "waiting for approval",
        }
    }

    /// What it means, for codedesk(1) and docs/contract.md (`name` marks a
    /// command or key, set in bold in the man page).
    pub fn meaning(self) -> &'static str {
        match self {
            Status::Ok => "Success; for `verify`, the code was accepted.",
            Status::Rejected => {
                "`verify`: the code was rejected (wrong, spent, expired or revoked), or its check symbol showed a typo (which does not count towards a lockout)."
            }
            Status::Usage => {
                "Usage: bad arguments or values, a bad configuration file, or a bad row in a batch file."
            }
            Status::Identity => {
                "The identity check was refused, aborted or not attested; nothing was issued."
            }
            Status::NotFound => "No such user, device or set.",
            Status::Locked => "The user is locked out; `codedesk unlock` clears it.",
            Status::Delivery => {
                "SMS delivery failed or is not configured; nothing changed and the old codes still work."
            }
            Status::Store => {
                "Store or directory unreachable: the store cannot be opened or created, is corrupt, has a newer schema (or an older one and the command would change it: run `codedesk upgrade-store`), stayed busy too long, or the disk is full or read-only; or the directory (`[directory]`) cannot be reached or refuses the bind, or `sync` found it returning too few users."
            }
            Status::AuditAltered => {
                "`audit verify` found the audit trail altered, or the store disagreeing with it (a set live that the trail ended, more uses left than it allows, a lock cleared without an unlock, an empty trail over a non-empty store)."
            }
            Status::NotPermitted => {
                "Not permitted: on a PostgreSQL store, the login role lacks the codedesk role the command needs (`codedesk_verifier`, `codedesk_operator`, `codedesk_auditor`; see `codedesk setup-roles`); the message names it. Also a refusal of the approval rules (docs/approvals.md): approving one's own request, a request decided, spent or expired, `helpdesk.max_sets_per_operator` reached, or `approve` at a terminal answered no (the request still waits)."
            }
            Status::WaitingForApproval => {
                "Waiting for approval: the user is privileged, or the operator's quota is spent (`--ask-approval`); a request was recorded and its id printed (JSON field `request`). Nothing was issued or enrolled yet. After `codedesk approve REQUEST` by another principal, run the command again with `--request REQUEST`. In a batch, a row-level outcome like the others (docs/approvals.md)."
            }
        }
    }
}

/// The `--help` footer: every status and its label.
pub const HELP_FOOTER: &str = "Exit status: 0 ok, 1 code rejected, 2 usage, 3 identity check refused, \
4 no such user/device/set, 5 locked out, 6 delivery failed, 7 store or directory unreachable, 8 audit trail altered, 9 not permitted, 10 waiting for approval.";

/// The statuses as a Markdown table (docs/contract.md).
pub fn markdown_table() -> String {
    let mut t = String::from("| status | meaning |\n|---|---|\n");
    for s in Status::ALL {
        t.push_str(&format!("| {} | {} |\n", s.code(), s.meaning()));
    }
    t
}

/// The statuses as codedesk(1)'s EXIT STATUS entries (roff).
pub fn man_entries() -> String {
    let mut t = String::new();
    for s in Status::ALL {
        let mut text = String::new();
        for (i, part) in s.meaning().split('`').enumerate() {
            let part = part.replace('\\', "\\e").replace('-', "\\-");
            if i % 2 == 1 {
                text.push_str(&format!("\\fB{part}\\fR"));
            } else {
                text.push_str(&part);
            }
        }
        t.push_str(&format!(".TP\n\\fB{}\\fR\n{text}\n", s.code()));
    }
    t
}

/// An error that decides the exit status. Its message is the one line the
/// operator sees, so it must never contain a code.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Builds an `anyhow::Error` carrying `status`.
pub fn fail(status: Status, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        status,
        message: message.into(),
    })
}

/// The exit status an error maps to: the first [`Failure`] in its chain;
/// a broken pipe is not an error (`codedesk list | head -1`); anything else
/// is a usage error, the most conservative non-zero status that is not
/// mistaken for a verify rejection.
pub fn status_of(err: &anyhow::Error) -> Status {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.status;
        }
        if is_pipe(cause) {
            return Status::Ok;
        }
    }
    Status::Usage
}

/// True when the error is only a closed pipe on standard output.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(is_pipe)
}

/// A closed pipe, however the writer wrapped it: serde_json's and csv's
/// errors hold the `io::Error` without exposing it as their `source()`,
/// so `list --format json | head -1` used to end in "Broken pipe", exit 2.
fn is_pipe(cause: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        return io.kind() == BrokenPipe;
    }
    if let Some(j) = cause.downcast_ref::<serde_json::Error>() {
        return j.io_error_kind() == Some(BrokenPipe);
    }
    if let Some(c) = cause.downcast_ref::<csv::Error>() {
        return matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_help_footer_lists_every_status_and_its_label() {
        let listed: Vec<String> = Status::ALL
            .iter()
            .map(|s| format!("{} {}", s.code(), s.label()))
            .collect();
        assert_eq!(HELP_FOOTER, format!("Exit status: {}.", listed.join(", ")));
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.code()), i, "ALL is in order, with no gap");
        }
    }

    #[test]
    fn statuses_match_spec_numbers() {
        let all = [
            (Status::Ok, 0),
            (Status::Rejected, 1),
            (Status::Usage, 2),
            (Status::Identity, 3),
            (Status::NotFound, 4),
            (Status::Locked, 5),
            (Status::Delivery, 6),
            (Status::Store, 7),
            (Status::AuditAltered, 8),
            (Status::NotPermitted, 9),
            (Status::WaitingForApproval, 10),
        ];
        for (s, n) in all {
            assert_eq!(s.code(), n);
        }
    }

    #[test]
    fn status_found_under_context() {
        let e = Err::<(), _>(fail(Status::Locked, "locked"))
            .context("verifying alice")
            .unwrap_err();
        assert_eq!(status_of(&e), Status::Locked);
    }

    #[test]
    fn broken_pipe_inside_json_and_csv_errors_is_success() {
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let j = anyhow::Error::new(serde_json::Error::io(pipe()));
        assert!(is_broken_pipe(&j));
        assert_eq!(status_of(&j), Status::Ok);
        let c = anyhow::Error::new(csv::Error::from(pipe()));
        assert!(is_broken_pipe(&c));
        let other = anyhow::Error::new(serde_json::Error::io(std::io::Error::other("disk")));
        assert!(!is_broken_pipe(&other));
        assert_eq!(status_of(&other), Status::Usage);
    }

    #[test]
    fn broken_pipe_is_success() {
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(status_of(&e), Status::Ok);
        assert!(is_broken_pipe(&e));
    }
}
