//! What the exchange carries of message signing. Down: the central
//! server's signature of each message, which the relay passes on as it is;
//! the central server's keys, which the site's agents trust; and its
//! certificates of the relay's own keys, with which the relay signs the
//! messages it makes. Up: the relay's keys, to be certified.
//!
//! A certificate names its site and lapses after `CERT_DAYS`: each
//! exchange renews it, so a site the central server drops stops being
//! believed by its agents within that time.

use chrono::{DateTime, Duration, Utc};
use herald_protocol::signing::{self as sig, MessageSignature, SiteCert, Trust};
use herald_protocol::{Message, MessageInfo};

use crate::domain::messages::signatures;
use crate::error::Error;
use crate::store::keyfile;
use crate::store::sql::{params, Conn, OptionalExtension};

/// How long a certificate of a relay's key is good for.
pub const CERT_DAYS: i64 = 30;
/// A relay reports its current key and those in their grace period: a few.
const MAX_SITE_KEYS: usize = 8;

fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::Internal(e.to_string()))
}

fn parsed<T: serde::de::DeserializeOwned + Default>(text: Option<String>) -> T {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// At a relay: the keys that sign its messages, for the bundle up.
pub fn own_keys(now: DateTime<Utc>) -> Vec<String> {
    keyfile::current().map_or_else(Vec::new, |s| s.valid_keys(now))
}

/// At the central server: the keys a site's relay reported, checked.
pub fn keep_site_keys(conn: &Conn, site: &str, keys: &[String]) -> Result<(), Error> {
    let good: Vec<String> = keys
        .iter()
        .take(MAX_SITE_KEYS)
        .filter_map(|k| sig::parse_public_key(k).ok())
        .map(|k| hex::encode(k.as_bytes()))
        .collect();
    conn.execute(
        "UPDATE peers SET site_keys = ?2 WHERE name = ?1",
        params![site, json(&good)?],
    )?;
    Ok(())
}

/// At the central server: its keys, and a fresh certificate for each key
/// the site reported. Nothing when this server does not sign.
pub fn for_site(
    conn: &Conn,
    site: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<SiteCert>), Error> {
    let Some(signer) = keyfile::current() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let reported: Option<Option<String>> = conn
        .query_row("SELECT site_keys FROM peers WHERE name = ?1", [site], |r| {
            r.get(0)
        })
        .optional()?;
    let keys: Vec<String> = parsed(reported.flatten());
    let until = now + Duration::days(CERT_DAYS);
    let certs = keys
        .iter()
        .filter_map(|k| sig::parse_public_key(k).ok())
        .map(|k| signer.certify_site(site, &k, until))
        .collect();
    Ok((signer.valid_keys(now), certs))
}

/// At the central server: the stored signature of a message's revision.
pub fn signature_of(
    conn: &Conn,
    id: &str,
    revision: u32,
) -> Result<Option<MessageSignature>, Error> {
    let stored: Option<Option<String>> = conn
        .query_row(
            "SELECT signature FROM messages WHERE id = ?1 AND revision = ?2",
            params![id, revision],
            |r| r.get(0),
        )
        .optional()?;
    Ok(signatures::parse_stored(stored.flatten()))
}

/// At a relay: what the central server said of keys. A bundle from a
/// central server that does not sign says nothing, and changes nothing.
pub fn keep_central(
    conn: &Conn,
    site: &str,
    server_keys: &[String],
    certs: &[SiteCert],
) -> Result<(), Error> {
    if server_keys.is_empty() {
        return Ok(());
    }
    conn.execute(
        "UPDATE peers SET central_keys = ?2, key_certs = ?3 WHERE name = ?1",
        params![site, json(&server_keys)?, json(&certs)?],
    )?;
    Ok(())
}

/// At a relay: a central message's signature, kept as it came (with the
/// signing key's id, as the server's own are kept).
pub fn keep_signature(conn: &Conn, m: &MessageInfo, s: &MessageSignature) -> Result<(), Error> {
    let mut s = s.clone();
    s.site = None;
    conn.execute(
        "UPDATE messages SET signature = ?2, signing_key = ?3 WHERE id = ?1 AND revision = ?4",
        params![m.id, json(&s)?, s.key, m.revision],
    )?;
    Ok(())
}

/// At a relay: the central server's keys, each as its agents are given
/// it (`KEY@SITE`); empty at the central server, or before a relay's first
/// exchange with one that signs.
pub fn keys_for_agents(conn: &Conn) -> Result<Vec<String>, Error> {
    let mut stmt =
        conn.prepare("SELECT name, central_keys FROM peers WHERE central_keys IS NOT NULL")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (site, keys): (String, Option<String>) = row?;
        let keys: Vec<String> = parsed(keys);
        out.extend(keys.into_iter().map(|k| format!("{k}@{site}")));
    }
    Ok(out)
}

/// At a relay: the central server's keys, to tell its signatures from
/// altered ones.
pub fn central_trust(conn: &Conn) -> Result<Trust, Error> {
    let mut trust = Trust::default();
    for k in keys_for_agents(conn)? {
        if let Ok((key, _)) = sig::parse_trusted(&k) {
            trust.add(&key);
        }
    }
    Ok(trust)
}

/// Attaches to each message this relay signed the central server's newest
/// certificate of the key that signed it. Nothing to do at the central
/// server, which holds no certificate.
pub fn attach_certs<'a>(
    conn: &Conn,
    messages: impl Iterator<Item = &'a mut Message>,
) -> Result<(), Error> {
    let mut messages = messages.peekable();
    if messages.peek().is_none() {
        return Ok(());
    }
    let mut stmt =
        conn.prepare_cached("SELECT key_certs FROM peers WHERE key_certs IS NOT NULL")?;
    let stored: Vec<Option<String>> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let certs: Vec<(String, SiteCert)> = stored
        .into_iter()
        .flat_map(parsed::<Vec<SiteCert>>)
        .filter_map(|c| {
            let id = sig::key_id(&sig::parse_public_key(&c.key).ok()?);
            Some((id, c))
        })
        .collect();
    if certs.is_empty() {
        return Ok(());
    }
    for m in messages {
        if let Some(s) = m.signature.as_mut() {
            let newest = certs
                .iter()
                .filter(|(id, _)| *id == s.key)
                .max_by_key(|(_, c)| c.valid_until);
            if let Some((_, c)) = newest {
                s.site = Some(c.clone());
            }
        }
    }
    Ok(())
}
