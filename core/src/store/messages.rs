//! Reading messages and the user's actions on them, each with its receipts.

use chrono::{DateTime, Utc};
use herald_protocol::{Receipt, ReceiptKind, ReceiptPolicy, Severity, Sound};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{parsed, time_at, to_ms, MessageState, Store, StoredMessage};
use crate::error::StoreError;

const COLUMNS: &str =
    "id, revision, severity, title, body, sender, valid_from, valid_until, receipt, \
                       revised_at, received_at, state, state_at, read_revision, note, \
                       extras, sound, shown_lang, shown_revision, answer";

fn row_to_message(r: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: r.get(0)?,
        revision: r.get(1)?,
        severity: parsed(r, 2, "severity", str::parse::<Severity>)?,
        title: r.get(3)?,
        body: r.get(4)?,
        sender: r.get(5)?,
        valid_from: time_at(r, 6)?,
        valid_until: time_at(r, 7)?,
        receipt: parsed(r, 8, "receipt policy", str::parse::<ReceiptPolicy>)?,
        revised_at: time_at(r, 9)?,
        received_at: time_at(r, 10)?,
        state: parsed(r, 11, "message state", MessageState::parse)?,
        state_at: time_at(r, 12)?,
        read_revision: r.get(13)?,
        note: r.get(14)?,
        // Written only from the server's signed Extras; a damaged value
        // shows the default version rather than nothing.
        extras: r
            .get::<_, Option<String>>(15)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        sound: r.get::<_, String>(16)?.parse::<Sound>().unwrap_or_default(),
        shown_lang: r.get(17)?,
        shown_revision: r.get(18)?,
        answer: r.get(19)?,
    })
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Show,
    Read,
    /// An answer, 1-based: a reading with the answer as its receipt.
    Answer(u8),
    Cancel,
}

/// How a receipt of a message stands: queued, or delivered to the server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptStatus {
    pub revision: u32,
    pub kind: ReceiptKind,
    pub at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Every message held, newest first.
    pub fn messages(&self) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages ORDER BY received_at DESC, id"
        ))?;
        let rows = stmt.query_map([], row_to_message)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Messages that may be due now or later; what the scheduler looks at.
    pub fn open_messages(&self) -> Result<Vec<StoredMessage>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages WHERE state IN ('staged', 'shown', 'cancelled')"
        ))?;
        let rows = stmt.query_map([], row_to_message)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn message(&self, id: &str) -> Result<StoredMessage, StoreError> {
        get(&self.conn, id)
    }

    /// The popup went on screen. Queues a `displayed` receipt if the sender
    /// asked for one; showing the same revision again queues nothing more.
    pub fn mark_shown(
        &mut self,
        id: &str,
        server_now: DateTime<Utc>,
    ) -> Result<StoredMessage, StoreError> {
        self.user_action(id, server_now, Action::Show, None)
    }

    /// As `mark_shown`, recording the language of the version on screen,
    /// which the receipts then carry.
    pub fn mark_shown_in(
        &mut self,
        id: &str,
        lang: Option<&str>,
        server_now: DateTime<Utc>,
    ) -> Result<StoredMessage, StoreError> {
        self.user_action(id, server_now, Action::Show, lang)
    }

    /// The user chose answer `n` (1-based): as reading, with an `answered`
    /// receipt that carries the answer instead of `read`. Refused for an
    /// answer the message does not offer.
    pub fn answer(
        &mut self,
        id: &str,
        n: u8,
        server_now: DateTime<Utc>,
    ) -> Result<StoredMessage, StoreError> {
        self.user_action(id, server_now, Action::Answer(n), None)
    }

    /// "I have read the message": the message leaves the queue until a new
    /// revision comes, and its receipts (displayed, then read) are queued.
    pub fn acknowledge(
        &mut self,
        id: &str,
        server_now: DateTime<Utc>,
    ) -> Result<StoredMessage, StoreError> {
        self.user_action(id, server_now, Action::Read, None)
    }

    /// The popup was closed without reading: the message comes back after the
    /// next successful contact with the server, if still valid.
    pub fn cancel(
        &mut self,
        id: &str,
        server_now: DateTime<Utc>,
    ) -> Result<StoredMessage, StoreError> {
        self.user_action(id, server_now, Action::Cancel, None)
    }

    /// Every action implies the message was on screen, so each records the
    /// showing first; the state change and its receipts commit together.
    fn user_action(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
        action: Action,
        lang: Option<&str>,
    ) -> Result<StoredMessage, StoreError> {
        let tx = self.write()?;
        let mut msg = get(&tx, id)?;
        check_due(&msg, now)?;
        if let Action::Answer(n) = action {
            if !(1..=msg.extras.answers.len()).contains(&usize::from(n)) {
                return Err(StoreError::NotActionable {
                    id: id.to_owned(),
                    state: msg.state.to_string(),
                    why: "it offers no such answer",
                });
            }
        }
        if msg.state != MessageState::Shown {
            set_state(&tx, id, MessageState::Shown, now)?;
        }
        if let Action::Show = action {
            tx.execute(
                "UPDATE messages SET shown_lang = ?2, shown_revision = revision WHERE id = ?1",
                params![id, lang],
            )?;
            msg.shown_lang = lang.map(str::to_owned);
        }
        queue(&tx, &msg, ReceiptKind::Displayed, now)?;
        match action {
            Action::Show => {}
            Action::Read | Action::Answer(_) => {
                set_state(&tx, id, MessageState::Read, now)?;
                let answer = match action {
                    Action::Answer(n) => Some(n),
                    _ => None,
                };
                tx.execute(
                    "UPDATE messages SET read_revision = revision, answer = ?2 WHERE id = ?1",
                    params![id, answer],
                )?;
                match answer {
                    Some(n) => queue_answer(&tx, &msg, n, now)?,
                    None => queue(&tx, &msg, ReceiptKind::Read, now)?,
                }
            }
            Action::Cancel => set_state(&tx, id, MessageState::Cancelled, now)?,
        }
        let msg = get(&tx, id)?;
        tx.commit()?;
        Ok(msg)
    }

    /// A more urgent message took the screen: this one goes back to the
    /// queue as it was, neither cancelled nor acknowledged.
    pub fn release(&mut self, id: &str, server_now: DateTime<Utc>) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE messages SET state = 'staged', state_at = ?2 WHERE id = ?1 AND state = 'shown'",
            params![id, to_ms(server_now)],
        )?;
        if n == 0 {
            get(&self.conn, id)?;
        }
        Ok(())
    }

    /// "Show waiting messages": messages closed without reading come back
    /// now rather than after the next contact, if still valid. With an id,
    /// only that one. Returns how many came back.
    pub fn reopen_cancelled(
        &mut self,
        id: Option<&str>,
        server_now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let now = to_ms(server_now);
        let n = self.conn.execute(
            "UPDATE messages SET state = 'staged', state_at = ?1
             WHERE state = 'cancelled' AND valid_from <= ?1 AND ?1 < valid_until
               AND (?2 IS NULL OR id = ?2)",
            params![now, id],
        )?;
        Ok(n)
    }

    /// Receipts not yet delivered, oldest first, with their outbox ids.
    ///
    /// A receipt of a kind this agent does not know (written by a newer
    /// agent, or damaged) stays in the outbox and is reported, never sent:
    /// sent as "read" it would clear the message on the user's other
    /// computers.
    pub fn pending_receipts(&self, limit: usize) -> Result<Vec<(i64, Receipt)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, message_id, revision, kind, at, answer, lang FROM outbox
             WHERE sent_at IS NULL AND kind IN ('displayed', 'read', 'rejected', 'answered')
             ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get(0)?,
                Receipt {
                    message_id: r.get(1)?,
                    revision: r.get(2)?,
                    kind: parsed(r, 3, "receipt kind", str::parse::<ReceiptKind>)?,
                    at: time_at(r, 4)?,
                    answer: r.get(5)?,
                    lang: r.get(6)?,
                },
            ))
        })?;
        let pending = rows.collect::<Result<_, _>>()?;
        let unknown = self.unsendable_receipts()?;
        if !unknown.is_empty() {
            tracing::warn!(
                count = unknown.len(),
                kinds = %unknown.join(", "),
                "receipts of unknown kinds stay in the outbox, unsent"
            );
        }
        Ok(pending)
    }

    /// The kinds of the unsent receipts this agent cannot send, one per
    /// receipt (for `status` and the log).
    pub fn unsendable_receipts(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind FROM outbox
             WHERE sent_at IS NULL AND kind NOT IN ('displayed', 'read', 'rejected', 'answered')
             ORDER BY id LIMIT 100",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn pending_receipt_count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every receipt of one message, for the history.
    pub fn receipts_of(&self, id: &str) -> Result<Vec<ReceiptStatus>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT revision, kind, at, sent_at FROM outbox WHERE message_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            let sent: Option<i64> = r.get(3)?;
            Ok(ReceiptStatus {
                revision: r.get(0)?,
                kind: parsed(r, 1, "receipt kind", str::parse::<ReceiptKind>)?,
                at: time_at(r, 2)?,
                sent_at: match sent {
                    Some(_) => Some(time_at(r, 3)?),
                    None => None,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

pub(super) fn get(conn: &Connection, id: &str) -> Result<StoredMessage, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"),
        [id],
        row_to_message,
    )
    .optional()?
    .ok_or_else(|| StoreError::NoSuchMessage(id.to_owned()))
}

/// Only a due message can be acted on, as only a due message is on screen.
fn check_due(msg: &StoredMessage, now: DateTime<Utc>) -> Result<(), StoreError> {
    let refuse = |why| {
        Err(StoreError::NotActionable {
            id: msg.id.clone(),
            state: msg.state.to_string(),
            why,
        })
    };
    if !msg.state.is_open() {
        return refuse("only a message waiting for the user can be shown, read or cancelled");
    }
    if now < msg.valid_from {
        return refuse("it is not valid yet");
    }
    if now >= msg.valid_until {
        return refuse("it has expired");
    }
    Ok(())
}

fn set_state(
    tx: &Connection,
    id: &str,
    state: MessageState,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE messages SET state = ?2, state_at = ?3 WHERE id = ?1",
        params![id, state.as_str(), to_ms(now)],
    )?;
    Ok(())
}

/// Queues a receipt the message's policy asks to report. The unique key makes
/// a second queueing of the same event a no-op, so it is never sent twice.
fn queue(
    tx: &Connection,
    msg: &StoredMessage,
    kind: ReceiptKind,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if msg.receipt.reports(kind) {
        tx.execute(
            "INSERT OR IGNORE INTO outbox(message_id, revision, kind, at, lang)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                msg.id,
                msg.revision,
                kind.as_str(),
                to_ms(now),
                msg.shown_lang
            ],
        )?;
    }
    Ok(())
}

/// Queues the user's answer; like `read`, once per revision: the unique key
/// keeps a second answer to the same revision (a double click) out.
fn queue_answer(
    tx: &Connection,
    msg: &StoredMessage,
    n: u8,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR IGNORE INTO outbox(message_id, revision, kind, at, answer, lang)
         VALUES (?1, ?2, 'answered', ?3, ?4, ?5)",
        params![msg.id, msg.revision, to_ms(now), n, msg.shown_lang],
    )?;
    Ok(())
}
