//! Inbound push, the server's side: which agents take calls and where,
//! with the key each call is signed with. The calls themselves are
//! `push::inbound`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::directory::targets::Targets;
use crate::domain::directory::User;
use crate::error::Error;
use crate::store::db::to_ms;
use crate::store::sql::{params, Conn, OptionalExtension};
use crate::tokens;

/// An agent to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub user: String,
    pub host: String,
    pub addr: SocketAddr,
    pub secret: String,
}

/// Records that `user` at `host` listens at `ip:port`, as its poll just
/// said, and returns the key for calls to it. The key stays with the
/// (user, host) pair: an agent that moves keeps it.
pub fn register(
    conn: &Conn,
    user: &User,
    host: &str,
    ip: IpAddr,
    port: u16,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let held: Option<String> = conn
        .query_row(
            "SELECT secret FROM push_listeners WHERE user_id = ?1 AND host = ?2",
            params![user.id, host],
            |r| r.get(0),
        )
        .optional()?;
    let new = held.is_none();
    let secret = held.unwrap_or_else(tokens::new_token);
    conn.execute(
        "INSERT INTO push_listeners(user_id, host, ip, port, secret, seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(user_id, host) DO UPDATE SET ip = ?3, port = ?4, seen_at = ?6",
        params![user.id, host, ip.to_string(), port, secret, to_ms(now)],
    )?;
    if new {
        keep_newest(conn, user, MAX_LISTENERS_PER_USER)?;
    }
    Ok(secret)
}

/// Listeners one user may have. A token that claims ever more computers
/// must not make the server call ever more addresses; past this, the
/// user's longest-silent listener is dropped (its agent still polls).
pub const MAX_LISTENERS_PER_USER: usize = 16;

fn keep_newest(conn: &Conn, user: &User, max: usize) -> Result<(), Error> {
    let dropped = conn.execute(
        "DELETE FROM push_listeners WHERE user_id = ?1 AND host NOT IN (
             SELECT host FROM push_listeners WHERE user_id = ?1
             ORDER BY seen_at DESC, host LIMIT ?2)",
        params![user.id, max],
    )?;
    if dropped > 0 {
        tracing::warn!(
            user = %user.name,
            max,
            dropped,
            "too many inbound listeners for one user; the longest silent are no longer called"
        );
    }
    Ok(())
}

/// The key of the listener `user` at `host` registered at `ip:port`, if it
/// is registered there: a read-only answer to a poll that announces an
/// address the server already knows.
pub fn held_at(
    conn: &Conn,
    user: &User,
    host: &str,
    ip: IpAddr,
    port: u16,
) -> Result<Option<String>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT secret FROM push_listeners WHERE user_id = ?1 AND host = ?2 AND ip = ?3 AND port = ?4",
        )?
        .query_row(params![user.id, host, ip.to_string(), port], |r| r.get(0))
        .optional()?)
}

/// The key of a listener heard from within `max_age`, for a poll that did
/// not announce a port (a one-shot `herald-agent sync` beside the running
/// agent): its answer must not take the key from the running agent.
pub fn live_secret(
    conn: &Conn,
    user: &User,
    host: &str,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Option<String>, Error> {
    Ok(conn
        .query_row(
            "SELECT secret FROM push_listeners WHERE user_id = ?1 AND host = ?2 AND seen_at >= ?3",
            params![user.id, host, since(now, max_age)],
            |r| r.get(0),
        )
        .optional()?)
}

/// The listeners heard from within `max_age` that `targets` reach. Older
/// ones have stopped listening or gone away; calling them would be noise.
pub fn listeners(
    conn: &Conn,
    targets: &Targets,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Vec<Listener>, Error> {
    let mut stmt = conn.prepare(
        "SELECT u.name, l.host, l.ip, l.port, l.secret FROM push_listeners l
         JOIN users u ON u.id = l.user_id WHERE l.seen_at >= ?1",
    )?;
    let rows = stmt.query_map([since(now, max_age)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u16>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (user, host, ip, port, secret) = row?;
        let Ok(ip) = ip.parse::<IpAddr>() else {
            tracing::warn!(%user, %host, %ip, "push listener with a bad address; skipped");
            continue;
        };
        if targets.reaches(&user, &host) {
            out.push(Listener {
                user,
                host,
                addr: SocketAddr::new(ip, port),
                secret,
            });
        }
    }
    Ok(out)
}

fn since(now: DateTime<Utc>, max_age: Duration) -> i64 {
    to_ms(now).saturating_sub(i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX))
}
