//! The command line, as clap derive types. Doc comments are the help text,
//! the man pages and the completions; nothing below this layer sees clap.

use crate::model::{DeviceKind, IdentityMethod, Via};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Two-factor backup codes for the IT helpdesk
///
/// Enrol users' devices, issue one-time backup codes by SMS or (after an
/// identity check) by the helpdesk, verify, revoke and list them, in one
/// local SQLite store (or a PostgreSQL database shared by several
/// workstations) with a tamper-evident audit trail.
#[derive(Debug, Parser)]
#[command(
    name = "codedesk",
    version,
    propagate_version = true,
    after_help = crate::exit::HELP_FOOTER
)]
pub struct Cli {
    /// The store: a SQLite file (PATH or sqlite://PATH) or a PostgreSQL URL (postgres://USER@HOST/DB) [default: $XDG_DATA_HOME/codedesk/codedesk.db]
    #[arg(
        long,
        global = true,
        env = "CODEDESK_DB",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub db: Option<PathBuf>,

    /// The configuration file [default: $XDG_CONFIG_HOME/codedesk/config.toml, else /etc/codedesk/config.toml; under sudo only the latter]
    #[arg(
        long,
        global = true,
        env = "CODEDESK_CONFIG",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub config: Option<PathBuf>,

    /// A display name for the audit trail, recorded beside the principal the system vouches for [default: $SUDO_USER, else $USER]
    #[arg(
        long,
        global = true,
        env = "CODEDESK_OPERATOR",
        value_name = "NAME",
        hide_env_values = true
    )]
    pub operator: Option<String>,

    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Print only what a script needs (ids, codes, JSON)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// How results are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for a person at a terminal
    Table,
    /// JSON (JSON Lines for streams)
    Json,
    /// Comma-separated values with a header row
    Csv,
    /// Plain text; for helpdesk codes, a printable card
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a device to a user, creating the user on first enrolment
    EnrollDevice(EnrollArgs),
    /// Issue a new set of backup codes (by SMS, or by the helpdesk after an identity check)
    IssueCodes(IssueArgs),
    /// Check one code, read from standard input or a hidden prompt; an accepted code is spent
    Verify(VerifyArgs),
    /// Invalidate a user's codes, one set of them, or remove a device
    Revoke(RevokeArgs),
    /// Clear a user's lockout
    Unlock(UnlockArgs),
    /// List users, or one user in detail (never a code)
    List(ListArgs),
    /// Show the audit trail, or check that it has not been altered
    Audit(AuditArgs),
    /// Run the whole story against a throwaway store
    Demo,
    /// Show the effective configuration and where each value came from
    Config,
    /// Suggest Argon2id parameters for this machine
    Calibrate(CalibrateArgs),
    /// Copy a SQLite store into an empty PostgreSQL store, ids and audit chain intact
    Migrate(MigrateArgs),
    /// Send a one-time challenge to a contact on file; prints its id (never the challenge)
    Challenge(ChallengeArgs),
    /// A user says "not me" about a notice: revoke their codes and lock them
    Dispute(DisputeArgs),
    /// Checks, sets, approvals, disputes and lockouts per operator and day, from the audit trail
    Report(ReportArgs),
    /// Create the PostgreSQL roles codedesk_verifier, _operator, _supervisor and _auditor, and grant them this store (run as the store's owner)
    SetupRoles,
    /// Apply the schema changes a new codedesk brings to the store (run once per store, as its owner, after upgrading the package)
    UpgradeStore(UpgradeStoreArgs),
    /// Compare the store with the directory: leavers' codes revoked, changed numbers and new privileged users reported
    Sync(SyncArgs),
    /// Mark a user privileged (helpdesk codes and new devices then need a second principal's approval), or not
    Privileged(PrivilegedArgs),
    /// Approve a request waiting for a second principal (exit 10), after showing who asked, why and the identity check; without REQUEST, list those waiting
    Approve(DecideArgs),
    /// Refuse a request waiting for a second principal
    Deny(DecideArgs),
    /// Regenerate completions and man pages (for maintainers)
    #[command(hide = true)]
    GenerateArtifacts(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The user (1-64 of a-z 0-9 . _ - @, not starting with -; upper case is folded)
    pub user: String,
    /// Attest the identity check that unlocking a user locked by a dispute needs: in-person, video-call, callback or challenge
    #[arg(long, value_enum, value_name = "METHOD")]
    pub identity_verified: Option<IdentityMethod>,
    /// Ticket reference of the identity check
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// The challenge the caller reads back (from standard input), with --identity-verified challenge
    #[arg(long, value_name = "ID")]
    pub challenge: Option<i64>,
}

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The user (1-64 of a-z 0-9 . _ - @, not starting with -; upper case is folded)
    #[arg(required_unless_present = "batch")]
    pub user: Option<String>,
    /// What the device is
    #[arg(long, value_enum, required_unless_present = "batch")]
    pub kind: Option<DeviceKind>,
    /// Phone number (required for mobile and landline); spaces, dashes, dots, parentheses allowed
    #[arg(long, value_name = "NUMBER")]
    pub phone: Option<String>,
    /// The device can receive SMS (mobile phones only; the default for them)
    #[arg(long, conflicts_with = "no_sms")]
    pub sms: bool,
    /// The device cannot receive SMS
    #[arg(long)]
    pub no_sms: bool,
    /// A label for the device ("work phone")
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Make this the primary device (top of the list)
    #[arg(long)]
    pub primary: bool,
    /// Attest the identity check that adding a device to an existing user needs: in-person, video-call, callback or challenge
    #[arg(long, value_enum, value_name = "METHOD")]
    pub identity_verified: Option<IdentityMethod>,
    /// Ticket reference of the identity check
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// The challenge the caller reads back (from standard input), with --identity-verified challenge
    #[arg(long, value_name = "ID")]
    pub challenge: Option<i64>,
    /// Record this email address on file for the user (notices, challenges)
    #[arg(long, value_name = "ADDR", conflicts_with = "batch")]
    pub email: Option<String>,
    /// Enrol many devices from a CSV file (user,kind,phone,sms,label; - for stdin), all or none
    #[arg(long, value_name = "FILE", conflicts_with_all = ["user", "kind", "phone", "sms", "no_sms", "label", "primary"])]
    pub batch: Option<PathBuf>,
    /// Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`
    #[arg(long, value_name = "ID", conflicts_with_all = ["batch", "identity_verified", "ticket", "challenge"])]
    pub request: Option<i64>,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The user (omit with --batch)
    #[arg(required_unless_present = "batch")]
    pub user: Option<String>,
    /// Codes in the new set [default: codes.count, 10]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub count: Option<u32>,
    /// Text the codes to this device (must be SMS-capable)
    #[arg(long, value_name = "ID")]
    pub device: Option<i64>,
    /// Force a path: sms, or helpdesk (always gated by an identity check)
    #[arg(long, value_enum)]
    pub via: Option<Via>,
    /// How long the set stays valid (90s, 15m, 1h, 7d) or never
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub expires: Option<String>,
    /// How many times each code works [default: codes.uses, 1]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub uses: Option<u32>,
    /// Keep the user's earlier codes valid (otherwise a new set invalidates them)
    #[arg(long)]
    pub preserve_existing: bool,
    /// Attest the identity check without a prompt: in-person, video-call, callback or challenge
    #[arg(long, value_enum, value_name = "METHOD")]
    pub identity_verified: Option<IdentityMethod>,
    /// Ticket reference of the identity check
    #[arg(long, value_name = "REF")]
    pub ticket: Option<String>,
    /// The challenge the caller reads back (from standard input), with --identity-verified challenge
    #[arg(long, value_name = "ID")]
    pub challenge: Option<i64>,
    /// Issue for every user in a CSV file (header row with a user column; - for stdin)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["user", "device"])]
    pub batch: Option<PathBuf>,
    /// Spend this approved request (its identity check stands): after exit 10 and `codedesk approve`
    #[arg(long, value_name = "ID", conflicts_with_all = ["batch", "identity_verified", "ticket", "challenge", "ask_approval"])]
    pub request: Option<i64>,
    /// Beyond helpdesk.max_sets_per_operator: record a request for one more set (exit 10) instead of being refused
    #[arg(long)]
    pub ask_approval: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The user [default: $PAM_USER, as set by pam_exec]
    pub user: Option<String>,
    /// The service that asked, for the audit trail (sshd, radius) [default: $PAM_SERVICE, as set by pam_exec]
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Never given: a code on the command line is refused (exit 2) without
    /// being echoed, as clap's own "unexpected argument" error would.
    #[arg(hide = true, value_name = "CODE")]
    pub code_on_command_line: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The user
    #[arg(required_unless_present = "issued_by")]
    pub user: Option<String>,
    /// Revoke every live set this operator (principal) issued, for every user
    #[arg(long, value_name = "PRINCIPAL", conflicts_with_all = ["user", "device", "batch"])]
    pub issued_by: Option<String>,
    /// With --issued-by: only sets issued at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or 1h, 7d ago)
    #[arg(
        long,
        value_name = "TIME",
        requires = "issued_by",
        allow_hyphen_values = true
    )]
    pub since: Option<String>,
    /// Remove this device instead (the next one becomes primary)
    #[arg(long, value_name = "ID", conflicts_with = "batch")]
    pub device: Option<i64>,
    /// Invalidate only this set of codes
    #[arg(long, value_name = "ID")]
    pub batch: Option<i64>,
    /// Why, for the audit trail
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct ChallengeArgs {
    /// The user
    pub user: String,
    /// Send it by SMS to this device (SMS-capable, on file) [default: the first contact on file]
    #[arg(long, value_name = "ID", conflicts_with = "email")]
    pub device: Option<i64>,
    /// Send it to the email address on file
    #[arg(long)]
    pub email: bool,
    /// A device the caller says is lost or stolen: never sent there (repeatable)
    #[arg(long, value_name = "ID")]
    pub lost: Vec<i64>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// One row per operator (principal), or per day [default: per principal and day]
    #[arg(long, value_enum)]
    pub by: Option<ReportBy>,
}

/// How `report` groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportBy {
    /// One row per operator (principal), all days together
    Operator,
    /// One row per day, all operators together
    Day,
}

#[derive(Debug, Args)]
pub struct PrivilegedArgs {
    /// The user
    pub user: String,
    /// on or off
    #[arg(value_enum)]
    pub state: OnOff,
}

/// `privileged USER on|off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The request id the waiting command printed (JSON field `request`)
    pub request: Option<i64>,
    /// Why, for the audit trail
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// approve: do not ask "Approve request N?" at a terminal (a script, whose standard input is not a terminal, is never asked)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DisputeArgs {
    /// The reference the user quotes from the notice
    pub reference: String,
    /// Why, for the audit trail
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show this user in detail
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    /// Only this user's events
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only events at or after TIME (2026-11-29, 2026-11-29T10:00:00Z, or a duration ago: 1h, 7d)
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Keep running and stream new events as JSON lines (with --format json), for a SIEM shipper
    #[arg(long)]
    pub follow: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Recompute the hash chain; exit 8 naming the first altered or missing event
    Verify(ChainArgs),
}

#[derive(Debug, Args)]
pub struct ChainArgs {
    /// A head printed by an earlier `audit verify` and kept elsewhere; exit 8 unless that event is still in the trail (repeatable)
    #[arg(long, value_name = "HASH")]
    pub anchor: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Time one hash should take
    #[arg(long, value_name = "DURATION", default_value = "50ms")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite store to copy (PATH or sqlite://PATH); its data is only read, but a store from an earlier codedesk is first brought to this version's schema
    #[arg(long, value_name = "SQLITE_PATH")]
    pub from: PathBuf,
    /// The empty PostgreSQL store to fill: postgres://USER@HOST[:PORT]/DB (the password from PGPASSWORD keeps it out of the process list)
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct UpgradeStoreArgs {
    /// Say which schema changes would be applied, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Report what would change, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write completions/ and man/ into
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

/// A global option given more than once anywhere on the command line: its
/// name (`--db`). clap refuses a repeat at one level itself ("cannot be
/// used multiple times"), but a global option repeated before and after
/// the subcommand is parsed at two levels, and the later value silently
/// wins; a wrapper that pins `--db` or `--config` before the subcommand
/// would be overridden by its caller. So every token is counted against
/// the global options' names, up to a bare `--`. No option of codedesk
/// takes a value that starts with `-` but a negative number, so a token
/// `--db` or `--db=...` is always the option itself.
pub fn repeated_global<I, T>(cmd: &clap::Command, args: I) -> Option<String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString>,
{
    let globals: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| a.is_global_set()).collect();
    let mut seen = vec![0usize; globals.len()];
    for arg in args.into_iter().skip(1) {
        let arg: std::ffi::OsString = arg.into();
        let Some(t) = arg.to_str() else { continue };
        if t == "--" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or_default();
            if let Some(i) = globals.iter().position(|a| a.get_long() == Some(name)) {
                seen[i] += 1;
            }
        } else if let Some(shorts) = t.strip_prefix('-') {
            for c in shorts.chars() {
                if let Some(i) = globals.iter().position(|a| a.get_short() == Some(c)) {
                    seen[i] += 1;
                }
            }
        }
    }
    globals
        .iter()
        .zip(seen)
        .find(|(_, n)| *n > 1)
        .map(|(a, _)| format!("--{}", a.get_long().unwrap_or_default()))
}

/// The one line for `codedesk` without a subcommand (clap would print the
/// whole help): the usage and the subcommands a user may run.
pub fn missing_subcommand(cmd: &clap::Command) -> String {
    let names: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name())
        .collect();
    format!(
        "codedesk requires a subcommand, one of {}; usage: codedesk [OPTIONS] <COMMAND> (codedesk --help for more)",
        names.join(", ")
    )
}

/// Longest message [`one_line_error`] gives, before a suggestion.
const MAX_ERROR_CHARS: usize = 300;

/// A clap usage error as the one line the README promises for bad input
/// (`main` prefixes `codedesk: `): clap's own message without its `error: `
/// prefix, with any list it puts on the lines below (missing arguments,
/// possible values) folded in, and clap's "a similar subcommand exists"
/// suggestion as "did you mean ...?". The usage block, the "For more
/// information" line and clap's other tips are left out: the tip for a
/// value that starts with `-` (`use '-- -1'`) is wrong advice for options.
/// Control characters in an echoed value are escaped, so the line stays one.
pub fn one_line_error(err: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = err.render().to_string();
    let body = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    // The message and its indented lists come before the first blank line;
    // the tips, the usage and "For more information" after it.
    let head = body.split("\n\n").next().unwrap_or_default();
    let mut lines = head.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut msg = lines.next().unwrap_or("invalid arguments").to_string();
    let (values, items): (Vec<&str>, Vec<&str>) = lines.partition(|l| l.starts_with('['));
    if !items.is_empty() {
        msg.push(' ');
        msg.push_str(&items.join(", "));
    }
    for v in values {
        msg.push(' ');
        msg.push_str(v);
    }
    let mut msg: String = msg
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if msg.chars().count() > MAX_ERROR_CHARS {
        msg = msg.chars().take(MAX_ERROR_CHARS).collect::<String>() + "...";
    }
    let suggested: Vec<String> = [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .filter_map(|k| err.get(k))
    .flat_map(|v| match v {
        ContextValue::String(s) => vec![s.clone()],
        // clap lists them by rising likeness: the likeliest is the last.
        ContextValue::Strings(ss) => ss.last().cloned().into_iter().collect(),
        _ => Vec::new(),
    })
    .map(|s| format!("'{s}'"))
    .collect();
    if !suggested.is_empty() {
        msg.push_str(&format!("; did you mean {}?", suggested.join(" or ")));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let a = Cli::try_parse_from(["codedesk", "--db", "x.db", "list"]).unwrap();
        let b = Cli::try_parse_from(["codedesk", "list", "--db", "x.db"]).unwrap();
        assert_eq!(a.db, b.db);
    }

    #[test]
    fn a_global_option_given_twice_is_found() {
        let cmd = Cli::command();
        let rep = |args: &[&str]| {
            let mut argv = vec!["codedesk"];
            argv.extend_from_slice(args);
            repeated_global(&cmd, argv)
        };
        assert_eq!(
            rep(&["--db", "a", "list", "--db", "b"]).as_deref(),
            Some("--db")
        );
        assert_eq!(rep(&["--db=a", "list", "--db=b"]).as_deref(), Some("--db"));
        assert_eq!(
            rep(&["audit", "--config", "a", "verify", "--config=b"]).as_deref(),
            Some("--config")
        );
        assert_eq!(rep(&["-q", "list", "--quiet"]).as_deref(), Some("--quiet"));
        assert_eq!(
            rep(&["--format", "json", "list", "--format", "csv"]).as_deref(),
            Some("--format")
        );
        assert_eq!(
            rep(&["--operator", "a", "list", "--operator", "b"]).as_deref(),
            Some("--operator")
        );
        assert_eq!(rep(&["--db", "a", "list", "--config", "c", "-q"]), None);
        assert_eq!(rep(&["--db", "a", "verify", "--", "--db"]), None);
        assert_eq!(rep(&["--dbx", "a", "list", "--db", "b"]), None);
    }

    #[test]
    fn verify_takes_no_code_argument() {
        // Parsed only so that `verify` can refuse it without echoing it.
        let cli = Cli::try_parse_from(["codedesk", "verify", "alice", "7KQ2-M9XD"]).unwrap();
        let Command::Verify(a) = cli.command else {
            panic!("not verify")
        };
        assert_eq!(a.code_on_command_line.len(), 1);
    }

    fn one_line(args: &[&str]) -> String {
        let mut argv = vec!["codedesk"];
        argv.extend_from_slice(args);
        let err = Cli::try_parse_from(argv).unwrap_err();
        let line = one_line_error(&err);
        assert!(!line.contains('\n'), "{line:?}");
        assert!(!line.starts_with("error"), "{line}");
        assert!(!line.contains("Usage") && !line.contains("For more information"));
        assert!(
            !line.contains("tip:") && !line.contains("use '--"),
            "{line}"
        );
        line
    }

    #[test]
    fn clap_errors_become_one_line() {
        assert_eq!(
            one_line(&["issue-codes", "bob", "--identity-verified", "zoom"]),
            "invalid value 'zoom' for '--identity-verified <METHOD>' [possible values: in-person, video-call, callback, challenge]"
        );
        assert_eq!(
            one_line(&["list", "--format", "yaml"]),
            "invalid value 'yaml' for '--format <FORMAT>' [possible values: table, json, csv, text]"
        );
        assert_eq!(
            one_line(&["isue-codes", "bob"]),
            "unrecognized subcommand 'isue-codes'; did you mean 'issue-codes'?"
        );
        assert_eq!(
            one_line(&[
                "enroll-device",
                "bob",
                "--kind",
                "mobile",
                "--sms",
                "--no-sms"
            ]),
            "the argument '--sms' cannot be used with '--no-sms'"
        );
        let missing = one_line(&["enroll-device"]);
        assert!(missing.starts_with("the following required arguments were not provided: "));
        assert!(
            missing.contains("<USER>") && missing.contains("--kind <KIND>"),
            "{missing}"
        );
        // A negative count is a bad value of the option, not a stray flag.
        assert!(
            one_line(&["issue-codes", "bob", "--count", "-1"])
                .starts_with("invalid value '-1' for '--count <N>'")
        );
        assert!(
            one_line(&["issue-codes", "bob", "--uses", "-2"])
                .starts_with("invalid value '-2' for '--uses <N>'")
        );
        assert_eq!(
            one_line(&["enroll-device", "bob", "--kidn", "token"]),
            "unexpected argument '--kidn' found; did you mean '--kind'?"
        );
    }

    #[test]
    fn an_echoed_control_character_does_not_break_the_line() {
        let line = one_line(&["list", "--format", "x\ny\u{1b}[31m\u{7}"]);
        assert!(line.starts_with("invalid value 'x y"), "{line}");
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }

    #[test]
    fn help_and_version_are_not_errors_to_fold() {
        use clap::error::ErrorKind;
        let kind = |args: &[&str]| Cli::try_parse_from(args).unwrap_err().kind();
        assert_eq!(kind(&["codedesk", "--help"]), ErrorKind::DisplayHelp);
        assert_eq!(kind(&["codedesk", "--version"]), ErrorKind::DisplayVersion);
        assert_eq!(
            kind(&["codedesk"]),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    }
}
