//! Inbound push, the server's side: which agents take calls and where, and
//! the signed, empty "check now" calls made to them. A call only makes the
//! agent poll, so a lost one costs at most one poll interval.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use herald_protocol::{sign, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, INBOUND_PATH};
use rand::Rng;

use crate::auth;
use crate::db::to_ms;
use crate::directory::User;
use crate::error::Error;
use crate::push::Targets;

/// An agent to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub user: String,
    pub host: String,
    pub addr: SocketAddr,
    pub secret: String,
}

/// Calls in flight at once; the rest wait their turn.
const PARALLEL_CALLS: usize = 64;
/// A desktop that does not answer this fast is not going to.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

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
    let secret = held.unwrap_or_else(auth::new_token);
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

/// The HTTP client for calls: no proxy (the desktops are on the server's
/// own network) and a short timeout.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(CALL_TIMEOUT)
        .user_agent(concat!("herald-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Calls every listener, some at once; returns how many answered "accepted".
pub async fn call_all(http: &reqwest::Client, listeners: Vec<Listener>) -> usize {
    futures_util::stream::iter(listeners)
        .map(|l| async move {
            let result = call(http, &l).await;
            if let Err(e) = &result {
                tracing::info!(user = %l.user, host = %l.host, addr = %l.addr, error = %e, "inbound push call failed");
            }
            result.is_ok()
        })
        .buffer_unordered(PARALLEL_CALLS)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

async fn call(http: &reqwest::Client, l: &Listener) -> Result<(), String> {
    let ts = Utc::now().timestamp();
    let nonce = hex::encode(rand::rng().random::<[u8; 16]>());
    let resp = http
        .post(format!("http://{}{INBOUND_PATH}", l.addr))
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_NONCE, &nonce)
        .header(HEADER_SIGNATURE, sign(&l.secret, ts, &nonce, &l.host))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("the agent answered {}", resp.status()))
    }
}
