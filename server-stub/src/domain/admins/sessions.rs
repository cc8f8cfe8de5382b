//! Console sessions: a random id in an HttpOnly, SameSite=Strict cookie
//! (stored only as a hash), and a CSRF token that every change must carry
//! in a header, which another site's page cannot set.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::store::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Duration, Utc};

use crate::domain::admins::accounts::{self, Actor};
use crate::error::Error;
use crate::store::db::to_ms;
use crate::tokens;

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
    let id = tokens::new_token();
    let csrf = tokens::new_token();
    let account: i64 = conn.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
        r.get(0)
    })?;
    // Sessions that ended are of no use to anyone: cleared on the way.
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [to_ms(now)])?;
    conn.execute(
        "INSERT INTO sessions(id_hash, account_id, csrf, created_at, expires_at, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            tokens::hash_token(&id),
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
        .query_row(params![tokens::hash_token(id), to_ms(now)], |r| {
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
        [tokens::hash_token(id)],
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
/// Failed sign-ins in a minute, from everywhere, beyond which nobody may
/// try until the minute has passed: an attacker with many addresses (an
/// IPv6 block has billions) gets no more guesses than this, nor more
/// argon2 work out of the server. Admins' API tokens still work then.
pub const GLOBAL_FAILURES_PER_MINUTE: usize = 100;

/// Failed sign-ins by account name and by client (an IPv4 address or an
/// IPv6 /64, see `keys`), and in all, in memory: a restart forgets them,
/// which costs an attacker a restart per five tries.
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
    /// The last failures from anywhere, oldest first, at most `ceiling`.
    recent: Mutex<VecDeque<DateTime<Utc>>>,
    ceiling: usize,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        SignInLimiter::with_ceiling(GLOBAL_FAILURES_PER_MINUTE)
    }
}

/// The keys a sign-in is limited by: the account name, and the client. An
/// IPv6 client is its /64: one machine or one home gets a whole /64, and
/// would otherwise have a fresh five tries at every address of it.
pub fn keys(name: &str, client: IpAddr) -> [String; 2] {
    [
        format!("name:{}", name.to_lowercase()),
        format!("ip:{}", crate::config::ClientBlock::of(client)),
    ]
}

impl SignInLimiter {
    /// At most `ceiling` failed sign-ins a minute from everywhere.
    pub fn with_ceiling(ceiling: usize) -> Self {
        SignInLimiter {
            failures: Mutex::default(),
            recent: Mutex::default(),
            ceiling: ceiling.max(1),
        }
    }

    /// `Err(wait)` when any of `keys` has too many recent failures, or the
    /// server has had too many in the last minute.
    pub fn check(&self, keys: &[String], now: DateTime<Utc>) -> Result<(), Duration> {
        {
            let recent = self
                .recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let in_minute: Vec<&DateTime<Utc>> = recent
                .iter()
                .filter(|t| now - **t < Duration::minutes(1))
                .collect();
            if in_minute.len() >= self.ceiling {
                return Err(*in_minute[0] + Duration::minutes(1) - now);
            }
        }
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
        {
            let mut recent = self
                .recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            recent.push_back(now);
            while recent.len() > self.ceiling {
                recent.pop_front();
            }
        }
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
    fn an_ipv6_client_is_limited_by_its_64_and_an_ipv4_one_by_its_address() {
        let l = SignInLimiter::default();
        let now = Utc::now();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // Five names, each once, from five addresses of one /64.
        for i in 0..5 {
            let k = keys(&format!("user{i}"), ip(&format!("2001:db8:1:2::{i}")));
            assert!(l.check(&k, now).is_ok());
            l.failed(&k, now);
        }
        let again = keys("someone-else", ip("2001:db8:1:2:ffff::77"));
        assert!(l.check(&again, now).is_err(), "any address of the /64");
        assert!(l
            .check(&keys("someone-else", ip("2001:db8:1:3::1")), now)
            .is_ok());
        // IPv4: each address on its own; a mapped one is the same.
        for i in 0..5 {
            l.failed(&keys(&format!("v4user{i}"), ip("192.0.2.1")), now);
        }
        assert!(l.check(&keys("x", ip("::ffff:192.0.2.1")), now).is_err());
        assert!(l.check(&keys("x", ip("192.0.2.2")), now).is_ok());
        assert_eq!(
            keys("Ada", ip("2001:db8:1:2::9")),
            ["name:ada".to_owned(), "ip:2001:db8:1:2::/64".to_owned()]
        );
    }

    #[test]
    fn failures_from_everywhere_have_a_ceiling_a_minute() {
        let l = SignInLimiter::with_ceiling(10);
        let t0 = DateTime::<Utc>::UNIX_EPOCH + Duration::days(1);
        let secs = Duration::seconds;
        // Ten failures, each from its own address and name, a second apart.
        for i in 0..10 {
            let k = keys(&format!("n{i}"), format!("198.51.100.{i}").parse().unwrap());
            assert!(l.check(&k, t0 + secs(i)).is_ok());
            l.failed(&k, t0 + secs(i));
        }
        let fresh = keys("fresh", "203.0.113.9".parse().unwrap());
        // Nobody may try until the first of them is a minute old.
        assert_eq!(l.check(&fresh, t0 + secs(10)), Err(secs(50)));
        assert!(l.check(&fresh, t0 + secs(60)).is_ok());
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
