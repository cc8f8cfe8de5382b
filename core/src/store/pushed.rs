//! Applying a change taken from the push stream, as a poll's answer is
//! applied (`state::apply_verified`): the same upsert and stops, in one
//! transaction, with a line in the exchange log. A change can arrive after
//! a poll that already saw a later state, so it never goes back: a message
//! is taken only at a revision newer than the one held, and a stop only
//! touches the revision it names or an older one.

use chrono::{Duration, Utc};
use herald_protocol::{Held, PushedChange, StopReason};
use rusqlite::{params, OptionalExtension};

use super::exchange::log_entry;
use super::state::{read_state, stop, upsert};
use super::{Applied, Store};
use crate::error::StoreError;

impl Store {
    /// Applies one verified change from the stream of `server`.
    pub fn apply_pushed(
        &mut self,
        server: &str,
        change: &PushedChange,
    ) -> Result<Applied, StoreError> {
        let tx = self.write()?;
        let offset = read_state(&tx)?.clock_offset_ms;
        let now = Utc::now() + Duration::milliseconds(offset);
        let held = |id: &str| -> Result<Option<u32>, StoreError> {
            Ok(tx
                .prepare_cached("SELECT revision FROM messages WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?)
        };
        let mut applied = Applied::default();
        if let Some(m) = &change.message {
            if held(&m.id)?.is_none_or(|rev| rev < m.revision) {
                upsert(&tx, m, now)?;
                tx.prepare_cached(
                    "INSERT INTO pushed(message_id, revision) VALUES (?1, ?2)
                     ON CONFLICT(message_id) DO UPDATE SET revision = excluded.revision",
                )?
                .execute(params![m.id, m.revision])?;
                applied.received += 1;
            }
        }
        if let Some(s) = &change.stopped {
            let touches = held(&s.id)?
                .is_some_and(|rev| rev <= s.revision || s.reason == StopReason::Withdrawn);
            if touches {
                applied.stopped += usize::from(stop(&tx, &s.id, s.reason, now)?);
            }
        }
        log_entry(&tx, now, server, None, applied, 0)?;
        tx.commit()?;
        Ok(applied)
    }

    /// What the stream brought since the last poll, for the next one.
    pub fn pushed(&self) -> Result<Vec<Held>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT message_id, revision FROM pushed ORDER BY message_id LIMIT ?1",
        )?;
        let rows = stmt.query_map([herald_protocol::MAX_HELD as i64], |r| {
            Ok(Held {
                id: r.get(0)?,
                revision: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets what a poll named, once its answer is applied: the server
    /// has it on record. A newer revision pushed meanwhile stays.
    pub fn forget_pushed(&mut self, named: &[Held]) -> Result<(), StoreError> {
        let tx = self.write()?;
        {
            let mut del =
                tx.prepare("DELETE FROM pushed WHERE message_id = ?1 AND revision <= ?2")?;
            for h in named {
                del.execute(params![h.id, h.revision])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
