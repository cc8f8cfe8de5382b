//! The agent's poll and receipts, with its user token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use herald_protocol::{PollRequest, PollResponse, PushMode, ReceiptAnswer, ReceiptBatch};

use crate::config::AgentPolicy;
use crate::domain::directory::{self, listeners, User};
use crate::domain::messages::poll::{self, Quick};
use crate::error::Error;
use crate::http::extract::{bearer, Body};
use crate::push::announce;
use crate::state::app::AppState;
use crate::store::db::to_ms;
use crate::store::sql::Conn;
use crate::tokens;

impl AppState {
    /// The user of an agent on `host` (normalized), or 401.
    async fn agent_user(&self, headers: &HeaderMap, host: &str) -> Result<User, Error> {
        self.user_by_token(bearer(headers)?, host).await
    }
}

#[utoipa::path(post, path = "/api/v1/poll", tag = "agent", request_body = PollRequest,
    security(("agent_token" = [])),
    responses((status = 200, description = "What changed for this agent", body = PollResponse)))]
pub(crate) async fn agent_poll(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(req): Body<PollRequest>,
) -> Result<Json<PollResponse>, Error> {
    let token_hash = tokens::hash_token(bearer(&headers)?);
    let host = directory::normalize_host(&req.host)?;
    poll::check_report(&req)?;
    let ip = peer.ip().to_canonical();
    let now = Utc::now();
    // A hinted agent will find a change: the first look would be wasted,
    // and the writer checks the token itself.
    // An agent naming what its stream brought has its record to update.
    let user = if st.hub.take_hinted(&host) || !req.pushed.is_empty() {
        None
    } else {
        let (hash, name, cursor) = (token_hash.clone(), host.clone(), req.cursor.clone());
        let db = Arc::clone(&st.db);
        let quick = st
            .look(move |c| poll::quick(c, &hash, &name, cursor.as_deref(), db.server_id(), now))
            .await?;
        match quick {
            Quick::Unknown => return Err(Error::Unauthorized),
            Quick::Full(user) => Some(st.vouch(user)),
            Quick::Unchanged { user, cursor } => {
                let user = st.vouch(user);
                let policy = st.policy();
                let mut answer = poll::unchanged(&policy, &req.agent_version, cursor, now);
                st.extras().decorate(&mut answer.settings);
                let key = match policy.push {
                    PushMode::Inbound => {
                        let (st2, user, host, port) =
                            (st.clone(), user.clone(), host.clone(), req.push_port);
                        st.look(move |c| quick_inbound_key(c, &st2, &user, port, &host, ip, now))
                            .await?
                    }
                    _ => Some(None),
                };
                if let Some(key) = key {
                    answer.settings.push_secret = key;
                    st.seen.host(
                        user.at(&host),
                        &user.name,
                        Some(&req.agent_version),
                        to_ms(now),
                    );
                    st.counters.poll(&answer);
                    return Ok(Json(answer));
                }
                // A new inbound address: the full poll registers it.
                Some(user)
            }
        }
    };
    let version = req.agent_version.clone();
    let policy = st.policy();
    let db = Arc::clone(&st.db);
    let trust_claimed = st.trust_claimed_hosts;
    let (mut answer, user) = st
        .write(move |c| {
            let now = Utc::now();
            let user = match user {
                Some(user) => user,
                None => {
                    let host = directory::normalize_host(&req.host)?;
                    let mut user = directory::user_by_token_hash(c, &token_hash, &host)?
                        .ok_or(Error::Unauthorized)?;
                    user.host_proven |= trust_claimed;
                    user
                }
            };
            let mut answer = poll::poll(c, &user, &req, &policy, db.server_id(), now)?;
            if policy.push == PushMode::Inbound {
                // The address is the poll's own: a token holder cannot make
                // the server call a machine it does not poll from.
                answer.settings.push_secret = inbound_key(c, &user, &req, ip, &policy, now)?;
            }
            Ok((answer, user))
        })
        .await?;
    st.extras().decorate(&mut answer.settings);
    st.seen
        .host(user.at(&host), &user.name, Some(&version), to_ms(now));
    st.counters.poll(&answer);
    tracing::debug!(
        changed = answer.changed,
        messages = answer.messages.len(),
        stopped = answer.stopped.len(),
        "poll"
    );
    Ok(Json(answer))
}

/// The inbound key for an unchanged poll, if it can be given without a
/// write: `None` when the agent announces an address the server does not
/// hold yet, and the full poll registers it.
fn quick_inbound_key(
    c: &Conn,
    st: &AppState,
    user: &User,
    push_port: Option<u16>,
    host: &str,
    ip: std::net::IpAddr,
    now: chrono::DateTime<Utc>,
) -> Result<Option<Option<String>>, Error> {
    match push_port.filter(|p| *p != 0) {
        Some(port) => {
            let held = listeners::held_at(c, user, host, ip, port)?;
            if held.is_some() {
                st.seen.listener(user.id, host, to_ms(now));
            }
            Ok(held.map(Some))
        }
        None => Ok(Some(listeners::live_secret(
            c,
            user,
            host,
            now,
            st.policy().listener_max_age(),
        )?)),
    }
}

#[utoipa::path(post, path = "/api/v1/receipts", tag = "agent", request_body = ReceiptBatch,
    security(("agent_token" = [])),
    responses((status = 200, description = "How each receipt was taken", body = ReceiptAnswer)))]
pub(crate) async fn agent_receipts(
    State(st): State<AppState>,
    headers: HeaderMap,
    Body(batch): Body<ReceiptBatch>,
) -> Result<Json<ReceiptAnswer>, Error> {
    let host = directory::normalize_host(&batch.host)?;
    let user = st.agent_user(&headers, &host).await?;
    let (name, proven) = (user.name.clone(), user.host_proven);
    let policy = st.policy();
    let (answer, acked, announced) = st
        .write(move |c| {
            let (answer, acked) =
                poll::record_receipts_acked(c, &user, &batch.host, &batch.receipts, Utc::now())?;
            let announced = announce::announce_read(c, &user.name, &acked, &policy);
            Ok((answer, acked, announced))
        })
        .await?;
    announce::read_elsewhere(&st, &name, acked, announced);
    st.seen.host(
        directory::HostMatch::new(&host, proven),
        &name,
        None,
        to_ms(Utc::now()),
    );
    st.counters.receipts(&answer);
    Ok(Json(answer))
}

/// Registers an announcing agent as a listener and gives it its key; an
/// agent that did not announce gets the key only if it still listens.
fn inbound_key(
    c: &Conn,
    user: &User,
    req: &PollRequest,
    ip: std::net::IpAddr,
    policy: &AgentPolicy,
    now: chrono::DateTime<Utc>,
) -> Result<Option<String>, Error> {
    let host = directory::normalize_host(&req.host)?;
    match req.push_port.filter(|p| *p != 0) {
        Some(port) => listeners::register(c, user, &host, ip, port, now).map(Some),
        None => listeners::live_secret(c, user, &host, now, policy.listener_max_age()),
    }
}
