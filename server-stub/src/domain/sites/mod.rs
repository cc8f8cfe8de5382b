//! The peers a server exchanges bundles with: at the central server, the
//! site relays it registered; at a relay, the central server, under the
//! site's name. Each peer's numbers make the exchange idempotent (see
//! `bundle`); the central server's own signing key lives here too.
//!
//! Its parts: `bundle` (signed, numbered bundles in their text form) and
//! `seal` (their bodies sealed to the receiver), `exchange` (what bundles
//! hold and how each side applies them), `exchange_flow` (one bundle in or
//! out, in one transaction), `exchange_guard` (nonces and refusals),
//! `exchange_log` (the trace) and `prefs` (central preferences).

pub mod bundle;
pub mod exchange;
pub mod exchange_flow;
pub mod exchange_guard;
pub mod exchange_log;
pub mod prefs;
pub mod seal;

#[cfg(test)]
mod exchange_tests;

use chrono::{DateTime, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use herald_protocol::{SiteInfo, SiteKeys, SiteState, Transport};

use crate::domain::directory;
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::store::sql::{params, Conn, OptionalExtension, Row};

/// The central server's signing key, in `meta`.
const KEY_META: &str = "site_signing_key";
/// Expected time between a site's exchanges when none is given.
pub const DEFAULT_EVERY_SECS: u64 = 3600;

#[derive(Debug, Clone)]
pub struct Peer {
    pub name: String,
    pub transport: Transport,
    pub mail_address: Option<String>,
    pub public_key: String,
    pub every_secs: u64,
    pub sent: i64,
    pub applied: i64,
    pub acked: i64,
    pub acked_as_of: i64,
    pub last_received: Option<i64>,
    pub last_error: Option<String>,
    pub peer_version: Option<String>,
}

impl Peer {
    pub fn verifying_key(&self) -> Result<VerifyingKey, Error> {
        bundle::verifying_key(&self.public_key)
            .map_err(|e| Error::Internal(format!("site {}: {e}", self.name)))
    }
}

const COLUMNS: &str = "name, transport, mail_address, public_key, every_secs, sent, applied, \
                       acked, acked_as_of, last_received, last_error, peer_version";

fn row_to_peer(r: &Row<'_>) -> crate::store::sql::Result<Peer> {
    let transport: String = r.get(1)?;
    let every: i64 = r.get(4)?;
    Ok(Peer {
        name: r.get(0)?,
        transport: Transport::parse(&transport).unwrap_or(Transport::Https),
        mail_address: r.get(2)?,
        public_key: r.get(3)?,
        every_secs: u64::try_from(every).unwrap_or(DEFAULT_EVERY_SECS),
        sent: r.get(5)?,
        applied: r.get(6)?,
        acked: r.get(7)?,
        acked_as_of: r.get(8)?,
        last_received: r.get(9)?,
        last_error: r.get(10)?,
        peer_version: r.get(11)?,
    })
}

/// This server's key for signing bundles, made on first use.
/// This server's exchange key if it was made, without making it: for a
/// reader.
pub fn own_key_if_made(conn: &Conn) -> Result<Option<SigningKey>, Error> {
    db::meta(conn, KEY_META)?
        .map(|text| bundle::signing_key(&text).map_err(|e| Error::Internal(e.to_string())))
        .transpose()
}

pub fn own_key(conn: &Conn) -> Result<SigningKey, Error> {
    if let Some(text) = db::meta(conn, KEY_META)? {
        return bundle::signing_key(&text).map_err(|e| Error::Internal(e.to_string()));
    }
    let key = bundle::generate_key();
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
        [KEY_META, &bundle::key_text(&key)],
    )?;
    // Another instance may have made one first: the stored one stands.
    let text = db::meta(conn, KEY_META)?.unwrap_or_default();
    bundle::signing_key(&text).map_err(|e| Error::Internal(e.to_string()))
}

/// Registers a site and makes its key pair; only the public half stays.
pub fn add(
    conn: &Conn,
    name: &str,
    transport: Transport,
    mail_address: Option<&str>,
    every_secs: u64,
    now: DateTime<Utc>,
) -> Result<SiteKeys, Error> {
    directory::check_name("site", name)?;
    let mail_address = mail_address.map(str::trim).filter(|a| !a.is_empty());
    if transport == Transport::Mail {
        match mail_address {
            Some(a) if a.contains('@') => {}
            _ => {
                return Err(Error::bad(
                    "a site by mail needs the address its relay reads (--mail ADDRESS)",
                ))
            }
        }
    }
    if every_secs < 60 {
        return Err(Error::bad("a site exchanges at most once a minute"));
    }
    if get(conn, name)?.is_some() {
        return Err(Error::Conflict(format!("site '{name}' already exists")));
    }
    let central = own_key(conn)?;
    let key = bundle::generate_key();
    conn.execute(
        "INSERT INTO peers(name, transport, mail_address, public_key, created_at, every_secs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name,
            transport.as_str(),
            mail_address,
            bundle::public_text(&key.verifying_key()),
            to_ms(now),
            i64::try_from(every_secs).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(SiteKeys {
        site: name.to_owned(),
        site_key: bundle::key_text(&key),
        central_key: bundle::public_text(&central.verifying_key()),
        central_mail: None,
    })
}

/// At a relay: the central server as its configuration names it. The
/// numbers stay across restarts; a changed key or address takes effect.
pub fn ensure_central(
    conn: &Conn,
    site: &str,
    transport: Transport,
    mail_address: Option<&str>,
    central_key: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    bundle::verifying_key(central_key)
        .map_err(|e| Error::bad(format!("[relay] central_key: {e}")))?;
    conn.execute(
        "INSERT INTO peers(name, transport, mail_address, public_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(name) DO UPDATE SET transport = excluded.transport,
             mail_address = excluded.mail_address, public_key = excluded.public_key",
        params![
            site,
            transport.as_str(),
            mail_address,
            central_key,
            to_ms(now)
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Conn, name: &str) -> Result<Option<Peer>, Error> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM peers WHERE name = ?1"),
            [name],
            row_to_peer,
        )
        .optional()?)
}

pub fn require(conn: &Conn, name: &str) -> Result<Peer, Error> {
    get(conn, name)?.ok_or_else(|| Error::NotFound(format!("no site '{name}'")))
}

pub fn all(conn: &Conn) -> Result<Vec<Peer>, Error> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM peers ORDER BY name"))?;
    let peers = stmt.query_map([], row_to_peer)?.collect::<Result<_, _>>()?;
    Ok(peers)
}

pub fn remove(conn: &Conn, name: &str) -> Result<(), Error> {
    let tx = db::Atomic::begin(conn)?;
    let n = tx.execute("DELETE FROM peers WHERE name = ?1", [name])?;
    if n == 0 {
        return Err(Error::NotFound(format!("no site '{name}'")));
    }
    tx.execute("DELETE FROM bundles_sent WHERE peer = ?1", [name])?;
    tx.execute("DELETE FROM site_members WHERE site = ?1", [name])?;
    tx.execute("DELETE FROM prefs WHERE site = ?1", [name])?;
    tx.commit()
}

/// Numbers the next bundle to `peer`, holding changes up to `as_of`.
pub fn next_number(conn: &Conn, peer: &str, as_of: i64) -> Result<i64, Error> {
    conn.execute("UPDATE peers SET sent = sent + 1 WHERE name = ?1", [peer])?;
    let number: i64 = conn.query_row("SELECT sent FROM peers WHERE name = ?1", [peer], |r| {
        r.get(0)
    })?;
    conn.execute(
        "INSERT INTO bundles_sent(peer, number, as_of) VALUES (?1, ?2, ?3)",
        params![peer, number, as_of],
    )?;
    Ok(number)
}

/// A bundle from `peer` that verified: its number, if applied, and its
/// acknowledgement of ours. Numbers only rise, whatever order bundles
/// arrive in.
pub fn received(
    conn: &Conn,
    peer: &Peer,
    applied: Option<i64>,
    ack: i64,
    version: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    if let Some(n) = applied {
        conn.execute(
            "UPDATE peers SET applied = ?2 WHERE name = ?1 AND applied < ?2",
            params![peer.name, n],
        )?;
    }
    // An ack above what was sent is a forgery or a rebuilt database: it
    // must not make us skip changes.
    if ack > peer.acked && ack <= peer.sent {
        let as_of: Option<i64> = conn
            .query_row(
                "SELECT as_of FROM bundles_sent WHERE peer = ?1 AND number = ?2",
                params![peer.name, ack],
                |r| r.get(0),
            )
            .optional()?;
        conn.execute(
            "UPDATE peers SET acked = ?2, acked_as_of = COALESCE(?3, acked_as_of) WHERE name = ?1",
            params![peer.name, ack, as_of],
        )?;
        conn.execute(
            "DELETE FROM bundles_sent WHERE peer = ?1 AND number < ?2",
            params![peer.name, ack],
        )?;
    }
    conn.execute(
        "UPDATE peers SET last_received = ?2, peer_version = ?3, last_error = NULL WHERE name = ?1",
        params![peer.name, to_ms(now), version],
    )?;
    Ok(())
}

/// Everything not yet acknowledged goes again next time, from the start:
/// the site has new members, to whom older messages may apply.
pub fn resend_all(conn: &Conn, peer: &str) -> Result<(), Error> {
    conn.execute("UPDATE peers SET acked_as_of = 0 WHERE name = ?1", [peer])?;
    Ok(())
}

pub fn failed(conn: &Conn, peer: &str, error: &str) -> Result<(), Error> {
    conn.execute(
        "UPDATE peers SET last_error = ?2 WHERE name = ?1",
        params![peer, error],
    )?;
    Ok(())
}

/// Up to date, overdue (nothing for twice the expected time) or never.
pub fn state(last: Option<i64>, every_secs: u64, now: DateTime<Utc>) -> SiteState {
    match last {
        None => SiteState::Never,
        Some(ms) => {
            let allowed = i64::try_from(every_secs.saturating_mul(2000)).unwrap_or(i64::MAX);
            if to_ms(now).saturating_sub(ms) > allowed {
                SiteState::Overdue
            } else {
                SiteState::UpToDate
            }
        }
    }
}

/// Every peer as the admin side shows it.
pub fn infos(conn: &Conn, now: DateTime<Utc>) -> Result<Vec<SiteInfo>, Error> {
    let min_version = crate::domain::sites::prefs::effective(conn, None)?
        .get("min-agent-version")
        .cloned();
    let mut out = Vec::new();
    for p in all(conn)? {
        let count = |kind: &str| -> Result<u64, Error> {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM site_members WHERE site = ?1 AND kind = ?2",
                params![p.name, kind],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let version_warning = version_warning(p.peer_version.as_deref(), min_version.as_deref());
        out.push(SiteInfo {
            users: count("user")?,
            hosts: count("host")?,
            state: state(p.last_received, p.every_secs, now),
            last_exchange: p.last_received.map(from_ms),
            version: p.peer_version.clone(),
            version_warning,
            name: p.name,
            transport: p.transport,
            mail_address: p.mail_address,
            every_secs: p.every_secs,
            sent: p.sent,
            applied: p.applied,
            acked: p.acked,
            last_error: p.last_error,
        });
    }
    Ok(out)
}

/// What the admin side says of a peer on another version than this
/// server's, or older than the minimum agent version set centrally.
pub fn version_warning(peer: Option<&str>, min: Option<&str>) -> Option<String> {
    let peer = peer?;
    let ours = env!("CARGO_PKG_VERSION");
    if let Some(min) = min {
        if crate::domain::messages::poll::older(peer, min) {
            return Some(format!(
                "runs Herald {peer}, older than the minimum {min}: update it"
            ));
        }
    }
    (peer != ours).then(|| format!("runs Herald {peer}; this server runs {ours}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_is_overdue_after_twice_its_interval() {
        let now = from_ms(10_000_000);
        assert_eq!(state(None, 3600, now), SiteState::Never);
        assert_eq!(
            state(Some(10_000_000 - 7_000_000), 3600, now),
            SiteState::UpToDate
        );
        assert_eq!(
            state(Some(10_000_000 - 7_300_000), 3600, now),
            SiteState::Overdue
        );
    }

    #[test]
    fn versions_that_differ_are_said() {
        let ours = env!("CARGO_PKG_VERSION");
        assert_eq!(version_warning(Some(ours), None), None);
        assert!(version_warning(Some("0.0.1"), None)
            .unwrap()
            .contains("this server runs"));
        assert!(version_warning(Some("0.0.1"), Some("0.0.2"))
            .unwrap()
            .contains("older than the minimum"));
        assert_eq!(version_warning(None, Some("9.9")), None);
    }

    #[test]
    fn acks_move_forward_only_and_never_past_what_was_sent() {
        let dir = tempfile::tempdir().unwrap();
        let conn = db::open(&dir.path().join("s.db")).unwrap();
        let now = from_ms(1_000_000);
        add(&conn, "plant-a", Transport::Https, None, 3600, now).unwrap();
        assert_eq!(next_number(&conn, "plant-a", 100).unwrap(), 1);
        assert_eq!(next_number(&conn, "plant-a", 200).unwrap(), 2);
        let p = require(&conn, "plant-a").unwrap();
        // An ack of a number never sent changes nothing.
        received(&conn, &p, Some(5), 9, "0.1.0", now).unwrap();
        let p = require(&conn, "plant-a").unwrap();
        assert_eq!((p.applied, p.acked, p.acked_as_of), (5, 0, 0));
        received(&conn, &p, Some(3), 2, "0.1.0", now).unwrap();
        let p = require(&conn, "plant-a").unwrap();
        assert_eq!((p.applied, p.acked, p.acked_as_of), (5, 2, 200));
        // A late ack of 1 does not move it back.
        received(&conn, &p, None, 1, "0.1.0", now).unwrap();
        let p = require(&conn, "plant-a").unwrap();
        assert_eq!((p.acked, p.acked_as_of), (2, 200));
    }
}
