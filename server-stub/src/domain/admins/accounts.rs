//! Administrators' accounts: who may sign in to the console or call the
//! admin API, with which role, and a sender's limits. Passwords are kept
//! as argon2 hashes; API tokens as SHA-256 hashes, like agents' tokens.

use crate::store::sql::{params, Conn, OptionalExtension};
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use herald_protocol::{
    AccountEdit, AccountInfo, AccountTokenInfo, NewAccount, NewMessage, ReceiptPolicy, Recipient,
    Role, SenderLimits, Severity,
};

use crate::domain::directory;
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::tokens;

/// The name the static admin token acts under.
pub const ADMIN_TOKEN_ACTOR: &str = "admin-token";

/// Who makes a request to the admin API, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
    /// A sender's limits (none for admins).
    pub limits: Option<SenderLimits>,
    /// The client's address, for the audit log.
    pub source: String,
}

impl Actor {
    /// The static admin token: every right, under its own name.
    pub fn admin_token(source: String) -> Actor {
        Actor {
            name: ADMIN_TOKEN_ACTOR.to_owned(),
            role: Role::Admin,
            limits: None,
            source,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses what only an admin may do, saying what.
    pub fn require_admin(&self, what: &str) -> Result<(), Error> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "{}: the sender role cannot {what}",
                self.name
            )))
        }
    }
}

fn check_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !ok || name.eq_ignore_ascii_case(ADMIN_TOKEN_ACTOR) {
        return Err(Error::bad(format!(
            "bad account name '{name}': 1 to 64 letters, digits, '.', '_', '-' or '@' (and not {ADMIN_TOKEN_ACTOR})"
        )));
    }
    Ok(name)
}

/// At least 12 characters: long enough that the rate limit on sign-ins
/// makes guessing hopeless.
pub fn check_password(password: &str) -> Result<(), Error> {
    if password.chars().count() < 12 {
        return Err(Error::bad("the password must have at least 12 characters"));
    }
    Ok(())
}

/// The argon2 hash of a password `check_password` takes. Slow on purpose:
/// run it through `passwords::Passwords`, not on an async or database
/// thread.
pub fn hash_password(password: &str) -> Result<String, Error> {
    check_password(password)?;
    let bytes: [u8; 16] = rand::Rng::random(&mut rand::rng());
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| Error::Internal(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("cannot hash the password: {e}")))
}

/// Creates an account; `password_hash` is `new.password`'s hash
/// (`hash_password`), made beforehand off the database's threads.
pub fn create(
    conn: &Conn,
    new: &NewAccount,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AccountInfo, Error> {
    let name = check_name(&new.name)?;
    let hash = match (&new.password, password_hash) {
        (None, _) => None,
        (Some(_), Some(h)) => Some(h),
        (Some(_), None) => return Err(Error::Internal("the password was not hashed".into())),
    };
    let tx = db::Atomic::begin(conn)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM accounts WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(Error::Conflict(format!("account '{name}' exists")));
    }
    let id: i64 = tx.query_row(
        "INSERT INTO accounts(name, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
         RETURNING id",
        params![name, hash, new.role.as_str(), to_ms(now)],
        |r| r.get(0),
    )?;
    if new.role == Role::Sender {
        // A new sender may do nothing until given limits.
        set_limits(&tx, id, &SenderLimits::default())?;
    }
    let info = get(&tx, name)?;
    tx.commit()?;
    Ok(info)
}

pub fn get(conn: &Conn, name: &str) -> Result<AccountInfo, Error> {
    let row: Option<(i64, String, bool, String, i64, bool)> = conn
        .query_row(
            "SELECT id, name, password_hash IS NOT NULL, role, created_at, disabled
             FROM accounts WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, name, has_password, role, created, disabled)) = row else {
        return Err(Error::NotFound(format!("no account '{name}'")));
    };
    let role: Role = role.parse().map_err(|e| Error::Internal(format!("{e}")))?;
    Ok(AccountInfo {
        name,
        role,
        has_password,
        disabled,
        created_at: from_ms(created),
        limits: limits(conn, id, role)?,
    })
}

pub fn list(conn: &Conn) -> Result<Vec<AccountInfo>, Error> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM accounts ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names.iter().map(|n| get(conn, n)).collect()
}

fn limits(conn: &Conn, id: i64, role: Role) -> Result<Option<SenderLimits>, Error> {
    if role != Role::Sender {
        return Ok(None);
    }
    type Row = (String, String, bool, bool, bool, bool, bool);
    let row: Option<Row> = conn
        .query_row(
            "SELECT targets, severities, receipts, read_addressed, any_sender, answers, fullscreen
             FROM sender_limits WHERE account_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    let Some((targets, severities, receipts, read_addressed, any_sender, answers, fullscreen)) =
        row
    else {
        return Ok(Some(SenderLimits::default()));
    };
    let words = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    Ok(Some(SenderLimits {
        targets: words(&targets),
        severities: words(&severities)
            .iter()
            .map(|w| w.parse().map_err(|e| Error::Internal(format!("{e}"))))
            .collect::<Result<_, _>>()?,
        receipts,
        read_addressed,
        any_sender,
        answers,
        fullscreen,
    }))
}

fn set_limits(conn: &Conn, id: i64, l: &SenderLimits) -> Result<(), Error> {
    for t in &l.targets {
        let r: Recipient = t
            .parse()
            .map_err(|e: herald_protocol::ParseRecipientError| Error::bad(e.to_string()))?;
        let (kind, name) = match &r {
            Recipient::User(n) => ("user", n.as_str()),
            Recipient::Group(n) => ("group", n.as_str()),
            Recipient::Host(n) => ("host", n.as_str()),
            Recipient::All => ("all", ""),
        };
        if !directory::recipient_exists(conn, kind, name)? {
            return Err(Error::bad(format!("unknown recipient '{r}'")));
        }
    }
    let severities: Vec<&str> = l.severities.iter().map(|s| s.as_str()).collect();
    conn.execute(
        "INSERT INTO sender_limits(account_id, targets, severities, receipts, read_addressed, any_sender,
                                   answers, fullscreen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(account_id) DO UPDATE SET
             targets = excluded.targets, severities = excluded.severities, receipts = excluded.receipts,
             read_addressed = excluded.read_addressed, any_sender = excluded.any_sender,
             answers = excluded.answers, fullscreen = excluded.fullscreen",
        params![
            id,
            l.targets.join(","),
            severities.join(","),
            l.receipts,
            l.read_addressed,
            l.any_sender,
            l.answers,
            l.fullscreen
        ],
    )?;
    Ok(())
}

/// Applies an edit; returns the account as it is now and the words for
/// the audit log. `password_hash` is `e.password`'s hash, made beforehand.
pub fn edit(
    conn: &Conn,
    name: &str,
    e: &AccountEdit,
    password_hash: Option<&str>,
) -> Result<(AccountInfo, String), Error> {
    let nothing = AccountEdit {
        keep_tokens: e.keep_tokens,
        ..AccountEdit::default()
    };
    if e == &nothing {
        return Err(Error::bad(
            "nothing to change: give a role, limits, a password or disabled",
        ));
    }
    let tx = db::Atomic::begin(conn)?;
    let before = get(&tx, name)?;
    let id: i64 = tx.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
        r.get(0)
    })?;
    let mut said = Vec::new();
    if let Some(role) = e.role {
        tx.execute(
            "UPDATE accounts SET role = ?2 WHERE id = ?1",
            params![id, role.as_str()],
        )?;
        if role == Role::Sender && before.role != Role::Sender && e.limits.is_none() {
            set_limits(&tx, id, &SenderLimits::default())?;
        }
        said.push(format!("role {} -> {role}", before.role));
    }
    if let Some(l) = &e.limits {
        set_limits(&tx, id, l)?;
        said.push(format!(
            "limits targets={} severities={} receipts={} read_addressed={} any_sender={} answers={} fullscreen={}",
            l.targets.join(","),
            l.severities
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            l.receipts,
            l.read_addressed,
            l.any_sender,
            l.answers,
            l.fullscreen
        ));
    }
    if e.password.is_some() {
        let hash =
            password_hash.ok_or_else(|| Error::Internal("the password was not hashed".into()))?;
        tx.execute(
            "UPDATE accounts SET password_hash = ?2 WHERE id = ?1",
            params![id, hash],
        )?;
        // A new password ends the sessions the old one opened and, unless
        // asked otherwise, the API tokens: a password changed because it
        // leaked is little use if a token made with it lives on.
        let sessions = tx.execute("DELETE FROM sessions WHERE account_id = ?1", [id])?;
        let tokens = if e.keep_tokens {
            0
        } else {
            tx.execute("DELETE FROM account_tokens WHERE account_id = ?1", [id])?
        };
        said.push(format!(
            "password changed ({sessions} session(s) ended, {})",
            if e.keep_tokens {
                "API tokens kept".to_owned()
            } else {
                format!("{tokens} API token(s) revoked")
            }
        ));
    }
    if let Some(d) = e.disabled {
        tx.execute(
            "UPDATE accounts SET disabled = ?2 WHERE id = ?1",
            params![id, d],
        )?;
        if d {
            tx.execute("DELETE FROM sessions WHERE account_id = ?1", [id])?;
        }
        said.push(if d { "disabled" } else { "enabled" }.to_owned());
    }
    let after = get(&tx, name)?;
    tx.commit()?;
    Ok((after, said.join("; ")))
}

fn account_id(conn: &Conn, name: &str) -> Result<i64, Error> {
    conn.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("no account '{name}'")))
}

/// How many hex digits of a token's hash name it: enough to tell an
/// account's tokens apart, and the hash, not the secret.
const TOKEN_ID_LEN: usize = 12;

fn token_id(hash: &str) -> String {
    hash.chars().take(TOKEN_ID_LEN).collect()
}

/// A new API token for the account, and its id; its earlier ones keep
/// working until revoked.
pub fn new_token(conn: &Conn, name: &str, now: DateTime<Utc>) -> Result<(String, String), Error> {
    let id = account_id(conn, name)?;
    let token = tokens::new_token();
    let hash = tokens::hash_token(&token);
    conn.execute(
        "INSERT INTO account_tokens(token_hash, account_id, created_at) VALUES (?1, ?2, ?3)",
        params![hash, id, to_ms(now)],
    )?;
    Ok((token, token_id(&hash)))
}

/// The account's API tokens, oldest first, without their secrets.
pub fn tokens(conn: &Conn, name: &str) -> Result<Vec<AccountTokenInfo>, Error> {
    let id = account_id(conn, name)?;
    let mut stmt = conn.prepare(
        "SELECT token_hash, created_at, last_used_at FROM account_tokens
         WHERE account_id = ?1 ORDER BY created_at, token_hash",
    )?;
    let rows = stmt.query_map([id], |r| {
        let hash: String = r.get(0)?;
        let used: Option<i64> = r.get(2)?;
        Ok(AccountTokenInfo {
            id: token_id(&hash),
            created_at: from_ms(r.get(1)?),
            last_used_at: used.map(from_ms),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes the account's token with this id; the token stops working at
/// once.
pub fn revoke_token(conn: &Conn, name: &str, token: &str) -> Result<(), Error> {
    let id = account_id(conn, name)?;
    let token = token.trim().to_ascii_lowercase();
    if token.len() != TOKEN_ID_LEN || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::bad(format!(
            "bad token id '{token}': {TOKEN_ID_LEN} hex digits, as `token list` shows"
        )));
    }
    let gone = conn.execute(
        "DELETE FROM account_tokens WHERE account_id = ?1 AND substr(token_hash, 1, ?2) = ?3",
        params![id, TOKEN_ID_LEN as i64, token],
    )?;
    if gone == 0 {
        return Err(Error::NotFound(format!(
            "account '{name}' has no token '{token}'"
        )));
    }
    Ok(())
}

/// Records that a token was used now, unless that was already recorded
/// within the last minute: at most one write a minute per token.
pub fn touch_token(conn: &Conn, token: &str, now: DateTime<Utc>) -> Result<(), Error> {
    conn.prepare_cached(
        "UPDATE account_tokens SET last_used_at = ?2
         WHERE token_hash = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
    )?
    .execute(params![
        tokens::hash_token(token),
        to_ms(now),
        to_ms(now - chrono::Duration::minutes(1))
    ])?;
    Ok(())
}

/// Whether a token's last use is recorded as recent enough.
pub fn token_used_recently(conn: &Conn, token: &str, now: DateTime<Utc>) -> Result<bool, Error> {
    let used: Option<Option<i64>> = conn
        .prepare_cached("SELECT last_used_at FROM account_tokens WHERE token_hash = ?1")?
        .query_row([tokens::hash_token(token)], |r| r.get(0))
        .optional()?;
    Ok(used
        .flatten()
        .is_some_and(|t| t >= to_ms(now - chrono::Duration::minutes(1))))
}

/// The account an API token belongs to, if it is enabled.
pub fn by_token(conn: &Conn, token: &str, source: String) -> Result<Option<Actor>, Error> {
    let name: Option<String> = conn
        .prepare_cached(
            "SELECT a.name FROM account_tokens t JOIN accounts a ON a.id = t.account_id
             WHERE t.token_hash = ?1 AND a.disabled = 0",
        )?
        .query_row([tokens::hash_token(token)], |r| r.get(0))
        .optional()?;
    name.map(|n| actor(conn, &n, source)).transpose()
}

pub fn actor(conn: &Conn, name: &str, source: String) -> Result<Actor, Error> {
    let a = get(conn, name)?;
    Ok(Actor {
        name: a.name,
        role: a.role,
        limits: a.limits,
        source,
    })
}

/// An enabled account's name as stored and its password hash; `None` when
/// there is no such account, it has no password, or it is disabled.
pub fn password_of(conn: &Conn, name: &str) -> Result<Option<(String, String)>, Error> {
    let row: Option<(String, Option<String>, bool)> = conn
        .query_row(
            "SELECT name, password_hash, disabled FROM accounts WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match row {
        Some((name, Some(hash), false)) => Some((name, hash)),
        _ => None,
    })
}

/// Checks a password against `password_of`'s hash. Without one it spends
/// the same work, so that timing does not tell which names exist. Slow on
/// purpose, like `hash_password`.
pub fn verify_password(hash: Option<&str>, password: &str) -> Result<bool, Error> {
    let Some(hash) = hash else {
        let _ = hash_password("a dummy password to spend the same time");
        return Ok(false);
    };
    let parsed = PasswordHash::new(hash).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Refuses a message a sender may not send, with the reason; an admin
/// may send anything.
pub fn check_message(conn: &Conn, actor: &Actor, m: &NewMessage) -> Result<(), Error> {
    let Some(limits) = &actor.limits else {
        return Ok(());
    };
    check_severity(actor, limits, m.severity)?;
    if m.receipt.unwrap_or(ReceiptPolicy::Read) != ReceiptPolicy::None && !limits.receipts {
        return Err(Error::Forbidden(format!(
            "{} may not ask for receipts: send with receipt none",
            actor.name
        )));
    }
    if !m.extras.answers.is_empty() && !limits.answers {
        return Err(Error::Forbidden(format!(
            "{} may not ask for answers",
            actor.name
        )));
    }
    if m.extras.display == herald_protocol::Display::Fullscreen && !limits.fullscreen {
        return Err(Error::Forbidden(format!(
            "{} may not send fullscreen messages",
            actor.name
        )));
    }
    for spec in m.to.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if spec.is_empty() {
            continue;
        }
        let r: Recipient = spec
            .parse()
            .map_err(|e: herald_protocol::ParseRecipientError| Error::bad(e.to_string()))?;
        if !may_target(conn, limits, &r)? {
            return Err(Error::Forbidden(format!(
                "{} may not send to {r}",
                actor.name
            )));
        }
    }
    Ok(())
}

pub fn check_severity(actor: &Actor, limits: &SenderLimits, s: Severity) -> Result<(), Error> {
    let allowed = if limits.severities.is_empty() {
        s != Severity::Alert
    } else {
        limits.severities.contains(&s)
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "{} may not send {s} messages",
            actor.name
        )))
    }
}

pub(crate) fn may_target(conn: &Conn, limits: &SenderLimits, r: &Recipient) -> Result<bool, Error> {
    let allowed: Vec<Recipient> = limits
        .targets
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    // Names are case-insensitive, as everywhere in the directory.
    let named = r.to_string();
    if allowed
        .iter()
        .any(|a| *a == Recipient::All || a.to_string().eq_ignore_ascii_case(&named))
    {
        return Ok(true);
    }
    let Recipient::User(user) = r else {
        return Ok(false);
    };
    for a in &allowed {
        if let Recipient::Group(g) = a {
            if directory::members(conn, g)?
                .iter()
                .any(|m| m.eq_ignore_ascii_case(user))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
