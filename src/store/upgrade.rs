//! Schema upgrades across a fleet (docs/deployment.md, "Upgrading the
//! fleet"). A store's schema changes only through `codedesk upgrade-store`
//! (or when a new, empty store is first initialised), never as a side
//! effect of the first run of a new version.
//!
//! Each store records two levels:
//! - **applied**: the last migration it holds;
//! - **compatible back to**: the oldest schema whose codedesk may still
//!   verify and read against it. A migration that only adds (a table, a
//!   nullable column, an index) keeps the previous schema's codedesk
//!   working, and says so by declaring the previous version here.
//!
//! The legacy version field that codedesk before schema 7 reads and
//! compares with its own (SQLite's `PRAGMA user_version`, PostgreSQL's
//! `MAX(schema_version.version)`) holds *compatible back to*, so that a
//! login server still on the previous release keeps accepting a store one
//! additive migration ahead, and refuses (exit 7, "newer schema") one that
//! is not compatible with it. The applied level is kept in the
//! `schema_level` table (migration 0007).
//!
//! A codedesk that opens a store whose schema is older than its own
//! (and not empty) does not migrate it: `verify` and the commands that only
//! read keep working when the store's schema is at least [`READS_NEED`];
//! a command that would write is refused with exit 7 naming
//! `codedesk upgrade-store`. One that opens a store a compatible migration
//! ahead of it verifies and reads, and refuses operator writes (the newer
//! schema may hold rules this version does not know).

use super::exec::Exec;
use crate::exit::{Status, fail};
use anyhow::Result;

/// Each migration's floor (index i: migration i + 1): the oldest schema
/// version whose codedesk may still verify and read against a store that
/// holds it. A migration that is not additive names its own version.
/// Additive migrations name the one before (compatible for one version),
/// never further back.
pub(crate) const COMPATIBLE_BACK_TO: [i64; 8] = [1, 2, 3, 4, 5, 6, 6, 7];

/// The migrations' names, as `upgrade-store --dry-run` shows them.
pub(crate) const NAMES: [&str; 8] = [
    "0001 init",
    "0002 devices by phone",
    "0003 audit principal",
    "0004 trail lifecycle and roles",
    "0005 safeguards",
    "0006 approvals",
    "0007 schema level (additive: compatible back to schema 6)",
    "0008 integrity: set and notice digests, column grants (additive: compatible back to schema 7)",
];

/// The oldest schema this build's `verify` and read-only commands work on
/// without an upgrade. Raise it when a migration adds something those
/// paths use.
pub const READS_NEED: i64 = 6;

/// The first migration that has the `schema_level` table.
pub(crate) const LEVEL_TABLE_FROM: i64 = 7;
/// The first schema whose PostgreSQL functions compute set digests and
/// notice references (`codedesk_set_digest`, `codedesk_notice_refs`).
pub(crate) const DIGESTS_FROM: i64 = 8;

/// Debug builds only (the test suite's): the schema version this build
/// pretends to know, to play the part of an older codedesk
/// (`tests/suite/both/upgrade.rs`). A release build never reads it.
pub const PRETEND_VAR: &str = "CODEDESK_TEST_PRETEND_SCHEMA";

/// The schema version this codedesk knows: its number of migrations, or
/// fewer when a debug build is told to pretend.
pub fn known(built: usize) -> i64 {
    let built = built as i64;
    if cfg!(debug_assertions)
        && let Some(n) = std::env::var(PRETEND_VAR)
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
    {
        return n.clamp(1, built);
    }
    built
}

/// A store's two levels (module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Levels {
    pub applied: i64,
    pub compatible_back_to: i64,
}

impl Levels {
    /// The levels from the legacy version field (`legacy`, what every
    /// codedesk reads: compatible back to) and `schema_level`'s applied
    /// (`None`: no row).
    pub(crate) fn of(legacy: i64, applied: Option<i64>) -> Levels {
        Levels {
            applied: applied.unwrap_or(legacy).max(legacy),
            compatible_back_to: legacy,
        }
    }

    /// A store with no schema yet.
    pub fn is_empty(&self) -> bool {
        self.applied == 0
    }
}

/// Reads the levels: `legacy` is the version field every codedesk reads
/// (compatible back to); `has_table` whether `schema_level` exists.
pub(crate) fn read_levels(db: &mut dyn Exec, legacy: i64, has_table: bool) -> Result<Levels> {
    let applied = if has_table {
        db.row("SELECT applied FROM schema_level WHERE one = 1", &[], |r| {
            r.get::<i64>(0)
        })?
    } else {
        None
    };
    Ok(Levels::of(legacy, applied))
}

/// Records in `schema_level` that migration `version` was applied (the
/// backend sets the legacy field itself).
pub(crate) fn record(db: &mut dyn Exec, version: i64, now: i64) -> Result<()> {
    if version < LEVEL_TABLE_FROM {
        return Ok(());
    }
    let back = floor(version);
    db.execute(
        "INSERT INTO schema_level (one, applied, compatible_back_to, applied_at)
         VALUES (1, $1, $2, $3)
         ON CONFLICT (one) DO UPDATE SET applied = excluded.applied,
             compatible_back_to = excluded.compatible_back_to, applied_at = excluded.applied_at",
        &[&version, &back, &now],
    )?;
    Ok(())
}

/// The floor migration `version` declares.
pub(crate) fn floor(version: i64) -> i64 {
    usize::try_from(version - 1)
        .ok()
        .and_then(|i| COMPATIBLE_BACK_TO.get(i))
        .copied()
        .unwrap_or(version)
}

/// Where a store stands for the codedesk that opened it.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub levels: Levels,
    /// The schema this codedesk knows.
    pub known: i64,
    /// Opened by `verify` (the login path), whose writes (spending a code,
    /// counting a failure) are fine on a compatible schema.
    pub login: bool,
}

impl Standing {
    /// Before the schema is read.
    pub(crate) const UNKNOWN: Standing = Standing {
        levels: Levels {
            applied: 0,
            compatible_back_to: 0,
        },
        known: 0,
        login: false,
    };

    /// Refuses, at open, a store this codedesk cannot use at all: one not
    /// compatible with it (newer), or one too old for any command but
    /// `upgrade-store`.
    pub(crate) fn check_open(&self) -> Result<()> {
        let Levels {
            applied,
            compatible_back_to,
        } = self.levels;
        if compatible_back_to > self.known {
            return Err(super::newer_schema(compatible_back_to, self.known));
        }
        if applied < self.known && applied < READS_NEED.min(self.known) {
            return Err(needs_upgrade(&self.levels, self.known, "no command works"));
        }
        Ok(())
    }

    /// Refuses a write to a store whose schema is not this codedesk's,
    /// except `verify`'s.
    pub(crate) fn check_write(&self) -> Result<()> {
        let applied = self.levels.applied;
        if applied == self.known || self.login {
            return Ok(());
        }
        if applied < self.known {
            return Err(needs_upgrade(
                &self.levels,
                self.known,
                "only verify and the commands that read work",
            ));
        }
        Err(fail(
            Status::Store,
            format!(
                "the store's schema (version {applied}) is newer than this codedesk's ({}); it is compatible back to {}, so this codedesk still verifies and reads it, but changes it only once upgraded",
                self.known, self.levels.compatible_back_to
            ),
        ))
    }
}

/// Exit 7: the store needs `codedesk upgrade-store` first.
pub(crate) fn needs_upgrade(levels: &Levels, known: i64, what_works: &str) -> anyhow::Error {
    fail(
        Status::Store,
        format!(
            "the store's schema (version {}) is older than this codedesk's ({known}); until it is upgraded, {what_works}: run `codedesk upgrade-store` (as the store's owner; see --dry-run)",
            levels.applied
        ),
    )
}

/// What `upgrade-store` did, or would do with `--dry-run`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Upgrade {
    pub from: Levels,
    pub to: Levels,
    /// The migrations applied (or that would be), by name.
    pub migrations: Vec<&'static str>,
    pub dry_run: bool,
}

/// The plan from `from` to this codedesk's `known` schema.
pub(crate) fn plan(from: Levels, known: i64, dry_run: bool) -> Result<Upgrade> {
    if from.compatible_back_to > known || from.applied > known {
        return Err(super::newer_schema(from.applied, known));
    }
    let migrations = (from.applied + 1..=known)
        .filter_map(|v| NAMES.get(usize::try_from(v - 1).ok()?).copied())
        .collect();
    let to = match from.applied == known {
        true => from,
        false => Levels {
            applied: known,
            compatible_back_to: floor(known),
        },
    };
    Ok(Upgrade {
        from,
        to,
        migrations,
        dry_run,
    })
}

impl super::Store {
    /// Where the store stands against this codedesk.
    pub fn standing(&self) -> Standing {
        match self {
            super::Store::Sqlite(s) => s.standing,
            super::Store::Postgres(s) => s.standing,
        }
    }

    pub(crate) fn standing_mut(&mut self) -> &mut Standing {
        match self {
            super::Store::Sqlite(s) => &mut s.standing,
            super::Store::Postgres(s) => &mut s.standing,
        }
    }

    /// Opens the store for `upgrade-store`: whatever the age of its schema
    /// (a newer, incompatible one is still exit 7).
    pub fn open_for_upgrade(
        locator: &std::path::Path,
        group: Option<&crate::trust::Group>,
        password: Option<&crate::config::Secret>,
    ) -> Result<super::Store> {
        use super::{Locator, PgStore, SqliteStore, Store};
        Ok(match Locator::parse(locator) {
            Locator::Sqlite(path) => Store::Sqlite(SqliteStore::open_as(&path, group, true)?),
            Locator::Postgres(url) => Store::Postgres(PgStore::open_as(
                &url,
                password.map(|p| p.0.as_str()),
                None,
                true,
            )?),
            Locator::Conninfo => return Err(super::conninfo_refused("the store")),
        })
    }

    /// `upgrade-store`: applies the migrations this store lacks, in one
    /// transaction with a `store-upgraded` audit event (or, with
    /// `dry_run`, only says which).
    pub fn upgrade_schema(&mut self, operator: &str, dry_run: bool) -> Result<Upgrade> {
        let known = self.standing().known;
        let done = match self {
            super::Store::Sqlite(s) => s.apply(known, false, dry_run, operator)?,
            super::Store::Postgres(s) => s.apply(known, dry_run, operator)?,
        };
        done.ok_or_else(|| fail(Status::Store, "store error: the upgrade found no plan"))
    }
}

/// The `store-upgraded` audit event.
pub(crate) fn event(u: &Upgrade) -> crate::audit::AuditEvent<'static> {
    crate::audit::AuditEvent::StoreUpgraded {
        from: u.from.applied,
        to: u.to.applied,
        compatible_back_to: u.to.compatible_back_to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_are_additive_for_one_version_at_most() {
        for (i, back) in COMPATIBLE_BACK_TO.iter().enumerate() {
            let v = i as i64 + 1;
            assert!(*back == v || *back == v - 1, "migration {v}: {back}");
        }
        // A new migration declares its floor and name here too.
        assert_eq!(COMPATIBLE_BACK_TO.len(), NAMES.len());
        assert_eq!(
            COMPATIBLE_BACK_TO.len() as i64,
            super::super::SCHEMA_VERSION
        );
        assert_eq!(
            COMPATIBLE_BACK_TO.len() as i64,
            super::super::postgres::PG_SCHEMA_VERSION
        );
        assert!(READS_NEED <= COMPATIBLE_BACK_TO.len() as i64);
    }

    fn st(applied: i64, back: i64, known: i64, login: bool) -> Standing {
        Standing {
            levels: Levels {
                applied,
                compatible_back_to: back,
            },
            known,
            login,
        }
    }

    #[test]
    fn an_older_store_reads_and_verifies_but_refuses_operator_writes() {
        let s = st(READS_NEED, READS_NEED, READS_NEED + 1, false);
        assert!(s.check_open().is_ok());
        let e = s.check_write().unwrap_err();
        assert!(e.to_string().contains("upgrade-store"), "{e}");
        assert_eq!(crate::exit::status_of(&e), Status::Store);
        assert!(
            st(READS_NEED, READS_NEED, READS_NEED + 1, true)
                .check_write()
                .is_ok()
        );
        // Too old for anything but upgrade-store.
        let below = READS_NEED - 1;
        let e = st(below, below, READS_NEED + 1, true)
            .check_open()
            .unwrap_err();
        assert!(e.to_string().contains("upgrade-store"), "{e}");
    }

    #[test]
    fn a_store_one_compatible_migration_ahead_verifies_and_a_newer_one_is_refused() {
        assert!(st(6, 5, 5, true).check_open().is_ok());
        assert!(st(6, 5, 5, true).check_write().is_ok());
        assert!(st(6, 5, 5, false).check_write().is_err());
        let e = st(7, 6, 5, true).check_open().unwrap_err();
        assert!(e.to_string().contains("newer"), "{e}");
    }

    #[test]
    fn the_plan_names_the_missing_migrations() {
        let from = Levels {
            applied: 6,
            compatible_back_to: 6,
        };
        let p = plan(from, 7, true).unwrap();
        assert_eq!(p.migrations.len(), 1);
        assert_eq!(p.to.applied, 7);
        assert_eq!(p.to.compatible_back_to, 6);
        assert!(plan(from, 6, false).unwrap().migrations.is_empty());
        assert!(
            plan(
                Levels {
                    applied: 7,
                    compatible_back_to: 5
                },
                6,
                false
            )
            .is_err()
        );
    }
}
