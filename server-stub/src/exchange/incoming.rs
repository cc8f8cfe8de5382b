//! Bundles coming in at a running server: the peer's key read on a reader,
//! the signature and age checked on a blocking thread, and only a bundle
//! that verified taken to the database's writer (besides, at most once a
//! minute per site, a refusal's trace line).

use chrono::Utc;
use serde::de::DeserializeOwned;

use crate::domain::sites::bundle::{self, Bundle, BundleError, Direction};
use crate::domain::sites::exchange::{self, Down, Up};
use crate::domain::sites::exchange_flow::{self, Received};
use crate::domain::sites::{self, Peer};
use crate::error::Error;
use crate::state::app::AppState;
use ed25519_dalek::SigningKey;

async fn check<T: DeserializeOwned + Send + 'static>(
    peer: Peer,
    me: SigningKey,
    text: String,
    direction: Direction,
) -> Result<Result<Bundle<T>, BundleError>, Error> {
    tokio::task::spawn_blocking(move || {
        exchange_flow::verify(&peer, &me, &text, direction, Utc::now())
    })
    .await
    .map_err(|e| Error::Internal(format!("checking a bundle: {e}")))?
}

/// A bundle that did not verify: its trace line if the limit lets it.
async fn refuse(
    st: &AppState,
    site: &str,
    reason: String,
    direction: Direction,
) -> Result<Received, Error> {
    let received = Received::Rejected {
        site: site.to_owned(),
        reason,
    };
    let now = Utc::now();
    match st.exchange.guard.refusals.admit(site, now) {
        Some(unwritten) => {
            let r = received.clone();
            st.write(move |c| exchange_flow::refused_line(c, &r, unwritten, direction, now))
                .await?;
        }
        None => tracing::debug!(%site, "bundle rejected, trace line left out"),
    }
    Ok(received)
}

/// At the central server: a bundle from `peer`'s relay, and with `answer`
/// the bundle down in the same transaction (acknowledging it), unless it
/// was refused.
pub async fn central(
    st: &AppState,
    peer: Peer,
    text: String,
    answer: bool,
) -> Result<(Received, Option<String>), Error> {
    let name = peer.name.clone();
    // A central server with a site has its key (made with the first).
    let me = st
        .read(sites::own_key_if_made)
        .await?
        .ok_or_else(|| Error::Internal("no exchange key here yet".into()))?;
    let checked = match check::<Up>(peer, me, text, Direction::Up).await? {
        Ok(b) => Ok(b),
        Err(e) => {
            let r = refuse(st, &name, e.to_string(), Direction::Up).await?;
            return Ok((r, None));
        }
    };
    let guard = st.exchange.guard.clone();
    st.write(move |c| {
        let now = Utc::now();
        let received = exchange_flow::accept(
            c,
            &name,
            checked,
            Direction::Up,
            now,
            &guard.refusals,
            |c, up| exchange::apply_up(c, &name, up, now),
        )?;
        // Only a bundle taken now is answered: a copy of an old one must
        // not fetch today's messages.
        let reply =
            if answer && matches!(received, Received::Applied { .. } | Received::Held { .. }) {
                Some(exchange_flow::central_seal(c, &name, now)?.1)
            } else {
                None
            };
        Ok((received, reply))
    })
    .await
}

/// At the central server: a bundle found in its mailbox.
pub async fn central_mail(st: &AppState, text: String) -> Result<Received, Error> {
    let (site, text) =
        tokio::task::spawn_blocking(move || (exchange_flow::central_site(&text), text))
            .await
            .map_err(|e| Error::Internal(format!("reading a bundle: {e}")))?;
    let Some(site) = site else {
        return Ok(exchange_flow::unknown("?"));
    };
    let s = site.clone();
    let Some(peer) = st.read(move |c| sites::get(c, &s)).await? else {
        return Ok(exchange_flow::unknown(&site));
    };
    Ok(central(st, peer, text, false).await?.0)
}

/// At a relay: a bundle from the central server, by either transport.
pub async fn relay(st: &AppState, site: &str, text: String) -> Result<Received, Error> {
    let s = site.to_owned();
    let peer = st.read(move |c| sites::require(c, &s)).await?;
    let name = peer.name.clone();
    let me = st
        .exchange
        .relay
        .as_ref()
        .ok_or_else(|| Error::Internal("not a relay: no [relay] key".into()))
        .and_then(|r| {
            bundle::signing_key(&r.key).map_err(|e| Error::bad(format!("[relay] key: {e}")))
        })?;
    let checked = match check::<Down>(peer, me, text, Direction::Down).await? {
        Ok(b) => Ok(b),
        Err(e) => return refuse(st, &name, e.to_string(), Direction::Down).await,
    };
    let guard = st.exchange.guard.clone();
    st.write(move |c| {
        exchange_flow::accept(
            c,
            &name,
            checked,
            Direction::Down,
            Utc::now(),
            &guard.refusals,
            |c, down| exchange::apply_down(c, &name, down),
        )
    })
    .await
}
