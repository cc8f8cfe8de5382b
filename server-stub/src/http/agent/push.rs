//! The push stream through the router, for a connection hyper already
//! serves; a fresh connection asking for it is served by
//! `net::bare_stream` and never gets here.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use futures_util::StreamExt;
use herald_protocol::ErrorBody;

use crate::error::Error;
use crate::http::extract::{bearer, Query};
use crate::push::stream;
use crate::state::app::AppState;

/// The push stream: Server-Sent Events carrying `check` hints, or with
/// `?changes=1` the changes themselves (`PushedChange`), with a heartbeat
/// comment so that the agent notices a dead connection. A fresh
/// connection asking for it is served by `net::bare_stream` and never
/// gets here.
#[utoipa::path(get, path = herald_protocol::PUSH_PATH, tag = "agent",
    params(("host" = String, Query, description = "The agent's computer"),
        ("changes" = Option<String>, Query, description = "`1`: send the changes themselves (`change` events whose data is a `PushedChange`), not only `check` hints"),
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event read on an earlier stream: the stream resumes after it when it can")),
    security(("agent_token" = [])),
    responses(
        (status = 200, description = "Server-Sent Events: `ready`, then `change` events or `check` hints, and heartbeats", content_type = "text/event-stream", body = String),
        (status = 404, description = "This server does not offer push streams", body = ErrorBody),
        (status = 400, description = "Bad input", body = ErrorBody)))]
pub(crate) async fn agent_push(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, Error> {
    let ask = stream::Ask {
        host: query.get("host").map(String::as_str),
        changes: stream::Ask::wants_changes(
            query
                .get(herald_protocol::PUSH_CHANGES_PARAM)
                .map(String::as_str),
        ),
        last_event: headers.get("last-event-id").and_then(|v| v.to_str().ok()),
    };
    let reg = stream::open(&st, bearer(&headers), ask).await?;
    // The same bytes as `net::bare_stream` writes on a bare connection.
    let body = stream::events(reg).map(Ok::<_, Infallible>);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/event-stream"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(body),
    ))
}
