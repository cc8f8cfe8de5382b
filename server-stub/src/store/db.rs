//! The server's SQLite file: opening, pragmas, numbered migrations.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::Error;
use crate::store::sql::{Conn, OptionalExtension};

/// Migrations in order; the database's `user_version` is how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_push.sql"),
    include_str!("../../migrations/0003_inbound.sql"),
    include_str!("../../migrations/0004_change_tracking.sql"),
    include_str!("../../migrations/0005_enrollment.sql"),
    include_str!("../../migrations/0006_directory_source.sql"),
    include_str!("../../migrations/0007_accounts.sql"),
    include_str!("../../migrations/0008_sites.sql"),
    include_str!("../../migrations/0009_proven_hosts.sql"),
    include_str!("../../migrations/0010_bundle_nonces.sql"),
    include_str!("../../migrations/0011_trust.sql"),
    include_str!("../../migrations/0012_signatures.sql"),
    include_str!("../../migrations/0013_site_keys.sql"),
    include_str!("../../migrations/0014_content.sql"),
    include_str!("../../migrations/0015_template_content.sql"),
];

/// The PostgreSQL schema, numbered on its own: its first migration is the
/// whole of SQLite's first seven.
const PG_MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_schema.sql"),
    include_str!("../../migrations/postgres/0002_sites.sql"),
    include_str!("../../migrations/postgres/0003_proven_hosts.sql"),
    include_str!("../../migrations/postgres/0004_bundle_nonces.sql"),
    include_str!("../../migrations/postgres/0005_trust.sql"),
    include_str!("../../migrations/postgres/0006_signatures.sql"),
    include_str!("../../migrations/postgres/0007_site_keys.sql"),
    include_str!("../../migrations/postgres/0008_content.sql"),
    include_str!("../../migrations/postgres/0009_template_content.sql"),
];

/// Where the database is: a SQLite file (the embedded default) or a
/// PostgreSQL server, for several instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is a server; `sqlite:FILE` or
    /// anything else a file.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_owned())
        } else {
            let file = s
                .strip_prefix("sqlite://")
                .or_else(|| s.strip_prefix("sqlite:"));
            Location::Sqlite(file.unwrap_or(s).into())
        }
    }
}

impl std::fmt::Display for Location {
    /// A server's address without its password, for logs and errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    write!(f, "{}://…{}", &url[..scheme], &url[at..])
                }
                _ => f.write_str(url),
            },
        }
    }
}

/// Connects to a PostgreSQL server and brings its schema up to date. Two
/// instances starting at once take turns: the first migrates, the second
/// finds it done.
pub fn open_postgres(url: &str) -> Result<Conn, Error> {
    let conn = Conn::connect_postgres(url, false)?;
    conn.execute_batch(
        "BEGIN;
         SELECT pg_advisory_xact_lock(4242000001);
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         );",
    )?;
    let result = (|| {
        let done: i64 = conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        let done = usize::try_from(done).unwrap_or(usize::MAX);
        if done > PG_MIGRATIONS.len() {
            return Err(Error::Schema(format!(
                "database schema version {done} is newer than this server knows ({})",
                PG_MIGRATIONS.len()
            )));
        }
        for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(done) {
            conn.execute_batch(sql)?;
            conn.execute(
                "INSERT INTO schema_migrations(version) VALUES (?1)",
                [i + 1],
            )?;
        }
        let first = "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING";
        conn.execute(first, ["server_id", &crate::tokens::random_id(12)])?;
        conn.execute(first, ["change_seq", "0"])?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(conn)
}

/// Opens (creating if needed) the database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Conn, Error> {
    Ok(Conn::from_sqlite(open_sqlite(path)?))
}

/// `open`, for what needs SQLite itself (the writer's pragmas, the
/// checkpointer).
pub fn open_sqlite(path: &Path) -> Result<Connection, Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(dir.display().to_string(), e))?;
    }
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// A connection for reads only, to a database `open` has brought up to date.
pub fn open_reader(path: &Path) -> Result<Conn, Error> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    tune(&conn)?;
    Ok(Conn::from_sqlite(conn))
}

/// Statements are prepared once per connection: the default cache of 16
/// is smaller than the set a poll and its record use, and preparing again
/// costs more than running. For the same reason the query planner keeps
/// its plan whatever values are bound: otherwise SQLite prepares a cached
/// statement again whenever a bound value might change the plan, which
/// here is on every run of the main poll query.
fn tune(conn: &Connection) -> Result<(), Error> {
    conn.set_prepared_statement_cache_capacity(128);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), Error> {
    // Before anything that locks: switching to WAL does.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    tune(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    // IMMEDIATE takes the write lock before the version is read, so two
    // processes opening a new database at once cannot both migrate it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(Error::Schema(format!(
            "database schema version {done} is newer than this server knows ({})",
            MIGRATIONS.len()
        )));
    }
    for sql in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(
        None,
        "user_version",
        i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX),
    )?;
    ensure_meta(&tx)?;
    tx.commit()?;
    Ok(())
}

fn ensure_meta(conn: &Connection) -> Result<(), Error> {
    let first = "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING";
    conn.execute(first, ["server_id", &crate::tokens::random_id(12)])?;
    conn.execute(first, ["change_seq", "0"])?;
    Ok(())
}

pub fn meta(conn: &Conn, key: &str) -> Result<Option<String>, Error> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn set_meta(conn: &Conn, key: &str, value: &str) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// The change sequence moves whenever something that decides which messages
/// apply to whom changes; an agent whose last poll saw the current value
/// gets a "nothing changed" answer without any further query.
pub fn change_seq(conn: &Conn) -> Result<i64, Error> {
    Ok(conn
        .prepare_cached("SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'change_seq'")?
        .query_row([], |r| r.get(0))?)
}

pub fn bump_change_seq(conn: &Conn) -> Result<(), Error> {
    conn.execute(
        "UPDATE meta SET value = CAST(value AS BIGINT) + 1 WHERE key = 'change_seq'",
        [],
    )?;
    Ok(())
}

/// A unit of work that applies whole or not at all, inside or outside a
/// transaction: a savepoint. The writer runs several requests' work in one
/// transaction (group commit), each in its own `Atomic`, so one request's
/// error undoes only its own changes. Dropped without `commit`, it rolls
/// back, on an error return and on a panic alike.
pub struct Atomic<'c> {
    conn: &'c Conn,
    done: bool,
}

impl<'c> Atomic<'c> {
    pub fn begin(conn: &'c Conn) -> Result<Self, Error> {
        conn.prepare_cached("SAVEPOINT atomic")?.execute([])?;
        Ok(Atomic { conn, done: false })
    }

    pub fn commit(mut self) -> Result<(), Error> {
        self.conn.prepare_cached("RELEASE atomic")?.execute([])?;
        self.done = true;
        Ok(())
    }
}

impl std::ops::Deref for Atomic<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Atomic<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self
                .conn
                .execute_batch("ROLLBACK TO atomic; RELEASE atomic")
            {
                tracing::error!(error = %e, "cannot roll back a failed change");
            }
        }
    }
}

/// Unix milliseconds, the form times take in the database.
pub fn to_ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_reopen_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = open(&path).unwrap();
        let id = meta(&conn, "server_id").unwrap().unwrap();
        drop(conn);
        let conn = open_sqlite(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let conn = Conn::from_sqlite(conn);
        assert_eq!(meta(&conn, "server_id").unwrap().unwrap(), id);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = open_sqlite(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open(&path).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
