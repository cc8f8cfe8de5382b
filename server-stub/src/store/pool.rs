//! The database as requests use it: writers, and a pool of readers that
//! never wait for them. SQLite in WAL mode lets readers see the last
//! committed state while the writer works, so the hot path (an unchanged
//! poll) never queues behind a sending admin or a batch of receipts.
//!
//! SQLite takes one writer at a time, so it gets one. PostgreSQL takes
//! many, and there every write costs a round trip per statement: one
//! writer would leave the database idle while it waits on the network, and
//! a burst of full polls (an alert to everyone) would queue behind it. It
//! gets several, which is no new risk: the rules that make two instances
//! safe on one database make two writers of one instance safe.
//!
//! The locks do not poison, and a panic inside a write is caught: its
//! savepoint rolls back, that request gets a 500, and the batch it ran in
//! commits the others' work as usual.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::error::Error;
use crate::store::db::{self, Location};
use crate::store::sql::Conn;

/// Idle readers kept open; more are opened under load and closed after.
pub const IDLE_READERS: usize = 8;

/// A queued write: runs inside the batch's transaction and returns how to
/// tell its requester once the batch's fate is known.
type Job = Box<dyn FnOnce(&Conn) -> Deliver + Send>;
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Writes committed together at most; more wait for the next batch, so that
/// no request waits behind an unbounded batch.
const MAX_BATCH: usize = 256;

/// Writers of one instance on PostgreSQL by default, each on its own
/// connection.
pub const PG_WRITERS: u16 = 4;

/// Writes committed together at most on PostgreSQL: a batch holds its row
/// locks until its commit, so a long one would make the other writers wait.
const PG_MAX_BATCH: usize = 16;

type Queue = std::sync::Arc<Mutex<std::sync::mpsc::Receiver<Job>>>;

/// A writer's thread: takes what is queued, up to `max_batch`, runs it in
/// one transaction, and tells each requester once the commit is done. It
/// ends when the `Db` is dropped.
fn writer(conn: Conn, jobs: Queue, max_batch: usize) {
    loop {
        // The queue is held only to take a batch, not to run it.
        let batch = {
            let jobs = jobs.lock();
            let Ok(first) = jobs.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        run_batch(&conn, batch);
    }
}

fn start_writer(conn: Conn, jobs: &Queue, max_batch: usize) -> Result<(), Error> {
    let jobs = std::sync::Arc::clone(jobs);
    std::thread::Builder::new()
        .name("herald-db-writer".into())
        .spawn(move || writer(conn, jobs, max_batch))
        .map_err(|e| Error::Io("cannot start a database writer".into(), e))?;
    Ok(())
}

/// Runs a batch in one transaction, then tells each requester. A batch
/// whose commit fails is rolled back whole and each of its requesters gets
/// the error.
fn run_batch(conn: &Conn, jobs: Vec<Job>) {
    let begun = conn.begin_write();
    if let Err(e) = begun {
        for job in jobs {
            // Each job still runs, outside a transaction: its savepoint
            // makes it atomic on its own.
            job(conn)(Ok(()));
        }
        tracing::error!(error = %e, "group commit fell back to one transaction per write");
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

/// Pages the writer keeps cached, in KiB (SQLite's negative form): the
/// working set of ten thousand agents' records, so that a full poll reads
/// none from the file. Readers keep the default; every commit empties
/// their cache anyway.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// WAL pages past which the writer checkpoints by itself, should the
/// checkpointer fall behind.
const WRITER_CHECKPOINT_PAGES: i64 = 20_000;

/// How often the checkpointer moves committed pages into the main file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The checkpointer's thread: copies the WAL into the main file on its own
/// connection, so that the writer's commits never wait for it. It ends
/// when the `Db` is dropped.
fn checkpointer(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY)
    {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed; will retry");
        }
    }
}

pub struct Db {
    location: Location,
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
    /// SQLite's checkpointer, which ends when this is dropped.
    _checkpoints: Option<std::sync::mpsc::Sender<()>>,
    readers: Mutex<Vec<Conn>>,
    server_id: String,
}

impl Db {
    /// Opens the file, migrating it if needed, and starts its writer.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_at(&Location::Sqlite(path.to_owned()))
    }

    /// Opens the database wherever it is, migrating it if needed, and
    /// starts its writer.
    pub fn open_at(location: &Location) -> Result<Self, Error> {
        Self::open_with_writers(location, PG_WRITERS.into())
    }

    /// `open_at`, with `pg_writers` writers on PostgreSQL.
    pub fn open_with_writers(location: &Location, pg_writers: usize) -> Result<Self, Error> {
        let (writer_conn, checkpoints) = match location {
            Location::Sqlite(path) => {
                let conn = db::open_sqlite(path)?;
                conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
                conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
                let checkpoint_conn = db::open_sqlite(path)?;
                let (checkpoints, stop) = std::sync::mpsc::channel();
                std::thread::Builder::new()
                    .name("herald-db-checkpoint".into())
                    .spawn(move || checkpointer(checkpoint_conn, stop))
                    .map_err(|e| Error::Io("cannot start the database checkpointer".into(), e))?;
                (Conn::from_sqlite(conn), Some(checkpoints))
            }
            Location::Postgres(url) => (db::open_postgres(url)?, None),
        };
        let server_id = db::meta(&writer_conn, "server_id")?
            .ok_or_else(|| Error::Schema("no server id in the database".into()))?;
        let (jobs, queue) = std::sync::mpsc::channel();
        let queue: Queue = std::sync::Arc::new(Mutex::new(queue));
        match location {
            Location::Sqlite(_) => start_writer(writer_conn, &queue, MAX_BATCH)?,
            Location::Postgres(url) => {
                start_writer(writer_conn, &queue, PG_MAX_BATCH)?;
                for _ in 1..pg_writers {
                    start_writer(Conn::connect_postgres(url, false)?, &queue, PG_MAX_BATCH)?;
                }
            }
        }
        Ok(Db {
            location: location.clone(),
            jobs: Mutex::new(jobs),
            _checkpoints: checkpoints,
            readers: Mutex::new(Vec::new()),
            server_id,
        })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The database's identity, fixed when it was created.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Runs `f` on a writer's connection (SQLite's only one), atomically,
    /// and returns once its change is committed. Writes that arrive while
    /// another batch runs are committed together in one transaction (group
    /// commit): after an alert to everyone, thousands of agents' polls
    /// share a few commits instead of paying one each. Each write runs in
    /// its own savepoint, so an error or a panic undoes only its own work.
    /// The caller waits without holding a thread.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, Error>>();
        let job: Job = Box::new(move |conn: &Conn| {
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
        let stopped = || Error::Internal("the database writer has stopped".into());
        self.jobs.lock().send(job).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Runs `f` on a read-only connection from the pool.
    pub fn read<T>(&self, f: impl FnOnce(&Conn) -> Result<T, Error>) -> Result<T, Error> {
        let conn = match self.readers.lock().pop() {
            Some(c) => c,
            None => {
                tracing::debug!("opening a database reader");
                match &self.location {
                    Location::Sqlite(path) => db::open_reader(path)?,
                    Location::Postgres(url) => Conn::connect_postgres(url, true)?,
                }
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

    #[tokio::test]
    async fn readers_cannot_write_and_a_panic_leaves_the_writer_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("s.db")).unwrap();
        let err = db
            .read(|c| Ok(c.execute("DELETE FROM meta", [])?))
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        let panicked = db
            .write(|c| {
                c.execute("DELETE FROM meta", [])?;
                if c.is_autocommit() {
                    return Ok(());
                }
                panic!("inside a write");
            })
            .await;
        assert!(panicked.unwrap_err().to_string().contains("unexpectedly"));
        let kept: i64 = db
            .write(|c| Ok(c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert!(kept > 0, "the panicked transaction was not rolled back");
        let seen: i64 = db
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(seen, kept);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_commit_together_and_a_failure_undoes_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(Db::open(&dir.path().join("s.db")).unwrap());
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
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
                    .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
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
