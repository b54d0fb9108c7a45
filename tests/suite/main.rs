//! codedesk's integration tests: ONE test binary (`cargo test --test suite`),
//! so the crate is linked once for every suite.
//!
//! - `both::*`: the suites that run on either backend. `cargo test` runs
//!   them on SQLite; `CODEDESK_TEST_BACKEND=postgres cargo test --test suite
//!   -- both::` runs them again on PostgreSQL (`.ci/run` does; see
//!   tests/common/mod.rs for the server it uses and how a missing one is
//!   reported).
//! - every other module runs once, whatever the backend: what does not
//!   touch a store, the PostgreSQL-only suites (`pg_*`, which take their
//!   store with `Env::postgres`), and the server suites (sshd, ...; radius
//!   is in `both`: its PostgreSQL run is RADIUS on a shared store).
//!
//! Adding a suite: `git mv tests/NAME.rs tests/suite/NAME.rs` (or
//! `tests/suite/both/NAME.rs` if it should run on each backend; delete an
//! old `tests/pg_NAME.rs` twin), add `mod NAME;` below (in `mod both` for
//! the latter), and in the file replace `mod common;` (`mod procs;`, `mod
//! pam_common;`) with `use crate::common;` (`use crate::procs;`, ...).
//! Module names are the test names' prefix (`both::smoke::...`), so a
//! filter picks a suite: `cargo test --test suite -- both::batch::`.

// Tests may print with eprintln!: the product must not (clippy.toml).
#![allow(clippy::disallowed_macros)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../pam_common/mod.rs"]
mod pam_common;
#[path = "../procs/mod.rs"]
mod procs;

/// The suites that run on the backend `CODEDESK_TEST_BACKEND` names.
mod both {
    mod approvals;
    mod article_rules;
    mod batch;
    mod config_notify;
    mod crash;
    mod directory;
    mod edges;
    mod enroll_gate;
    mod exit_status;
    mod hostile_input;
    mod interrupts;
    mod issuance_limits;
    mod operators;
    mod pam;
    mod prompt_pty;
    mod races;
    mod radius;
    mod review_fixes;
    mod safeguards;
    mod secret_hygiene;
    mod smoke;
    mod store_faults;
    mod store_locator;
    mod store_secrets;
    mod syslog;
    mod terminal;
    mod trail;
    mod upgrade;
}

mod artifacts;
mod demo;
mod hardening;
mod package_config;
mod pg_backend;
mod pg_roles;
mod pg_storm;
mod pg_tls;
mod scrub_env;
mod sshd;
