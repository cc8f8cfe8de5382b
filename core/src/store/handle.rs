//! The store as the async agent uses it: SQLite runs on two threads of its
//! own, never on the runtime, so a lock held by another process (the
//! history window, `herald-agent ack`) cannot stall the push stream, the
//! control socket or the inbound listener.
//!
//! Writes go to one writer thread, in order. Reads go to a reader thread
//! with its own connection: in WAL mode it never waits for a writer, so
//! the screen and the next poll can be planned while a write waits for the
//! lock. A read after an awaited write sees it (each call is its own
//! transaction).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::Store;
use crate::error::StoreError;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A clonable handle to the store's threads. The threads end when the last
/// handle is dropped, after the jobs already queued.
#[derive(Clone)]
pub struct StoreHandle {
    reader: mpsc::Sender<Job>,
    writer: mpsc::Sender<Job>,
    path: Arc<PathBuf>,
}

impl StoreHandle {
    /// Opens two connections on the store at `path` and starts their threads.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = Store::open(path)?;
        let reader = Store::open(path)?;
        Ok(StoreHandle {
            reader: spawn("herald-store-read", reader)?,
            writer: spawn("herald-store-write", writer)?,
            path: Arc::new(path.to_owned()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a read on the reader's connection.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
    {
        call(&self.reader, move |s| f(s)).await
    }

    /// Runs a write on the writer's connection, after those queued before.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    {
        call(&self.writer, f).await
    }

    /// Queues a write whose outcome nobody waits for (a log line, the push
    /// state); a failure is logged with `what`.
    pub fn write_later<F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&mut Store) -> Result<(), StoreError> + Send + 'static,
    {
        let job: Job = Box::new(move |s| {
            if let Err(e) = f(s) {
                tracing::warn!(error = %e, "cannot {what}");
            }
        });
        if self.writer.send(job).is_err() {
            tracing::error!("cannot {what}: the store's writer has stopped");
        }
    }

    /// Waits until every write queued so far is done.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }
}

fn spawn(name: &str, mut store: Store) -> Result<mpsc::Sender<Job>, StoreError> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            for job in rx {
                job(&mut store);
            }
        })
        .map_err(|source| StoreError::Io {
            path: format!("thread {name}"),
            source,
        })?;
    Ok(tx)
}

async fn call<R, F>(queue: &mpsc::Sender<Job>, f: F) -> Result<R, StoreError>
where
    R: Send + 'static,
    F: FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |s| {
        // The caller may have stopped waiting; the work is done anyway.
        let _ = tx.send(f(s));
    });
    queue.send(job).map_err(|_| StoreError::Stopped)?;
    rx.await.map_err(|_| StoreError::Stopped)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "current_thread")]
    async fn reads_do_not_wait_for_a_writer_held_up_by_another_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.db");
        let store = StoreHandle::open(&path).unwrap();
        // Another process's connection holds the write lock for 1.5 s.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let held = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            other.execute_batch("COMMIT").unwrap();
        });
        let started = Instant::now();
        store.write_later("record the push state", |s| {
            s.set_push_state(Some("waiting for the lock"))
        });
        let ticker = tokio::spawn(async {
            // The runtime keeps running while the writer waits.
            let mut ticks = 0;
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                ticks += 1;
            }
            (ticks, Instant::now())
        });
        let st = store.read(|s| s.sync_state()).await.unwrap();
        assert!(st.push_state.is_none());
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "a read waited for the writer: {:?}",
            started.elapsed()
        );
        let (ticks, at) = ticker.await.unwrap();
        assert_eq!(ticks, 10);
        assert!(at - started < Duration::from_millis(1000));
        store.flush().await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(1400));
        let st = store.read(|s| s.sync_state()).await.unwrap();
        assert_eq!(st.push_state.as_deref(), Some("waiting for the lock"));
        held.join().unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_read_after_an_awaited_write_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::open(&dir.path().join("agent.db")).unwrap();
        for i in 0..50 {
            let text = format!("state {i}");
            let t = text.clone();
            store
                .write(move |s| s.set_push_state(Some(&t)))
                .await
                .unwrap();
            let st = store.read(|s| s.sync_state()).await.unwrap();
            assert_eq!(st.push_state.as_deref(), Some(text.as_str()));
        }
    }
}
