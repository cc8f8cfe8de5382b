//! The admin API. Every route sits behind `require_admin`, one layer on
//! this router, so that a new endpoint cannot forget the check.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use herald_protocol::{
    ErrorBody, HostInfo, Membership, MessageEdit, MessageInfo, NewMessage, NewUser, PushMode,
    ReceiptRecord, UserCreated, UserInfo,
};
use rusqlite::Connection;

use crate::api::{AppState, Body, Path};
use crate::auth;
use crate::directory;
use crate::error::Error;
use crate::inbound::{self, Listener};
use crate::messages;
use crate::poll::AgentPolicy;
use crate::push::Targets;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users).post(add_user))
        .route("/users/{name}", delete(remove_user))
        .route("/users/{name}/token", post(rotate_token))
        .route("/groups/{group}/members", post(add_member))
        .route("/groups/{group}/members/{user}", delete(remove_member))
        .route("/hosts", get(list_hosts))
        .route("/messages", get(list_messages).post(send_message))
        .route("/messages/{id}", get(get_message).patch(edit_message))
        .route("/messages/{id}/withdraw", post(withdraw_message))
        .route("/messages/{id}/receipts", get(message_receipts))
        .merge(crate::enroll_api::admin_routes())
        .merge(crate::directory_api::admin_routes())
        // Before any extractor: a request without the admin token learns
        // nothing, not even whether its body would have parsed.
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(
    State(st): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, Error> {
    let token = auth::bearer(req.headers())?;
    if auth::hash_token(token).as_str() == &*st.admin_token_hash {
        Ok(next.run(req).await)
    } else {
        Err(Error::Unauthorized)
    }
}

/// Whom to tell at once of a change to message `id`, read in the same
/// database turn as the change; `None` when the message is not pushed.
type PushPlan = Option<(Targets, Vec<Listener>)>;

fn push_plan(c: &Connection, id: &str, policy: &AgentPolicy) -> Result<PushPlan, Error> {
    let Some(targets) = messages::push_targets(c, id)? else {
        return Ok(None);
    };
    let listeners = if policy.push == PushMode::Inbound {
        inbound::listeners(c, &targets, Utc::now(), policy.listener_max_age())?
    } else {
        Vec::new()
    };
    Ok(Some((targets, listeners)))
}

/// Makes a change to a message, then tells the agents it concerns.
async fn change<F>(st: &AppState, f: F) -> Result<Json<MessageInfo>, Error>
where
    F: FnOnce(&Connection) -> Result<MessageInfo, Error> + Send + 'static,
{
    let policy = Arc::clone(&st.policy);
    let (info, plan) = st
        .write(move |c| {
            let info = f(c)?;
            let plan = push_plan(c, &info.id, &policy)?;
            Ok((info, plan))
        })
        .await?;
    hint(st, &info.id, plan);
    Ok(Json(info))
}

/// Tells the agents a change concerns, by the server's push mode.
fn hint(st: &AppState, id: &str, plan: PushPlan) {
    let Some((targets, listeners)) = plan else {
        return;
    };
    match st.policy.push {
        PushMode::Off => {}
        PushMode::Stream => {
            let streams = st.hub.notify(&targets);
            tracing::info!(%id, streams, "push hint");
        }
        PushMode::Inbound => {
            let Some(http) = st.caller.clone() else {
                return;
            };
            let id = id.to_owned();
            // The admin's request does not wait for desktops to answer.
            tokio::spawn(async move {
                let calls = listeners.len();
                let accepted = inbound::call_all(&http, listeners).await;
                tracing::info!(%id, calls, accepted, "inbound push calls");
            });
        }
    }
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
    Body(new): Body<NewUser>,
) -> Result<Json<UserCreated>, Error> {
    st.write(move |c| {
        let token = directory::add_user(c, &new.name, &new.groups, Utc::now())?;
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
    Path(name): Path<String>,
) -> Result<(), Error> {
    st.write(move |c| directory::remove_user(c, &name)).await
}

#[utoipa::path(post, path = "/api/v1/admin/users/{name}/token", tag = "admin",
    params(("name" = String, Path, description = "User name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The new token; the old one no longer works", body = UserCreated), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn rotate_token(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<UserCreated>, Error> {
    st.write(move |c| {
        Ok(UserCreated {
            token: directory::rotate_token(c, &name)?,
            name,
        })
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
    Path(group): Path<String>,
    Body(m): Body<Membership>,
) -> Result<(), Error> {
    st.write(move |c| directory::add_member(c, &group, &m.user))
        .await
}

#[utoipa::path(delete, path = "/api/v1/admin/groups/{group}/members/{user}", tag = "admin",
    params(("group" = String, Path, description = "Group name"), ("user" = String, Path, description = "User name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Removed"), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn remove_member(
    State(st): State<AppState>,
    Path((group, user)): Path<(String, String)>,
) -> Result<(), Error> {
    st.write(move |c| directory::remove_member(c, &group, &user))
        .await
}

#[utoipa::path(get, path = "/api/v1/admin/hosts", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every host an agent has polled from", body = Vec<HostInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_hosts(State(st): State<AppState>) -> Result<Json<Vec<HostInfo>>, Error> {
    // What the admin sees includes the polls of the last few seconds.
    if let Err(e) = st.flush_last_seen().await {
        tracing::warn!(error = %e, "cannot write last-seen times; listing the stored ones");
    }
    st.read(directory::list_hosts).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/messages", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every message", body = Vec<MessageInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_messages(
    State(st): State<AppState>,
) -> Result<Json<Vec<MessageInfo>>, Error> {
    st.read(messages::list).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/messages", tag = "admin", request_body = NewMessage,
    security(("admin_token" = [])),
    responses((status = 200, description = "The message sent", body = MessageInfo), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn send_message(
    State(st): State<AppState>,
    Body(new): Body<NewMessage>,
) -> Result<Json<MessageInfo>, Error> {
    change(&st, move |c| messages::create(c, new, Utc::now())).await
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The message", body = MessageInfo), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn get_message(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MessageInfo>, Error> {
    st.read(move |c| messages::get(c, &id)).await.map(Json)
}

#[utoipa::path(patch, path = "/api/v1/admin/messages/{id}", tag = "admin", request_body = MessageEdit,
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The new revision", body = MessageInfo), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "No such thing", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn edit_message(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Body(edit): Body<MessageEdit>,
) -> Result<Json<MessageInfo>, Error> {
    change(&st, move |c| messages::edit(c, &id, edit, Utc::now())).await
}

#[utoipa::path(post, path = "/api/v1/admin/messages/{id}/withdraw", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The message, withdrawn", body = MessageInfo), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn withdraw_message(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MessageInfo>, Error> {
    change(&st, move |c| messages::withdraw(c, &id, Utc::now())).await
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}/receipts", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Every receipt of the message", body = Vec<ReceiptRecord>), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn message_receipts(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReceiptRecord>>, Error> {
    st.read(move |c| messages::receipts(c, &id)).await.map(Json)
}
