//! When each host and inbound listener was last heard from, kept in memory
//! and written in batches: an unchanged poll then writes nothing. A crash
//! loses at most one flush interval of these times, which only say when a
//! desktop was last seen; messages and receipts are written at once.

use std::collections::HashMap;
use std::time::Duration;

use crate::store::sql::{params, Conn};
use parking_lot::Mutex;

use crate::domain::directory::HostMatch;
use crate::error::Error;
use crate::store::db;

/// How often the batch is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct LastSeen {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    /// Host → its last contact.
    hosts: HashMap<String, Contact>,
    /// (user id, host) → Unix ms.
    listeners: HashMap<(i64, String), i64>,
}

struct Contact {
    user: String,
    /// The agent's, if the call said (a poll does, a receipt does not).
    version: Option<String>,
    /// Unix ms.
    at: i64,
    proven: bool,
}

impl LastSeen {
    /// `version`: the agent's, from a poll; receipts do not say.
    pub fn host(&self, host: HostMatch<'_>, user: &str, version: Option<&str>, at_ms: i64) {
        let mut p = self.pending.lock();
        let before = p.hosts.get(host.name);
        // Someone who only claims the name does not hide the agent that
        // proved it: the proven contact stays the host's.
        if before.is_some_and(|c| c.proven && !host.proven) {
            return;
        }
        // A receipt after a poll keeps the version the poll gave.
        let version = version
            .map(str::to_owned)
            .or_else(|| before.and_then(|c| c.version.clone()));
        let contact = Contact {
            user: user.to_owned(),
            version,
            at: at_ms,
            proven: host.proven,
        };
        p.hosts.insert(host.name.to_owned(), contact);
    }

    pub fn listener(&self, user_id: i64, host: &str, at_ms: i64) {
        self.pending
            .lock()
            .listeners
            .insert((user_id, host.to_owned()), at_ms);
    }

    /// Writes what is pending in one transaction; returns how many rows.
    /// On failure (a full disk) the times go back into the batch, unless a
    /// newer one arrived meanwhile, and the next flush tries again.
    pub fn flush(&self, conn: &Conn) -> Result<usize, Error> {
        let batch = std::mem::take(&mut *self.pending.lock());
        if batch.hosts.is_empty() && batch.listeners.is_empty() {
            return Ok(0);
        }
        match write(conn, &batch) {
            Ok(n) => Ok(n),
            Err(e) => {
                let mut p = self.pending.lock();
                for (host, seen) in batch.hosts {
                    p.hosts.entry(host).or_insert(seen);
                }
                for (key, at) in batch.listeners {
                    p.listeners.entry(key).or_insert(at);
                }
                Err(e)
            }
        }
    }
}

fn write(conn: &Conn, batch: &Pending) -> Result<usize, Error> {
    let tx = db::Atomic::begin(conn)?;
    let mut n = 0;
    {
        // Only later times move a row: a full poll may have written a newer
        // one directly since this batch was taken. An unproven contact does
        // not move a host whose name was proven: anyone may claim it.
        let mut host = tx.prepare_cached(
            "UPDATE hosts SET last_seen = ?2, last_user = ?3,
                    agent_version = COALESCE(?4, agent_version), proven = ?5
             WHERE name = ?1 AND last_seen < ?2 AND (?5 = 1 OR proven = 0)",
        )?;
        // In one order, the same in every instance and writer: two flushes
        // that lock the same rows in different orders deadlock on
        // PostgreSQL, and the database then aborts one of them whole, with
        // whatever else its batch held.
        let mut hosts: Vec<_> = batch.hosts.iter().collect();
        hosts.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (name, c) in hosts {
            n += host.execute(params![name, c.at, c.user, c.version, c.proven])?;
        }
        let mut listener = tx.prepare_cached(
            "UPDATE push_listeners SET seen_at = ?3 WHERE user_id = ?1 AND host = ?2 AND seen_at < ?3",
        )?;
        let mut listeners: Vec<_> = batch.listeners.iter().collect();
        listeners.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for ((user_id, name), at) in listeners {
            n += listener.execute(params![user_id, name, at])?;
        }
    }
    tx.commit()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_the_latest_and_never_move_a_time_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::db::open(&dir.path().join("s.db")).unwrap();
        conn.execute(
            "INSERT INTO hosts(name, first_seen, last_seen, last_user) VALUES ('pc-1', 1, 500, 'ann')",
            [],
        )
        .unwrap();
        let seen = LastSeen::default();
        let pc1 = HostMatch::new("pc-1", false);
        seen.host(pc1, "ann", Some("1.0"), 100);
        assert_eq!(seen.flush(&conn).unwrap(), 0, "an older time moved the row");
        seen.host(pc1, "ann", Some("1.1"), 600);
        seen.host(pc1, "bob", None, 700);
        assert_eq!(seen.flush(&conn).unwrap(), 1);
        let (at, user, version): (i64, String, String) = conn
            .query_row(
                "SELECT last_seen, last_user, agent_version FROM hosts WHERE name = 'pc-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((at, user.as_str(), version.as_str()), (700, "bob", "1.1"));
        assert_eq!(seen.flush(&conn).unwrap(), 0);
    }

    #[test]
    fn a_claimed_name_does_not_take_over_a_proven_host() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::db::open(&dir.path().join("s.db")).unwrap();
        conn.execute(
            "INSERT INTO hosts(name, first_seen, last_seen, last_user) VALUES ('ceo-pc', 1, 1, 'ceo')",
            [],
        )
        .unwrap();
        let seen = LastSeen::default();
        seen.host(HostMatch::new("ceo-pc", true), "ceo", Some("1.0"), 100);
        // In the same batch, and in the next one.
        seen.host(HostMatch::new("ceo-pc", false), "alice", Some("6.6"), 200);
        seen.flush(&conn).unwrap();
        seen.host(HostMatch::new("ceo-pc", false), "alice", Some("6.6"), 300);
        seen.flush(&conn).unwrap();
        let row: (String, i64, String, bool) = conn
            .query_row(
                "SELECT last_user, last_seen, agent_version, proven FROM hosts WHERE name = 'ceo-pc'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row, ("ceo".into(), 100, "1.0".into(), true));
    }
}
