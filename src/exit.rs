//! The exit statuses of codedesk (README, "Exit statuses"), and the one error type that carries them.
//!
//! Everything below `main` returns `anyhow::Result`; where a caller (a script,
//! pam_exec) must be able to tell failures apart, the error chain holds a
//! [`Failure`] naming the status. `main` looks for it with [`status_of`].

use std::fmt;

/// Exit statuses, exactly as README.md and the man page list them.
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
}

impl Status {
    pub fn code(self) -> u8 {
        self as u8
    }
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
