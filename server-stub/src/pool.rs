//! The database as requests use it: one writer, and a pool of readers that
//! never wait for it. SQLite in WAL mode lets readers see the last committed
//! state while the writer works, so the hot path (an unchanged poll) never
//! queues behind a sending admin or a batch of receipts.
//!
//! The locks do not poison: a panic inside a closure unwinds through the
//! rusqlite `Transaction`, whose drop rolls back, so the connection is left
//! as it was and the next request uses it as usual.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::db;
use crate::error::Error;

/// Idle readers kept open; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    server_id: String,
}

impl Db {
    /// Opens the file, migrating it if needed.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let writer = db::open(path)?;
        let server_id = db::meta(&writer, "server_id")?
            .ok_or_else(|| Error::Schema("no server id in the database".into()))?;
        Ok(Db {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            server_id,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database's identity, fixed when it was created.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Runs `f` with the only connection that writes.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        f(&mut self.writer.lock())
    }

    /// Runs `f` on a read-only connection from the pool.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let conn = match self.readers.lock().pop() {
            Some(c) => c,
            None => {
                tracing::debug!("opening a database reader");
                db::open_reader(&self.path)?
            }
        };
        let result = f(&conn);
        // A reader left inside a transaction by an error would pin an old
        // snapshot; such a connection is closed rather than reused.
        if conn.is_autocommit() {
            let mut idle = self.readers.lock();
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_cannot_write_and_a_panic_leaves_the_writer_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("s.db")).unwrap();
        let err = db
            .read(|c| Ok(c.execute("DELETE FROM meta", [])?))
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.write(|c| {
                let tx = c.transaction()?;
                tx.execute("DELETE FROM meta", [])?;
                panic!("inside a transaction");
                #[allow(unreachable_code)]
                Ok(())
            })
        }));
        assert!(panicked.is_err());
        let kept: i64 = db
            .write(|c| Ok(c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))?))
            .unwrap();
        assert!(kept > 0, "the panicked transaction was not rolled back");
        let seen: i64 = db
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(seen, kept);
    }
}
