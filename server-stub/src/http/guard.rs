//! Who calls the admin API, and whether they may: the static admin token,
//! an account's API token, or a console session with its CSRF token for a
//! change; a sender's role reaches only the routes it lists. Every admin
//! route sits behind `require_admin` (see `router`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;

use crate::domain::admins::accounts::{self, Actor};
use crate::domain::admins::sessions;
use crate::error::Error;
use crate::http::extract::bearer;
use crate::state::app::AppState;
use crate::tokens;

/// Where the database keeps the admin token's hash, shared by every
/// instance on it.
pub const TOKEN_HASH_KEY: &str = "admin_token_hash";

/// Finds who calls: the static admin token, or an account's API token.
/// A sender may only reach the routes `sender_may` lists; everything else,
/// including any route added later, is an admin's.
pub(crate) async fn require_admin(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, Error> {
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_default();
    let actor = match bearer(req.headers()).map(str::to_owned) {
        Ok(token) if tokens::hash_token(&token).as_str() == &*st.admin_token_hash => {
            Actor::admin_token(source)
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
            actor
        }
        // The console: a session cookie, and for a change its CSRF token.
        Err(_) => {
            let (_, actor, csrf) = session_of(&st, req.headers(), source)
                .await?
                .ok_or(Error::Unauthorized)?;
            if req.method() != Method::GET {
                check_csrf(req.headers(), &csrf)?;
            }
            actor
        }
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| {
            // Relative to the admin API, whether or not axum gives the
            // prefix the router is nested under.
            let p = p.as_str();
            p.strip_prefix("/api/v1/admin").unwrap_or(p).to_owned()
        })
        .unwrap_or_default();
    let method = req.method().clone();
    if !actor.is_admin() && !sender_may(&method, &route) {
        return Err(Error::Forbidden(format!(
            "{}: the sender role cannot {method} /api/v1/admin{route}",
            actor.name
        )));
    }
    // Each change's handler writes its audit line, naming the object and
    // what changed, in the transaction of the change.
    req.extensions_mut().insert(actor);
    Ok(next.run(req).await)
}

/// What a sender may call, besides nothing.
fn sender_may(method: &Method, route: &str) -> bool {
    const READ: &[&str] = &[
        "/messages",
        "/messages/{id}",
        "/messages/{id}/receipts",
        "/messages/{id}/revisions",
        "/messages/{id}/report",
        "/messages/{id}/report.csv",
        "/users",
        "/whoami",
        "/templates",
    ];
    const WRITE: &[(&str, &str)] = &[
        ("POST", "/messages"),
        ("PATCH", "/messages/{id}"),
        ("POST", "/messages/{id}/withdraw"),
        ("POST", "/messages/{id}/unread-again"),
        ("POST", "/audience"),
        ("POST", "/preview"),
    ];
    if *method == Method::GET {
        return READ.contains(&route);
    }
    WRITE.contains(&(method.as_str(), route))
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
