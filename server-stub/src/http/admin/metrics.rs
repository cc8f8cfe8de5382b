//! `GET /api/v1/admin/metrics`: this instance's counters, in Prometheus'
//! text format.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::state::app::AppState;

#[utoipa::path(get, path = "/api/v1/admin/metrics", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "This instance's counters, in Prometheus' text format", content_type = "text/plain", body = String)))]
pub(crate) async fn get_metrics(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.counters.render(st.hub.connected()),
    )
}
