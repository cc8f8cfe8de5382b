//! The directory over HTTP: a snapshot read by `herald-server directory
//! sync` is applied (or diffed, for a dry run) here, and the last sync's
//! outcome is reported.

use axum::extract::{Extension, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use herald_protocol::{DirectoryDiff, DirectorySnapshot, DirectoryStatus, ErrorBody};
use serde::Deserialize;

use crate::accounts::Actor;
use crate::api::{AppState, Body, Query};
use crate::audit;
use crate::directory_sync;
use crate::error::Error;

/// Routes under `/api/v1/admin`; the admin router puts its check on them.
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/directory/snapshot", post(apply_snapshot))
        .route("/directory/status", get(status))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct DryRun {
    /// Only say what would change.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(post, path = "/api/v1/admin/directory/snapshot", tag = "admin",
    request_body = DirectorySnapshot, params(DryRun),
    security(("admin_token" = [])),
    responses((status = 200, description = "What changed, or would", body = DirectoryDiff), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn apply_snapshot(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(q): Query<DryRun>,
    Body(snap): Body<DirectorySnapshot>,
) -> Result<Json<DirectoryDiff>, Error> {
    let diff = st
        .write(move |c| {
            let now = Utc::now();
            let diff = directory_sync::apply(c, &snap, q.dry_run, now)?;
            if !q.dry_run {
                let summary = directory_sync::summary(&diff);
                audit::record(c, &actor, "directory-sync", "directory", &summary, now)?;
            }
            Ok(diff)
        })
        .await?;
    if !q.dry_run {
        tracing::info!(summary = %directory_sync::summary(&diff), "directory snapshot applied");
    }
    Ok(Json(diff))
}

#[utoipa::path(get, path = "/api/v1/admin/directory/status", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "The last directory sync", body = DirectoryStatus), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn status(State(st): State<AppState>) -> Result<Json<DirectoryStatus>, Error> {
    st.read(directory_sync::status).await.map(Json)
}

/// `serve` with directory settings: a sync now, then every interval. A
/// failed read changes nothing and is logged and kept for `directory status`.
pub async fn sync_forever(st: AppState, settings: crate::ldap::LdapSettings) {
    loop {
        match crate::ldap::fetch(&settings).await {
            Ok(snap) => {
                let applied = st
                    .write(move |c| directory_sync::apply(c, &snap, false, Utc::now()))
                    .await;
                match applied {
                    Ok(diff) => {
                        tracing::info!(summary = %directory_sync::summary(&diff), "directory synced");
                    }
                    Err(e) => tracing::error!(error = %e, "cannot apply the directory"),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "directory sync failed; nothing changed");
                let summary = e.to_string();
                let kept = st
                    .write(move |c| directory_sync::record_outcome(c, false, &summary, Utc::now()))
                    .await;
                if let Err(e) = kept {
                    tracing::error!(error = %e, "cannot record the failed directory sync");
                }
            }
        }
        tokio::time::sleep(settings.interval()).await;
    }
}
