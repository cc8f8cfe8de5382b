//! Users, groups and hosts, by hand (a directory sync does it otherwise).

use axum::extract::{Extension, State};
use axum::Json;
use chrono::Utc;
use herald_protocol::{ErrorBody, HostInfo, Membership, NewUser, UserCreated, UserInfo};

use crate::domain::admins::accounts::Actor;
use crate::domain::admins::audit;
use crate::domain::directory;
use crate::error::Error;
use crate::http::extract::{Body, Path};
use crate::state::app::AppState;

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every user", body = Vec<UserInfo>)))]
pub(crate) async fn list_users(State(st): State<AppState>) -> Result<Json<Vec<UserInfo>>, Error> {
    st.read(directory::list_users).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = NewUser,
    security(("admin_token" = [])),
    responses((status = 200, description = "The user and its agent token", body = UserCreated), (status = 409, description = "Conflicts with the current state", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody)))]
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
    responses((status = 200, description = "Removed"), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody)))]
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
    responses((status = 200, description = "The new token; the old one no longer works", body = UserCreated), (status = 404, description = "No such thing", body = ErrorBody)))]
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
    responses((status = 200, description = "Added"), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody)))]
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
    responses((status = 200, description = "Removed"), (status = 404, description = "No such thing", body = ErrorBody), (status = 403, description = "It comes from the directory: changed there only", body = ErrorBody)))]
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
    responses((status = 200, description = "Every host an agent has polled from", body = Vec<HostInfo>)))]
pub(crate) async fn list_hosts(State(st): State<AppState>) -> Result<Json<Vec<HostInfo>>, Error> {
    // What the admin sees includes the polls of the last few seconds.
    if let Err(e) = st.flush_last_seen().await {
        tracing::warn!(error = %e, "cannot write last-seen times; listing the stored ones");
    }
    st.read(directory::list_hosts).await.map(Json)
}
