//! `GET /api/v1/health`, for balancers and monitoring.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use herald_protocol::{Health, API_VERSION};

use crate::error::Error;
use crate::state::app::AppState;

#[utoipa::path(get, path = "/api/v1/health", tag = "health",
    responses((status = 200, description = "The server is up and its database answers", body = Health),
        (status = 503, description = "The server is up but cannot serve: its database does not answer", body = Health)))]
pub(crate) async fn health(State(st): State<AppState>) -> (axum::http::StatusCode, Json<Health>) {
    // A database that does not answer within this is as good as down, for
    // a balancer deciding where to send the next request.
    const DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
    let probe = st.read(|c| {
        c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map_err(Error::from)
    });
    let database = match tokio::time::timeout(DB_TIMEOUT, probe).await {
        Ok(Ok(_)) => "ok".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", DB_TIMEOUT.as_secs()),
    };
    let ready = database == "ok";
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            api_version: API_VERSION,
            server_time: Utc::now(),
            ready,
            database,
        }),
    )
}
