//! The directory over HTTP: a snapshot read by `herald-server directory
//! sync` is applied (or diffed, for a dry run) here, and the last sync's
//! outcome is reported.

use axum::extract::{Extension, State};
use axum::Json;
use chrono::Utc;
use herald_protocol::{DirectoryDiff, DirectorySnapshot, DirectoryStatus};
use serde::Deserialize;

use crate::domain::admins::accounts::Actor;
use crate::domain::admins::audit;
use crate::domain::directory::sync as directory_sync;
use crate::error::Error;
use crate::http::extract::{Body, Query};
use crate::state::app::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct DryRun {
    /// Only say what would change.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(post, path = "/api/v1/admin/directory/snapshot", tag = "admin",
    request_body = DirectorySnapshot, params(DryRun),
    security(("admin_token" = [])),
    responses((status = 200, description = "What changed, or would", body = DirectoryDiff)))]
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
    responses((status = 200, description = "The last directory sync", body = DirectoryStatus)))]
pub(crate) async fn status(State(st): State<AppState>) -> Result<Json<DirectoryStatus>, Error> {
    st.read(directory_sync::status).await.map(Json)
}
