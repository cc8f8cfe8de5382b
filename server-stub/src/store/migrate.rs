//! Copies a whole database into an empty one, either way between SQLite
//! and PostgreSQL: for moving the embedded default to a server, and for
//! taking a PostgreSQL backup as one SQLite file.
//!
//! Everything is read in one snapshot and written in one transaction, so a
//! copy taken while the server runs is consistent, and a copy cut short
//! leaves the destination as empty as it was. The server's id and change
//! counter go with the data, so every agent's cursor still works.

use crate::error::Error;
use crate::store::db::Location;
use crate::store::sql::{Conn, Value};

/// Every table, parents before the tables that refer to them. A table the
/// source has and this list lacks stops the copy: it would be lost.
pub const TABLES: &[&str] = &[
    "meta",
    "users",
    "groups",
    "memberships",
    "hosts",
    "messages",
    "recipients",
    "receipts",
    "agent_sync",
    "deliveries",
    "push_listeners",
    "change_stamps",
    "enroll_keys",
    "host_tokens",
    "directory_syncs",
    "accounts",
    "sender_limits",
    "account_tokens",
    "sessions",
    "message_revisions",
    "audit",
    "templates",
    "peers",
    "bundles_sent",
    "site_members",
    "exchange_log",
    "prefs",
    "bundle_nonces",
];

/// Rows copied, per table, in copy order.
pub type Copied = Vec<(&'static str, u64)>;

/// Opens (creating and migrating as needed) the database at `loc`.
pub fn open(loc: &Location) -> Result<Conn, Error> {
    match loc {
        Location::Sqlite(path) => crate::store::db::open(path),
        Location::Postgres(url) => crate::store::db::open_postgres(url),
    }
}

/// Copies everything in `from` into `to`, which must hold no data yet.
pub fn copy(from: &Conn, to: &Conn) -> Result<Copied, Error> {
    let known: Vec<String> = from.tables()?;
    if let Some(extra) = known.iter().find(|t| !TABLES.contains(&t.as_str())) {
        return Err(Error::Schema(format!(
            "the source has a table this server does not know ({extra}): \
             copy it with the herald-server that made it"
        )));
    }
    for table in TABLES.iter().filter(|t| **t != "meta") {
        let n: i64 = to.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        if n > 0 {
            return Err(Error::bad(format!(
                "the destination already holds data ({n} rows in {table}): \
                 copy only into an empty database"
            )));
        }
    }
    let snapshot = from.snapshot()?;
    to.begin_write()?;
    let result = copy_tables(&snapshot, to);
    match result {
        Ok(copied) => {
            to.execute_batch("COMMIT")?;
            snapshot.finish()?;
            Ok(copied)
        }
        Err(e) => {
            let _ = to.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn copy_tables(from: &Conn, to: &Conn) -> Result<Copied, Error> {
    // The destination's own server id and counter give way to the source's.
    to.execute("DELETE FROM meta", [])?;
    let mut copied = Vec::new();
    for &table in TABLES {
        let cols = from.columns(table)?;
        if cols.is_empty() {
            // An older source schema without this table: nothing to copy.
            copied.push((table, 0));
            continue;
        }
        let theirs = to.columns(table)?;
        if let Some(missing) = cols.iter().find(|c| !theirs.contains(c)) {
            return Err(Error::Schema(format!(
                "the destination's {table} has no column {missing}"
            )));
        }
        let list = cols.join(", ");
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        // The audit log's ids are never chosen by hand, except here.
        let overriding = if to.is_postgres() {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let insert = format!(
            "INSERT INTO {table}({list}){overriding} VALUES ({})",
            marks.join(", ")
        );
        let mut read = from.prepare(&format!("SELECT {list} FROM {table}"))?;
        let rows = read.query_map([], |r| {
            (0..cols.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<Vec<Value>, _>>()
        })?;
        let mut write = to.prepare(&insert)?;
        let mut n = 0u64;
        for row in rows {
            write.execute(row?)?;
            n += 1;
        }
        if to.is_postgres() && cols.iter().any(|c| c == "id") {
            // Identity counters carry on after the copied ids.
            let seq = format!("pg_get_serial_sequence('{table}', 'id')");
            let has: Option<String> =
                to.query_row(&format!("SELECT CAST({seq} AS TEXT)"), [], |r| r.get(0))?;
            if has.is_some() {
                to.query_row(
                    &format!(
                        "SELECT setval({seq}, GREATEST(MAX(id), 1), MAX(id) IS NOT NULL) \
                         FROM {table}"
                    ),
                    [],
                    |r| r.get::<_, i64>(0),
                )?;
            }
        }
        copied.push((table, n));
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::db::open(&dir.path().join("a.db")).unwrap();
        let mut ours: Vec<&str> = TABLES.to_vec();
        ours.sort_unstable();
        assert_eq!(conn.tables().unwrap(), ours);
    }
}
