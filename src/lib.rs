//! codedesk: a helpdesk's tool for two-factor backup codes.
//!
//! It automates a university's "Duo: Creating Backup Codes" article: users
//! with an SMS-capable phone get codes texted to them; users whose primary
//! device cannot receive texts (or who have no device) get bypass codes from
//! the helpdesk, only after an identity check. Each code works once and any
//! new set invalidates the old ones.
//!
//! Layout: `cli` (clap types) is turned into a plain [`Ctx`] and per-command
//! values; `commands/*` run one subcommand each; `store` owns all SQL;
//! `codes` is pure code generation and hashing; `rules` holds the article's
//! eight rules; `identity` is the identity gate; `prompt` is the only
//! module that prompts; `delivery` runs
//! the SMS and notify programs; `output` renders; `exit` maps errors to the
//! exit statuses of SPEC.md.

pub mod audit;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod exit;
pub mod identity;
pub mod interrupt;
pub mod model;
pub mod output;
pub mod principal;
pub mod prompt;
pub mod rules;
pub mod store;
pub mod trust;

use anyhow::Result;
use cli::{Cli, Command, Format, Lazy};
use config::Settings;
use exit::{Status, fail};
use std::io::Write;
use std::path::{Path, PathBuf};
use store::Store;

/// Everything a command needs besides its own arguments, resolved once.
pub struct Ctx {
    pub db: PathBuf,
    pub config_path: Option<PathBuf>,
    pub settings: Settings,
    pub operator: String,
    pub format: Format,
    pub quiet: bool,
    /// An operator is at a terminal (prompts allowed).
    pub interactive: bool,
    /// Where each global value came from, for `codedesk config`.
    pub global_sources: Vec<(&'static str, String, String)>,
}

impl Ctx {
    /// Seconds since the Unix epoch. Debug builds honour `CODEDESK_NOW` so
    /// tests can move the clock; release builds never read it.
    pub fn now(&self) -> i64 {
        now()
    }

    pub fn open_store(&self) -> Result<Store> {
        Store::open(&self.db)
    }
}

pub use clock::now;

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `$XDG_x_HOME/codedesk/FILE`, else `~/FALLBACK/codedesk/FILE`.
fn xdg_path(var: &str, fallback: &str, file: &str) -> Option<PathBuf> {
    let base = env_nonempty(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env_nonempty("HOME").map(|h| Path::new(&h).join(fallback)))?;
    Some(base.join("codedesk").join(file))
}

/// Where a global option's value came from: the command line (`--NAME` or
/// `--NAME=...` in argv; clap prefers it over the variable) or the
/// environment variable.
fn flag_or_env(flag: &str, var: &str) -> String {
    let eq = format!("{flag}=");
    if std::env::args_os().any(|a| a.to_str().is_some_and(|a| a == flag || a.starts_with(&eq))) {
        format!("flag ({flag})")
    } else {
        format!("environment ({var})")
    }
}

fn resolve_operator(flag: Option<String>) -> Result<(String, String)> {
    let (name, source) = match flag {
        Some(n) => (n, flag_or_env("--operator", "CODEDESK_OPERATOR")),
        None => match env_nonempty("SUDO_USER") {
            Some(n) => (n, "environment (SUDO_USER)".to_string()),
            None => match env_nonempty("USER") {
                Some(n) => (n, "environment (USER)".to_string()),
                None => ("unknown".to_string(), "default".to_string()),
            },
        },
    };
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(fail(
            Status::Usage,
            format!(
                "invalid operator name {}: 1 to 64 printable characters",
                model::printable(&name, 40)
            ),
        ));
    }
    Ok((name, source.to_string()))
}

/// Resolves the global options into a [`Ctx`].
/// `interactive`: an operator is at a terminal to answer prompts (see
/// [`prompt::at_terminal`]); scripted callers such as `demo` pass false.
pub fn context(cli: &Cli, interactive: bool) -> Result<Ctx> {
    let (config_path, explicit) = match &cli.config {
        Some(p) => (Some(p.clone()), true),
        None => (xdg_path("XDG_CONFIG_HOME", ".config", "config.toml"), false),
    };
    let settings = match &config_path {
        Some(p) => config::load(p, explicit)?,
        None => Settings::default(),
    };
    if settings.allow_weak && settings.hash.below_floor() {
        eprintln!(
            "codedesk: warning: Argon2id parameters m={} KiB, t={} are below the OWASP floor (hash.allow_weak = true); for tests only",
            settings.hash.memory_kib, settings.hash.iterations
        );
    }
    let db = match cli.db.as_ref().or(settings.db.as_ref()) {
        Some(p) => p.clone(),
        None => xdg_path("XDG_DATA_HOME", ".local/share", "codedesk.db").ok_or_else(|| {
            fail(
                Status::Store,
                "no store path: set --db, CODEDESK_DB, XDG_DATA_HOME or HOME",
            )
        })?,
    };
    let (operator, op_source) = resolve_operator(cli.operator.clone())?;
    let global_sources = vec![
        (
            "db",
            // A PostgreSQL URL's password is never shown.
            store::redact_locator(&db),
            if cli.db.is_some() {
                flag_or_env("--db", "CODEDESK_DB")
            } else if settings.db.is_some() {
                "file (store.db)".to_string()
            } else {
                "default".to_string()
            },
        ),
        (
            "config",
            config_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into()),
            if explicit {
                flag_or_env("--config", "CODEDESK_CONFIG")
            } else {
                "default".to_string()
            },
        ),
        ("operator", operator.clone(), op_source),
    ];
    Ok(Ctx {
        db,
        config_path,
        settings,
        operator,
        format: cli.format,
        quiet: cli.quiet,
        interactive,
        global_sources,
    })
}

/// Runs one parsed command line, writing results to `out`. Returns the exit
/// status for outcomes that are not errors (a rejected code is status 1).
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Status> {
    run_as(cli, prompt::at_terminal(), out)
}

/// [`run`], saying whether prompts may be shown: `demo` runs its scripted
/// steps with `interactive` false, so none ever stops at a prompt.
pub fn run_as(cli: Cli, interactive: bool, out: &mut dyn Write) -> Result<Status> {
    use commands::*;
    // Commands that need no configuration or store.
    match &cli.command {
        Command::GenerateArtifacts(Lazy(a)) => return artifacts::run(a, out),
        Command::Demo => return demo::run(out),
        _ => {}
    }
    let ctx = context(&cli, interactive)?;
    let status = match cli.command {
        Command::EnrollDevice(Lazy(a)) => enroll::run(&ctx, a, out)?,
        Command::IssueCodes(Lazy(a)) if a.batch.is_some() => batch::run(&ctx, a, out)?,
        Command::IssueCodes(Lazy(a)) => issue::run(&ctx, a, out)?,
        Command::Verify(Lazy(a)) => verify::run(&ctx, a, &mut verify::StdinSource, out)?,
        Command::Revoke(Lazy(a)) => revoke::run(&ctx, a, out)?,
        Command::Unlock(Lazy(a)) => revoke::unlock(&ctx, a, out)?,
        Command::List(Lazy(a)) => list::run(&ctx, a, out)?,
        Command::Audit(Lazy(a)) => audit_cmd::run(&ctx, a, out)?,
        Command::Config => config_cmd::run(&ctx, out)?,
        Command::Calibrate(Lazy(a)) => calibrate::run(&ctx, a, out)?,
        Command::Migrate(Lazy(a)) => migrate::run(&ctx, a, out)?,
        Command::Demo | Command::GenerateArtifacts(_) => unreachable!("handled above"),
    };
    out.flush()?;
    Ok(status)
}
