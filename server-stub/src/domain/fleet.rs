//! The fleet page: every host, whether it is overdue, outdated, and how
//! the server can reach it now.

use std::collections::HashSet;
use std::time::Duration;

use crate::store::sql::{params, Conn};
use chrono::{DateTime, Utc};
use herald_protocol::{FleetHost, FleetReport, PushState};

use crate::config::AgentPolicy;
use crate::domain::messages::poll;
use crate::error::Error;
use crate::store::db::{from_ms, to_ms};

/// Missed polls before a host counts as overdue.
pub const OVERDUE_POLLS: u64 = 3;

/// `streaming`: folded names of the hosts holding a push stream now.
pub fn report(
    conn: &Conn,
    policy: &AgentPolicy,
    streaming: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<FleetReport, Error> {
    let overdue_after = policy.poll_interval_secs.saturating_mul(OVERDUE_POLLS);
    let listening = listening_hosts(conn, now, policy.listener_max_age())?;
    let mut stmt = conn.prepare(
        "SELECT name, last_user, last_seen, agent_version, proven FROM hosts ORDER BY name COLLATE NOCASE",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
        ))
    })?;
    let mut hosts = Vec::new();
    for row in rows {
        let (name, last_user, seen_ms, agent_version, proven) = row?;
        let last_seen = from_ms(seen_ms);
        let silent = (now - last_seen).num_seconds().max(0).unsigned_abs();
        let folded = name.to_ascii_lowercase();
        let push = if streaming.contains(&folded) {
            PushState::Stream
        } else if listening.contains(&folded) {
            PushState::Inbound
        } else {
            PushState::Poll
        };
        let version_warning = if agent_version.is_empty() {
            None
        } else {
            poll::version_warning(policy, &agent_version)
        };
        hosts.push(FleetHost {
            name,
            last_user,
            last_seen,
            agent_version,
            overdue: silent > overdue_after,
            version_warning,
            push,
            proven,
        });
    }
    Ok(FleetReport {
        poll_interval_secs: policy.poll_interval_secs,
        min_agent_version: policy.min_agent_version.clone(),
        overdue_after_secs: overdue_after,
        hosts,
    })
}

/// Hosts with an inbound listener young enough to be called.
fn listening_hosts(
    conn: &Conn,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<HashSet<String>, Error> {
    let since = to_ms(now) - i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare("SELECT DISTINCT host FROM push_listeners WHERE seen_at >= ?1")?;
    let rows = stmt.query_map(params![since], |r| r.get::<_, String>(0))?;
    rows.map(|h| Ok(h?.to_ascii_lowercase())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn db() -> Conn {
        let conn = Conn::from_sqlite(rusqlite::Connection::open_in_memory().unwrap());
        conn.execute_batch(
            "CREATE TABLE hosts(name TEXT, last_user TEXT, last_seen INTEGER, agent_version TEXT, proven INTEGER);
             CREATE TABLE push_listeners(host TEXT, seen_at INTEGER);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn overdue_after_three_missed_polls_and_push_state_by_host() {
        let conn = db();
        let now = Utc.timestamp_opt(1_000_000, 0).unwrap();
        let at = |secs: i64| to_ms(now) - secs * 1000;
        conn.execute(
            "INSERT INTO hosts VALUES ('PC-1','ann',?1,'0.9',1), ('pc-2','bob',?2,'',0), ('pc-3','cy',?3,'2.0',1)",
            params![at(60 * 3 + 1), at(60 * 3), at(5)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO push_listeners VALUES ('pc-2', ?1)",
            params![at(10)],
        )
        .unwrap();
        let policy = AgentPolicy {
            poll_interval_secs: 60,
            min_agent_version: Some("1.0".into()),
            push: herald_protocol::PushMode::Stream,
        };
        let streaming = HashSet::from(["pc-3".to_owned()]);
        let r = report(&conn, &policy, &streaming, now).unwrap();
        let state: Vec<_> = r
            .hosts
            .iter()
            .map(|h| {
                (
                    h.name.as_str(),
                    h.overdue,
                    h.push,
                    h.version_warning.is_some(),
                    h.proven,
                )
            })
            .collect();
        assert_eq!(
            state,
            [
                ("PC-1", true, PushState::Poll, true, true),
                ("pc-2", false, PushState::Inbound, false, false),
                ("pc-3", false, PushState::Stream, false, true),
            ]
        );
    }
}
