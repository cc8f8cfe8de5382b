//! Enrollment keys and the tokens they give: an agent with no token
//! presents a key with its user and host names and gets a token that works
//! for that user on that computer only. The key trusts the workstation's
//! word for who is logged on; revoking it stops new enrollments, and
//! `host revoke` or `user token` log enrolled agents out.

use crate::store::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Utc};
use herald_protocol::{EnrollKeyCreated, EnrollKeyInfo, Enrolled};

use crate::domain::directory;
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::tokens;

/// Creates a key; the key itself is returned once and kept only hashed.
pub fn create_key(
    conn: &Conn,
    expires_at: Option<DateTime<Utc>>,
    hosts: Option<&str>,
    now: DateTime<Utc>,
) -> Result<EnrollKeyCreated, Error> {
    let hosts = hosts.map(str::trim).filter(|h| !h.is_empty());
    if let Some(pattern) = hosts {
        check_pattern(pattern)?;
    }
    if expires_at.is_some_and(|t| t <= now) {
        return Err(Error::bad("the key would expire before it is used"));
    }
    let id = tokens::random_id(8);
    let key = tokens::new_token();
    conn.execute(
        "INSERT INTO enroll_keys(id, key_hash, hosts, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            tokens::hash_token(&key),
            hosts.map(str::to_ascii_lowercase),
            to_ms(now),
            expires_at.map(to_ms)
        ],
    )?;
    Ok(EnrollKeyCreated {
        id,
        key,
        expires_at,
        hosts: hosts.map(str::to_ascii_lowercase),
    })
}

pub fn list_keys(conn: &Conn) -> Result<Vec<EnrollKeyInfo>, Error> {
    let mut stmt = conn.prepare(
        "SELECT id, created_at, expires_at, hosts, revoked_at, enrolled
         FROM enroll_keys ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, created, expires, hosts, revoked, enrolled) = row?;
        out.push(EnrollKeyInfo {
            id,
            created_at: from_ms(created),
            expires_at: expires.map(from_ms),
            hosts,
            revoked_at: revoked.map(from_ms),
            enrolled: u64::try_from(enrolled).unwrap_or(0),
        });
    }
    Ok(out)
}

/// Stops a key enrolling; agents it enrolled keep their tokens.
pub fn revoke_key(conn: &Conn, id: &str, now: DateTime<Utc>) -> Result<(), Error> {
    let n = conn.execute(
        "UPDATE enroll_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        params![id, to_ms(now)],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("no enrollment key '{id}'")));
    }
    Ok(())
}

/// Logs out every agent on a computer that signed in: they must enroll
/// again. Users' own tokens are not the computer's to lose.
pub fn revoke_host(conn: &Conn, host: &str) -> Result<u64, Error> {
    let host = directory::normalize_host(host)?;
    let tx = db::Atomic::begin(conn)?;
    let n = tx.execute("DELETE FROM host_tokens WHERE host = ?1", [&host])?;
    // The keys for inbound calls they fetched go with them.
    tx.execute("DELETE FROM push_listeners WHERE host = ?1", [&host])?;
    tx.commit()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Checks the key and gives a token for `user` on `host`. A user the
/// server does not know yet is created (with no token of their own): a
/// computer outside the domain is how such users first appear.
pub fn enroll(
    conn: &Conn,
    key: &str,
    user: &str,
    host: &str,
    now: DateTime<Utc>,
) -> Result<Enrolled, Error> {
    let host = directory::normalize_host(host)?;
    directory::check_name("user", user)?;
    let tx = db::Atomic::begin(conn)?;
    let found = tx
        .query_row(
            "SELECT id, hosts, expires_at, revoked_at FROM enroll_keys WHERE key_hash = ?1",
            [tokens::hash_token(key)],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            },
        )
        .optional()?;
    // One answer for unknown, revoked and expired: a guesser learns nothing.
    let refused = || Error::Unauthorized;
    let Some((key_id, hosts, expires, revoked)) = found else {
        return Err(refused());
    };
    if revoked.is_some() || expires.is_some_and(|t| t <= to_ms(now)) {
        return Err(refused());
    }
    if let Some(pattern) = &hosts {
        if !glob(pattern, &host) {
            return Err(Error::Forbidden(format!(
                "this enrollment key does not enroll host '{host}'"
            )));
        }
    }
    let known: Option<(i64, String)> = tx
        .query_row("SELECT id, name FROM users WHERE name = ?1", [user], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (user_id, name) = match known {
        Some(u) => u,
        None => {
            // Their own token is never shown: they sign in by key.
            let id: i64 = tx.query_row(
                "INSERT INTO users(name, token_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
                params![user, tokens::hash_token(&tokens::new_token()), to_ms(now)],
                |r| r.get(0),
            )?;
            tracing::info!(user, %host, key = %key_id, "user created by enrollment");
            (id, user.to_owned())
        }
    };
    // The key vouches for the computer: an admin gave it to be installed
    // there, and `--hosts` may narrow it to names.
    let token = issue_host_token(&tx, user_id, &host, &format!("enroll:{key_id}"), true, now)?;
    tx.execute(
        "UPDATE enroll_keys SET enrolled = enrolled + 1 WHERE id = ?1",
        [&key_id],
    )?;
    tx.commit()?;
    tracing::info!(user = %name, %host, key = %key_id, "agent enrolled");
    Ok(Enrolled {
        token,
        user: name,
        host,
        server_keys: server_keys(now),
    })
}

/// A new token for `user_id` on `host`, replacing theirs there;
/// `proven`: whether the sign-in proved the computer's name too.
pub fn issue_host_token(
    c: &Conn,
    user_id: i64,
    host: &str,
    via: &str,
    proven: bool,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let token = tokens::new_token();
    c.execute(
        "INSERT INTO host_tokens(token_hash, user_id, host, via, created_at, host_proven)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(user_id, host) DO UPDATE SET
             token_hash = excluded.token_hash, via = excluded.via,
             created_at = excluded.created_at, host_proven = excluded.host_proven",
        params![
            tokens::hash_token(&token),
            user_id,
            host,
            via,
            to_ms(now),
            proven
        ],
    )?;
    Ok(token)
}

/// Signs in `principal`'s user on `host` after Kerberos vouched for them:
/// the user must exist (from the directory, usually) and not be disabled.
/// `machine`: the host principal whose ticket came with the user's, if
/// any (checked by the caller); it proves the computer's name, which a
/// user's ticket alone does not.
pub fn kerberos(
    conn: &Conn,
    principal: &str,
    machine: Option<&str>,
    host: &str,
    now: DateTime<Utc>,
) -> Result<Enrolled, Error> {
    let host = directory::normalize_host(host)?;
    let name = principal.split('@').next().unwrap_or(principal);
    let tx = db::Atomic::begin(conn)?;
    let found: Option<(i64, String, bool)> = tx
        .query_row(
            "SELECT id, name, disabled FROM users WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user_id, user, disabled)) = found else {
        return Err(Error::Forbidden(format!(
            "no user '{name}' for the Kerberos principal {principal}"
        )));
    };
    if disabled {
        return Err(Error::Forbidden(format!("user '{user}' is disabled")));
    }
    let proven = match machine {
        Some(m) if machine_is(m, &host) => true,
        Some(m) => {
            return Err(Error::Forbidden(format!(
                "the machine ticket is {m}'s, not host '{host}''s"
            )))
        }
        None => false,
    };
    let via = if proven { "kerberos-host" } else { "kerberos" };
    let token = issue_host_token(&tx, user_id, &host, via, proven, now)?;
    tx.commit()?;
    tracing::info!(%user, %host, %principal, host_proven = proven, "signed in by Kerberos");
    Ok(Enrolled {
        token,
        user,
        host,
        server_keys: server_keys(now),
    })
}

/// The keys that sign this server's messages, for a newly enrolled agent.
fn server_keys(now: DateTime<Utc>) -> Vec<String> {
    crate::store::keyfile::current().map_or_else(Vec::new, |s| s.valid_keys(now))
}

/// Whether `principal` is the host principal of `host` (normalized):
/// `host/NAME@REALM`, where NAME is the host's name, or its full name of
/// which `host` is the first label, as a domain member's is.
pub fn machine_is(principal: &str, host: &str) -> bool {
    let Some(name) = principal
        .split('@')
        .next()
        .and_then(|p| p.strip_prefix("host/"))
    else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    name == host || name.split('.').next() == Some(host) && !host.contains('.')
}

fn check_pattern(pattern: &str) -> Result<(), Error> {
    let ok = pattern.len() <= 253
        && pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*' | '?'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad(format!(
            "bad host pattern '{pattern}': host name characters, '*' and '?'"
        )))
    }
}

/// `*` matches any run of characters, `?` one; case is ignored.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    // Iterative, with one backtrack point: linear-ish, no recursion to blow.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("pc-*", "pc-12"));
        assert!(glob("PC-*", "pc-12"));
        assert!(glob("*", ""));
        assert!(glob("pc-??", "pc-12"));
        assert!(!glob("pc-??", "pc-123"));
        assert!(glob("*.lab.example", "a.b.lab.example"));
        assert!(!glob("pc-*", "laptop-1"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn a_machine_ticket_names_its_own_host_only() {
        assert!(machine_is("host/pc-1@EXAMPLE.ORG", "pc-1"));
        assert!(machine_is("host/PC-1.corp.example@EXAMPLE.ORG", "pc-1"));
        assert!(machine_is(
            "host/pc-1.corp.example@EXAMPLE.ORG",
            "pc-1.corp.example"
        ));
        assert!(!machine_is(
            "host/pc-1.corp.example@EXAMPLE.ORG",
            "pc-1.other.example"
        ));
        assert!(!machine_is("host/pc-12@EXAMPLE.ORG", "pc-1"));
        assert!(!machine_is("alice@EXAMPLE.ORG", "alice"));
        assert!(!machine_is("HTTP/pc-1@EXAMPLE.ORG", "pc-1"));
    }
}
