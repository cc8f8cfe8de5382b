//! The exchange log: one line per contact with the server, errors included.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use super::{from_ms, to_ms, Applied, Store};
use crate::error::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `poll` for a contact; `push` for an event of the push stream;
    /// `popup` for a popup that could not be shown.
    pub kind: String,
    pub server: String,
    pub ok: bool,
    pub receipts_sent: i64,
    pub received: i64,
    pub stopped: i64,
    pub duration_ms: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOrder {
    NewestFirst,
    OldestFirst,
}

/// Lines beyond this are dropped, oldest first, so the log cannot fill a disk.
const KEEP: i64 = 10_000;

pub(super) fn log_entry(
    tx: &Connection,
    at: DateTime<Utc>,
    server: &str,
    error: Option<&str>,
    applied: Applied,
    duration_ms: i64,
) -> Result<(), StoreError> {
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO exchange_log(at, server, ok, receipts, received, stopped, duration_ms, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        to_ms(at),
        server,
        error.is_none(),
        n(applied.receipts_sent),
        n(applied.received),
        n(applied.stopped),
        duration_ms,
        error
    ])?;
    trim(tx)
}

fn trim(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached(
        "DELETE FROM exchange_log WHERE id <= (SELECT MAX(id) FROM exchange_log) - ?1",
    )?
    .execute([KEEP])?;
    Ok(())
}

impl Store {
    pub fn exchange_log(&self, order: LogOrder) -> Result<Vec<ExchangeEntry>, StoreError> {
        let dir = match order {
            LogOrder::NewestFirst => "DESC",
            LogOrder::OldestFirst => "ASC",
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, at, server, ok, receipts, received, stopped, duration_ms, error, kind
             FROM exchange_log ORDER BY id {dir}"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(ExchangeEntry {
                id: r.get(0)?,
                at: from_ms(r.get(1)?),
                server: r.get(2)?,
                ok: r.get(3)?,
                receipts_sent: r.get(4)?,
                received: r.get(5)?,
                stopped: r.get(6)?,
                duration_ms: r.get(7)?,
                error: r.get(8)?,
                kind: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Logs an event of the push stream: connected, lost, a hint, a
    /// rejected call. `ok` is false for failures.
    pub fn log_push(
        &self,
        at: DateTime<Utc>,
        server: &str,
        ok: bool,
        what: &str,
    ) -> Result<(), StoreError> {
        self.log_event("push", at, server, ok, what)
    }

    /// Logs an event of the screen (`kind` = `popup`): a popup that cannot
    /// be shown, and its recovery.
    pub fn log_popup(
        &self,
        at: DateTime<Utc>,
        server: &str,
        ok: bool,
        what: &str,
    ) -> Result<(), StoreError> {
        self.log_event("popup", at, server, ok, what)
    }

    fn log_event(
        &self,
        kind: &str,
        at: DateTime<Utc>,
        server: &str,
        ok: bool,
        what: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO exchange_log(at, server, ok, receipts, received, stopped, duration_ms, error, kind)
             VALUES (?1, ?2, ?3, 0, 0, 0, 0, ?4, ?5)",
            params![to_ms(at), server, ok, what, kind],
        )?;
        trim(&self.conn)
    }

    /// Deletes the given log lines; returns how many there were.
    pub fn delete_exchange_entries(&mut self, ids: &[i64]) -> Result<usize, StoreError> {
        let tx = self.write()?;
        let mut n = 0;
        for id in ids {
            n += tx.execute("DELETE FROM exchange_log WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(n)
    }
}
