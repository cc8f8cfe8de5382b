//! The routes relays call, outside the admin API: the one a relay posts
//! its bundle to (its signature is its credential), and the central key
//! for `exchange test`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use herald_protocol::ErrorBody;

use crate::domain::sites::exchange_flow::{self, Received};
use crate::domain::sites::{self, bundle};
use crate::error::Error;
use crate::exchange::{incoming, SITE_EXCHANGE_PATH, SITE_HEADER, SITE_KEY_PATH};
use crate::state::app::AppState;

/// A bundle carries a site's receipts since its last acknowledged one:
/// after a long cut, more than an ordinary request.
const MAX_BUNDLE_BYTES: usize = 32 * 1024 * 1024;
/// What is read of a body for a site not registered here: enough to
/// answer like any refusal, no more.
const MAX_UNKNOWN_BYTES: usize = 64 * 1024;
const MAX_SITE_NAME: usize = 200;

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// A relay's bundle up; the answer is the bundle down, in the same
/// transaction, so it acknowledges what it answers. Anyone can post here:
/// the site is looked up (on a reader) before the body is read, a body for
/// no registered site may be small only, and the signature is checked off
/// the writer. Every refusal gets the same answer.
#[utoipa::path(post, path = SITE_EXCHANGE_PATH, tag = "site",
    params(("X-Herald-Site" = String, Header, description = "The site the bundle is from")),
    request_body(content = String, content_type = "text/plain", description = "A signed bundle from a site relay"),
    responses(
        (status = 200, description = "The central server's bundle for the site", body = String, content_type = "text/plain"),
        (status = 403, description = "Not a current bundle a registered site signed", body = ErrorBody),
        (status = 413, description = "Too large (small for a site not registered)", body = ErrorBody)))]
pub(crate) async fn site_exchange(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, Error> {
    let site = headers
        .get(SITE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= MAX_SITE_NAME)
        .map(str::to_owned);
    let peer = match site {
        Some(s) => st.read(move |c| sites::get(c, &s)).await?,
        None => None,
    };
    let limit = if peer.is_some() {
        MAX_BUNDLE_BYTES
    } else {
        MAX_UNKNOWN_BYTES
    };
    let guard = st.exchange.guard.clone();
    // Held while the body is read and checked: large bodies one or two at
    // a time, not as many as are posted.
    let _turn = match peer {
        Some(_) => Some(
            guard
                .reading
                .acquire()
                .await
                .map_err(|e| Error::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(too_large());
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Ok(too_large());
    };
    let Some(peer) = peer else {
        return Err(Error::Forbidden(exchange_flow::REFUSED.into()));
    };
    // Not text is not a bundle: refused by the check like any other junk.
    let posted = String::from_utf8(bytes.to_vec()).unwrap_or_default();
    match incoming::central(&st, peer, posted, true).await? {
        (_, Some(text_down)) => Ok(text(StatusCode::OK, text_down)),
        (Received::Rejected { .. } | Received::Copy { .. }, None) => {
            Err(Error::Forbidden(exchange_flow::REFUSED.into()))
        }
        (_, None) => Err(Error::Internal("no answer to send".into())),
    }
}

fn too_large() -> Response {
    let error = "refused: too large for a bundle from a site registered here".to_owned();
    (StatusCode::PAYLOAD_TOO_LARGE, Json(ErrorBody { error })).into_response()
}

/// The central server's public key, for a relay's `exchange test`.
#[utoipa::path(get, path = SITE_KEY_PATH, tag = "site",
    responses((status = 200, description = "The key this server signs bundles with", body = String, content_type = "text/plain")))]
pub(crate) async fn site_key(State(st): State<AppState>) -> Result<Response, Error> {
    let key = st.write(sites::own_key).await?;
    Ok(text(
        StatusCode::OK,
        bundle::public_text(&key.verifying_key()),
    ))
}
