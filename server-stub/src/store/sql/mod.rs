//! The one interface every domain module uses to reach the database, so
//! that a second backend (PostgreSQL, for several instances) can stand in
//! for the embedded SQLite file without touching them.
//!
//! Its shape follows rusqlite's (`execute`, `query_row`, `prepare_cached`,
//! `params!`, `.optional()`), but values cross it as plain `Value`s: a
//! backend converts them to what its driver binds, and a row hands them
//! back the same way. Statements use `?N` placeholders; a backend that
//! numbers them otherwise rewrites them when it prepares.

use std::fmt;

mod pg;

/// A value as it goes into or comes out of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }
}

// The drivers' errors are in the text, not `source`, so that a report
// printing the chain says each cause once.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Sqlite(rusqlite::Error),
    #[error("{}", pg_text(.0))]
    Pg(postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error("column {column}: expected {expected}, found {found}")]
    Type {
        column: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error("a value does not fit: {0}")]
    Range(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(e)
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Pg(e)
    }
}

/// PostgreSQL's own message with its detail, not only "db error".
fn pg_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{}: {d}", db.message()),
            None => db.message().to_owned(),
        },
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can be bound to a placeholder.
pub trait ToSql {
    fn to_value(&self) -> Result<Value>;
}

/// What a column can be read as.
pub trait FromSql: Sized {
    /// `None` when the value has the wrong type; the caller names it.
    fn from_value(v: Value) -> Option<Self>;
    const EXPECTED: &'static str;
}

macro_rules! int_sql {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_value(&self) -> Result<Value> {
                i64::try_from(*self)
                    .map(Value::Int)
                    .map_err(|_| Error::Range(format!("{} is too large for the database", self)))
            }
        }
        impl FromSql for $t {
            fn from_value(v: Value) -> Option<Self> {
                match v {
                    Value::Int(i) => <$t>::try_from(i).ok(),
                    _ => None,
                }
            }
            const EXPECTED: &'static str = "integer";
        }
    )*};
}
int_sql!(i64, i32, u32, u64, usize, u16, u8);

impl ToSql for bool {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Int(i64::from(*self)))
    }
}
impl FromSql for bool {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(i != 0),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "integer";
}

impl ToSql for f64 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Real(*self))
    }
}
impl FromSql for f64 {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Real(r) => Some(r),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "real";
}

impl ToSql for str {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.to_owned()))
    }
}
impl ToSql for String {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.clone()))
    }
}
impl FromSql for String {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "text";
}

impl ToSql for [u8] {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.to_vec()))
    }
}
impl ToSql for Vec<u8> {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.clone()))
    }
}
impl FromSql for Vec<u8> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "blob";
}

impl ToSql for Value {
    fn to_value(&self) -> Result<Value> {
        Ok(self.clone())
    }
}
impl FromSql for Value {
    fn from_value(v: Value) -> Option<Self> {
        Some(v)
    }
    const EXPECTED: &'static str = "any value";
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_value(&self) -> Result<Value> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(Value::Null),
        }
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
    const EXPECTED: &'static str = T::EXPECTED;
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_value(&self) -> Result<Value> {
        (**self).to_value()
    }
}

/// The values for a statement's placeholders, in order.
pub trait Params {
    fn values(self) -> Result<Vec<Value>>;
}

impl Params for &[&dyn ToSql] {
    fn values(self) -> Result<Vec<Value>> {
        self.iter().map(|p| p.to_value()).collect()
    }
}

impl Params for [&dyn ToSql; 0] {
    fn values(self) -> Result<Vec<Value>> {
        Ok(Vec::new())
    }
}

impl Params for Vec<Value> {
    fn values(self) -> Result<Vec<Value>> {
        Ok(self)
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(self) -> Result<Vec<Value>> {
                self.iter().map(ToSql::to_value).collect()
            }
        }
        impl<T: ToSql> Params for &[T; $n] {
            fn values(self) -> Result<Vec<Value>> {
                self.iter().map(ToSql::to_value).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// Placeholder values of mixed types, as in rusqlite.
#[macro_export]
macro_rules! sql_params {
    () => {
        &[] as &[&dyn $crate::store::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::sql::ToSql),+] as &[&dyn $crate::store::sql::ToSql]
    };
}
pub use crate::sql_params as params;

/// One result row.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Pg(&'r postgres::Row),
}

/// Columns are read by position.
pub trait RowIndex: Copy {
    fn index(self) -> usize;
}
impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let column = idx.index();
        let value = self.value(column)?;
        let found = value.kind();
        T::from_value(value).ok_or(Error::Type {
            column,
            expected: T::EXPECTED,
            found,
        })
    }

    fn value(&self, column: usize) -> Result<Value> {
        use rusqlite::types::ValueRef;
        match &self.inner {
            RowInner::Sqlite(r) => Ok(match r.get_ref(column)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Int(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            }),
            RowInner::Pg(r) => pg::value(r, column),
        }
    }
}

/// A connection to the database, whichever backend holds it.
pub struct Conn {
    inner: Backend,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    // Boxed: a PostgreSQL client is three times the size of a SQLite handle.
    Pg(Box<pg::PgConn>),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Backend::Sqlite(_) => f.write_str("Conn(sqlite)"),
            Backend::Pg(_) => f.write_str("Conn(postgres)"),
        }
    }
}

fn bind_sqlite(values: &[Value]) -> Vec<rusqlite::types::Value> {
    values
        .iter()
        .map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(f) => rusqlite::types::Value::Real(*f),
            Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
        })
        .collect()
}

impl Conn {
    pub fn from_sqlite(conn: rusqlite::Connection) -> Self {
        Conn {
            inner: Backend::Sqlite(conn),
        }
    }

    /// A PostgreSQL session; a reader's refuses to write.
    pub fn connect_postgres(url: &str, read_only: bool) -> Result<Self> {
        Ok(Conn {
            inner: Backend::Pg(Box::new(pg::PgConn::connect(url, read_only)?)),
        })
    }

    /// The SQLite connection underneath, for what only SQLite has
    /// (pragmas, `VACUUM INTO`); `None` on another backend.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Backend::Sqlite(c) => Some(c),
            Backend::Pg(_) => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Backend::Pg(_))
    }

    /// Opens a transaction that will write: SQLite takes its write lock
    /// at once, so that the transaction cannot fail later for want of it.
    pub fn begin_write(&self) -> Result<()> {
        let sql = match &self.inner {
            Backend::Sqlite(_) => "BEGIN IMMEDIATE",
            Backend::Pg(_) => "BEGIN",
        };
        self.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// Several statements without parameters, as in a migration.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Pg(c) => c.batch(sql),
        }
    }

    pub fn query_row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare(sql)?.query_row(params, f)
    }

    /// A statement for one use: one built from parts, which a cache would
    /// only fill.
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        match &self.inner {
            Backend::Sqlite(c) => Ok(Stmt {
                inner: StmtInner::Sqlite(c.prepare(sql)?),
            }),
            Backend::Pg(c) => Ok(Stmt {
                inner: StmtInner::Pg {
                    conn: c,
                    stmt: c.prepare(sql, false)?,
                    sql: sql.to_owned(),
                },
            }),
        }
    }

    /// A statement kept prepared for the next use of the same text.
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        match &self.inner {
            Backend::Sqlite(c) => Ok(Stmt {
                inner: StmtInner::SqliteCached(c.prepare_cached(sql)?),
            }),
            Backend::Pg(c) => Ok(Stmt {
                inner: StmtInner::Pg {
                    conn: c,
                    stmt: c.prepare(sql, true)?,
                    sql: sql.to_owned(),
                },
            }),
        }
    }

    /// A transaction for reads: one consistent snapshot for several
    /// queries. `finish` ends it; dropped, it rolls back.
    pub fn snapshot(&self) -> Result<Snapshot<'_>> {
        // PostgreSQL's default (read committed) takes a new snapshot for
        // each statement; SQLite's BEGIN holds one from the first read.
        let sql = match &self.inner {
            Backend::Sqlite(_) => "BEGIN",
            Backend::Pg(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        };
        self.prepare_cached(sql)?.execute([])?;
        Ok(Snapshot {
            conn: self,
            open: true,
        })
    }

    /// The schema's tables, sorted (bookkeeping tables left out).
    pub fn tables(&self) -> Result<Vec<String>> {
        let sql = match &self.inner {
            Backend::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            }
            Backend::Pg(_) => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                   AND table_name <> 'schema_migrations' ORDER BY 1"
            }
        };
        let mut stmt = self.prepare(sql)?;
        let names = stmt.query_map([], |r| r.get(0))?;
        names.collect()
    }

    /// A table's columns, in their order.
    pub fn columns(&self, table: &str) -> Result<Vec<String>> {
        let (sql, param) = match &self.inner {
            Backend::Sqlite(_) => ("SELECT name FROM pragma_table_info(?1) ORDER BY cid", table),
            Backend::Pg(_) => (
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?1
                 ORDER BY ordinal_position",
                table,
            ),
        };
        let mut stmt = self.prepare(sql)?;
        let names = stmt.query_map([param], |r| r.get(0))?;
        names.collect()
    }

    /// Whether no transaction is open.
    pub fn is_autocommit(&self) -> bool {
        match &self.inner {
            Backend::Sqlite(c) => c.is_autocommit(),
            Backend::Pg(c) => !c.in_transaction(),
        }
    }
}

/// A read transaction; see `Conn::snapshot`.
pub struct Snapshot<'c> {
    conn: &'c Conn,
    open: bool,
}

impl Snapshot<'_> {
    pub fn finish(mut self) -> Result<()> {
        self.open = false;
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }
}

impl std::ops::Deref for Snapshot<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "cannot end a read transaction");
            }
        }
    }
}

/// A prepared statement.
pub struct Stmt<'c> {
    inner: StmtInner<'c>,
}

enum StmtInner<'c> {
    Sqlite(rusqlite::Statement<'c>),
    SqliteCached(rusqlite::CachedStatement<'c>),
    Pg {
        conn: &'c pg::PgConn,
        stmt: postgres::Statement,
        sql: String,
    },
}

impl Stmt<'_> {
    /// Runs it; the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values()?;
        match &mut self.inner {
            StmtInner::Sqlite(s) => sqlite_execute(s, &values),
            StmtInner::SqliteCached(s) => sqlite_execute(s, &values),
            StmtInner::Pg { conn, stmt, sql } => conn.execute(sql, stmt, &values),
        }
    }

    /// The first row, or `Error::NoRows`.
    pub fn query_row<T, P: Params>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut f = Some(f);
        let mut first = None;
        self.each(params, &mut |row| {
            if let Some(f) = f.take() {
                first = Some(f(row));
            }
            Ok(false)
        })?;
        first.unwrap_or(Err(Error::NoRows))
    }

    /// Every row, each through `f`.
    pub fn query_map<T, P: Params>(
        &mut self,
        params: P,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut out = Vec::new();
        self.each(params, &mut |row| {
            out.push(f(row));
            Ok(true)
        })?;
        Ok(out.into_iter())
    }

    /// Hands each row to `f` until it says stop.
    fn each<P: Params>(
        &mut self,
        params: P,
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let values = params.values()?;
        match &mut self.inner {
            StmtInner::Sqlite(s) => sqlite_each(s, &values, f),
            StmtInner::SqliteCached(s) => sqlite_each(s, &values, f),
            StmtInner::Pg { conn, stmt, .. } => {
                // Fetched whole before `f` runs, so that `f` may use the
                // connection again.
                for r in conn.query(stmt, &values)? {
                    if !f(&Row {
                        inner: RowInner::Pg(&r),
                    })? {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

fn sqlite_execute(s: &mut rusqlite::Statement<'_>, values: &[Value]) -> Result<usize> {
    Ok(s.execute(rusqlite::params_from_iter(bind_sqlite(values)))?)
}

fn sqlite_each(
    s: &mut rusqlite::Statement<'_>,
    values: &[Value],
    f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
) -> Result<()> {
    let mut rows = s.query(rusqlite::params_from_iter(bind_sqlite(values)))?;
    while let Some(r) = rows.next()? {
        if !f(&Row {
            inner: RowInner::Sqlite(r),
        })? {
            break;
        }
    }
    Ok(())
}

/// `.optional()` on a one-row query: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        Conn::from_sqlite(rusqlite::Connection::open_in_memory().unwrap())
    }

    #[test]
    fn values_go_in_and_come_back_with_their_types() {
        let c = conn();
        c.execute_batch("CREATE TABLE t(i INTEGER, s TEXT, b BLOB, n TEXT)")
            .unwrap();
        let none: Option<String> = None;
        c.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
            params![42u32, "x", vec![1u8, 2], none],
        )
        .unwrap();
        let (i, s, b, n): (u32, String, Vec<u8>, Option<String>) = c
            .query_row("SELECT i, s, b, n FROM t", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!((i, s.as_str(), b, n), (42, "x", vec![1, 2], None));
    }

    #[test]
    fn a_wrong_type_or_a_missing_row_is_a_clear_error() {
        let c = conn();
        let err = c
            .query_row("SELECT 'text'", [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(
            err.to_string().contains("expected integer, found text"),
            "{err}"
        );
        let none = c
            .query_row("SELECT 1 WHERE 0", [], |r| r.get::<_, i64>(0))
            .optional()
            .unwrap();
        assert_eq!(none, None);
        c.execute_batch("CREATE TABLE t(i INTEGER)").unwrap();
        let err = c
            .execute("INSERT INTO t VALUES (?1)", [u64::MAX])
            .unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }
}
