//! What the store operations need of a database, once for both backends:
//! run a statement, read rows, in one open connection or transaction.
//! SQL is written once, with PostgreSQL's `$1, $2` placeholders; the SQLite
//! executor turns them into `?1, ?2` (numbered, never named: SQLite numbers
//! `$N` by first appearance, which would swap values). Values go in as
//! [`Param`] and come out through [`Row::get`] as types both drivers read
//! and write (`i64`, `bool`, `String`, `Vec<u8>`, options of them), so each
//! column keeps one Rust type on both backends (PostgreSQL refuses an `i32`
//! for a BIGINT).

use crate::exit::{Status, fail};
use anyhow::Result;

/// A statement parameter both drivers can bind.
pub(crate) trait Param: Sync {
    fn sqlite(&self) -> &dyn rusqlite::ToSql;
    fn pg(&self) -> &(dyn ::postgres::types::ToSql + Sync);
    /// The PostgreSQL type it is sent as. Statements go to the server with
    /// their parameters' types, so each is parsed, bound and run in one
    /// round trip instead of a prepare and then an execute: a verify
    /// through a pooler in a login storm makes half the trips.
    fn pg_type(&self) -> ::postgres::types::Type;
}

impl<T: rusqlite::ToSql + ::postgres::types::ToSql + PgType + Sync> Param for T {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }

    fn pg(&self) -> &(dyn ::postgres::types::ToSql + Sync) {
        self
    }

    fn pg_type(&self) -> ::postgres::types::Type {
        T::PG
    }
}

/// The PostgreSQL type a Rust value is sent as (see [`Param::pg_type`]).
pub(crate) trait PgType {
    const PG: ::postgres::types::Type;
}

macro_rules! pg_type {
    ($($t:ty => $pg:ident),* $(,)?) => {
        $(impl PgType for $t {
            const PG: ::postgres::types::Type = ::postgres::types::Type::$pg;
        })*
    };
}

pg_type!(
    i64 => INT8,
    i32 => INT4,
    bool => BOOL,
    String => TEXT,
    str => TEXT,
    Vec<u8> => BYTEA,
    [u8] => BYTEA,
);

impl<T: PgType + ?Sized> PgType for &T {
    const PG: ::postgres::types::Type = T::PG;
}

impl<T: PgType> PgType for Option<T> {
    const PG: ::postgres::types::Type = T::PG;
}

/// A column value both drivers can read.
pub(crate) trait Value: rusqlite::types::FromSql + ::postgres::types::FromSqlOwned {}

impl<T: rusqlite::types::FromSql + ::postgres::types::FromSqlOwned> Value for T {}

/// One row of a result, from either backend.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a ::postgres::Row),
}

impl Row<'_> {
    /// Column `i`; a value of an unexpected type is exit 7, not a panic.
    pub fn get<T: Value>(&self, i: usize) -> Result<T> {
        let got = match self {
            Row::Sqlite(r) => r.get(i).map_err(|e| e.to_string()),
            Row::Pg(r) => r.try_get(i).map_err(|e| e.to_string()),
        };
        got.map_err(|e| fail(Status::Store, format!("store error: column {i}: {e}")))
    }
}

/// One open connection or transaction of either backend.
pub(crate) trait Exec {
    /// Runs a statement that returns no rows; the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64>;

    /// Runs a query, calling `f` on each row in order.
    fn each_row(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()>;

    /// The principal this connection acts for, as the backend vouches for
    /// it: the OS account (SQLite), the login role `session_user`
    /// (PostgreSQL). Recorded with, and hashed into, every audit event.
    fn principal(&mut self) -> Result<String>;
}

impl dyn Exec + '_ {
    /// Every row, mapped by `f`.
    pub fn rows<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each_row(sql, params, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row (the queries asked this return at most one), mapped.
    pub fn row<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.each_row(sql, params, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The one row of a query that always returns one, mapped.
    pub fn one<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.row(sql, params, f)?
            .ok_or_else(|| fail(Status::Store, "store error: a query returned no rows"))
    }

    /// Runs an `INSERT ... RETURNING id`; the new row's id.
    pub fn insert(&mut self, sql: &str, params: &[&dyn Param]) -> Result<i64> {
        self.one(sql, params, |r| r.get(0))
    }
}

/// A store that streams the rows of one query, in one consistent snapshot,
/// to `f` until it returns false: listings too large to hold (the audit
/// trail) are read this way.
pub(crate) trait Stream {
    fn stream(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()>;
}
