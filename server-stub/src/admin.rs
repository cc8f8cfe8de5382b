//! The admin API. Every route sits behind `require_admin`, one layer on
//! this router, so that a new endpoint cannot forget the check.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Extension, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use herald_protocol::{ErrorBody, HostInfo, Membership, NewUser, UserCreated, UserInfo};

use crate::accounts::{self, Actor};
use crate::api::{AppState, Body, Path};
use crate::audit;
use crate::auth;
use crate::console_api;
use crate::directory;
use crate::error::Error;
use crate::messages_api;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(add_user))
        .route("/users/{name}", delete(remove_user))
        .route("/users/{name}/token", post(rotate_token))
        .route("/groups/{group}/members", post(add_member))
        .route("/groups/{group}/members/{user}", delete(remove_member))
        .route("/hosts", get(list_hosts))
        .route(
            "/messages",
            get(messages_api::list_messages).post(messages_api::send_message),
        )
        .route(
            "/messages/{id}",
            get(messages_api::get_message).patch(messages_api::edit_message),
        )
        .route(
            "/messages/{id}/withdraw",
            post(messages_api::withdraw_message),
        )
        .route(
            "/messages/{id}/receipts",
            get(messages_api::message_receipts),
        )
        .route(
            "/messages/{id}/revisions",
            get(messages_api::message_revisions),
        )
        .route("/messages/{id}/report", get(messages_api::message_report))
        .route(
            "/messages/{id}/report.csv",
            get(messages_api::message_report_csv),
        )
        .route(
            "/messages/{id}/unread-again",
            post(messages_api::unread_again),
        )
        .route("/audience", post(messages_api::audience))
        .route("/fleet", get(crate::fleet::get_fleet))
        .route("/metrics", get(crate::metrics::get_metrics))
        .merge(crate::compose::admin_routes())
        .merge(crate::enroll_api::admin_routes())
        .merge(crate::directory_api::admin_routes())
        .merge(crate::accounts_api::admin_routes())
        .merge(crate::exchange_api::admin_routes())
        // Before any extractor: a request without the admin token learns
        // nothing, not even whether its body would have parsed.
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// Where the database keeps the admin token's hash, shared by every
/// instance on it.
pub const TOKEN_HASH_KEY: &str = "admin_token_hash";

/// Finds who calls: the static admin token, or an account's API token.
/// A sender may only reach the routes `sender_may` lists; everything else,
/// including any route added later, is an admin's.
async fn require_admin(
    State(st): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, Error> {
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_default();
    let actor = match auth::bearer(req.headers()).map(str::to_owned) {
        Ok(token) if auth::hash_token(&token).as_str() == &*st.admin_token_hash => {
            Actor::admin_token(source)
        }
        // Another instance may have been given a newer admin token since
        // this one started; the database keeps its hash.
        Ok(token) => {
            let now = Utc::now();
            let given = token.clone();
            let (actor, stale) = st
                .read(move |c| {
                    let hash = auth::hash_token(&given);
                    if crate::db::meta(c, TOKEN_HASH_KEY)?.as_deref() == Some(hash.as_str()) {
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
            let (_, actor, csrf) = console_api::session_of(&st, req.headers(), source)
                .await?
                .ok_or(Error::Unauthorized)?;
            if req.method() != Method::GET {
                console_api::check_csrf(req.headers(), &csrf)?;
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

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every user", body = Vec<UserInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_users(State(st): State<AppState>) -> Result<Json<Vec<UserInfo>>, Error> {
    st.read(directory::list_users).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewUser,
    security(("admin_token" = [])),
    responses((status = 200, description = "The user and its agent token", body = UserCreated), (status = 400, description = "Bad input", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn add_user(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(new): Body<NewUser>,
) -> Result<Json<UserCreated>, Error> {
    st.write(move |c| {
        let now = Utc::now();
        let token = directory::add_user(c, &new.name, &new.groups, now)?;
        let detail = format!("groups {}", new.groups.join(","));
        audit::record(c, &actor, "user-add", &new.name, &detail, now)?;
        Ok(UserCreated {
            name: new.name,
            token,
        })
    })
    .await
    .map(Json)
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{name}", tag = "admin",
    params(("name" = String, Path, description = "User name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Removed"), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn remove_user(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<(), Error> {
    st.write(move |c| {
        directory::remove_user(c, &name)?;
        audit::record(c, &actor, "user-remove", &name, "", Utc::now())
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/admin/users/{name}/token", tag = "admin",
    params(("name" = String, Path, description = "User name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The new token; the old one no longer works", body = UserCreated), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn rotate_token(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<UserCreated>, Error> {
    st.write(move |c| {
        let token = directory::rotate_token(c, &name)?;
        let detail = "new agent token; the old one no longer works";
        audit::record(c, &actor, "user-token", &name, detail, Utc::now())?;
        Ok(UserCreated { token, name })
    })
    .await
    .map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/groups/{group}/members", tag = "admin", request_body = Membership,
    params(("group" = String, Path, description = "Group name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Added"), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn add_member(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(group): Path<String>,
    Body(m): Body<Membership>,
) -> Result<(), Error> {
    st.write(move |c| {
        directory::add_member(c, &group, &m.user)?;
        let detail = format!("user {} added", m.user);
        audit::record(c, &actor, "group-member-add", &group, &detail, Utc::now())
    })
    .await
}

#[utoipa::path(delete, path = "/api/v1/admin/groups/{group}/members/{user}", tag = "admin",
    params(("group" = String, Path, description = "Group name"), ("user" = String, Path, description = "User name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Removed"), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn remove_member(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((group, user)): Path<(String, String)>,
) -> Result<(), Error> {
    st.write(move |c| {
        directory::remove_member(c, &group, &user)?;
        let detail = format!("user {user} removed");
        audit::record(
            c,
            &actor,
            "group-member-remove",
            &group,
            &detail,
            Utc::now(),
        )
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/admin/hosts", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every host an agent has polled from", body = Vec<HostInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn list_hosts(State(st): State<AppState>) -> Result<Json<Vec<HostInfo>>, Error> {
    // What the admin sees includes the polls of the last few seconds.
    if let Err(e) = st.flush_last_seen().await {
        tracing::warn!(error = %e, "cannot write last-seen times; listing the stored ones");
    }
    st.read(directory::list_hosts).await.map(Json)
}
