//! Change tracking per scope, so that a change costs only the agents it
//! concerns a full poll. A message to one group stamps its members; a read
//! receipt stamps its reader (whose other agents must drop the message); a
//! membership change stamps the member. Nobody else's next poll notices.

use crate::store::sql::{Conn, OptionalExtension, Value};

use crate::error::Error;
use crate::store::db;

/// Who a change concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    User(i64),
    Host(String),
}

impl Scope {
    fn key(&self) -> String {
        match self {
            Scope::All => "all".to_owned(),
            Scope::User(id) => format!("user:{id}"),
            Scope::Host(name) => format!("host:{name}"),
        }
    }
}

/// Stamps written by one statement at most. On PostgreSQL every statement
/// is a round trip: a message to a group of 10,000 stamped one row at a
/// time cost a second of its writer (and of the alert's delay); 500 rows a
/// statement make it 20 round trips, and keep SQLite under its limit of
/// placeholders.
const STAMPS_PER_STATEMENT: usize = 500;

/// Records a change that concerns `scopes`; returns the new sequence value.
pub fn record(conn: &Conn, scopes: &[Scope]) -> Result<i64, Error> {
    db::bump_change_seq(conn)?;
    let seq = db::change_seq(conn)?;
    // One statement may not stamp a scope twice (PostgreSQL refuses to
    // update a row twice in one command), and a user in two groups of the
    // message comes twice.
    let keys: std::collections::BTreeSet<String> = scopes.iter().map(Scope::key).collect();
    let keys: Vec<String> = keys.into_iter().collect();
    for chunk in keys.chunks(STAMPS_PER_STATEMENT) {
        let rows: Vec<String> = (2..chunk.len() + 2)
            .map(|i| format!("(?{i}, ?1)"))
            .collect();
        let sql = format!(
            "INSERT INTO change_stamps(scope, seq) VALUES {}
             ON CONFLICT(scope) DO UPDATE SET seq = excluded.seq",
            rows.join(", ")
        );
        let mut values = vec![Value::Int(seq)];
        values.extend(chunk.iter().map(|k| Value::Text(k.clone())));
        // Full chunks and single stamps come back; a remainder of another
        // length would only fill the statement cache.
        let mut stmt = if chunk.len() == STAMPS_PER_STATEMENT || chunk.len() == 1 {
            conn.prepare_cached(&sql)?
        } else {
            conn.prepare(&sql)?
        };
        stmt.execute(values)?;
    }
    Ok(seq)
}

/// The latest change that concerns `user_id` at `host` (0 if none): one
/// primary-key lookup per scope, each a cached statement, which on SQLite
/// costs less than one statement over the three.
pub fn latest_for(conn: &Conn, user_id: i64, host: &str) -> Result<i64, Error> {
    let mut stmt = conn.prepare_cached("SELECT seq FROM change_stamps WHERE scope = ?1")?;
    let mut latest = 0;
    for scope in scope_keys(user_id, host) {
        if let Some(seq) = stmt.query_row([scope], |r| r.get::<_, i64>(0)).optional()? {
            latest = latest.max(seq);
        }
    }
    Ok(latest)
}

/// The scopes whose changes concern `user_id` at `host`, as stamped.
pub fn scope_keys(user_id: i64, host: &str) -> [String; 3] {
    [
        Scope::All.key(),
        Scope::User(user_id).key(),
        Scope::Host(host.to_owned()).key(),
    ]
}

/// Whom a message's recipients name, with groups resolved to their members
/// as they are now (a later membership change stamps the member itself).
pub fn message_scopes(conn: &Conn, message_id: &str) -> Result<Vec<Scope>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT 'all', NULL, NULL FROM recipients WHERE message_id = ?1 AND kind = 'all'
         UNION ALL
         SELECT 'user', u.id, NULL FROM recipients r JOIN users u ON u.name = r.name
          WHERE r.message_id = ?1 AND r.kind = 'user'
         UNION ALL
         SELECT 'user', m.user_id, NULL FROM recipients r
           JOIN groups g ON g.name = r.name JOIN memberships m ON m.group_id = g.id
          WHERE r.message_id = ?1 AND r.kind = 'group'
         UNION ALL
         SELECT 'host', NULL, r.name FROM recipients r WHERE r.message_id = ?1 AND r.kind = 'host'",
    )?;
    let rows = stmt.query_map([message_id], |r| {
        let kind: String = r.get(0)?;
        Ok(match kind.as_str() {
            "all" => Scope::All,
            "user" => Scope::User(r.get(1)?),
            _ => Scope::Host(r.get(2)?),
        })
    })?;
    let mut out: Vec<Scope> = rows.collect::<Result<_, _>>()?;
    out.dedup();
    Ok(out)
}
