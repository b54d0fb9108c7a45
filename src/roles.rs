//! Least privilege on a PostgreSQL store: the codedesk roles and which
//! one each command needs. `codedesk setup-roles` (run by the store's
//! owner) creates the roles and grants them what their commands need; the
//! DBA grants them to login roles. A command its login role may not run
//! fails on the server's "permission denied" (SQLSTATE 42501), which
//! becomes exit 9 naming the role the command needs. docs/roles.md holds
//! the same table for people; a test keeps the two in step.

use crate::cli::{AuditAction, Command};
use crate::exit::{Failure, Status, fail, status_of};

/// `verify` only: reads what verify needs, spends through `codedesk_spend`.
pub const VERIFIER: &str = "codedesk_verifier";
/// Enrol, issue, revoke, unlock, list, read the audit trail.
pub const OPERATOR: &str = "codedesk_operator";
/// An operator, plus the approvals and privileged users of later issues.
pub const SUPERVISOR: &str = "codedesk_supervisor";
/// Read-only: list, the audit trail, `audit verify`.
pub const AUDITOR: &str = "codedesk_auditor";
/// Every codedesk role, in the order `setup-roles` creates them.
pub const ALL: [&str; 4] = [VERIFIER, OPERATOR, SUPERVISOR, AUDITOR];

/// Who may run a command on a PostgreSQL store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any of these codedesk roles (a supervisor holds the operator's).
    Roles(&'static [&'static str]),
    /// The role that owns the store's tables (schema changes).
    Owner,
    /// The command opens no store.
    NoStore,
}

impl Need {
    /// As docs/roles.md and the exit-9 message say it.
    pub fn describe(self) -> String {
        match self {
            Need::Roles(r) => r.join(" or "),
            Need::Owner => "the store's owner (the role that owns its tables)".into(),
            Need::NoStore => "no role (it opens no store)".into(),
        }
    }
}

/// Every command by name (as typed), with what it needs. `audit verify`
/// is listed apart from `audit`.
pub const TABLE: &[(&str, Need)] = &[
    ("enroll-device", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("issue-codes", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("verify", Need::Roles(&[VERIFIER, OPERATOR, SUPERVISOR])),
    ("revoke", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("unlock", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("list", Need::Roles(&[OPERATOR, SUPERVISOR, AUDITOR])),
    ("audit", Need::Roles(&[OPERATOR, SUPERVISOR, AUDITOR])),
    (
        "audit verify",
        Need::Roles(&[AUDITOR, OPERATOR, SUPERVISOR]),
    ),
    ("challenge", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("dispute", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("report", Need::Roles(&[OPERATOR, SUPERVISOR, AUDITOR])),
    ("migrate", Need::Owner),
    ("setup-roles", Need::Owner),
    ("upgrade-store", Need::Owner),
    ("sync", Need::Roles(&[OPERATOR, SUPERVISOR])),
    ("privileged", Need::Roles(&[SUPERVISOR])),
    ("approve", Need::Roles(&[SUPERVISOR])),
    ("deny", Need::Roles(&[SUPERVISOR])),
    ("config", Need::NoStore),
    ("calibrate", Need::NoStore),
    ("demo", Need::NoStore),
];

/// The name a command goes by in [`TABLE`].
pub fn command_name(c: &Command) -> &'static str {
    match c {
        Command::EnrollDevice(_) => "enroll-device",
        Command::IssueCodes(_) => "issue-codes",
        Command::Verify(_) => "verify",
        Command::Revoke(_) => "revoke",
        Command::Unlock(_) => "unlock",
        Command::List(_) => "list",
        Command::Audit(a) => match a.action {
            Some(AuditAction::Verify(_)) => "audit verify",
            None => "audit",
        },
        Command::Demo => "demo",
        Command::Config => "config",
        Command::Calibrate(_) => "calibrate",
        Command::Migrate(_) => "migrate",
        Command::SetupRoles => "setup-roles",
        Command::UpgradeStore(_) => "upgrade-store",
        Command::Challenge(_) => "challenge",
        Command::Dispute(_) => "dispute",
        Command::Report(_) => "report",
        Command::Sync(_) => "sync",
        Command::Privileged(_) => "privileged",
        Command::Approve(_) => "approve",
        Command::Deny(_) => "deny",
        Command::GenerateArtifacts(_) => "generate-artifacts",
    }
}

/// What the command named `name` needs.
pub fn need(name: &str) -> Need {
    TABLE
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Need::NoStore, |(_, n)| *n)
}

/// The server refused a statement for want of a privilege (42501): exit 9
/// with its message; [`explain`] adds the role the command needs.
pub fn denied(server_message: &str) -> anyhow::Error {
    fail(
        Status::NotPermitted,
        format!("permission denied on the store: {server_message}"),
    )
}

/// An exit-9 error of the command `name`, reworded to name the role it
/// needs; any other error is returned as it is.
pub fn explain(err: anyhow::Error, name: &str) -> anyhow::Error {
    // A refusal of the approval rules (issue 13) is not a missing role.
    if status_of(&err) != Status::NotPermitted
        || err.downcast_ref::<crate::approvals::Refusal>().is_some()
    {
        return err;
    }
    let why = err
        .chain()
        .find_map(|c| c.downcast_ref::<Failure>())
        .map(|f| f.message.clone())
        .unwrap_or_default();
    let needs = match need(name) {
        Need::Owner => "must be run by the store's owner (the role that owns its tables)".into(),
        n => format!("needs {} granted to the login role", n.describe()),
    };
    fail(
        Status::NotPermitted,
        format!("not permitted: `codedesk {name}` {needs} (see docs/roles.md); {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_its_place() {
        let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            if sub.is_hide_set() || name == "help" {
                continue;
            }
            assert!(
                TABLE.iter().any(|(n, _)| *n == name),
                "{name} has no place in roles::TABLE"
            );
        }
        assert_eq!(need("issue-codes"), Need::Roles(&[OPERATOR, SUPERVISOR]));
    }

    /// docs/roles.md's table of every command is this one.
    #[test]
    fn the_docs_table_is_the_code_table() {
        let doc = include_str!("../docs/roles.md");
        let rows: Vec<&str> = doc
            .lines()
            .filter(|l| l.starts_with("| `codedesk "))
            .collect();
        assert_eq!(rows.len(), TABLE.len(), "{rows:#?}");
        for (name, need) in TABLE {
            let row = format!("| `codedesk {name}` | {} |", need.describe());
            assert!(rows.contains(&row.as_str()), "docs/roles.md lacks: {row}");
        }
    }

    #[test]
    fn a_denial_names_the_role() {
        let e = explain(denied("permission denied for table devices"), "issue-codes");
        assert_eq!(status_of(&e), Status::NotPermitted);
        let m = e.to_string();
        assert!(
            m.contains("codedesk_operator") && m.contains("devices"),
            "{m}"
        );
        let other = explain(fail(Status::Store, "x"), "verify");
        assert_eq!(status_of(&other), Status::Store);
    }
}
