//! Enrollment over HTTP: the agent's `POST /api/v1/enroll`, and the admin
//! routes that create, list and revoke keys and log a computer out.

use axum::extract::{Extension, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use herald_protocol::{
    EnrollKeyCreated, EnrollKeyInfo, EnrollRequest, Enrolled, ErrorBody, HostRevoked, NewEnrollKey,
};

use crate::accounts::Actor;
use crate::api::{AppState, Body, Path};
use crate::audit;
use crate::enroll;
use crate::error::Error;
use crate::timespec;

/// Routes under `/api/v1/admin`; the admin router puts its check on them.
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/enroll-keys", get(list_keys).post(create_key))
        .route("/enroll-keys/{id}", delete(revoke_key))
        .route("/hosts/{name}/revoke", post(revoke_host))
}

#[utoipa::path(post, path = "/api/v1/enroll", tag = "agent", request_body = EnrollRequest,
    responses(
        (status = 200, description = "A token for this user on this computer", body = Enrolled),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "Unknown, revoked or expired key", body = ErrorBody),
        (status = 403, description = "The key does not enroll this host", body = ErrorBody)))]
pub(crate) async fn agent_enroll(
    State(st): State<AppState>,
    Body(req): Body<EnrollRequest>,
) -> Result<Json<Enrolled>, Error> {
    let mut got = st
        .write(move |c| enroll::enroll(c, &req.key, &req.user, &req.host, Utc::now()))
        .await?;
    got.server_keys = keys_for_agents(&st, got.server_keys).await?;
    Ok(Json(got))
}

/// The keys a newly enrolled agent is to trust: this server's own, but at
/// a site relay the central server's (`KEY@SITE`), which vouch for the
/// relay's. Before the relay's first exchange none is known, and none is
/// given: an agent that trusted the relay alone would refuse every
/// central message.
pub(crate) async fn keys_for_agents(st: &AppState, own: Vec<String>) -> Result<Vec<String>, Error> {
    let Some(relay) = st.exchange.relay.as_ref() else {
        return Ok(own);
    };
    let central = st.read(crate::exchange_keys::keys_for_agents).await?;
    if central.is_empty() {
        tracing::warn!(site = %relay.site,
            "agent enrolled before this relay's first exchange: it is given no server key, and verifies no message until one is configured");
    }
    Ok(central)
}

#[utoipa::path(post, path = "/api/v1/admin/enroll-keys", tag = "admin", request_body = NewEnrollKey,
    security(("admin_token" = [])),
    responses((status = 200, description = "The key, shown this once", body = EnrollKeyCreated), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
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
    responses((status = 200, description = "Every key, revoked ones too", body = Vec<EnrollKeyInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_keys(
    State(st): State<AppState>,
) -> Result<Json<Vec<EnrollKeyInfo>>, Error> {
    st.read(enroll::list_keys).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/admin/enroll-keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "Key id")),
    security(("admin_token" = [])),
    responses((status = 204, description = "Revoked; enrolled agents keep their tokens"), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
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
    responses((status = 200, description = "Agents on it that signed in must sign in again", body = HostRevoked), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn revoke_host(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<HostRevoked>, Error> {
    st.write(move |c| {
        let tokens = enroll::revoke_host(c, &name)?;
        let host = crate::directory::normalize_host(&name)?;
        let detail = format!("{tokens} agent token(s) revoked");
        audit::record(c, &actor, "host-revoke", &host, &detail, Utc::now())?;
        Ok(HostRevoked { host, tokens })
    })
    .await
    .map(Json)
}
