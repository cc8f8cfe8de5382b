//! Exactly who a message reaches, held in memory so that a change can be
//! written to every push stream it concerns without asking the database
//! once per stream. It answers as a poll would (`poll::applicable`): the
//! recipients, then exclusions by user, group or host, disabled users, the
//! rule that an unproven host is matched by no `host:` recipient and by
//! every `not-host:` one, and, for a new revision, who has read it already.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use herald_protocol::Message;

use crate::domain::directory::targets::fold;
use crate::domain::messages::{row_signature, row_to_info, COLUMNS};
use crate::error::Error;
use crate::store::db::to_ms;
use crate::store::sql::{params, Conn, OptionalExtension};

/// Whom a message reaches, by folded user and host names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Audience {
    all: bool,
    users: HashSet<String>,
    hosts: HashSet<String>,
    not_users: HashSet<String>,
    not_hosts: HashSet<String>,
}

impl Audience {
    /// Whether a poll by `user` at `host` (both folded) would be told of
    /// the message; `proven` says whether the host's name is proven.
    pub fn reaches(&self, user: &str, host: &str, proven: bool) -> bool {
        if self.not_users.contains(user) {
            return false;
        }
        if !self.not_hosts.is_empty() && (!proven || self.not_hosts.contains(host)) {
            return false;
        }
        self.all || self.users.contains(user) || (proven && self.hosts.contains(host))
    }

    /// Everyone, for tests elsewhere.
    #[cfg(test)]
    pub(crate) fn set_all_for_tests(&mut self) {
        self.all = true;
    }

    /// How many names it holds, for what keeping it costs.
    pub fn weight(&self) -> usize {
        1 + self.users.len() + self.hosts.len() + self.not_users.len() + self.not_hosts.len()
    }
}

/// For what the audience is read: a message to show leaves out who read
/// this revision; a stop goes to all who may hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum For {
    Showing { revision: u32 },
    Stopping,
}

/// The audience of message `id`.
pub fn audience(conn: &Conn, id: &str, purpose: For) -> Result<Audience, Error> {
    let names = |sql: &str, extra: Option<u32>| -> Result<Vec<String>, Error> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = match extra {
            Some(rev) => stmt.query_map(params![id, rev], |r| r.get::<_, String>(0))?,
            None => stmt.query_map(params![id], |r| r.get::<_, String>(0))?,
        };
        Ok(rows
            .map(|n| n.map(|n| fold(&n)))
            .collect::<Result<_, _>>()?)
    };
    let of_kind = |kind: &str| {
        names(
            &format!("SELECT name FROM recipients WHERE message_id = ?1 AND kind = '{kind}'"),
            None,
        )
    };
    let members_of = |kind: &str| {
        names(
            &format!(
                "SELECT u.name FROM recipients r
                 JOIN groups g ON g.name = r.name COLLATE NOCASE
                 JOIN memberships gm ON gm.group_id = g.id
                 JOIN users u ON u.id = gm.user_id
                 WHERE r.message_id = ?1 AND r.kind = '{kind}'"
            ),
            None,
        )
    };
    let mut a = Audience {
        all: !of_kind("all")?.is_empty(),
        users: of_kind("user")?.into_iter().collect(),
        hosts: of_kind("host")?.into_iter().collect(),
        not_users: of_kind("not-user")?.into_iter().collect(),
        not_hosts: of_kind("not-host")?.into_iter().collect(),
    };
    a.users.extend(members_of("group")?);
    a.not_users.extend(members_of("not-group")?);
    // A disabled user is told of nothing (`poll::applicable`).
    let mut disabled = conn.prepare_cached("SELECT name FROM users WHERE disabled <> 0")?;
    for name in disabled.query_map([], |r| r.get::<_, String>(0))? {
        a.not_users.insert(fold(&name?));
    }
    if let For::Showing { revision } = purpose {
        a.not_users.extend(names(
            "SELECT user_name FROM receipts WHERE message_id = ?1 AND revision = ?2
               AND kind IN ('read', 'answered')",
            Some(revision),
        )?);
    }
    Ok(a)
}

/// What agents are to be told of message `id` now.
#[derive(Debug)]
pub enum Now {
    /// Show it: as a poll would hand it to an agent.
    Show(Box<Message>),
    /// Stop showing it: it was withdrawn at this revision.
    Withdrawn(u32),
    /// Nothing at once: it is gone, expired, or not immediate (agents
    /// find it when they poll).
    Nothing,
}

/// What agents are to be told of message `id` now.
pub fn now(conn: &Conn, id: &str, now: DateTime<Utc>) -> Result<Now, Error> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM messages m WHERE m.id = ?1 AND m.immediate <> 0"
        ))?
        .query_row(params![id], |r| Ok((row_to_info(r)?, row_signature(r)?)))
        .optional()?;
    let Some((info, signature)) = found else {
        return Ok(Now::Nothing);
    };
    if info.withdrawn_at.is_some() {
        return Ok(Now::Withdrawn(info.revision));
    }
    if to_ms(info.valid_until) <= to_ms(now) {
        return Ok(Now::Nothing);
    }
    let mut m = super::poll::agent_message(info, signature);
    crate::domain::messages::relay_keys::attach_certs(conn, std::iter::once(&mut m))?;
    Ok(Now::Show(Box::new(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_win_and_unproven_hosts_match_no_host_rule() {
        let mut a = Audience {
            all: true,
            ..Audience::default()
        };
        assert!(a.reaches("ann", "pc-1", false));
        a.not_hosts.insert("kiosk".into());
        assert!(!a.reaches("ann", "kiosk", true));
        assert!(
            !a.reaches("ann", "pc-1", false),
            "an unproven host may be the excluded one"
        );
        assert!(a.reaches("ann", "pc-1", true));
        a.not_users.insert("ann".into());
        assert!(!a.reaches("ann", "pc-1", true));
        let mut by_host = Audience::default();
        by_host.hosts.insert("pc-9".into());
        assert!(by_host.reaches("bob", "pc-9", true));
        assert!(
            !by_host.reaches("bob", "pc-9", false),
            "a claimed name was trusted"
        );
        assert!(!by_host.reaches("bob", "pc-8", true));
    }
}
