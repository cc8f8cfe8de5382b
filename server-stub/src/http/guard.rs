//! Who calls the admin API, and whether they may: the static admin token,
//! an account's API token, or a console session with its CSRF token for a
//! change. Every admin route sits behind `require`, given the least role
//! that may call it where the route is added (`router`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use herald_protocol::Role;

use crate::domain::admins::accounts::{self, Actor};
use crate::domain::admins::sessions;
use crate::error::Error;
use crate::http::extract::bearer;
use crate::state::app::AppState;
use crate::tokens;

/// Where the database keeps the admin token's hash, shared by every
/// instance on it.
pub const TOKEN_HASH_KEY: &str = "admin_token_hash";

/// In front of every route of the admin API, with the least role that may
/// call it (`router` says which): finds the caller, and refuses a sender
/// where only an admin may call, naming the method and the route.
pub(crate) async fn require(
    State((st, least)): State<(AppState, Role)>,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    let (mut parts, body) = req.into_parts();
    let actor = caller(&st, &parts).await?;
    if least == Role::Admin {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or("", MatchedPath::as_str);
        actor.require_admin(&format!("{} {route}", parts.method))?;
    }
    parts.extensions.insert(actor);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

/// Finds who calls the admin API: the static admin token, an account's
/// API token, or a console session (with its CSRF token for a change).
/// Each change's handler writes its audit line, naming the object and
/// what changed, in the transaction of the change.
async fn caller(st: &AppState, req: &Parts) -> Result<Actor, Error> {
    let source = req
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_default();
    let headers = &req.headers;
    match bearer(headers).map(str::to_owned) {
        Ok(token) if tokens::hash_token(&token).as_str() == &*st.admin_token_hash => {
            Ok(Actor::admin_token(source))
        }
        // Another instance may have been given a newer admin token since
        // this one started; the database keeps its hash.
        Ok(token) => {
            let now = Utc::now();
            let given = token.clone();
            let (actor, stale) = st
                .read(move |c| {
                    let hash = tokens::hash_token(&given);
                    if crate::store::db::meta(c, TOKEN_HASH_KEY)?.as_deref() == Some(hash.as_str())
                    {
                        return Ok((Some(Actor::admin_token(source)), false));
                    }
                    let actor = accounts::by_token(c, &given, source)?;
                    let stale = actor.is_some() && !accounts::token_used_recently(c, &given, now)?;
                    Ok((actor, stale))
                })
                .await?;
            let actor = actor.ok_or(Error::Unauthorized)?;
            // A token's last use, for the admin deciding what to revoke:
            // a write at most once a minute per token.
            if stale {
                if let Err(e) = st
                    .write(move |c| accounts::touch_token(c, &token, now))
                    .await
                {
                    tracing::warn!(error = %e, "cannot record a token's use");
                }
            }
            Ok(actor)
        }
        // The console: a session cookie, and for a change its CSRF token.
        Err(_) => {
            let (_, actor, csrf) = session_of(st, headers, source)
                .await?
                .ok_or(Error::Unauthorized)?;
            if req.method != Method::GET {
                check_csrf(headers, &csrf)?;
            }
            Ok(actor)
        }
    }
}

/// The session a request's cookie names, if live.
pub(crate) async fn session_of(
    st: &AppState,
    headers: &HeaderMap,
    source: String,
) -> Result<Option<(String, Actor, String)>, Error> {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let Some(id) = sessions::from_cookie(cookie).map(str::to_owned) else {
        return Ok(None);
    };
    let key = id.clone();
    let found = st
        .read(move |c| sessions::lookup(c, &key, source, Utc::now()))
        .await?;
    Ok(found.map(|(actor, csrf)| (id, actor, csrf)))
}

/// A change made with a session must carry its CSRF token.
pub(crate) fn check_csrf(headers: &HeaderMap, csrf: &str) -> Result<(), Error> {
    let given = headers
        .get(sessions::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sessions::same(given, csrf) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "missing or wrong CSRF token: reload the console".into(),
        ))
    }
}
