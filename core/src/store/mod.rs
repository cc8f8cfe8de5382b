//! The per-user store: one SQLite file holding staged messages and their
//! state, the receipt outbox, the sync state and the exchange log.
//!
//! Every change that the user causes (show, read, cancel) and the receipt it
//! owes the server are written in one transaction, so a crash loses neither.

mod credentials;
mod exchange;
mod handle;
mod messages;
mod pushed;
mod state;
#[cfg(test)]
mod transitions_tests;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use herald_protocol::{ReceiptPolicy, Severity};
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::error::StoreError;

pub use credentials::Credential;
pub use exchange::{ExchangeEntry, LogOrder};
pub use handle::StoreHandle;
pub use messages::ReceiptStatus;
pub use state::{Central, ContactTimes, SyncState};

/// What applying an answer changed, in counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub receipts_sent: usize,
    pub received: usize,
    pub stopped: usize,
    /// Messages refused: their signature did not verify.
    pub refused: usize,
}

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_push.sql"),
    include_str!("../../migrations/0003_inbound.sql"),
    include_str!("../../migrations/0004_dnd.sql"),
    include_str!("../../migrations/0005_credentials.sql"),
    include_str!("../../migrations/0006_central.sql"),
    include_str!("../../migrations/0007_content.sql"),
    include_str!("../../migrations/0008_pushed.sql"),
];

/// Where a message stands for this user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Received, not yet shown (or shown, then given back by a preemption).
    Staged,
    /// On screen, or shown and neither read nor cancelled yet.
    Shown,
    /// Closed by the user; due again after the next successful contact.
    Cancelled,
    /// Read at `read_revision`.
    Read,
    Expired,
    /// Withdrawn by the administrator, or no longer addressed to this user.
    Withdrawn,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Staged => "staged",
            MessageState::Shown => "shown",
            MessageState::Cancelled => "cancelled",
            MessageState::Read => "read",
            MessageState::Expired => "expired",
            MessageState::Withdrawn => "withdrawn",
        }
    }

    /// An unknown state is an error, never a guess: read as "staged" it
    /// would show again a message the user already dealt with.
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "staged" => MessageState::Staged,
            "shown" => MessageState::Shown,
            "cancelled" => MessageState::Cancelled,
            "read" => MessageState::Read,
            "expired" => MessageState::Expired,
            "withdrawn" => MessageState::Withdrawn,
            _ => {
                return Err(StoreError::Unknown {
                    what: "message state",
                    value: s.chars().take(40).collect(),
                })
            }
        })
    }

    /// Still waiting for the user: may be (or become) due.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            MessageState::Staged | MessageState::Shown | MessageState::Cancelled
        )
    }
}

impl std::fmt::Display for MessageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A message as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    pub id: String,
    pub revision: u32,
    pub severity: Severity,
    pub title: String,
    pub body: String,
    pub sender: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub receipt: ReceiptPolicy,
    pub revised_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub state: MessageState,
    pub state_at: DateTime<Utc>,
    pub read_revision: Option<u32>,
    pub note: Option<String>,
    /// Other languages, answers, fullscreen.
    pub extras: herald_protocol::Extras,
    pub sound: herald_protocol::Sound,
    /// The language of the version last put on screen, and its revision.
    pub shown_lang: Option<String>,
    pub shown_revision: Option<u32>,
    /// The answer the user chose (1-based), for the read revision.
    pub answer: Option<u8>,
}

impl StoredMessage {
    /// The version a desktop whose languages are `prefs` shows.
    pub fn version(&self, prefs: &[String]) -> herald_protocol::content::Version<'_> {
        herald_protocol::content::pick(&self.title, &self.body, &self.extras, prefs)
    }

    /// The version the user saw last, else the one they would see.
    pub fn shown_version(&self, prefs: &[String]) -> herald_protocol::content::Version<'_> {
        match &self.shown_lang {
            Some(lang) => self.version(std::slice::from_ref(lang)),
            None => self.version(prefs),
        }
    }
}

/// The store, open on its file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating it readable by its owner only.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            create_private_dir(dir).map_err(io)?;
        }
        create_private_file(path).map_err(io)?;
        // The agent, `status` and the history window may open a new store
        // at the same moment. Switching a new file to WAL needs it to
        // themselves, and SQLite answers "busy" at once there, without the
        // busy handler: so the whole opening is retried for a while.
        let started = std::time::Instant::now();
        let conn = loop {
            match connect(path) {
                Err(StoreError::Db(rusqlite::Error::SqliteFailure(e, _)))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < BUSY_PATIENCE =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A write transaction that takes the lock up front. A deferred one that
    /// reads first fails at once ("busy snapshot") if another process wrote
    /// in between; this one waits on the busy timeout instead.
    fn write(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// How long opening the store waits for other openers.
const BUSY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_PATIENCE)?;
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // Most openings find the schema current and must not write at all: a
    // write here would fail the running agent's transaction that read
    // before it (WAL answers "busy snapshot" to a reader turned writer).
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if usize::try_from(found).is_ok_and(|v| v == MIGRATIONS.len()) {
        return Ok(());
    }
    // IMMEDIATE takes the write lock before the version is read, so two
    // processes opening a new store at once (agent and history) cannot both
    // run the same migration.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = usize::try_from(found).unwrap_or(usize::MAX);
    if done > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found,
            known: MIGRATIONS.len(),
        });
    }
    for sql in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(
        None,
        "user_version",
        i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX),
    )?;
    tx.commit()?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// SQLite gives the -wal and -shm files the main file's mode, so creating it
/// 0600 before SQLite does keeps all three private.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A time read from a row; out of chrono's range is an error, not 1970.
pub(crate) fn time_at(r: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<DateTime<Utc>> {
    let ms: i64 = r.get(col)?;
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        unknown_in(
            col,
            StoreError::Unknown {
                what: "time",
                value: ms.to_string(),
            },
        )
    })
}

/// A text column parsed by `parse`; what it cannot parse fails the row.
pub(crate) fn parsed<T, E>(
    r: &rusqlite::Row<'_>,
    col: usize,
    what: &'static str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> rusqlite::Result<T> {
    let text: String = r.get(col)?;
    parse(&text).map_err(|_| {
        unknown_in(
            col,
            StoreError::Unknown {
                what,
                value: text.chars().take(40).collect(),
            },
        )
    })
}

fn unknown_in(col: usize, e: StoreError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("agent.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn many_openers_of_a_new_store_all_succeed() {
        // The agent, `status` and the history window may open a new store
        // at the same moment; none may fail with "database is locked".
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("agent.db");
            let openers: Vec<_> = (0..6)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || Store::open(&p).map(drop))
                })
                .collect();
            for o in openers {
                let r = o.join().unwrap();
                assert!(r.is_ok(), "{:?}", r.err());
            }
        }
    }

    #[test]
    fn opening_a_current_store_writes_nothing() {
        // The running agent's transactions fail if `status` or the history
        // window write while they run; opening must only read.
        let (dir, store) = temp_store();
        let version = |s: &Store| -> i64 {
            s.conn
                .pragma_query_value(None, "data_version", |r| r.get(0))
                .unwrap()
        };
        let before = version(&store);
        drop(Store::open(&dir.path().join("agent.db")).unwrap());
        assert_eq!(version(&store), before, "opening the store wrote to it");
    }

    #[test]
    fn opens_private_and_reopens() {
        let (dir, store) = temp_store();
        drop(store);
        let path = dir.path().join("agent.db");
        let store = Store::open(&path).unwrap();
        let v: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(perms, 0o600);
        }
    }

    #[test]
    fn processes_opening_a_new_store_at_once_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.db");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Store::open(&path).map(drop).map_err(|e| e.to_string()))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    }

    #[test]
    fn refuses_newer_schema() {
        let (dir, store) = temp_store();
        store.conn.pragma_update(None, "user_version", 42).unwrap();
        drop(store);
        match Store::open(&dir.path().join("agent.db")) {
            Err(StoreError::TooNew { found: 42, .. }) => {}
            other => panic!("expected TooNew, got {:?}", other.err()),
        }
    }
}
