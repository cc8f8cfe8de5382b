//! What bundles hold, and how each side applies them. Down, from the
//! central server to a site: the messages that apply there (new, revised,
//! withdrawn) and the central preferences. Up, from a site: receipts and
//! the inventory (users, hosts, agent versions, last contact).
//!
//! Each bundle holds every change since the time the other side last
//! acknowledged, less a margin, so a lost bundle costs only a delay; and
//! applying is idempotent (a message's higher revision wins, a receipt is
//! recorded once), so the margin and any repeat change nothing more.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_protocol::signing::{MessageSignature, SiteCert};
use herald_protocol::{MessageInfo, ReceiptKind};
use serde::{Deserialize, Serialize};

use crate::domain::changes::{self, Scope};
use crate::domain::directory;
use crate::domain::messages::relay_keys;
use crate::domain::messages::{self, EXCLUDED_PREFIX};
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::store::sql::{params, Conn, OptionalExtension};

/// Changes this close before the acknowledged time go again: a change
/// stamped just before a bundle was made may have committed just after.
pub const MARGIN_MS: i64 = 60_000;
/// Messages that ended this long ago are no longer carried.
const KEEP_ENDED_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Down {
    pub messages: Vec<MessageInfo>,
    pub prefs: BTreeMap<String, String>,
    /// The central server's signature of each message, by id: the relay
    /// passes it on as it is, so its agents check the central key's work.
    #[serde(default)]
    pub signatures: BTreeMap<String, MessageSignature>,
    /// The central server's message keys, which the site's agents trust.
    #[serde(default)]
    pub server_keys: Vec<String>,
    /// The central server's certificates of the relay's own keys.
    #[serde(default)]
    pub key_certs: Vec<SiteCert>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Up {
    pub receipts: Vec<SiteReceipt>,
    pub hosts: Vec<SeenHost>,
    pub users: Vec<String>,
    /// The relay's message keys, for the central server to certify.
    #[serde(default)]
    pub signing_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteReceipt {
    pub message_id: String,
    pub user: String,
    pub host: String,
    pub revision: u32,
    pub kind: ReceiptKind,
    pub at: DateTime<Utc>,
    /// For `answered`: the answer chosen, 1-based (absent from relays that
    /// predate answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<u8>,
    /// The language of the version the user saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenHost {
    pub name: String,
    pub last_user: String,
    pub last_seen: DateTime<Utc>,
    pub agent_version: String,
}

/// What applying a bundle did, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub new: usize,
    pub revised: usize,
    pub withdrawn: usize,
    pub receipts: usize,
    pub duplicate_receipts: usize,
    pub new_members: usize,
    pub prefs_changed: bool,
    /// Messages changed here, whose agents are to be told.
    pub changed: Vec<String>,
}

impl Applied {
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let mut say = |n: usize, what: &str| {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        };
        say(self.new, "new");
        say(self.revised, "revised");
        say(self.withdrawn, "withdrawn");
        say(self.receipts, "receipts");
        say(self.duplicate_receipts, "receipts already held");
        say(self.new_members, "users or hosts first seen");
        if self.prefs_changed {
            parts.push("new preferences".to_owned());
        }
        if parts.is_empty() {
            "nothing new".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn since(acked_as_of: i64) -> i64 {
    if acked_as_of <= 0 {
        i64::MIN
    } else {
        acked_as_of - MARGIN_MS
    }
}

/// At the central server: what goes down to `site`, from changes since
/// `acked_as_of`. A message goes to a site if it is for all, a group, or a
/// user or host the site's inventory reported.
pub fn down_for(
    conn: &Conn,
    site: &str,
    acked_as_of: i64,
    now: DateTime<Utc>,
) -> Result<Down, Error> {
    let mut stmt = conn.prepare(
        "SELECT m.id FROM messages m
         WHERE (m.created_at >= ?2 OR m.revised_at >= ?2 OR m.withdrawn_at >= ?2)
           AND m.valid_until >= ?3
           AND EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND (
                   r.kind IN ('all', 'group')
                OR (r.kind IN ('user', 'host') AND EXISTS (
                       SELECT 1 FROM site_members s
                       WHERE s.site = ?1 AND s.kind = r.kind AND s.name = r.name COLLATE NOCASE))))
         ORDER BY m.created_at, m.id",
    )?;
    let ids: Vec<String> = stmt
        .query_map(
            params![site, since(acked_as_of), to_ms(now) - KEEP_ENDED_MS],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let messages: Vec<MessageInfo> = ids
        .iter()
        .map(|id| messages::get(conn, id))
        .collect::<Result<_, _>>()?;
    let mut signatures = BTreeMap::new();
    for m in &messages {
        if let Some(s) = relay_keys::signature_of(conn, &m.id, m.revision)? {
            signatures.insert(m.id.clone(), s);
        }
    }
    let (server_keys, key_certs) = relay_keys::for_site(conn, site, now)?;
    Ok(Down {
        messages,
        prefs: crate::domain::sites::prefs::effective(conn, Some(site))?,
        signatures,
        server_keys,
        key_certs,
    })
}

/// At a relay: what goes up, receipts recorded since `acked_as_of` and the
/// whole inventory (small, and it says when each was last seen).
pub fn up_for(conn: &Conn, acked_as_of: i64, now: DateTime<Utc>) -> Result<Up, Error> {
    let mut stmt = conn.prepare(
        "SELECT message_id, user_name, host, revision, kind, at, answer, lang FROM receipts
         WHERE recorded_at >= ?1 ORDER BY recorded_at",
    )?;
    let receipts = stmt
        .query_map([since(acked_as_of)], |r| {
            let kind: String = r.get(4)?;
            Ok((
                SiteReceipt {
                    message_id: r.get(0)?,
                    user: r.get(1)?,
                    host: r.get(2)?,
                    revision: r.get(3)?,
                    kind: ReceiptKind::Read,
                    at: from_ms(r.get(5)?),
                    answer: r.get(6)?,
                    lang: r.get(7)?,
                },
                kind,
            ))
        })?
        .filter_map(|row| match row {
            Ok((mut rc, kind)) => kind.parse().ok().map(|k| {
                rc.kind = k;
                Ok(rc)
            }),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;
    let mut stmt =
        conn.prepare("SELECT name, last_user, last_seen, agent_version FROM hosts ORDER BY name")?;
    let hosts = stmt
        .query_map([], |r| {
            Ok(SeenHost {
                name: r.get(0)?,
                last_user: r.get(1)?,
                last_seen: from_ms(r.get(2)?),
                agent_version: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare("SELECT name FROM users ORDER BY name")?;
    let users = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Up {
        receipts,
        hosts,
        users,
        signing_keys: relay_keys::own_keys(now),
    })
}

/// At a relay: the messages and preferences from the central server.
pub fn apply_down(conn: &Conn, site: &str, down: &Down) -> Result<Applied, Error> {
    let tx = db::Atomic::begin(conn)?;
    let mut applied = Applied::default();
    relay_keys::keep_central(&tx, site, &down.server_keys, &down.key_certs)?;
    for m in &down.messages {
        import(&tx, m, down.signatures.get(&m.id), &mut applied)?;
    }
    applied.prefs_changed = crate::domain::sites::prefs::replace_received(&tx, site, &down.prefs)?;
    tx.commit()?;
    Ok(applied)
}

/// One message as the central server has it: inserted, or replaced by a
/// higher revision, or withdrawn; an older or equal one changes nothing.
fn import(
    conn: &Conn,
    m: &MessageInfo,
    signature: Option<&MessageSignature>,
    applied: &mut Applied,
) -> Result<(), Error> {
    let local: Option<(u32, Option<i64>)> = conn
        .query_row(
            "SELECT revision, withdrawn_at FROM messages WHERE id = ?1",
            [&m.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let newly_withdrawn = m.withdrawn_at.is_some() && local.is_some_and(|(_, w)| w.is_none());
    let newer = local.is_none_or(|(rev, _)| m.revision > rev);
    if !newer && !newly_withdrawn {
        return Ok(());
    }
    let to = messages::parse_list(&m.to)?;
    let exclude = messages::parse_list(&m.exclude)?;
    let mut scopes = if local.is_some() {
        changes::message_scopes(conn, &m.id)?
    } else {
        Vec::new()
    };
    let values = params![
        m.id,
        m.revision,
        m.severity.as_str(),
        m.title,
        m.body,
        m.sender,
        to_ms(m.valid_from),
        to_ms(m.valid_until),
        m.receipt.as_str(),
        to_ms(m.created_at),
        to_ms(m.revised_at),
        m.withdrawn_at.map(to_ms),
        m.immediate,
        m.created_by,
        crate::domain::messages::content::to_column(&m.extras),
        m.sound.as_str(),
    ];
    if local.is_none() {
        conn.execute(
            "INSERT INTO messages(id, revision, severity, title, body, sender, valid_from,
                 valid_until, receipt, created_at, revised_at, withdrawn_at, immediate, created_by,
                 extras, sound)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            values,
        )?;
        applied.new += 1;
    } else {
        conn.execute(
            "UPDATE messages SET revision = ?2, severity = ?3, title = ?4, body = ?5,
                 sender = ?6, valid_from = ?7, valid_until = ?8, receipt = ?9, created_at = ?10,
                 revised_at = ?11, withdrawn_at = ?12, immediate = ?13, created_by = ?14,
                 extras = ?15, sound = ?16
             WHERE id = ?1",
            values,
        )?;
        if newly_withdrawn {
            applied.withdrawn += 1;
        } else {
            applied.revised += 1;
        }
    }
    // The central server's signature passes through, for the site's agents
    // to check; only a central server that does not sign leaves the relay
    // to vouch for what came down in a bundle it checked.
    match signature {
        Some(s) => relay_keys::keep_signature(conn, m, s)?,
        None => crate::domain::messages::signatures::sign_stored(conn, m)?,
    }
    conn.execute("DELETE FROM recipients WHERE message_id = ?1", [&m.id])?;
    let kinds = to
        .iter()
        .map(|r| (false, r))
        .chain(exclude.iter().map(|r| (true, r)));
    for (excluded, r) in kinds {
        let (kind, name) = messages::split(r);
        let kind = if excluded {
            format!("{EXCLUDED_PREFIX}{kind}")
        } else {
            kind.to_owned()
        };
        conn.execute(
            "INSERT INTO recipients(message_id, kind, name) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            params![m.id, kind, name],
        )?;
    }
    scopes.extend(changes::message_scopes(conn, &m.id)?);
    changes::record(conn, &scopes)?;
    applied.changed.push(m.id.clone());
    Ok(())
}

/// At the central server: a site's receipts and inventory. Users first
/// seen there become known here (with a token nobody holds: they sign in
/// at their site), so that `user:NAME` and `host:NAME` reach them.
pub fn apply_up(conn: &Conn, site: &str, up: &Up, now: DateTime<Utc>) -> Result<Applied, Error> {
    let tx = db::Atomic::begin(conn)?;
    let mut applied = Applied::default();
    for name in &up.users {
        if directory::check_name("user", name).is_err() {
            continue;
        }
        tx.execute(
            "INSERT INTO users(name, token_hash, created_at, source) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            params![
                name,
                crate::tokens::hash_token(&crate::tokens::new_token()),
                to_ms(now),
                format!("site:{site}")
            ],
        )?;
        applied.new_members += member(&tx, site, "user", name, to_ms(now), None, None)?;
    }
    for h in &up.hosts {
        let Ok(name) = directory::normalize_host(&h.name) else {
            continue;
        };
        let seen = to_ms(h.last_seen).min(to_ms(now));
        tx.execute(
            "INSERT INTO hosts(name, first_seen, last_seen, last_user, agent_version)
             VALUES (?1, ?2, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET
                 last_user = CASE WHEN excluded.last_seen > hosts.last_seen
                                  THEN excluded.last_user ELSE hosts.last_user END,
                 agent_version = CASE WHEN excluded.last_seen > hosts.last_seen
                                  THEN excluded.agent_version ELSE hosts.agent_version END,
                 last_seen = CASE WHEN excluded.last_seen > hosts.last_seen
                                  THEN excluded.last_seen ELSE hosts.last_seen END",
            params![name, seen, h.last_user, h.agent_version],
        )?;
        applied.new_members += member(
            &tx,
            site,
            "host",
            &name,
            seen,
            Some(&h.agent_version),
            Some(&h.last_user),
        )?;
    }
    for rc in &up.receipts {
        receipt(&tx, rc, now, &mut applied)?;
    }
    relay_keys::keep_site_keys(&tx, site, &up.signing_keys)?;
    if applied.new_members > 0 {
        crate::domain::sites::resend_all(&tx, site)?;
    }
    tx.commit()?;
    Ok(applied)
}

/// Records a site member; 1 if it is new to the site.
fn member(
    conn: &Conn,
    site: &str,
    kind: &str,
    name: &str,
    seen: i64,
    version: Option<&str>,
    user: Option<&str>,
) -> Result<usize, Error> {
    let known: bool = conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM site_members WHERE site = ?1 AND kind = ?2 AND name = ?3)",
        params![site, kind, name],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO site_members(site, kind, name, last_seen, agent_version, last_user)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(site, kind, name) DO UPDATE SET last_seen = excluded.last_seen,
             agent_version = excluded.agent_version, last_user = excluded.last_user",
        params![site, kind, name, seen, version, user],
    )?;
    Ok(usize::from(!known))
}

fn receipt(
    conn: &Conn,
    rc: &SiteReceipt,
    now: DateTime<Utc>,
    applied: &mut Applied,
) -> Result<(), Error> {
    let found: Option<(u32, Option<String>)> = conn
        .query_row(
            "SELECT revision, extras FROM messages WHERE id = ?1",
            [&rc.message_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    // A message made at the site itself is not the central server's.
    let Some((current, extras)) = found else {
        return Ok(());
    };
    if rc.revision == 0 || rc.revision > current || !herald_protocol::time_in_range(rc.at) {
        return Ok(());
    }
    // An answer the message does not offer is no answer (the relay checks
    // its agents' too; this holds against a relay that did not).
    let offered = crate::domain::messages::content::from_column(extras)
        .answers
        .len();
    let good = match rc.kind {
        ReceiptKind::Answered => rc
            .answer
            .is_some_and(|n| (1..=offered).contains(&usize::from(n))),
        _ => rc.answer.is_none(),
    };
    if !good {
        return Ok(());
    }
    let n = conn.execute(
        "INSERT INTO receipts(message_id, user_name, host, revision, kind, at, recorded_at,
                              answer, lang)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        params![
            rc.message_id,
            rc.user,
            rc.host,
            rc.revision,
            rc.kind.as_str(),
            to_ms(rc.at),
            to_ms(now),
            rc.answer,
            rc.lang
        ],
    )?;
    if n == 0 {
        applied.duplicate_receipts += 1;
        return Ok(());
    }
    applied.receipts += 1;
    // An answer is a reading: the user's other agents drop it too.
    let read = matches!(rc.kind, ReceiptKind::Read | ReceiptKind::Answered);
    if read && rc.revision == current {
        let user: Option<i64> = conn
            .query_row("SELECT id FROM users WHERE name = ?1", [&rc.user], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(id) = user {
            // The user's agents elsewhere drop what was read at the site.
            changes::record(conn, &[Scope::User(id)])?;
        }
    }
    Ok(())
}
