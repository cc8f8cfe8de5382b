//! A consistent copy of the live database, taken while the server runs:
//! SQLite's `VACUUM INTO` reads one snapshot, so a send or a receipt in the
//! middle is either all in the copy or not at all. A PostgreSQL database
//! is copied the same way into a new SQLite file (see `migrate`), which a
//! server runs on as it is, or `migrate` puts back on PostgreSQL.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::Error;
use crate::store::db::Location;

/// What a backup holds, from the copy itself once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub schema_version: i64,
    pub messages: i64,
    pub users: i64,
    pub bytes: u64,
}

/// Copies `db` to `out`, which must not exist. The copy is written beside
/// `out` under another name and renamed once checked, so a backup cut
/// short never looks like a whole one.
pub fn backup(db: &Location, out: &Path) -> Result<Summary, Error> {
    let io = |p: &Path| {
        let name = p.display().to_string();
        move |e| Error::Io(name, e)
    };
    if let Location::Sqlite(db) = db {
        if !db.exists() {
            return Err(Error::bad(format!("no database at {}", db.display())));
        }
    }
    if out.exists() {
        return Err(Error::bad(format!(
            "{} exists: a backup never overwrites a file",
            out.display()
        )));
    }
    let partial = partial_name(out);
    let _ = std::fs::remove_file(&partial);
    let result = match db {
        Location::Sqlite(db) => vacuum_into(db, &partial),
        Location::Postgres(url) => copy_out(url, &partial),
    }
    .and_then(|()| check(&partial));
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // It holds token hashes and the audit log: for its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
            .map_err(io(&partial))?;
    }
    std::fs::rename(&partial, out).map_err(io(out))?;
    Ok(summary)
}

fn vacuum_into(db: &Path, partial: &Path) -> Result<(), Error> {
    let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    src.busy_timeout(std::time::Duration::from_secs(30))?;
    src.execute("VACUUM INTO ?1", [partial.to_string_lossy()])?;
    Ok(())
}

fn copy_out(url: &str, partial: &Path) -> Result<(), Error> {
    let src = crate::store::sql::Conn::connect_postgres(url, true)?;
    let dst = crate::store::db::open(partial)?;
    crate::store::migrate::copy(&src, &dst)?;
    Ok(())
}

/// Where the copy is written until it is checked and renamed to `out`.
pub fn partial_name(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn check(copy: &Path) -> Result<Summary, Error> {
    let c = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        return Err(Error::Internal(format!(
            "the copy does not pass its integrity check: {verdict}"
        )));
    }
    let count = |table: &str| -> Result<i64, Error> {
        Ok(c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(Summary {
        schema_version: c.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        messages: count("messages")?,
        users: count("users")?,
        bytes: std::fs::metadata(copy)
            .map_err(|e| Error::Io(copy.display().to_string(), e))?
            .len(),
    })
}
