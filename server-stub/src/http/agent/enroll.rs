//! Enrollment over HTTP, the agent's side: `POST /api/v1/enroll` gives a
//! token for an enrollment key, with the keys the agent is to trust.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use herald_protocol::{EnrollRequest, Enrolled, ErrorBody};

use crate::domain::directory::enroll;
use crate::error::Error;
use crate::http::extract::Body;
use crate::state::app::AppState;

#[utoipa::path(post, path = herald_protocol::ENROLL_PATH, tag = "agent", request_body = EnrollRequest,
    responses(
        (status = 200, description = "A token for this user on this computer", body = Enrolled),
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
    let central = st
        .read(crate::domain::messages::relay_keys::keys_for_agents)
        .await?;
    if central.is_empty() {
        tracing::warn!(site = %relay.site,
            "agent enrolled before this relay's first exchange: it is given no server key, and verifies no message until one is configured");
    }
    Ok(central)
}
