//! Messages: sending, revising, withdrawing, listing, and their receipts.
//!
//! Its parts: `poll` (the agent's side: what applies, the difference, the
//! receipts), `access` (which messages an account may see and change),
//! `report` (receipts reports), `templates`, `timespec` (the times admins
//! write), `signatures` (each revision signed, and re-signed when the key
//! changes) and `relay_keys` (what the exchange carries of signing).

pub mod access;
pub mod audience;
pub mod content;
pub mod poll;
pub mod relay_keys;
pub mod report;
pub mod signatures;
pub mod templates;
pub mod timespec;

use std::collections::BTreeSet;

use crate::store::sql::{params, Conn, OptionalExtension, Row};
use chrono::{DateTime, Duration, Utc};
use herald_protocol::{
    Audience, AudienceQuery, MessageEdit, MessageInfo, NewMessage, ReceiptKind, ReceiptPolicy,
    ReceiptRecord, Recipient, RevisionInfo, Severity, MAX_BODY_BYTES, MAX_TITLE_CHARS,
};

use crate::domain::changes;
use crate::domain::directory;
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::tokens;

/// How long a message is valid when the sender does not say.
pub const DEFAULT_VALIDITY: Duration = Duration::hours(24);

/// Sends a message on behalf of account `by` (for the audit and a
/// sender's own list).
pub fn create(
    conn: &Conn,
    new: NewMessage,
    by: &str,
    now: DateTime<Utc>,
) -> Result<MessageInfo, Error> {
    let title = check_title(&new.title)?;
    check_body(&new.body)?;
    let extras = content::check(new.extras, new.severity)?;
    let sound = content::sound_or_default(new.sound, new.severity);
    let from = match &new.valid_from {
        Some(s) => timespec::parse(s, now)?,
        None => now,
    };
    let until = match &new.valid_until {
        Some(s) => timespec::parse(s, now)?,
        None => from
            .checked_add_signed(DEFAULT_VALIDITY)
            .ok_or_else(|| Error::bad("valid-from is too late to add a day of validity"))?,
    };
    check_window(from, until, now)?;
    let recipients = parse_recipients(&new.to)?;
    let excluded = parse_exclusions(&new.exclude)?;
    let sender = new
        .sender
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("Administrator");

    let tx = db::Atomic::begin(conn)?;
    for r in recipients.iter().chain(&excluded) {
        let (kind, name) = split(r);
        if !directory::recipient_exists(&tx, kind, name)? {
            return Err(Error::bad(format!("unknown recipient '{r}'")));
        }
    }
    let id = tokens::random_id(10);
    tx.execute(
        "INSERT INTO messages(id, revision, severity, title, body, sender, valid_from, valid_until,
                              receipt, created_at, revised_at, immediate, created_by, extras, sound)
         VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?13)",
        params![
            id,
            new.severity.as_str(),
            title,
            new.body,
            sender,
            to_ms(from),
            to_ms(until),
            new.receipt.unwrap_or(ReceiptPolicy::Read).as_str(),
            to_ms(now),
            new.now.unwrap_or(new.severity == Severity::Alert),
            by,
            content::to_column(&extras),
            sound.as_str(),
        ],
    )?;
    for r in &recipients {
        let (kind, name) = split(r);
        tx.execute(
            "INSERT INTO recipients(message_id, kind, name) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![id, kind, name],
        )?;
    }
    for r in &excluded {
        let (kind, name) = split(r);
        tx.execute(
            "INSERT INTO recipients(message_id, kind, name) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![id, format!("{EXCLUDED_PREFIX}{kind}"), name],
        )?;
    }
    record_revision(&tx, &id, 1, by, "sent", now)?;
    changes::record(&tx, &changes::message_scopes(&tx, &id)?)?;
    let info = get_tx(&tx, &id)?;
    signatures::sign_stored(&tx, &info)?;
    tx.commit()?;
    Ok(info)
}

fn record_revision(
    conn: &Conn,
    id: &str,
    revision: u32,
    by: &str,
    changes: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO message_revisions(message_id, revision, at, by, changes)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(message_id, revision) DO UPDATE
         SET at = excluded.at, by = excluded.by, changes = excluded.changes",
        params![id, revision, to_ms(now), by, changes],
    )?;
    Ok(())
}

/// What an edit changed, in words, for the message's history.
fn describe_edit(before: &MessageInfo, after: &MessageInfo) -> String {
    let mut said = Vec::new();
    if before.title != after.title {
        said.push(format!("title \"{}\" -> \"{}\"", before.title, after.title));
    }
    if before.body != after.body {
        said.push("body".to_owned());
    }
    if before.severity != after.severity {
        said.push(format!(
            "severity {} -> {}",
            before.severity, after.severity
        ));
    }
    if before.valid_until != after.valid_until {
        said.push(format!(
            "valid until {} -> {}",
            before.valid_until.to_rfc3339(),
            after.valid_until.to_rfc3339()
        ));
    }
    content::describe(&before.extras, &after.extras, &mut said);
    if said.is_empty() {
        "nothing (the same values again)".to_owned()
    } else {
        said.join("; ")
    }
}

/// Every revision of a message, oldest first.
pub fn revisions(conn: &Conn, id: &str) -> Result<Vec<RevisionInfo>, Error> {
    get_tx(conn, id)?;
    let mut stmt = conn.prepare(
        "SELECT revision, at, by, changes FROM message_revisions WHERE message_id = ?1 ORDER BY revision",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(RevisionInfo {
            revision: r.get(0)?,
            at: from_ms(r.get(1)?),
            by: r.get(2)?,
            changes: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Any change makes a new revision, which agents show again even to users who
/// read the previous one.
pub fn edit(
    conn: &Conn,
    id: &str,
    edit: MessageEdit,
    by: &str,
    now: DateTime<Utc>,
) -> Result<MessageInfo, Error> {
    if edit == MessageEdit::default() {
        return Err(Error::bad(
            "nothing to change: give a title, body, severity, valid-until, translations or answers",
        ));
    }
    let tx = db::Atomic::begin(conn)?;
    let mut msg = get_tx(&tx, id)?;
    if msg.withdrawn_at.is_some() {
        return Err(Error::Conflict(format!("message {id} is withdrawn")));
    }
    let before = msg.clone();
    if let Some(t) = &edit.title {
        msg.title = check_title(t)?;
    }
    if let Some(b) = edit.body {
        check_body(&b)?;
        msg.body = b;
    }
    if let Some(s) = edit.severity {
        msg.severity = s;
    }
    if let Some(u) = &edit.valid_until {
        msg.valid_until = timespec::parse(u, now)?;
        check_window(msg.valid_from, msg.valid_until, now)?;
    }
    if let Some(t) = edit.translations {
        msg.extras.translations = t;
    }
    if let Some(a) = edit.answers {
        msg.extras.answers = a;
    }
    msg.extras = content::check(msg.extras, msg.severity)?;
    tx.execute(
        "UPDATE messages SET revision = revision + 1, title = ?2, body = ?3, severity = ?4,
                valid_until = ?5, revised_at = ?6, extras = ?7
         WHERE id = ?1",
        params![
            id,
            msg.title,
            msg.body,
            msg.severity.as_str(),
            to_ms(msg.valid_until),
            to_ms(now),
            content::to_column(&msg.extras)
        ],
    )?;
    let info = get_tx(&tx, id)?;
    signatures::sign_stored(&tx, &info)?;
    record_revision(
        &tx,
        id,
        info.revision,
        by,
        &describe_edit(&before, &info),
        now,
    )?;
    changes::record(&tx, &changes::message_scopes(&tx, id)?)?;
    tx.commit()?;
    Ok(info)
}

/// Ends the message's validity now. Withdrawing twice is harmless.
pub fn withdraw(conn: &Conn, id: &str, now: DateTime<Utc>) -> Result<MessageInfo, Error> {
    let tx = db::Atomic::begin(conn)?;
    let msg = get_tx(&tx, id)?;
    if msg.withdrawn_at.is_none() {
        tx.execute(
            "UPDATE messages SET withdrawn_at = ?2, valid_until = CASE WHEN valid_until < ?2 THEN valid_until ELSE ?2 END WHERE id = ?1",
            params![id, to_ms(now)],
        )?;
        changes::record(&tx, &changes::message_scopes(&tx, id)?)?;
    }
    let info = get_tx(&tx, id)?;
    tx.commit()?;
    Ok(info)
}

pub fn get(conn: &Conn, id: &str) -> Result<MessageInfo, Error> {
    get_tx(conn, id)
}

fn get_tx(conn: &Conn, id: &str) -> Result<MessageInfo, Error> {
    let mut msg = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"),
            [id],
            row_to_info,
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no message '{id}'")))?;
    (msg.to, msg.exclude) = recipients_of(conn, id)?;
    Ok(msg)
}

pub fn list(conn: &Conn) -> Result<Vec<MessageInfo>, Error> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM messages ORDER BY created_at, id"
    ))?;
    let mut out: Vec<MessageInfo> = stmt.query_map([], row_to_info)?.collect::<Result<_, _>>()?;
    for m in &mut out {
        (m.to, m.exclude) = recipients_of(conn, &m.id)?;
    }
    Ok(out)
}

pub fn receipts(conn: &Conn, id: &str) -> Result<Vec<ReceiptRecord>, Error> {
    get_tx(conn, id)?;
    let mut stmt = conn.prepare(
        "SELECT user_name, host, revision, kind, at, recorded_at, host_proven, answer, lang FROM receipts
         WHERE message_id = ?1 ORDER BY at, user_name, host, kind",
    )?;
    let rows = stmt.query_map([id], |r| {
        let kind: String = r.get(3)?;
        Ok(ReceiptRecord {
            user: r.get(0)?,
            host: r.get(1)?,
            revision: r.get(2)?,
            kind: kind.parse().unwrap_or(ReceiptKind::Read),
            at: from_ms(r.get(4)?),
            recorded_at: from_ms(r.get(5)?),
            host_proven: r.get(6)?,
            answer: r.get(7)?,
            lang: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) const COLUMNS: &str =
    "id, revision, severity, title, body, sender, valid_from, valid_until, receipt, \
                                  created_at, revised_at, withdrawn_at, immediate, created_by, signature, \
                                  extras, sound";

/// The stored signature (JSON) of a row read with `COLUMNS`.
pub(crate) fn row_signature_json(r: &Row<'_>) -> crate::store::sql::Result<Option<String>> {
    r.get(14)
}

/// The stored signature of a row read with `COLUMNS`.
pub(crate) fn row_signature(
    r: &Row<'_>,
) -> crate::store::sql::Result<Option<herald_protocol::MessageSignature>> {
    Ok(signatures::parse_stored(row_signature_json(r)?))
}

pub(crate) fn row_to_info(r: &Row<'_>) -> crate::store::sql::Result<MessageInfo> {
    let severity: String = r.get(2)?;
    let receipt: String = r.get(8)?;
    let withdrawn: Option<i64> = r.get(11)?;
    Ok(MessageInfo {
        id: r.get(0)?,
        revision: r.get(1)?,
        // Only this module writes these columns, always from the enums.
        severity: severity.parse().unwrap_or(Severity::Info),
        title: r.get(3)?,
        body: r.get(4)?,
        sender: r.get(5)?,
        to: Vec::new(),
        exclude: Vec::new(),
        valid_from: from_ms(r.get(6)?),
        valid_until: from_ms(r.get(7)?),
        receipt: receipt.parse().unwrap_or(ReceiptPolicy::Read),
        created_at: from_ms(r.get(9)?),
        revised_at: from_ms(r.get(10)?),
        withdrawn_at: withdrawn.map(from_ms),
        immediate: r.get(12)?,
        created_by: r.get(13)?,
        extras: content::from_column(r.get(15)?),
        sound: r.get::<_, String>(16)?.parse().unwrap_or_default(),
    })
}

/// Exclusions live beside the recipients, their kind prefixed with this:
/// `not-user`, `not-group`, `not-host`.
pub(crate) const EXCLUDED_PREFIX: &str = "not-";

/// The message's recipients and its exclusions, as `kind:name`.
fn recipients_of(conn: &Conn, id: &str) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut stmt = conn
        .prepare("SELECT kind, name FROM recipients WHERE message_id = ?1 ORDER BY kind, name")?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let (mut to, mut exclude) = (Vec::new(), Vec::new());
    for row in rows {
        let (kind, name) = row?;
        match kind.strip_prefix(EXCLUDED_PREFIX) {
            Some(kind) => exclude.push(format!("{kind}:{name}")),
            None if kind == "all" => to.push(kind),
            None => to.push(format!("{kind}:{name}")),
        }
    }
    Ok((to, exclude))
}

pub(crate) fn check_title(title: &str) -> Result<String, Error> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::bad("empty title"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::bad(format!(
            "title longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(title.to_owned())
}

pub(crate) fn check_body(body: &str) -> Result<(), Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::bad(format!(
            "body is {} bytes, over the limit of {} KiB",
            body.len(),
            MAX_BODY_BYTES / 1024
        )));
    }
    Ok(())
}

fn check_window(
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if !herald_protocol::time_in_range(until) {
        return Err(Error::bad(
            "valid-until is out of range: give a time before the year 10000",
        ));
    }
    if until <= from {
        return Err(Error::bad("valid-until must be after valid-from"));
    }
    if until <= now {
        return Err(Error::bad("valid-until is in the past"));
    }
    Ok(())
}

fn parse_recipients(specs: &[String]) -> Result<Vec<Recipient>, Error> {
    let out = parse_list(specs)?;
    if out.is_empty() {
        return Err(Error::bad(
            "no recipient: give user:NAME, group:NAME, host:NAME or all",
        ));
    }
    Ok(out)
}

/// Whom to leave out; everyone cannot be.
fn parse_exclusions(specs: &[String]) -> Result<Vec<Recipient>, Error> {
    let out = parse_list(specs)?;
    if out.contains(&Recipient::All) {
        return Err(Error::bad(
            "'all' cannot be excluded: exclude user:NAME, group:NAME or host:NAME",
        ));
    }
    Ok(out)
}

/// Comma-separated or one by one, sorted, without repeats.
pub(crate) fn parse_list(specs: &[String]) -> Result<Vec<Recipient>, Error> {
    let mut out = Vec::new();
    for spec in specs
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.trim().is_empty())
    {
        let r: Recipient = spec
            .parse()
            .map_err(|e: herald_protocol::ParseRecipientError| Error::bad(e.to_string()))?;
        let r = match r {
            Recipient::Host(h) => Recipient::Host(directory::normalize_host(&h)?),
            other => other,
        };
        out.push(r);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub(crate) fn split(r: &Recipient) -> (&'static str, &str) {
    match r {
        Recipient::User(n) => ("user", n),
        Recipient::Group(n) => ("group", n),
        Recipient::Host(n) => ("host", n),
        Recipient::All => ("all", ""),
    }
}

/// Whom a message to `to` minus `exclude` would reach now.
pub fn audience(conn: &Conn, q: &AudienceQuery) -> Result<Audience, Error> {
    let (users, hosts) = addressed(conn, &q.to, &q.exclude)?;
    Ok(Audience {
        users: users.len() as u64,
        hosts: hosts.len() as u64,
    })
}

/// The enabled users (lowercase names) and the hosts that recipients
/// `to` minus `exclude` name now.
pub fn addressed(
    conn: &Conn,
    to: &[String],
    exclude: &[String],
) -> Result<(BTreeSet<String>, BTreeSet<String>), Error> {
    let to = parse_recipients(to)?;
    let excluded = parse_exclusions(exclude)?;
    let mut users: BTreeSet<String> = BTreeSet::new();
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    for r in &to {
        match r {
            Recipient::All => {
                for u in directory::list_users(conn)? {
                    users.insert(u.name.to_lowercase());
                }
            }
            Recipient::User(n) => {
                users.insert(n.to_lowercase());
            }
            Recipient::Group(g) => {
                for m in directory::members(conn, g)? {
                    users.insert(m.to_lowercase());
                }
            }
            Recipient::Host(h) => {
                hosts.insert(h.clone());
            }
        }
    }
    for r in &excluded {
        match r {
            Recipient::User(n) => {
                users.remove(&n.to_lowercase());
            }
            Recipient::Group(g) => {
                for m in directory::members(conn, g)? {
                    users.remove(&m.to_lowercase());
                }
            }
            Recipient::Host(h) => {
                hosts.remove(h);
            }
            Recipient::All => {}
        }
    }
    // Disabled users receive nothing; unknown names reach no one.
    let mut enabled = conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1 COLLATE NOCASE AND disabled = 0)",
    )?;
    let mut reached = BTreeSet::new();
    for u in users {
        if enabled.query_row([&u], |r| r.get::<_, bool>(0))? {
            reached.insert(u);
        }
    }
    Ok((reached, hosts))
}

/// Who must hear of a change to message `id` at once: nobody unless it is
/// immediate; otherwise its recipients, with groups resolved to members.
pub fn push_targets(
    conn: &Conn,
    id: &str,
) -> Result<Option<crate::domain::directory::targets::Targets>, Error> {
    let msg = get_tx(conn, id)?;
    if !msg.immediate {
        return Ok(None);
    }
    let mut t = crate::domain::directory::targets::Targets::default();
    let mut stmt = conn.prepare("SELECT kind, name FROM recipients WHERE message_id = ?1")?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (kind, name) = row?;
        match kind.as_str() {
            "all" => t.set_all(),
            "user" => t.add_user(&name),
            "host" => t.add_host(&name),
            "group" => {
                for member in directory::members(conn, &name)? {
                    t.add_user(&member);
                }
            }
            _ => {}
        }
    }
    Ok(Some(t))
}
