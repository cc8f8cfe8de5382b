//! Enrollment keys over HTTP: the admin routes that create, list and
//! revoke keys and log a computer out.

use axum::extract::{Extension, State};
use axum::Json;
use chrono::Utc;
use herald_protocol::{EnrollKeyCreated, EnrollKeyInfo, ErrorBody, HostRevoked, NewEnrollKey};

use crate::domain::admins::accounts::Actor;
use crate::domain::admins::audit;
use crate::domain::directory::{self, enroll};
use crate::domain::messages::timespec;
use crate::error::Error;
use crate::http::extract::{Body, Path};
use crate::state::app::AppState;

#[utoipa::path(post, path = "/api/v1/admin/enroll-keys", tag = "admin", request_body = NewEnrollKey,
    security(("admin_token" = [])),
    responses((status = 200, description = "The key, shown this once", body = EnrollKeyCreated)))]
pub(crate) async fn create_key(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(req): Body<NewEnrollKey>,
) -> Result<Json<EnrollKeyCreated>, Error> {
    let now = Utc::now();
    let expires = req
        .expires
        .as_deref()
        .map(|e| timespec::parse(e, now))
        .transpose()?;
    st.write(move |c| {
        let key = enroll::create_key(c, expires, req.hosts.as_deref(), now)?;
        let detail = format!(
            "expires {}, hosts {}",
            expires.map_or("never".to_owned(), |e| e.to_rfc3339()),
            req.hosts.as_deref().unwrap_or("any")
        );
        audit::record(c, &actor, "enroll-key-add", &key.id, &detail, now)?;
        Ok(key)
    })
    .await
    .map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/enroll-keys", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every key, revoked ones too", body = Vec<EnrollKeyInfo>)))]
pub(crate) async fn list_keys(
    State(st): State<AppState>,
) -> Result<Json<Vec<EnrollKeyInfo>>, Error> {
    st.read(enroll::list_keys).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/admin/enroll-keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "Key id")),
    security(("admin_token" = [])),
    responses((status = 204, description = "Revoked; enrolled agents keep their tokens"), (status = 404, description = "No such thing", body = ErrorBody)))]
pub(crate) async fn revoke_key(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, Error> {
    st.write(move |c| {
        let now = Utc::now();
        enroll::revoke_key(c, &id, now)?;
        audit::record(c, &actor, "enroll-key-revoke", &id, "", now)
    })
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/hosts/{name}/revoke", tag = "admin",
    params(("name" = String, Path, description = "Host name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Agents on it that signed in must sign in again", body = HostRevoked), (status = 400, description = "Bad input", body = ErrorBody)))]
pub(crate) async fn revoke_host(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<HostRevoked>, Error> {
    st.write(move |c| {
        let tokens = enroll::revoke_host(c, &name)?;
        let host = directory::normalize_host(&name)?;
        let detail = format!("{tokens} agent token(s) revoked");
        audit::record(c, &actor, "host-revoke", &host, &detail, Utc::now())?;
        Ok(HostRevoked { host, tokens })
    })
    .await
    .map(Json)
}
