//! The fleet page over HTTP.

use chrono::Utc;
use herald_protocol::FleetReport;

use crate::domain::fleet::report;
use crate::error::Error;
use crate::state::app::AppState;

/// `GET /api/v1/admin/fleet`.
#[utoipa::path(get, path = "/api/v1/admin/fleet", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every host, with its state", body = FleetReport)))]
pub(crate) async fn get_fleet(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> Result<axum::Json<FleetReport>, Error> {
    // The page shows the polls of the last few seconds too.
    if let Err(e) = st.flush_last_seen().await {
        tracing::warn!(error = %e, "cannot write last-seen times; showing the stored ones");
    }
    let streaming = st.hub.streaming_hosts();
    let policy = st.policy();
    st.read(move |c| report(c, &policy, &streaming, Utc::now()))
        .await
        .map(axum::Json)
}
