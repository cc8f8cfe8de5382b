//! Signing in to the console: a name and password give a session cookie
//! and a CSRF token; the console then calls the admin API with both, and
//! the admin API's checks (roles, limits, audit) apply to it as to tokens.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use herald_protocol::{ConsoleSession, ErrorBody, SignInRequest};

use crate::domain::admins::accounts::{self, Actor};
use crate::domain::admins::audit;
use crate::domain::admins::sessions;
use crate::error::Error;
use crate::http::extract::{Body, ForwardedHttps};
use crate::http::guard::{check_csrf, session_of};
use crate::state::app::AppState;

fn describe(actor: &Actor, csrf: String) -> ConsoleSession {
    ConsoleSession {
        name: actor.name.clone(),
        role: actor.role,
        limits: actor.limits.clone(),
        csrf,
    }
}

#[utoipa::path(post, path = "/api/v1/console/signin", tag = "console", request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in: the session cookie is set", body = ConsoleSession),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins", body = ErrorBody)))]
pub(crate) async fn sign_in(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    https: Option<Extension<ForwardedHttps>>,
    Body(req): Body<SignInRequest>,
) -> Result<impl IntoResponse, Error> {
    let secure = st.secure_cookies || https.is_some();
    let now = Utc::now();
    let source = peer.ip().to_string();
    // The name as given, cut short: it goes to the audit log even when no
    // account has it.
    let name: String = req.name.trim().chars().take(64).collect();
    let keys = sessions::keys(&name, peer.ip());
    if let Err(wait) = st.sign_ins.check(&keys, now) {
        let minutes = (wait.num_seconds() + 59) / 60;
        return Err(Error::TooMany(format!(
            "too many failed sign-ins: try again in {minutes} minute(s)"
        )));
    }
    let given = name.clone();
    let found = st.read(move |c| accounts::password_of(c, &given)).await?;
    let (account, hash) = found.unzip();
    // Argon2 takes a while on purpose: on its own few threads, apart
    // from the database's readers that agents need.
    let verified = st.passwords.verify(hash, req.password).await?;
    let Some(account) = account.filter(|_| verified) else {
        st.sign_ins.failed(&keys, now);
        let (who, from) = (name.clone(), source.clone());
        st.write(move |c| audit::record_as(c, &who, &from, "sign-in-failed", &who, "", now))
            .await?;
        return Err(Error::Unauthorized);
    };
    st.sign_ins.succeeded(&keys[0]);
    let from = source.clone();
    let (id, actor, csrf) = st
        .write(move |c| {
            let (id, csrf) = sessions::create(c, &account, &from, now)?;
            let actor = accounts::actor(c, &account, from)?;
            audit::record(c, &actor, "sign-in", &account, "console", now)?;
            Ok((id, actor, csrf))
        })
        .await?;
    Ok((
        [(header::SET_COOKIE, sessions::set_cookie(Some(&id), secure))],
        Json(describe(&actor, csrf)),
    ))
}

#[utoipa::path(post, path = "/api/v1/console/signout", tag = "console",
    responses((status = 200, description = "Signed out: the session ends and its cookie is cleared"), (status = 401, description = "No session", body = ErrorBody), (status = 403, description = "Missing or wrong CSRF token", body = ErrorBody)))]
pub(crate) async fn sign_out(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    https: Option<Extension<ForwardedHttps>>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Error> {
    let secure = st.secure_cookies || https.is_some();
    let (id, actor, csrf) = session_of(&st, &headers, peer.ip().to_string())
        .await?
        .ok_or(Error::Unauthorized)?;
    check_csrf(&headers, &csrf)?;
    st.write(move |c| {
        sessions::delete(c, &id)?;
        audit::record(c, &actor, "sign-out", &actor.name, "console", Utc::now())
    })
    .await?;
    Ok([(header::SET_COOKIE, sessions::set_cookie(None, secure))])
}

#[utoipa::path(get, path = "/api/v1/console/session", tag = "console",
    responses((status = 200, description = "Who is signed in, and the CSRF token for changes", body = ConsoleSession), (status = 401, description = "No session", body = ErrorBody)))]
pub(crate) async fn session(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<ConsoleSession>, Error> {
    let (_, actor, csrf) = session_of(&st, &headers, peer.ip().to_string())
        .await?
        .ok_or(Error::Unauthorized)?;
    Ok(Json(describe(&actor, csrf)))
}
