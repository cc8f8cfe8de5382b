//! The agent's side of the server: what applies to a user at a host, the
//! difference from what that agent was last told, and receipts.

use std::collections::{BTreeMap, HashMap};

use crate::store::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Utc};
use herald_protocol::{
    Message, PollRequest, PollResponse, Receipt, ReceiptAnswer, ReceiptKind, RejectedReceipt,
    Settings, StopReason, API_VERSION,
};

use crate::config::AgentPolicy;
use crate::domain::changes::{self, Scope};
use crate::domain::directory::{self, HostMatch, User};
use crate::domain::messages::{content, row_signature, row_to_info, COLUMNS};
use crate::error::Error;
use crate::store::db::{self, to_ms};
use herald_protocol::{Extras, CONTENT_VERSION};

/// Matches a message addressed to user `?1` (id `?2`) at host `?3`, as
/// `HostMatch::matched` gives it: an unproven host is `*`, which no `host:`
/// recipient names.
const ADDRESSED: &str = "EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND (
        r.kind = 'all'
     OR (r.kind = 'user' AND r.name = ?1 COLLATE NOCASE)
     OR (r.kind = 'host' AND r.name = ?3)
     OR (r.kind = 'group' AND r.name COLLATE NOCASE IN (
            SELECT g.name FROM groups g JOIN memberships gm ON gm.group_id = g.id WHERE gm.user_id = ?2))))";

/// Matches a message that excludes user `?1` (id `?2`) or host `?3`: an
/// exclusion wins over every way the message addresses them. An unproven
/// host (`*`) may be the excluded one, so every host exclusion holds
/// against it.
pub(crate) const EXCLUDED: &str = "EXISTS (SELECT 1 FROM recipients x WHERE x.message_id = m.id AND (
        (x.kind = 'not-user' AND x.name = ?1 COLLATE NOCASE)
     OR (x.kind = 'not-host' AND (x.name = ?3 COLLATE NOCASE OR ?3 = '*'))
     OR (x.kind = 'not-group' AND x.name COLLATE NOCASE IN (
            SELECT g.name FROM groups g JOIN memberships gm ON gm.group_id = g.id WHERE gm.user_id = ?2))))";

/// The longest agent version and cursor an agent may report.
pub const MAX_VERSION_LEN: usize = 64;
pub const MAX_CURSOR_LEN: usize = 128;

/// What an agent reports about itself is stored and shown to admins:
/// bounded in length and to the characters such a field has, so that a
/// token holder can neither fill the database nor write into a terminal
/// or a page. (The host name has `directory::normalize_host`.)
pub fn check_report(req: &PollRequest) -> Result<(), Error> {
    let version_ok = req.agent_version.len() <= MAX_VERSION_LEN
        && req
            .agent_version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_' | '~'));
    if !version_ok {
        return Err(Error::bad(format!(
            "bad agent_version: at most {MAX_VERSION_LEN} letters, digits, '.', '-', '+', '_' or '~'"
        )));
    }
    let cursor_ok = req
        .cursor
        .as_deref()
        .is_none_or(|c| c.len() <= MAX_CURSOR_LEN && c.chars().all(|c| c.is_ascii_graphic()));
    if !cursor_ok {
        return Err(Error::bad(format!(
            "bad cursor: at most {MAX_CURSOR_LEN} printable characters"
        )));
    }
    if req.pushed.len() > herald_protocol::MAX_HELD
        || req
            .pushed
            .iter()
            .any(|h| h.id.is_empty() || h.id.len() > 64)
    {
        return Err(Error::bad(format!(
            "bad pushed: at most {} messages, each with an id of at most 64 characters",
            herald_protocol::MAX_HELD
        )));
    }
    Ok(())
}

struct SyncRow {
    generation: i64,
    seq_seen: i64,
    next_change: i64,
}

impl SyncRow {
    /// Nothing that concerns the agent changed since its last full answer
    /// (`latest` is its latest change stamp), no message it holds has
    /// expired since, and it holds that answer (its cursor is current).
    fn unchanged(&self, latest: i64, now: DateTime<Utc>, cursor_ok: bool) -> bool {
        cursor_ok && latest <= self.seq_seen && to_ms(now) < self.next_change
    }
}

/// Where an agent stands: its sync record, the latest change that
/// concerns it, and (if `with_seq`) the latest change of all.
struct Standing {
    row: Option<SyncRow>,
    latest: i64,
    seq: i64,
}

fn standing(conn: &Conn, user_id: i64, host: &str, with_seq: bool) -> Result<Standing, Error> {
    if conn.is_postgres() {
        return standing_in_one(conn, user_id, host);
    }
    // On SQLite, point lookups in cached statements: in-process, they cost
    // no round trip, and one bench run gave the one statement below fewer
    // unchanged polls a second (10,915 against 13,605).
    Ok(Standing {
        row: sync_row(conn, user_id, host)?,
        latest: changes::latest_for(conn, user_id, host)?,
        seq: if with_seq { db::change_seq(conn)? } else { 0 },
    })
}

fn sync_row(conn: &Conn, user_id: i64, host: &str) -> Result<Option<SyncRow>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT generation, seq_seen, next_change FROM agent_sync WHERE user_id = ?1 AND host = ?2",
        )?
        .query_row(params![user_id, host], |r| {
            Ok(SyncRow {
                generation: r.get(0)?,
                seq_seen: r.get(1)?,
                next_change: r.get(2)?,
            })
        })
        .optional()?)
}

/// The standing in one statement: on PostgreSQL each statement is a round
/// trip, paid by every agent's poll, and one statement is one consistent
/// read without a transaction around it.
fn standing_in_one(conn: &Conn, user_id: i64, host: &str) -> Result<Standing, Error> {
    let scopes = changes::scope_keys(user_id, host);
    conn.prepare_cached(
        "SELECT (SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'change_seq'),
                (SELECT COALESCE(MAX(seq), 0) FROM change_stamps WHERE scope IN (?3, ?4, ?5)),
                s.generation, s.seq_seen, s.next_change
         FROM (SELECT 1 AS one) o
         LEFT JOIN agent_sync s ON s.user_id = ?1 AND s.host = ?2",
    )?
    .query_row(
        params![user_id, host, scopes[0], scopes[1], scopes[2]],
        |r| {
            let generation: Option<i64> = r.get(2)?;
            let row = match generation {
                Some(generation) => Some(SyncRow {
                    generation,
                    seq_seen: r.get(3)?,
                    next_change: r.get(4)?,
                }),
                None => None,
            };
            Ok(Standing {
                row,
                latest: r.get(1)?,
                seq: r.get(0)?,
            })
        },
    )
    .map_err(Error::from)
}

/// What the read-only first look at a poll found.
pub enum Quick {
    /// No user has this token.
    Unknown,
    /// Nothing new: the answer is the agent's current cursor.
    Unchanged { user: User, cursor: String },
    /// Something may have changed: a full poll computes the answer.
    Full(User),
}

/// The hot path of every poll, on a read-only connection: a few indexed
/// lookups decide whether anything concerns this agent since its last answer.
pub fn quick(
    conn: &Conn,
    token_hash: &str,
    host: &str,
    given_cursor: Option<&str>,
    server_id: &str,
    now: DateTime<Utc>,
) -> Result<Quick, Error> {
    // Simple point lookups, each a cached statement: SQLite re-prepares a
    // statement on every run when its plan may depend on the bound values,
    // and on this path that would cost more than the lookups themselves.
    // One read transaction: a consistent snapshot, and one round of file
    // locking instead of one per lookup.
    // PostgreSQL needs none: the standing is one statement, and a user
    // row read a moment before it can only be older, which a change to
    // that user shows in the standing anyway.
    let tx = if conn.is_postgres() {
        None
    } else {
        Some(conn.snapshot()?)
    };
    let Some(user) = directory::user_by_token_hash(conn, token_hash, host)? else {
        return Ok(Quick::Unknown);
    };
    let Standing { row, latest, .. } = standing(conn, user.id, host, false)?;
    if let Some(tx) = tx {
        tx.finish()?;
    }
    match row {
        Some(row) => {
            let current = cursor(server_id, row.generation);
            if row.unchanged(latest, now, given_cursor == Some(current.as_str())) {
                Ok(Quick::Unchanged {
                    user,
                    cursor: current,
                })
            } else {
                Ok(Quick::Full(user))
            }
        }
        None => Ok(Quick::Full(user)),
    }
}

/// The answer to a poll that finds nothing new.
pub fn unchanged(
    policy: &AgentPolicy,
    agent_version: &str,
    cursor: String,
    now: DateTime<Utc>,
) -> PollResponse {
    PollResponse {
        api_version: API_VERSION,
        server_time: now,
        cursor,
        changed: false,
        full: false,
        messages: Vec::new(),
        stopped: Vec::new(),
        settings: settings(policy, agent_version),
    }
}

/// What must be written for an agent to be known to hold an answer.
struct Record {
    user_id: i64,
    user_name: String,
    host: String,
    host_proven: bool,
    agent_version: String,
    generation: i64,
    seq_seen: i64,
    next_change: i64,
    dropped: Vec<String>,
    delivered: Vec<(String, u32)>,
}

/// The full poll, on the writer: what applies, the difference from what
/// the agent was last told, and the record of what it is told now. The
/// caller notes the host as seen (`lastseen`). It
/// runs on the writer's connection even though most of it reads: that
/// connection's page cache stays warm across commits, while a reader's is
/// emptied by every commit, and after an alert to everyone the commits
/// never stop (measured: twice the latency when planned on readers).
pub fn poll(
    conn: &Conn,
    user: &User,
    req: &PollRequest,
    policy: &AgentPolicy,
    server_id: &str,
    now: DateTime<Utc>,
) -> Result<PollResponse, Error> {
    // No savepoint of its own: it runs in a write (`Db::write`), which
    // already applies whole or not at all, and on PostgreSQL every
    // statement saved is a round trip saved on every agent's full poll.
    let (answer, record) = plan(conn, user, req, policy, server_id, now)?;
    record.write(conn, now)?;
    Ok(answer)
}

/// The answer, and what to write for it.
fn plan(
    tx: &Conn,
    user: &User,
    req: &PollRequest,
    policy: &AgentPolicy,
    server_id: &str,
    now: DateTime<Utc>,
) -> Result<(PollResponse, Record), Error> {
    let host = directory::normalize_host(&req.host)?;
    let Standing { row, latest, seq } = standing(tx, user.id, &host, true)?;
    let in_step = row.as_ref().is_some_and(|row| {
        req.cursor.as_deref() == Some(cursor(server_id, row.generation).as_str())
    });
    let mut answer = unchanged(policy, &req.agent_version, String::new(), now);
    let mut record = Record {
        user_id: user.id,
        user_name: user.name.clone(),
        host: host.clone(),
        host_proven: user.host_proven,
        agent_version: req.agent_version.clone(),
        generation: row.as_ref().map_or(1, |r| r.generation),
        seq_seen: seq,
        next_change: i64::MAX,
        dropped: Vec::new(),
        delivered: Vec::new(),
    };

    if let (true, Some(row)) = (in_step, &row) {
        if row.unchanged(latest, now, true) {
            // Nothing to record but that the host was seen.
            answer.cursor = cursor(server_id, row.generation);
            record.seq_seen = row.seq_seen;
            record.next_change = row.next_change;
            return Ok((answer, record));
        }
    }
    let applicable = applicable(tx, user, user.at(&host), now)?;
    record.next_change = applicable
        .values()
        .map(|m| to_ms(m.valid_until))
        .min()
        .unwrap_or(i64::MAX);
    // What the agent holds by the server's record; an agent out of step
    // (a new store, another server) is taken to hold nothing.
    let stored = delivered(tx, user.id, &host)?;
    // What came down its push stream since, it names: held too.
    let mut holds = HashMap::new();
    if in_step {
        holds.clone_from(&stored);
        for h in &req.pushed {
            let rev = holds.entry(h.id.clone()).or_insert(h.revision);
            *rev = (*rev).max(h.revision);
        }
    }

    for (id, m) in &applicable {
        if holds.get(id) != Some(&m.revision) {
            answer.messages.push(if req.content >= CONTENT_VERSION {
                m.clone()
            } else {
                m.clone().without_extras()
            });
        }
    }
    for id in holds.keys().filter(|id| !applicable.contains_key(*id)) {
        answer.stopped.push(herald_protocol::Stopped {
            id: id.clone(),
            reason: stop_reason(tx, user, id, now)?,
        });
    }
    answer.stopped.sort_by(|a, b| a.id.cmp(&b.id));
    answer.full = !in_step;
    answer.changed = answer.full || !answer.messages.is_empty() || !answer.stopped.is_empty();
    if answer.changed {
        record.generation = row.as_ref().map_or(1, |r| r.generation + 1);
    }
    if answer.changed || !req.pushed.is_empty() {
        // Only the difference is written: after a change to everyone, every
        // agent's full poll moves one row, not all it holds.
        record.dropped = stored
            .keys()
            .filter(|id| !applicable.contains_key(*id))
            .cloned()
            .collect();
        record.delivered = applicable
            .values()
            .filter(|m| stored.get(&m.id) != Some(&m.revision))
            .map(|m| (m.id.clone(), m.revision))
            .collect();
    }
    answer.cursor = cursor(server_id, record.generation);
    Ok((answer, record))
}

impl Record {
    fn write(&self, tx: &Conn, now: DateTime<Utc>) -> Result<(), Error> {
        const DROP: &str =
            "DELETE FROM deliveries WHERE user_id = ?1 AND host = ?2 AND message_id = ?3";
        const PUT: &str = "INSERT INTO deliveries(user_id, host, message_id, revision)
            VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT(user_id, host, message_id) DO UPDATE SET revision = excluded.revision";
        const SYNC: &str =
            "INSERT INTO agent_sync(user_id, host, generation, seq_seen, next_change)
            VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT(user_id, host) DO UPDATE SET generation = excluded.generation,
                seq_seen = excluded.seq_seen, next_change = excluded.next_change";
        let r = self;
        directory::ensure_host(
            tx,
            HostMatch::new(&r.host, r.host_proven),
            &r.user_name,
            Some(&r.agent_version),
            now,
        )?;
        let mut drop = tx.prepare_cached(DROP)?;
        for id in &r.dropped {
            drop.execute(params![r.user_id, r.host, id])?;
        }
        let mut put = tx.prepare_cached(PUT)?;
        for (id, revision) in &r.delivered {
            put.execute(params![r.user_id, r.host, id, revision])?;
        }
        tx.prepare_cached(SYNC)?.execute(params![
            r.user_id,
            r.host,
            r.generation,
            r.seq_seen,
            r.next_change
        ])?;
        Ok(())
    }
}

/// The cursor names the database too, so that an agent moved to a rebuilt
/// server gets a full answer instead of a difference from someone else's past.
fn cursor(server_id: &str, generation: i64) -> String {
    format!("{server_id}.{generation}")
}

/// What an agent of `agent_version` is told about its version, if anything.
pub fn version_warning(policy: &AgentPolicy, agent_version: &str) -> Option<String> {
    policy.min_agent_version.as_ref().and_then(|min| {
        older(agent_version, min).then(|| format!("this agent is version {agent_version}; the server asks for {min} or later: please update"))
    })
}

fn settings(policy: &AgentPolicy, agent_version: &str) -> Settings {
    let version_warning = version_warning(policy, agent_version);
    Settings {
        poll_interval_secs: policy.poll_interval_secs,
        version_warning,
        push: policy.push,
        push_secret: None,
        ..Default::default()
    }
}

/// Dotted numeric comparison; anything unparsable counts as older.
pub(crate) fn older(version: &str, min: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (parse(version), parse(min)) {
        (Some(v), Some(m)) => v < m,
        _ => true,
    }
}

/// Every message addressed to the user at the host, valid now or later,
/// that the user has not read at its current revision.
fn applicable(
    conn: &Conn,
    user: &User,
    host: HostMatch<'_>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, Message>, Error> {
    if user.disabled {
        // What they had stops as "no longer addressed".
        return Ok(BTreeMap::new());
    }
    // From the recipients that name this user or host, by index: a poll's
    // cost follows what applies to the agent, not how many messages exist.
    let sql = format!(
        "SELECT {COLUMNS} FROM messages m
         WHERE m.id IN (
                SELECT message_id FROM recipients WHERE kind = 'all'
                UNION ALL
                SELECT message_id FROM recipients WHERE kind = 'user' AND name = ?1 COLLATE NOCASE
                UNION ALL
                SELECT message_id FROM recipients WHERE kind = 'host' AND name = ?3 COLLATE NOCASE
                UNION ALL
                SELECT r.message_id FROM memberships gm JOIN groups g ON g.id = gm.group_id
                  JOIN recipients r ON r.kind = 'group' AND r.name = g.name COLLATE NOCASE
                 WHERE gm.user_id = ?2)
           AND m.withdrawn_at IS NULL AND m.valid_until > ?4
           AND NOT {EXCLUDED}
           AND NOT EXISTS (SELECT 1 FROM receipts rc WHERE rc.message_id = m.id AND rc.user_name = ?1
                           AND rc.kind IN ('read', 'answered') AND rc.revision = m.revision)"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![user.name, user.id, host.matched(), to_ms(now)],
        |r| Ok((row_to_info(r)?, row_signature(r)?)),
    )?;
    let mut out = BTreeMap::new();
    for info in rows {
        let (i, signature) = info?;
        out.insert(i.id.clone(), agent_message(i, signature));
    }
    // At a relay, its own messages carry the central server's word for its key.
    crate::domain::messages::relay_keys::attach_certs(conn, out.values_mut())?;
    Ok(out)
}

/// A message as agents are told of it.
pub(crate) fn agent_message(
    i: herald_protocol::MessageInfo,
    signature: Option<herald_protocol::MessageSignature>,
) -> Message {
    Message {
        id: i.id,
        revision: i.revision,
        severity: i.severity,
        title: i.title,
        body: i.body,
        sender: i.sender,
        valid_from: i.valid_from,
        valid_until: i.valid_until,
        receipt: i.receipt,
        revised_at: i.revised_at,
        signature,
        extras: i.extras,
        sound: i.sound,
    }
}

fn delivered(conn: &Conn, user_id: i64, host: &str) -> Result<HashMap<String, u32>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, revision FROM deliveries WHERE user_id = ?1 AND host = ?2",
    )?;
    let rows = stmt.query_map(params![user_id, host], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn stop_reason(
    conn: &Conn,
    user: &User,
    id: &str,
    now: DateTime<Utc>,
) -> Result<StopReason, Error> {
    let found: Option<(Option<i64>, i64, u32)> = conn
        .prepare_cached("SELECT withdrawn_at, valid_until, revision FROM messages WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((withdrawn, until, revision)) = found else {
        return Ok(StopReason::Unaddressed);
    };
    if withdrawn.is_some() {
        return Ok(StopReason::Withdrawn);
    }
    if until <= to_ms(now) {
        return Ok(StopReason::Expired);
    }
    let read: bool = conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM receipts WHERE message_id = ?1 AND user_name = ?2 AND revision = ?3 AND kind IN ('read', 'answered'))",
        )?
        .query_row(params![id, user.name, revision], |r| r.get(0))?;
    Ok(if read {
        StopReason::ReadElsewhere
    } else {
        StopReason::Unaddressed
    })
}

/// Records a batch of receipts for the token's user. A receipt already
/// recorded is counted as a duplicate, never twice.
pub fn record_receipts(
    conn: &Conn,
    user: &User,
    host: &str,
    receipts: &[Receipt],
    now: DateTime<Utc>,
) -> Result<ReceiptAnswer, Error> {
    Ok(record_receipts_acked(conn, user, host, receipts, now)?.0)
}

/// `record_receipts`, with the revisions the user has now read or
/// answered (message id, revision): the user's other agents are to stop
/// showing them.
pub fn record_receipts_acked(
    conn: &Conn,
    user: &User,
    host: &str,
    receipts: &[Receipt],
    now: DateTime<Utc>,
) -> Result<(ReceiptAnswer, Vec<(String, u32)>), Error> {
    let host = directory::normalize_host(host)?;
    let at = user.at(&host);
    let tx = db::Atomic::begin(conn)?;
    directory::ensure_host(&tx, at, &user.name, None, now)?;
    let mut answer = ReceiptAnswer::default();
    let mut acknowledged = Vec::new();
    let mut revision_of = tx.prepare_cached(&format!(
        "SELECT m.revision, m.extras FROM messages m WHERE m.id = ?4 AND {ADDRESSED} AND NOT {EXCLUDED}"
    ))?;
    let mut put = tx.prepare_cached(
        "INSERT INTO receipts(message_id, user_name, host, revision, kind, at, recorded_at, host_proven,
                              answer, lang)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
    )?;
    for (index, rc) in receipts.iter().enumerate() {
        let found: Option<(u32, Option<String>)> = revision_of
            .query_row(
                params![user.name, user.id, at.matched(), rc.message_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (current, extras) = match found {
            Some((rev, x)) => (Some(rev), content::from_column(x)),
            None => (None, Extras::default()),
        };
        let reject = |reason: &str| RejectedReceipt {
            index,
            reason: reason.to_owned(),
        };
        let Some(current) = current else {
            answer
                .rejected
                .push(reject("no such message for this user"));
            continue;
        };
        if rc.revision == 0 || rc.revision > current {
            answer.rejected.push(reject("no such revision"));
            continue;
        }
        if !herald_protocol::time_in_range(rc.at) {
            answer.rejected.push(reject("time out of range"));
            continue;
        }
        // Answers are checked against the current revision's: a revision
        // that changed them makes an old answer meaningless anyway.
        let answer_given = match (rc.kind, rc.answer) {
            (ReceiptKind::Answered, Some(n))
                if (1..=extras.answers.len()).contains(&usize::from(n)) =>
            {
                Some(n)
            }
            (ReceiptKind::Answered, _) => {
                answer.rejected.push(reject("no such answer"));
                continue;
            }
            _ => None,
        };
        let lang = rc
            .lang
            .as_deref()
            .filter(|l| l.len() <= 35 && herald_protocol::content::is_language_tag(l));
        let n = put.execute(params![
            rc.message_id,
            user.name,
            host,
            rc.revision,
            rc.kind.as_str(),
            to_ms(rc.at),
            to_ms(now),
            at.proven,
            answer_given,
            lang
        ])?;
        if n == 1 {
            answer.recorded += 1;
            if matches!(rc.kind, ReceiptKind::Read | ReceiptKind::Answered)
                && rc.revision == current
            {
                acknowledged.push((rc.message_id.clone(), current));
            }
        } else {
            answer.duplicates += 1;
        }
    }
    drop((revision_of, put));
    if !acknowledged.is_empty() {
        // The user's other agents must drop what was just read.
        changes::record(&tx, &[Scope::User(user.id)])?;
    }
    tx.commit()?;
    acknowledged.dedup();
    Ok((answer, acknowledged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::from_ms;

    #[test]
    fn version_comparison() {
        assert!(older("0.1.0", "0.2.0"));
        assert!(older("0.9", "0.10"));
        assert!(!older("1.0.0", "1.0.0"));
        assert!(!older("1.2.0", "1.1.9"));
        assert!(older("garbage", "1.0"));
    }

    #[test]
    fn ms_round_trip() {
        let t = from_ms(1_700_000_000_123);
        assert_eq!(to_ms(t), 1_700_000_000_123);
    }
}
