//! One bundle in or out, inside the database's transaction: checked,
//! applied or found already held, numbered, and written to the trace.
//! Both sides go through here; what differs is which way and what it holds.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::sites::bundle::{self, Arrival, Bundle, BundleError, Direction};
use crate::domain::sites::exchange::{self, Applied};
use crate::domain::sites::exchange_guard::{self, Refusals};
use crate::domain::sites::exchange_log::{self, Entry};
use crate::domain::sites::{self, Peer};
use crate::error::Error;
use crate::store::db::to_ms;
use crate::store::sql::Conn;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What became of a bundle that arrived.
#[derive(Debug, Clone)]
pub enum Received {
    Applied {
        site: String,
        number: i64,
        applied: Applied,
        /// The Herald version the other side runs.
        version: String,
    },
    /// Its number was applied already: a duplicate or a late one.
    Held {
        site: String,
        number: i64,
        version: String,
    },
    /// A copy of a bundle applied before (its nonce was seen): mail may
    /// deliver one twice, and anyone holding a copy may post it. Nothing
    /// changed, nothing is answered, and nothing is wrong with the site.
    Copy { site: String, number: i64 },
    /// Not verified, or for no site we know: nothing changed.
    Rejected { site: String, reason: String },
}

impl Received {
    pub fn line(&self) -> String {
        match self {
            Received::Applied {
                site,
                number,
                applied,
                version,
            } => format!(
                "received #{number} from {site}: {}{}",
                applied.summary(),
                version_note(version)
            ),
            Received::Held {
                site,
                number,
                version,
            } => format!(
                "received #{number} from {site} again: already applied, nothing changed{}",
                version_note(version)
            ),
            Received::Copy { site, number } => format!(
                "received #{number} from {site} again: a copy of a bundle already applied \
                 (a replayed bundle: its nonce was seen), nothing changed, not answered"
            ),
            Received::Rejected { site, reason } => {
                format!("REJECTED a bundle said to be from {site}: {reason}")
            }
        }
    }

    pub fn is_rejected(&self) -> bool {
        matches!(self, Received::Rejected { .. })
    }
}

/// The version warning of the multi-site exchange: said with every bundle
/// from a side that runs another Herald than this one.
fn version_note(theirs: &str) -> String {
    if theirs == VERSION {
        String::new()
    } else {
        format!(" (WARNING: the other side runs Herald {theirs}, this one {VERSION}: update one of them)")
    }
}

/// Checks a bundle's text from `peer` going `direction`: its signature,
/// site, direction and age. No database: it runs off the writer, so a
/// bundle nobody signed costs the writer nothing.
/// `me`: this side's key, which opens the sealed body.
pub fn verify<T: DeserializeOwned>(
    peer: &Peer,
    me: &SigningKey,
    text: &str,
    direction: Direction,
    now: DateTime<Utc>,
) -> Result<Result<Bundle<T>, BundleError>, Error> {
    let key = peer.verifying_key()?;
    Ok(
        bundle::open(text, &key, me, &peer.name, direction).and_then(|b| {
            bundle::check_fresh(&b, now)?;
            Ok(b)
        }),
    )
}

/// Checks a bundle from `peer` going `direction`, and applies it with
/// `apply` if its number is new. A refusal is logged and changes nothing
/// else; the caller's transaction keeps the log line.
#[allow(clippy::too_many_arguments)]
pub fn receive<T: DeserializeOwned>(
    conn: &Conn,
    peer: &Peer,
    me: &SigningKey,
    text: &str,
    direction: Direction,
    now: DateTime<Utc>,
    refusals: &Refusals,
    apply: impl FnOnce(&Conn, &T) -> Result<Applied, Error>,
) -> Result<Received, Error> {
    let checked = verify(peer, me, text, direction, now)?;
    accept(conn, &peer.name, checked, direction, now, refusals, apply)
}

/// A bundle checked by `verify`, on the writer: refused if its nonce was
/// seen (a replay: it gets no answer), else applied if its number is new.
pub fn accept<T>(
    conn: &Conn,
    site: &str,
    checked: Result<Bundle<T>, BundleError>,
    direction: Direction,
    now: DateTime<Utc>,
    refusals: &Refusals,
    apply: impl FnOnce(&Conn, &T) -> Result<Applied, Error>,
) -> Result<Received, Error> {
    // Read again here: the numbers may have moved since it was checked.
    let peer = sites::require(conn, site)?;
    let b = match checked {
        Ok(b) => b,
        Err(e) => return reject(conn, &peer.name, &e.to_string(), direction, now, refusals),
    };
    if let Err(e) = exchange_guard::remember_nonce(conn, &peer.name, &b.nonce, b.created, now)? {
        if e == BundleError::Replayed && b.number <= peer.applied {
            return copy(conn, &peer.name, b.number, now, refusals);
        }
        return reject(conn, &peer.name, &e.to_string(), direction, now, refusals);
    }
    let received = match bundle::arrival(b.number, peer.applied) {
        Arrival::Apply => {
            let applied = apply(conn, &b.body)?;
            sites::received(conn, &peer, Some(b.number), b.ack, &b.sender_version, now)?;
            Received::Applied {
                site: peer.name.clone(),
                number: b.number,
                applied,
                version: b.sender_version.clone(),
            }
        }
        Arrival::AlreadyHeld => {
            sites::received(conn, &peer, None, b.ack, &b.sender_version, now)?;
            Received::Held {
                site: peer.name.clone(),
                number: b.number,
                version: b.sender_version.clone(),
            }
        }
    };
    let (outcome, number) = match &received {
        Received::Applied { number, .. } => ("ok", *number),
        _ => ("duplicate", b.number),
    };
    let detail = received.line();
    let entry = Entry {
        site: &peer.name,
        event: "receive",
        number: Some(number),
        outcome,
        detail: &detail,
    };
    exchange_log::record(conn, &entry, now)?;
    Ok(received)
}

/// A copy of a bundle applied before: traced as refused, at most once a
/// minute per site like any refusal, but the site is not marked failing.
fn copy(
    conn: &Conn,
    site: &str,
    number: i64,
    now: DateTime<Utc>,
    refusals: &Refusals,
) -> Result<Received, Error> {
    let received = Received::Copy {
        site: site.to_owned(),
        number,
    };
    match refusals.admit(site, now) {
        Some(unwritten) => {
            trace_refused(conn, site, Some(number), received.line(), unwritten, now)?;
        }
        None => tracing::debug!(%site, number, "a copy of a bundle, trace line left out"),
    }
    Ok(received)
}

/// Writes a refusal's trace line, saying how many the limit left out
/// before it; returns the line.
fn trace_refused(
    conn: &Conn,
    site: &str,
    number: Option<i64>,
    mut detail: String,
    unwritten: u64,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    if unwritten > 0 {
        detail.push_str(&format!(
            " ({unwritten} more refused since the last such line, not written)"
        ));
    }
    let entry = Entry {
        site,
        event: "receive",
        number,
        outcome: "rejected",
        detail: &detail,
    };
    exchange_log::record(conn, &entry, now)?;
    Ok(detail)
}

/// A refused bundle from a registered site. Anyone can post one, so at
/// most one a minute per site goes to the trace (see `Refusals`). Only a
/// relay marks its peer failing: what the central server refuses says
/// nothing of the relay, and must not make a live one look broken.
pub fn reject(
    conn: &Conn,
    site: &str,
    reason: &str,
    direction: Direction,
    now: DateTime<Utc>,
    refusals: &Refusals,
) -> Result<Received, Error> {
    let received = Received::Rejected {
        site: site.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(unwritten) = refusals.admit(site, now) {
        refused_line(conn, &received, unwritten, direction, now)?;
    } else {
        tracing::debug!(%site, %reason, "bundle rejected, trace line left out");
    }
    Ok(received)
}

/// Writes a refusal `refusals` admitted, `unwritten` being how many it
/// left out before.
pub fn refused_line(
    conn: &Conn,
    received: &Received,
    unwritten: u64,
    direction: Direction,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Received::Rejected { site, reason } = received else {
        return Ok(());
    };
    tracing::warn!(%site, %reason, unwritten, "bundle rejected");
    let detail = trace_refused(conn, site, None, received.line(), unwritten, now)?;
    if direction == Direction::Down && sites::get(conn, site)?.is_some() {
        sites::failed(conn, site, &detail)?;
    }
    Ok(())
}

/// Numbers, signs and logs the next bundle to `peer`, holding `body`
/// (changes up to `now`).
pub fn seal<T: Serialize>(
    conn: &Conn,
    peer: &str,
    direction: Direction,
    key: &SigningKey,
    body: T,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(i64, String), Error> {
    let p = sites::require(conn, peer)?;
    let number = sites::next_number(conn, peer, to_ms(now))?;
    let b = Bundle {
        site: p.name.clone(),
        direction,
        number,
        ack: p.applied,
        created: now,
        nonce: bundle::new_nonce(),
        sender_version: VERSION.to_owned(),
        body,
    };
    let text =
        bundle::seal(&b, key, &p.verifying_key()?).map_err(|e| Error::Internal(e.to_string()))?;
    let detail = format!(
        "sent #{number} to {}: {what}; acknowledges #{}",
        p.name, p.applied
    );
    let entry = Entry {
        site: &p.name,
        event: "send",
        number: Some(number),
        outcome: "ok",
        detail: &detail,
    };
    exchange_log::record(conn, &entry, now)?;
    Ok((number, text))
}

/// The answer to every refused bundle at the central server, whatever the
/// reason: a poster learns nothing, not even whether the site exists. The
/// reason goes to the trace, for the site's own bundles.
pub const REFUSED: &str = "refused: not a current bundle signed by a site registered here \
                           (the central server's exchange trace says why)";

/// At the central server: the site a bundle's text names, before anything
/// is checked; `None` if it names none (refused with no trace line).
pub fn central_site(text: &str) -> Option<String> {
    match bundle::peek(text) {
        Ok((site, _)) => Some(site),
        Err(e) => {
            tracing::warn!(reason = %e, "bundle refused");
            None
        }
    }
}

/// A bundle for no registered site: refused without a line in the trace,
/// since anyone can post, and the trace is for the sites.
pub fn unknown(site: &str) -> Received {
    tracing::warn!(%site, "bundle for no site here refused");
    Received::Rejected {
        site: site.to_owned(),
        reason: "no such site here (site add makes one)".to_owned(),
    }
}

/// At the central server: a bundle from a site, all in one (tests, the
/// bench); the server checks it off the writer (`exchange::incoming`).
pub fn central_receive(
    conn: &Conn,
    text: &str,
    now: DateTime<Utc>,
    refusals: &Refusals,
) -> Result<Received, Error> {
    let Some(site) = central_site(text) else {
        return Ok(unknown("?"));
    };
    let Some(peer) = sites::get(conn, &site)? else {
        return Ok(unknown(&site));
    };
    let me = sites::own_key(conn)?;
    receive(
        conn,
        &peer,
        &me,
        text,
        Direction::Up,
        now,
        refusals,
        |c, up| exchange::apply_up(c, &peer.name, up, now),
    )
}

/// At the central server: the next bundle down to `site`.
pub fn central_seal(conn: &Conn, site: &str, now: DateTime<Utc>) -> Result<(i64, String), Error> {
    let peer = sites::require(conn, site)?;
    let key = sites::own_key(conn)?;
    let down = exchange::down_for(conn, &peer.name, peer.acked_as_of, now)?;
    let what = format!(
        "{} messages, {} preferences",
        down.messages.len(),
        down.prefs.len()
    );
    seal(conn, &peer.name, Direction::Down, &key, down, &what, now)
}

/// At a relay: a bundle from the central server.
pub fn relay_receive(
    conn: &Conn,
    site: &str,
    key: &SigningKey,
    text: &str,
    now: DateTime<Utc>,
    refusals: &Refusals,
) -> Result<Received, Error> {
    let peer = sites::require(conn, site)?;
    receive(
        conn,
        &peer,
        key,
        text,
        Direction::Down,
        now,
        refusals,
        |c, down| exchange::apply_down(c, &peer.name, down),
    )
}

/// At a relay: the next bundle up to the central server.
pub fn relay_seal(
    conn: &Conn,
    site: &str,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<(i64, String), Error> {
    let peer = sites::require(conn, site)?;
    let up = exchange::up_for(conn, peer.acked_as_of, now)?;
    let what = format!(
        "{} receipts, {} users, {} hosts",
        up.receipts.len(),
        up.users.len(),
        up.hosts.len()
    );
    seal(conn, &peer.name, Direction::Up, key, up, &what, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_from_another_version_says_so() {
        assert_eq!(version_note(VERSION), "");
        let note = version_note("0.0.1");
        assert!(
            note.contains("runs Herald 0.0.1") && note.contains(VERSION),
            "{note}"
        );
    }
}
