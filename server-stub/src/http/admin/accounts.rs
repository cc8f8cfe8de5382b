//! Administrators' accounts and the audit log over HTTP. Every route but
//! `whoami` is an admin's (the guard sees to it), and every change writes
//! its audit line in its own transaction.

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use herald_protocol::{
    AccountEdit, AccountInfo, AccountToken, AccountTokenInfo, AuditEntry, ErrorBody, NewAccount,
};

use crate::domain::admins::accounts::{self, Actor};
use crate::domain::admins::audit;
use crate::error::Error;
use crate::http::extract::{Body, Path, Query};
use crate::state::app::AppState;

#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every account", body = Vec<AccountInfo>)))]
pub(crate) async fn list(State(st): State<AppState>) -> Result<Json<Vec<AccountInfo>>, Error> {
    st.read(accounts::list).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/accounts", tag = "admin", request_body = NewAccount,
    security(("admin_token" = [])),
    responses((status = 200, description = "The account", body = AccountInfo), (status = 409, description = "Conflicts with the current state", body = ErrorBody)))]
pub(crate) async fn add(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(new): Body<NewAccount>,
) -> Result<Json<AccountInfo>, Error> {
    let hash = match &new.password {
        Some(p) => Some(st.passwords.hash(p.clone()).await?),
        None => None,
    };
    st.write(move |c| {
        let now = Utc::now();
        let info = accounts::create(c, &new, hash.as_deref(), now)?;
        let detail = format!("role {}, password {}", info.role, info.has_password);
        audit::record(c, &actor, "account-add", &info.name, &detail, now)?;
        Ok(info)
    })
    .await
    .map(Json)
}

#[utoipa::path(patch, path = "/api/v1/admin/accounts/{name}", tag = "admin", request_body = AccountEdit,
    params(("name" = String, Path, description = "Account name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The account as it is now", body = AccountInfo), (status = 404, description = "No such thing", body = ErrorBody)))]
pub(crate) async fn change(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Body(edit): Body<AccountEdit>,
) -> Result<Json<AccountInfo>, Error> {
    let hash = match &edit.password {
        Some(p) => Some(st.passwords.hash(p.clone()).await?),
        None => None,
    };
    st.write(move |c| {
        let (info, said) = accounts::edit(c, &name, &edit, hash.as_deref())?;
        audit::record(c, &actor, "account-change", &info.name, &said, Utc::now())?;
        Ok(info)
    })
    .await
    .map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/accounts/{name}/token", tag = "admin",
    params(("name" = String, Path, description = "Account name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "A new API token for the account, shown this once", body = AccountToken), (status = 404, description = "No such thing", body = ErrorBody)))]
pub(crate) async fn token(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<AccountToken>, Error> {
    st.write(move |c| {
        let now = Utc::now();
        let (token, id) = accounts::new_token(c, &name, now)?;
        let detail = format!("new API token {id}");
        audit::record(c, &actor, "token", &name, &detail, now)?;
        Ok(AccountToken { name, token })
    })
    .await
    .map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/accounts/{name}/tokens", tag = "admin",
    params(("name" = String, Path, description = "Account name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The account's API tokens, oldest first, without their secrets", body = Vec<AccountTokenInfo>), (status = 404, description = "No such thing", body = ErrorBody)))]
pub(crate) async fn list_tokens(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<AccountTokenInfo>>, Error> {
    st.read(move |c| accounts::tokens(c, &name)).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/admin/accounts/{name}/tokens/{id}", tag = "admin",
    params(("name" = String, Path, description = "Account name"), ("id" = String, Path, description = "Token id, as the list shows it")),
    security(("admin_token" = [])),
    responses((status = 204, description = "Revoked: the token no longer works"), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "No such thing", body = ErrorBody)))]
pub(crate) async fn revoke_token(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((name, id)): Path<(String, String)>,
) -> Result<axum::http::StatusCode, Error> {
    st.write(move |c| {
        accounts::revoke_token(c, &name, &id)?;
        let detail = format!("API token {id} revoked");
        audit::record(c, &actor, "token-revoke", &name, &detail, Utc::now())
    })
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/whoami", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "The caller's account", body = AccountInfo)))]
pub(crate) async fn whoami(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<AccountInfo>, Error> {
    if actor.name == accounts::ADMIN_TOKEN_ACTOR {
        return Ok(Json(AccountInfo {
            name: actor.name,
            role: actor.role,
            has_password: false,
            disabled: false,
            created_at: chrono::DateTime::UNIX_EPOCH,
            limits: None,
        }));
    }
    st.read(move |c| accounts::get(c, &actor.name))
        .await
        .map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(audit::Filter),
    security(("admin_token" = [])),
    responses((status = 200, description = "Audit lines, newest first", body = Vec<AuditEntry>), (status = 400, description = "Bad input", body = ErrorBody)))]
pub(crate) async fn audit_list(
    State(st): State<AppState>,
    Query(f): Query<audit::Filter>,
) -> Result<Json<Vec<AuditEntry>>, Error> {
    st.read(move |c| audit::list(c, &f)).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/audit.csv", tag = "admin", params(audit::Filter),
    security(("admin_token" = [])),
    responses((status = 200, description = "Audit lines, newest first, as CSV", content_type = "text/csv", body = String), (status = 400, description = "Bad input", body = ErrorBody)))]
pub(crate) async fn audit_csv(
    State(st): State<AppState>,
    Query(f): Query<audit::Filter>,
) -> Result<impl IntoResponse, Error> {
    let lines = st.read(move |c| audit::list(c, &f)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"herald-audit.csv\"",
            ),
        ],
        audit::csv(&lines),
    ))
}
