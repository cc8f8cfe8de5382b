//! Users, groups and the hosts agents have reported.
//!
//! Its parts: `sync` (applying a directory snapshot), `lastseen` (the
//! batch of last-seen times), `enroll` (enrollment keys and the host-bound
//! tokens they give), `listeners` (agents that take inbound push calls)
//! and `targets` (whom a push reaches).

pub mod enroll;
pub mod lastseen;
pub mod listeners;
pub mod sync;
pub mod targets;

use crate::store::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Utc};
use herald_protocol::{HostInfo, UserInfo};

use crate::domain::changes::{self, Scope};
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::tokens;

/// The user an agent token belongs to.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// Disabled or gone in the directory: nothing applies to them.
    pub disabled: bool,
    /// The token proves the computer's name: it was bound to this host
    /// (enrollment, or Kerberos with the machine's ticket). A user's own
    /// token only claims it. See `HostMatch`.
    pub host_proven: bool,
}

impl User {
    /// How host rules see this user's agent on `host` (normalized).
    pub fn at<'a>(&self, host: &'a str) -> HostMatch<'a> {
        HostMatch::new(host, self.host_proven)
    }
}

/// The host as message addressing sees it. A proven host is matched by
/// name. An unproven one could be any computer: no `host:` recipient
/// reaches it, and every `not-host:` exclusion holds against it, so that
/// claiming a name can neither bring in a message nor slip past one.
#[derive(Debug, Clone, Copy)]
pub struct HostMatch<'a> {
    pub name: &'a str,
    pub proven: bool,
}

impl<'a> HostMatch<'a> {
    /// What an unproven host is matched as in SQL: no host is named `*`
    /// (see `normalize_host`), and the exclusion test treats it as every
    /// host (`poll::EXCLUDED`).
    pub const ANY: &'static str = "*";

    pub fn new(name: &'a str, proven: bool) -> Self {
        HostMatch { name, proven }
    }

    /// The value bound for host rules in `poll::ADDRESSED`/`EXCLUDED`.
    pub fn matched(&self) -> &'a str {
        if self.proven {
            self.name
        } else {
            Self::ANY
        }
    }
}

/// User and group names: what a directory would accept as an account name.
pub fn check_name(what: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "bad {what} name '{name}': 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// Host names are compared lowercased, as DNS does.
pub fn normalize_host(name: &str) -> Result<String, Error> {
    let host = name.trim().to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(host)
    } else {
        Err(Error::bad(format!("bad host name '{name}'")))
    }
}

/// Creates a user (and any group named that does not exist yet) and returns
/// the user's new agent token.
pub fn add_user(
    conn: &Conn,
    name: &str,
    groups: &[String],
    now: DateTime<Utc>,
) -> Result<String, Error> {
    check_name("user", name)?;
    for g in groups {
        check_name("group", g)?;
        local_only(conn, "groups", "group", g)?;
    }
    let tx = db::Atomic::begin(conn)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(Error::Conflict(format!("user '{name}' already exists")));
    }
    let token = tokens::new_token();
    tx.execute(
        "INSERT INTO users(name, token_hash, created_at) VALUES (?1, ?2, ?3)",
        params![name, tokens::hash_token(&token), to_ms(now)],
    )?;
    for g in groups {
        add_member_tx(&tx, g, name)?;
    }
    // A new user has no agent yet: no one's answer changes.
    tx.commit()?;
    Ok(token)
}

/// Gives a user a new token; the old one, and every token an agent of
/// theirs got by signing in, stop working at once.
pub fn rotate_token(conn: &Conn, name: &str) -> Result<String, Error> {
    let token = tokens::new_token();
    let tx = db::Atomic::begin(conn)?;
    let n = tx.execute(
        "UPDATE users SET token_hash = ?2 WHERE name = ?1",
        params![name, tokens::hash_token(&token)],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("no user '{name}'")));
    }
    // Whoever held the old token may hold the inbound push keys it fetched.
    tx.execute(
        "DELETE FROM push_listeners WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [name],
    )?;
    tx.execute(
        "DELETE FROM host_tokens WHERE user_id = (SELECT id FROM users WHERE name = ?1)",
        [name],
    )?;
    tx.commit()?;
    Ok(token)
}

/// Directory users and groups change in the directory only: a local edit
/// would be undone by the next sync, or worse, kept by surprise.
fn local_only(conn: &Conn, table: &str, what: &str, name: &str) -> Result<(), Error> {
    let sql = format!("SELECT source FROM {table} WHERE name = ?1");
    let source: Option<String> = conn.query_row(&sql, [name], |r| r.get(0)).optional()?;
    if source.as_deref() == Some("directory") {
        return Err(Error::Forbidden(format!(
            "{what} '{name}' comes from the directory: change it there"
        )));
    }
    Ok(())
}

pub fn remove_user(conn: &Conn, name: &str) -> Result<(), Error> {
    local_only(conn, "users", "user", name)?;
    let n = conn.execute("DELETE FROM users WHERE name = ?1", [name])?;
    if n == 0 {
        return Err(Error::NotFound(format!("no user '{name}'")));
    }
    // The user's agents lose their token with the account: nothing to tell.
    Ok(())
}

pub fn add_member(conn: &Conn, group: &str, user: &str) -> Result<(), Error> {
    check_name("group", group)?;
    local_only(conn, "groups", "group", group)?;
    let tx = db::Atomic::begin(conn)?;
    let uid = add_member_tx(&tx, group, user)?;
    changes::record(&tx, &[Scope::User(uid)])?;
    tx.commit()?;
    Ok(())
}

fn add_member_tx(tx: &Conn, group: &str, user: &str) -> Result<i64, Error> {
    let uid = user_id(tx, user)?;
    tx.execute(
        "INSERT INTO groups(name) VALUES (?1) ON CONFLICT DO NOTHING",
        [group],
    )?;
    tx.execute(
        // The WHERE is what lets SQLite read ON CONFLICT as the upsert.
        "INSERT INTO memberships(group_id, user_id)
         SELECT id, ?2 FROM groups WHERE name = ?1 ON CONFLICT DO NOTHING",
        params![group, uid],
    )?;
    Ok(uid)
}

pub fn remove_member(conn: &Conn, group: &str, user: &str) -> Result<(), Error> {
    local_only(conn, "groups", "group", group)?;
    let uid = user_id(conn, user)?;
    let n = conn.execute(
        "DELETE FROM memberships WHERE user_id = ?2
         AND group_id = (SELECT id FROM groups WHERE name = ?1)",
        params![group, uid],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!(
            "user '{user}' is not in group '{group}'"
        )));
    }
    changes::record(conn, &[Scope::User(uid)])?;
    Ok(())
}

fn user_id(conn: &Conn, name: &str) -> Result<i64, Error> {
    conn.query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no user '{name}'")))
}

/// The user whose agent token this is, if any, for an agent on `host`
/// (normalized): a user's own token works on any of their computers, a
/// token from signing in only on the computer it was given to.
pub fn user_by_token(conn: &Conn, token: &str, host: &str) -> Result<Option<User>, Error> {
    user_by_token_hash(conn, &tokens::hash_token(token), host)
}

pub fn user_by_token_hash(conn: &Conn, hash: &str, host: &str) -> Result<Option<User>, Error> {
    let row = |r: &crate::store::sql::Row<'_>| {
        Ok(User {
            id: r.get(0)?,
            name: r.get(1)?,
            disabled: r.get(2)?,
            host_proven: r.get(3)?,
        })
    };
    // A user's own token works on any computer, so it proves none.
    let own = conn
        .prepare_cached("SELECT id, name, disabled, 0 FROM users WHERE token_hash = ?1")?
        .query_row([hash], row)
        .optional()?;
    if own.is_some() {
        return Ok(own);
    }
    Ok(conn
        .prepare_cached(
            "SELECT u.id, u.name, u.disabled, t.host_proven FROM host_tokens t
             JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.host = ?2",
        )?
        .query_row([hash, host], row)
        .optional()?)
}

pub fn list_users(conn: &Conn) -> Result<Vec<UserInfo>, Error> {
    let mut stmt = conn.prepare(
        "SELECT u.name, COALESCE(string_agg(g.name, ','), ''), u.source, u.disabled
         FROM users u
         LEFT JOIN memberships m ON m.user_id = u.id
         LEFT JOIN groups g ON g.id = m.group_id
         GROUP BY u.id ORDER BY u.name",
    )?;
    let rows = stmt.query_map([], |r| {
        let groups: String = r.get(1)?;
        let mut groups: Vec<String> = groups
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect();
        groups.sort();
        Ok(UserInfo {
            name: r.get(0)?,
            groups,
            source: r.get(2)?,
            disabled: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records that an agent of `user` contacted the server from `host`.
/// Records a host the first time it is seen; later sightings go through
/// the last-seen batch (`lastseen`), not a write per request.
/// Records a host at its first contact, with the agent version of that
/// contact when it gave one (a poll does, a receipt does not). Later
/// contacts move the row through `lastseen`.
pub fn ensure_host(
    conn: &Conn,
    host: HostMatch<'_>,
    user: &str,
    agent_version: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO hosts(name, first_seen, last_seen, last_user, agent_version, proven)
         VALUES (?1, ?2, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        host.name,
        to_ms(now),
        user,
        agent_version.unwrap_or(""),
        host.proven
    ])?;
    Ok(())
}

pub fn list_hosts(conn: &Conn) -> Result<Vec<HostInfo>, Error> {
    let mut stmt =
        conn.prepare("SELECT name, last_seen, last_user, proven FROM hosts ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(HostInfo {
            name: r.get(0)?,
            last_seen: from_ms(r.get(1)?),
            last_user: r.get(2)?,
            proven: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether a recipient names something the directory knows.
pub fn recipient_exists(conn: &Conn, kind: &str, name: &str) -> Result<bool, Error> {
    let sql = match kind {
        "user" => "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
        "group" => "SELECT EXISTS(SELECT 1 FROM groups WHERE name = ?1)",
        "host" => "SELECT EXISTS(SELECT 1 FROM hosts WHERE name = ?1)",
        _ => return Ok(true),
    };
    Ok(conn.query_row(sql, [name], |r| r.get(0))?)
}

/// The names of a group's members (none if the group does not exist).
pub fn members(conn: &Conn, group: &str) -> Result<Vec<String>, Error> {
    let mut stmt = conn.prepare(
        "SELECT u.name FROM users u
         JOIN memberships m ON m.user_id = u.id
         JOIN groups g ON g.id = m.group_id
         WHERE g.name = ?1",
    )?;
    let names = stmt
        .query_map([group], |r| r.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use crate::error::public_text;

    #[test]
    fn public_text_is_one_line_without_control_characters() {
        // Found by the server_poll fuzz target: a host name with a newline
        // and an escape sequence, echoed in the 400's reason.
        let e = crate::domain::directory::normalize_host("pc\n\u{1b}[31mred\u{7}").unwrap_err();
        let text = public_text(&e);
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("\\u{1b}[31mred"), "{text}");
    }
}
