//! The exit statuses of SPEC.md, and the one error type that carries them.
//!
//! Everything below `main` returns `anyhow::Result`; where a caller (a script,
//! pam_exec) must be able to tell failures apart, the error chain holds a
//! [`Failure`] naming the status. `main` looks for it with [`status_of`].

use std::fmt;

/// Exit statuses, exactly as SPEC.md lists them.
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
    /// Store problem: cannot open or create, corrupt, newer schema, busy.
    Store = 7,
    /// `audit verify` found the trail altered.
    AuditAltered = 8,
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
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return Status::Ok;
        }
    }
    Status::Usage
}

/// True when the error is only a closed pipe on standard output.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
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
    fn broken_pipe_is_success() {
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(status_of(&e), Status::Ok);
        assert!(is_broken_pipe(&e));
    }
}
