//! Console sessions: a random id in an HttpOnly, SameSite=Strict cookie
//! (stored only as a hash), and a CSRF token that every change must carry
//! in a header, which another site's page cannot set.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Duration, Utc};

use crate::accounts::{self, Actor};
use crate::auth;
use crate::db::to_ms;
use crate::error::Error;

pub const COOKIE: &str = "herald_session";
pub const CSRF_HEADER: &str = "x-herald-csrf";
/// A session ends this long after sign-in, used or not.
pub const LIFETIME: Duration = Duration::hours(8);

/// A new session for account `name`: the cookie's value and the CSRF
/// token.
pub fn create(
    conn: &Conn,
    name: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(String, String), Error> {
    let id = auth::new_token();
    let csrf = auth::new_token();
    let account: i64 = conn.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
        r.get(0)
    })?;
    // Sessions that ended are of no use to anyone: cleared on the way.
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [to_ms(now)])?;
    conn.execute(
        "INSERT INTO sessions(id_hash, account_id, csrf, created_at, expires_at, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            auth::hash_token(&id),
            account,
            csrf,
            to_ms(now),
            to_ms(now + LIFETIME),
            source
        ],
    )?;
    Ok((id, csrf))
}

/// The account behind a session cookie, and the session's CSRF token, if
/// the session is live and the account enabled.
pub fn lookup(
    conn: &Conn,
    id: &str,
    source: String,
    now: DateTime<Utc>,
) -> Result<Option<(Actor, String)>, Error> {
    let found: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT a.name, s.csrf FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND a.disabled = 0",
        )?
        .query_row(params![auth::hash_token(id), to_ms(now)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((name, csrf)) = found else {
        return Ok(None);
    };
    Ok(Some((accounts::actor(conn, &name, source)?, csrf)))
}

pub fn delete(conn: &Conn, id: &str) -> Result<(), Error> {
    conn.execute(
        "DELETE FROM sessions WHERE id_hash = ?1",
        [auth::hash_token(id)],
    )?;
    Ok(())
}

/// The session id in a `Cookie` header, if there is one.
pub fn from_cookie(header: Option<&str>) -> Option<&str> {
    header?
        .split(';')
        .map(str::trim)
        .find_map(|c| c.strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value for a new session (or, with `None`, for ending
/// one). `Secure` when the server speaks TLS.
pub fn set_cookie(id: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match id {
        Some(id) => format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            LIFETIME.num_seconds()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// Equal, in a time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// How many failed sign-ins, within how long, lock a name or an address.
const MAX_FAILURES: usize = 5;
const WINDOW: Duration = Duration::minutes(15);
/// Keys remembered at most; the oldest are forgotten first.
const MAX_KEYS: usize = 10_000;

/// Failed sign-ins by account name and by client address, in memory: a
/// restart forgets them, which costs an attacker a restart per five tries.
#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

impl SignInLimiter {
    /// `Err(wait)` when any of `keys` has too many recent failures.
    pub fn check(&self, keys: &[String], now: DateTime<Utc>) -> Result<(), Duration> {
        let map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in keys {
            if let Some(times) = map.get(k) {
                if let Some(wait) = locked_for(times, now) {
                    return Err(wait);
                }
            }
        }
        Ok(())
    }

    pub fn failed(&self, keys: &[String], now: DateTime<Utc>) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_KEYS {
            map.retain(|_, t| t.last().is_some_and(|l| now - *l < WINDOW));
        }
        for k in keys {
            let times = map.entry(k.clone()).or_default();
            times.retain(|t| now - *t < WINDOW);
            times.push(now);
        }
    }

    pub fn succeeded(&self, name_key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name_key);
    }
}

/// How long `times` (failures) lock their key at `now`, if they do.
pub fn locked_for(times: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<Duration> {
    let recent: Vec<&DateTime<Utc>> = times.iter().filter(|t| now - **t < WINDOW).collect();
    if recent.len() < MAX_FAILURES {
        return None;
    }
    // Unlocked when the oldest of the last five leaves the window.
    let oldest = recent[recent.len() - MAX_FAILURES];
    Some(*oldest + WINDOW - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            from_cookie(Some("a=1; herald_session=abc; b=2")),
            Some("abc")
        );
        assert_eq!(from_cookie(Some("herald_session_x=abc")), None);
        assert_eq!(from_cookie(Some("herald_session=")), None);
        assert_eq!(from_cookie(None), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_tls() {
        let c = set_cookie(Some("abc"), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("; Secure"));
        assert!(!set_cookie(Some("abc"), false).contains("Secure"));
        assert!(set_cookie(None, false).contains("Max-Age=0"));
    }

    #[test]
    fn five_failures_in_fifteen_minutes_lock_until_the_first_leaves_the_window() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH + Duration::days(1);
        let min = Duration::minutes;
        let times: Vec<_> = (0..4).map(|i| t0 + min(i)).collect();
        assert_eq!(locked_for(&times, t0 + min(4)), None);
        let mut times = times;
        times.push(t0 + min(4));
        assert_eq!(locked_for(&times, t0 + min(5)), Some(min(10)));
        assert_eq!(locked_for(&times, t0 + min(15)), None);
        // Old failures do not count.
        assert_eq!(locked_for(&times, t0 + min(40)), None);
    }

    #[test]
    fn the_limiter_locks_a_name_and_a_success_clears_it() {
        let l = SignInLimiter::default();
        let now = Utc::now();
        let keys = ["name:ada".to_owned(), "ip:10.0.0.1".to_owned()];
        for _ in 0..5 {
            assert!(l.check(&keys, now).is_ok());
            l.failed(&keys, now);
        }
        assert!(l.check(&keys[..1], now).is_err());
        assert!(l.check(&keys[1..], now).is_err());
        l.succeeded("name:ada");
        assert!(l.check(&keys[..1], now).is_ok());
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
