//! The database as requests use it: one writer, and a pool of readers that
//! never wait for it. SQLite in WAL mode lets readers see the last committed
//! state while the writer works, so the hot path (an unchanged poll) never
//! queues behind a sending admin or a batch of receipts.
//!
//! The locks do not poison, and a panic inside a write is caught: its
//! savepoint rolls back, that request gets a 500, and the batch it ran in
//! commits the others' work as usual.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::db;
use crate::error::Error;

/// Idle readers kept open; more are opened under load and closed after.
const IDLE_READERS: usize = 8;

/// A queued write: runs inside the batch's transaction and returns how to
/// tell its requester once the batch's fate is known.
type Job = Box<dyn FnOnce(&Connection) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Writes committed together at most; more wait for the next batch, so that
/// no request waits behind an unbounded batch.
const MAX_BATCH: usize = 256;

/// Runs up to `MAX_BATCH` queued jobs in one transaction, then tells each
/// requester. A batch whose commit fails is rolled back whole and each of
/// its requesters gets the error. One batch per call: the thread that ran
/// it returns to its own request, and the next waiting thread takes over.
fn run_batch(conn: &Connection, queue: &Mutex<Vec<Job>>) {
    let jobs: Vec<Job> = {
        let mut q = queue.lock();
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    };
    if jobs.is_empty() {
        return;
    }
    let begun = conn
        .prepare_cached("BEGIN IMMEDIATE")
        .and_then(|mut s| s.execute([]));
    if let Err(e) = begun {
        let reason = format!("cannot write to the database: {e}");
        for job in jobs {
            // Each job still runs, outside a transaction: its savepoint
            // makes it atomic on its own.
            job(conn)(Ok(()));
        }
        tracing::error!(%reason, "group commit fell back to one transaction per write");
        return;
    }
    let delivers: Vec<Deliver> = jobs.into_iter().map(|job| job(conn)).collect();
    let committed = conn
        .prepare_cached("COMMIT")
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            format!("database error: {e}")
        });
    for deliver in delivers {
        deliver(committed.clone());
    }
}

pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    queue: Mutex<Vec<Job>>,
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
            queue: Mutex::new(Vec::new()),
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

    /// Runs `f` on the only connection that writes, atomically, and
    /// returns once its change is committed. Writes that arrive while
    /// another batch runs are committed together in one transaction (group
    /// commit): after an alert to everyone, thousands of agents' full polls
    /// share a few commits instead of paying one each. Each write runs in
    /// its own savepoint, so an error or a panic undoes only its own work.
    pub fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, Error>>(1);
        let job: Job = Box::new(move |conn: &Connection| {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let work = db::Atomic::begin(conn)?;
                let value = f(&work)?;
                work.commit()?;
                Ok(value)
            }))
            .unwrap_or_else(|_| {
                Err(Error::Internal(
                    "the request failed unexpectedly; it was not applied".into(),
                ))
            });
            // Told only once the batch is committed, or that it was not.
            Box::new(move |committed: Result<(), String>| {
                let result = match committed {
                    Ok(()) => result,
                    Err(e) if result.is_ok() => Err(Error::Internal(e)),
                    Err(_) => result,
                };
                let _ = tx.send(result);
            }) as Deliver
        });
        self.queue.lock().push(job);
        loop {
            if let Ok(result) = rx.try_recv() {
                return result;
            }
            // Whoever holds the writer runs a batch of the queued jobs, in
            // order; ours is in it or in an earlier one, or we run it now.
            let conn = self.writer.lock();
            run_batch(&conn, &self.queue);
            drop(conn);
        }
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
        let panicked = db.write(|c| {
            c.execute("DELETE FROM meta", [])?;
            if c.is_autocommit() {
                return Ok(());
            }
            panic!("inside a write");
        });
        assert!(panicked.unwrap_err().to_string().contains("unexpectedly"));
        let kept: i64 = db
            .write(|c| Ok(c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))?))
            .unwrap();
        assert!(kept > 0, "the panicked transaction was not rolled back");
        let seen: i64 = db
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(seen, kept);
    }

    #[test]
    fn concurrent_writes_commit_together_and_a_failure_undoes_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(Db::open(&dir.path().join("s.db")).unwrap());
        let threads: Vec<_> = (0..64)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.write(move |c| {
                        c.execute(
                            "INSERT INTO meta(key, value) VALUES (?1, 'x')",
                            [format!("k{i}")],
                        )?;
                        match i % 8 {
                            3 => Err(Error::bad("refused")),
                            5 if !c.is_autocommit() => panic!("a bug"),
                            _ => Ok(i),
                        }
                    })
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 48);
        let kept: i64 = db
            .read(|c| {
                Ok(
                    c.query_row("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'", [], |r| {
                        r.get(0)
                    })?,
                )
            })
            .unwrap();
        assert_eq!(kept, 48, "a failed or panicked write left rows behind");
    }
}
