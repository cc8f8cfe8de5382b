//! The sync state, and applying a server's answer in one transaction.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use herald_protocol::{Message, PollResponse, PushMode, Receipt, StopReason};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::exchange::log_entry;
use super::{from_ms, messages, parsed, to_ms, Applied, MessageState, Store};
use crate::error::StoreError;

/// What the agent knows of its exchanges with the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncState {
    /// The server the cursor belongs to.
    pub server: Option<String>,
    pub cursor: Option<String>,
    /// Server time minus local time, as measured at the last contact.
    pub clock_offset_ms: i64,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Failed contacts since the last successful one.
    pub failures: u32,
    pub poll_interval_secs: Option<u64>,
    pub version_warning: Option<String>,
    pub next_poll: Option<DateTime<Utc>>,
    /// What the server asked for at the last contact.
    pub push_mode: PushMode,
    /// What the running agent's push stream is doing, in words.
    pub push_state: Option<String>,
    /// Signs the server's inbound push calls; never printed.
    #[serde(skip)]
    pub push_secret: Option<String>,
    /// When do-not-disturb ends (local time), if the user turned it on.
    pub dnd_until: Option<DateTime<Utc>>,
    /// What the central server set beyond the poll, and where settings
    /// came from.
    pub central: Central,
}

/// Settings from the central server's preferences, as the last answer
/// carried them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Central {
    pub max_dnd_minutes: Option<u64>,
    pub language: Option<String>,
    /// A setting's name and where it came from, e.g. "central server, via
    /// site plant-a"; a setting not named is the server's own.
    pub origins: std::collections::BTreeMap<String, String>,
}

impl Central {
    fn of(s: &herald_protocol::Settings) -> Self {
        Central {
            max_dnd_minutes: s.max_dnd_minutes,
            language: s.language.clone(),
            origins: s.origins.clone(),
        }
    }
}

impl SyncState {
    /// The current time as the server sees it, so that a wrong local clock
    /// shows messages neither early nor late.
    pub fn server_now(&self, local_now: DateTime<Utc>) -> DateTime<Utc> {
        local_now + Duration::milliseconds(self.clock_offset_ms)
    }

    /// What the tray shows of the contacts.
    pub fn contacts(&self) -> herald_views::tray::Contacts {
        herald_views::tray::Contacts {
            last_success: self.last_success,
            last_attempt: self.last_attempt,
            failures: self.failures,
        }
    }

    /// The cursor to send to `server`: one from another server means nothing.
    pub fn cursor_for(&self, server: &str) -> Option<&str> {
        match (&self.server, &self.cursor) {
            (Some(s), Some(c)) if s == server => Some(c),
            _ => None,
        }
    }
}

/// The local times around one contact, to measure the clock offset and to
/// know which cancellations the contact comes after.
#[derive(Debug, Clone, Copy)]
pub struct ContactTimes {
    pub started: DateTime<Utc>,
    pub poll_sent: DateTime<Utc>,
    pub poll_answered: DateTime<Utc>,
}

impl Store {
    pub fn sync_state(&self) -> Result<SyncState, StoreError> {
        read_state(&self.conn)
    }

    /// Changes whenever another connection commits: a window over the store
    /// rebuilds only then.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    /// Records what the push stream is doing, for `status`.
    pub fn set_push_state(&self, state: Option<&str>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_state SET push_state = ?1 WHERE id = 1",
            [state],
        )?;
        Ok(())
    }

    /// Do-not-disturb until `until` (local time), or off.
    pub fn set_dnd_until(&self, until: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_state SET dnd_until = ?1 WHERE id = 1",
            [until.map(to_ms)],
        )?;
        Ok(())
    }

    pub fn set_next_poll(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_state SET next_poll = ?1 WHERE id = 1",
            [to_ms(at)],
        )?;
        Ok(())
    }

    /// Applies a successful contact: the answer, the receipts it delivered,
    /// the new cursor and settings, and its exchange-log line, all or nothing.
    pub fn apply(
        &mut self,
        server: &str,
        answer: &PollResponse,
        sent_receipts: &[i64],
        times: ContactTimes,
    ) -> Result<Applied, StoreError> {
        self.apply_verified(server, answer, sent_receipts, times, &[])
    }

    /// `apply`, after messages whose signature did not verify were taken
    /// out of the answer: `refused` are the receipts that say so. What the
    /// agent holds of a refused message stays as it was.
    pub fn apply_verified(
        &mut self,
        server: &str,
        answer: &PollResponse,
        sent_receipts: &[i64],
        times: ContactTimes,
        refused: &[Receipt],
    ) -> Result<Applied, StoreError> {
        let tx = self.write()?;
        let old = read_state(&tx)?;
        let now = answer.server_time;
        let mid = times.poll_sent + (times.poll_answered - times.poll_sent) / 2;
        let offset = (now - mid).num_milliseconds();

        let mut applied = Applied {
            receipts_sent: sent_receipts.len(),
            refused: refused.len(),
            ..Applied::default()
        };
        for r in refused {
            tx.execute(
                "INSERT OR IGNORE INTO outbox(message_id, revision, kind, at) VALUES (?1, ?2, ?3, ?4)",
                params![r.message_id, r.revision, r.kind.as_str(), to_ms(r.at)],
            )?;
        }
        for m in &answer.messages {
            upsert(&tx, m, now)?;
            applied.received += 1;
        }
        for s in &answer.stopped {
            applied.stopped += usize::from(stop(&tx, &s.id, s.reason, now)?);
        }
        if answer.full {
            let listed: HashSet<&str> = answer
                .messages
                .iter()
                .map(|m| m.id.as_str())
                .chain(refused.iter().map(|r| r.message_id.as_str()))
                .collect();
            applied.stopped += stop_unlisted(&tx, &listed, now)?;
        }
        // Cancelled messages come back once a contact has happened after the
        // cancel; one cancelled while this contact was under way waits.
        let started = times.started + Duration::milliseconds(old.clock_offset_ms);
        tx.execute(
            "UPDATE messages SET state = 'staged', state_at = ?1
             WHERE state = 'cancelled' AND state_at <= ?2 AND valid_until > ?1",
            params![to_ms(now), to_ms(started)],
        )?;
        let mut mark =
            tx.prepare("UPDATE outbox SET sent_at = ?2 WHERE id = ?1 AND sent_at IS NULL")?;
        for id in sent_receipts {
            mark.execute(params![id, to_ms(now)])?;
        }
        drop(mark);
        tx.execute(
            "UPDATE sync_state SET server = ?1, cursor = ?2, clock_offset_ms = ?3, last_attempt = ?4,
                    last_success = ?4, last_error = NULL, failures = 0, poll_interval_secs = ?5,
                    version_warning = ?6, push_mode = ?7, push_secret = ?8, central = ?9
             WHERE id = 1",
            params![
                server,
                answer.cursor,
                offset,
                to_ms(times.started),
                i64::try_from(answer.settings.poll_interval_secs).unwrap_or(i64::MAX),
                answer.settings.version_warning,
                answer.settings.push.as_str(),
                answer.settings.push_secret,
                serde_json::to_string(&Central::of(&answer.settings)).ok(),
            ],
        )?;
        let duration = (times.poll_answered - times.started).num_milliseconds();
        log_entry(&tx, times.started, server, None, applied, duration)?;
        tx.commit()?;
        Ok(applied)
    }

    /// Records a failed contact: only the exchange log and the error change.
    pub fn record_failure(
        &mut self,
        server: &str,
        error: &str,
        started: DateTime<Utc>,
        duration_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        tx.execute(
            "UPDATE sync_state SET last_attempt = ?1, last_error = ?2, failures = failures + 1 WHERE id = 1",
            params![to_ms(started), error],
        )?;
        log_entry(
            &tx,
            started,
            server,
            Some(error),
            Applied::default(),
            duration_ms,
        )?;
        tx.commit()?;
        Ok(())
    }
}

pub(super) fn read_state(conn: &Connection) -> Result<SyncState, StoreError> {
    let opt = |v: Option<i64>| v.map(from_ms);
    let mut stmt = conn.prepare_cached(
        "SELECT server, cursor, clock_offset_ms, last_attempt, last_success, last_error, failures,
                poll_interval_secs, version_warning, next_poll, push_mode, push_state,
                push_secret, dnd_until, central
         FROM sync_state WHERE id = 1",
    )?;
    Ok(stmt.query_row([], |r| {
        Ok(SyncState {
            server: r.get(0)?,
            cursor: r.get(1)?,
            clock_offset_ms: r.get(2)?,
            last_attempt: opt(r.get(3)?),
            last_success: opt(r.get(4)?),
            last_error: r.get(5)?,
            failures: r.get(6)?,
            poll_interval_secs: r
                .get::<_, Option<i64>>(7)?
                .and_then(|v| u64::try_from(v).ok()),
            version_warning: r.get(8)?,
            next_poll: opt(r.get(9)?),
            push_mode: parsed(r, 10, "push mode", |s| PushMode::parse(s).ok_or(()))?,
            push_state: r.get(11)?,
            push_secret: r.get(12)?,
            dnd_until: opt(r.get(13)?),
            // Unreadable (written by a newer agent): as if none was set.
            central: r
                .get::<_, Option<String>>(14)?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default(),
        })
    })?)
}

/// A new message, a new revision, or the same revision again (a full answer).
pub(super) fn upsert(tx: &Connection, m: &Message, now: DateTime<Utc>) -> Result<(), StoreError> {
    let held: Option<(u32, String)> = tx
        .prepare_cached("SELECT revision, state FROM messages WHERE id = ?1")?
        .query_row([&m.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let state = match &held {
        None => MessageState::Staged,
        // Same revision: keep what the user did with it, unless it had been
        // stopped and now applies again.
        Some((rev, state)) if *rev == m.revision => match MessageState::parse(state)? {
            s if s.is_open() || s == MessageState::Read => s,
            _ => MessageState::Staged,
        },
        // A new revision is shown again, even if the previous one was read.
        Some(_) => MessageState::Staged,
    };
    let state_changed = held
        .as_ref()
        .is_none_or(|(rev, s)| *rev != m.revision || s != state.as_str());
    tx.prepare_cached(
        "INSERT INTO messages(id, revision, severity, title, body, sender, valid_from, valid_until, receipt,
                              revised_at, received_at, state, state_at, note, extras, sound)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11, NULL, ?14, ?15)
         ON CONFLICT(id) DO UPDATE SET
            revision = excluded.revision, severity = excluded.severity, title = excluded.title,
            body = excluded.body, sender = excluded.sender, valid_from = excluded.valid_from,
            valid_until = excluded.valid_until, receipt = excluded.receipt, revised_at = excluded.revised_at,
            state = excluded.state, note = NULL, extras = excluded.extras, sound = excluded.sound,
            state_at = CASE WHEN ?13 THEN excluded.state_at ELSE state_at END",
    )?
    .execute(params![
            m.id,
            m.revision,
            m.severity.as_str(),
            m.title,
            m.body,
            m.sender,
            to_ms(m.valid_from),
            to_ms(m.valid_until),
            m.receipt.as_str(),
            to_ms(m.revised_at),
            to_ms(now),
            state.as_str(),
            state_changed,
            (!m.extras.is_plain()).then(|| serde_json::to_string(&m.extras).unwrap_or_default()),
            m.sound.as_str(),
        ],
    )?;
    Ok(())
}

/// Applies one stop; returns whether a held, open message was stopped.
pub(super) fn stop(
    tx: &Connection,
    id: &str,
    reason: StopReason,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let msg = match messages::get(tx, id) {
        Ok(m) => m,
        Err(StoreError::NoSuchMessage(_)) => return Ok(false),
        Err(e) => return Err(e),
    };
    let (state, note) = match reason {
        StopReason::Withdrawn => (MessageState::Withdrawn, "withdrawn by the administrator"),
        StopReason::Expired => (MessageState::Expired, "expired"),
        StopReason::Unaddressed => (MessageState::Withdrawn, "no longer addressed to you"),
        StopReason::ReadElsewhere => (MessageState::Read, "read on another computer"),
    };
    if msg.state == MessageState::Read && msg.read_revision == Some(msg.revision) {
        return Ok(false);
    }
    tx.execute(
        "UPDATE messages SET state = ?2, state_at = ?3, note = ?4,
                read_revision = CASE WHEN ?2 = 'read' THEN revision ELSE read_revision END
         WHERE id = ?1",
        params![id, state.as_str(), to_ms(now), note],
    )?;
    Ok(msg.state.is_open())
}

/// After a full answer, whatever open message it did not list has stopped.
fn stop_unlisted(
    tx: &Connection,
    listed: &HashSet<&str>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut stmt = tx.prepare(
        "SELECT id, valid_until FROM messages WHERE state IN ('staged', 'shown', 'cancelled')",
    )?;
    let open: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut n = 0;
    for (id, until) in open.iter().filter(|(id, _)| !listed.contains(id.as_str())) {
        let reason = if *until <= to_ms(now) {
            StopReason::Expired
        } else {
            StopReason::Unaddressed
        };
        n += usize::from(stop(tx, id, reason, now)?);
    }
    Ok(n)
}
