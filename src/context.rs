//! The run's context: the global options (`--db`, `--config`,
//! `--operator`, `--format`, `--quiet`), the environment and the one
//! configuration file that applies, resolved once into a [`Ctx`] that every
//! command is given. Under privileges its caller lacks, only the system
//! configuration counts and the caller's choices are refused.

use crate::cli::{Cli, Format};
use crate::config::{self, Settings};
use crate::exit::{Status, fail};
use crate::store::{self, Store};
use crate::{audit_syslog, model, output, principal};
use anyhow::Result;
use std::path::{Path, PathBuf};

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
        crate::clock::now()
    }

    pub fn open_store(&self) -> Result<Store> {
        Store::open_with(
            &self.db,
            self.settings.store_group.as_ref(),
            self.settings.db_password.as_ref(),
        )
    }

    /// [`Ctx::open_store`] for the commands that only read it: a SQLite
    /// store that does not exist is refused (exit 7), not created.
    pub fn open_existing_store(&self) -> Result<Store> {
        Store::open_existing(
            &self.db,
            self.settings.store_group.as_ref(),
            self.settings.db_password.as_ref(),
        )
    }
}

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
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(model::is_hidden) {
        return Err(fail(
            Status::Usage,
            format!(
                "invalid operator name {}: 1 to 64 printable characters{}",
                model::printable(&name, 40),
                model::hidden_note(&name)
            ),
        ));
    }
    Ok((name, source.to_string()))
}

/// The system configuration, which callers cannot override.
pub const SYSTEM_CONFIG: &str = "/etc/codedesk/config.toml";

/// The store when codedesk runs with privileges its caller lacks and the
/// system configuration names none.
pub const SYSTEM_STORE: &str = "/var/lib/codedesk/codedesk.db";

/// A variable that names another system configuration, read by debug
/// builds only (the test suite's); a release build never reads it, so no
/// caller can move the system configuration at run time. The file it
/// names is still held to the system file's rules (owned by root, written
/// by nobody else).
pub const TEST_SYSTEM_CONFIG_VAR: &str = "CODEDESK_TEST_SYSTEM_CONFIG";

/// Where the system configuration is: [`SYSTEM_CONFIG`], or in a debug
/// build the file [`TEST_SYSTEM_CONFIG_VAR`] names.
pub fn system_config_path() -> PathBuf {
    if cfg!(debug_assertions)
        && let Some(p) = env_nonempty(TEST_SYSTEM_CONFIG_VAR)
    {
        return PathBuf::from(p);
    }
    PathBuf::from(SYSTEM_CONFIG)
}

/// With privileges its caller lacks (`why`), codedesk takes nothing from
/// its caller that chooses what it does: `--db`, `--config`, any
/// `CODEDESK_*` variable and any `PG*` variable (libpq's: a password, a
/// weaker `PGSSLMODE`) are refused with exit 2, naming the reason.
fn refuse_caller_choices(cli: &Cli, why: &str, system: &Path) -> Result<()> {
    let refused = |what: String| {
        fail(
            Status::Usage,
            format!(
                "{what} is refused: {why}, so only the system configuration {} applies",
                system.display()
            ),
        )
    };
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let test_hook = cfg!(debug_assertions) && name == TEST_SYSTEM_CONFIG_VAR;
        if (name.starts_with("CODEDESK_") && !test_hook) || name.starts_with("PG") {
            return Err(refused(format!(
                "the environment variable {}",
                model::printable(name, 40)
            )));
        }
    }
    if cli.db.is_some() {
        return Err(refused("--db".into()));
    }
    if cli.config.is_some() {
        return Err(refused("--config".into()));
    }
    Ok(())
}

/// Resolves the global options into a [`Ctx`].
/// `interactive`: an operator is at a terminal to answer prompts (see
/// [`crate::prompt::at_terminal`]); scripted callers such as `demo` pass false.
pub fn context(cli: &Cli, interactive: bool) -> Result<Ctx> {
    let system = system_config_path();
    let elevated = principal::elevated();
    if let Some(why) = &elevated {
        refuse_caller_choices(cli, why, &system)?;
    }
    // Which one file applies: under privileges only the system file;
    // otherwise --config, CODEDESK_CONFIG, the user's file, the system file.
    let user_file = xdg_path("XDG_CONFIG_HOME", ".config", "config.toml");
    let exists = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let (config_path, settings, config_source) = if let Some(why) = &elevated {
        let s = config::load_system(&system)?;
        (Some(system.clone()), s, format!("system file only ({why})"))
    } else if let Some(p) = &cli.config {
        let s = config::load(p, true)?;
        (
            Some(p.clone()),
            s,
            flag_or_env("--config", "CODEDESK_CONFIG"),
        )
    } else if let Some(p) = user_file.as_ref().filter(|p| exists(p)) {
        let s = config::load(p, false)?;
        (Some(p.clone()), s, "user file".to_string())
    } else if exists(&system) {
        let s = config::load_system(&system)?;
        (Some(system.clone()), s, "system file".to_string())
    } else {
        (user_file, config::defaults(), "default".to_string())
    };
    if settings.allow_weak && settings.hash.below_floor() {
        output::eprose(&format!(
            "codedesk: warning: Argon2id parameters m={} KiB, t={} are below the OWASP floor (hash.allow_weak = true); for tests only",
            settings.hash.memory_kib, settings.hash.iterations
        ));
    }
    let db = match cli.db.as_ref().or(settings.db.as_ref()) {
        Some(p) => p.clone(),
        None if elevated.is_some() => PathBuf::from(SYSTEM_STORE),
        None => xdg_path("XDG_DATA_HOME", ".local/share", "codedesk.db").ok_or_else(|| {
            fail(
                Status::Store,
                "no store path: set --db, CODEDESK_DB, XDG_DATA_HOME or HOME",
            )
        })?,
    };
    let (operator, op_source) = resolve_operator(cli.operator.clone())?;
    if let Some(socket) = &settings.safeguards.syslog {
        audit_syslog::enable(socket.clone());
    }
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
            config_source,
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
