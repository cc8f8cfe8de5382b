//! Argon2 takes a good part of a second of a core on purpose. Run on the
//! database's reader threads, a flood of sign-ins took every reader and
//! agents' polls and receipts queued behind it for seconds. It runs here
//! instead: on blocking threads, but few at once, whatever comes in, and
//! with a bounded queue.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

use crate::domain::admins::accounts;
use crate::error::Error;

/// Hashes computed at once: a core's worth of work each, and the server
/// has other work for its cores.
pub const AT_ONCE: usize = 2;
/// Hashes waiting at most; beyond, a sign-in is refused at once (429)
/// rather than queued behind a flood.
pub const MAX_WAITING: usize = 64;

pub struct Passwords {
    turns: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Default for Passwords {
    fn default() -> Self {
        Passwords::new(AT_ONCE, MAX_WAITING)
    }
}

/// Counts a caller in the queue until dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Passwords {
    pub fn new(at_once: usize, max_waiting: usize) -> Self {
        Passwords {
            turns: Semaphore::new(at_once.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `f` (argon2 work) in its turn on a blocking thread.
    async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, Error> + Send + 'static,
    {
        let queued = Waiting(&self.waiting);
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
            return Err(Error::TooMany(
                "too many password checks at once: try again in a minute".into(),
            ));
        }
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        drop(queued);
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(format!("the password check failed: {e}")))?
    }

    /// The argon2 hash of `password` (see `accounts::hash_password`).
    pub async fn hash(&self, password: String) -> Result<String, Error> {
        // A short password is refused without waiting for a turn.
        accounts::check_password(&password)?;
        self.run(move || accounts::hash_password(&password)).await
    }

    /// Whether `password` matches `hash` (see `accounts::verify_password`).
    pub async fn verify(&self, hash: Option<String>, password: String) -> Result<bool, Error> {
        self.run(move || accounts::verify_password(hash.as_deref(), &password))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Passwords::default();
        let hash = p.hash("correct horse battery".into()).await.unwrap();
        assert!(p
            .verify(Some(hash.clone()), "correct horse battery".into())
            .await
            .unwrap());
        assert!(!p
            .verify(Some(hash), "wrong horse battery".into())
            .await
            .unwrap());
        assert!(!p.verify(None, "anything at all".into()).await.unwrap());
        assert!(matches!(
            p.hash("short".into()).await,
            Err(Error::BadRequest(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_a_check_is_refused_at_once() {
        let p = std::sync::Arc::new(Passwords::new(1, 2));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // One running (held until told), two waiting: the fourth is refused.
        let running = {
            let p = std::sync::Arc::clone(&p);
            tokio::spawn(async move {
                p.run(move || {
                    let _ = rx.recv();
                    Ok(())
                })
                .await
            })
        };
        while p.turns.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let p = std::sync::Arc::clone(&p);
                tokio::spawn(async move { p.run(|| Ok(())).await })
            })
            .collect();
        while p.waiting.load(Ordering::Relaxed) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(p.run(|| Ok(())).await, Err(Error::TooMany(_))));
        tx.send(()).unwrap();
        running.await.unwrap().unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert!(p.run(|| Ok(())).await.is_ok());
    }
}
