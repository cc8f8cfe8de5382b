//! HTTP routes: the agent API (user tokens) and the admin API (admin token).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use herald_protocol::{
    Health, HostInfo, Membership, MessageEdit, MessageInfo, NewMessage, NewUser, PollRequest,
    PollResponse, PushMode, ReceiptAnswer, ReceiptBatch, ReceiptRecord, UserCreated, UserInfo,
    API_VERSION, PUSH_EVENT_CHECK, PUSH_HEARTBEAT_SECS, PUSH_PATH,
};
use rusqlite::Connection;

use crate::auth;
use crate::directory::{self, User};
use crate::error::Error;
use crate::inbound::{self, Listener};
use crate::messages;
use crate::poll::{self, AgentPolicy};
use crate::push::{Hub, Targets};

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    db: Arc<Mutex<Connection>>,
    admin_token_hash: Arc<str>,
    policy: Arc<AgentPolicy>,
    hub: Hub,
    /// Makes inbound push calls; `None` if no HTTP client could be built,
    /// and then agents find their messages by polling.
    caller: Option<reqwest::Client>,
}

impl AppState {
    pub fn new(conn: Connection, admin_token: &str, policy: AgentPolicy) -> Self {
        AppState {
            db: Arc::new(Mutex::new(conn)),
            admin_token_hash: auth::hash_token(admin_token).into(),
            policy: Arc::new(policy),
            hub: Hub::default(),
            caller: inbound::client()
                .map_err(|e| tracing::error!(error = %e, "no client for inbound push calls"))
                .ok(),
        }
    }

    /// Runs database work off the async threads, one request at a time:
    /// SQLite has a single writer anyway, and this keeps transactions simple.
    async fn db<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let mut conn = db
                .lock()
                .map_err(|_| Error::Internal("database lock poisoned".into()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    fn check_admin(&self, headers: &HeaderMap) -> Result<(), Error> {
        let token = auth::bearer(headers)?;
        if auth::hash_token(token).as_str() == &*self.admin_token_hash {
            Ok(())
        } else {
            Err(Error::Unauthorized)
        }
    }

    async fn agent_user(&self, headers: &HeaderMap) -> Result<User, Error> {
        let token = auth::bearer(headers)?.to_owned();
        self.db(move |c| directory::user_by_token(c, &token)?.ok_or(Error::Unauthorized))
            .await
    }
}

/// JSON body whose rejection is a one-line 400 in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
struct Body<T>(T);

/// Requests larger than this are refused before they are parsed; a message
/// body is limited separately, and more tightly.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/poll", post(agent_poll))
        .route("/api/v1/receipts", post(agent_receipts))
        .route(PUSH_PATH, get(agent_push))
        .route("/api/v1/admin/users", get(list_users).post(add_user))
        .route("/api/v1/admin/users/{name}", delete(remove_user))
        .route("/api/v1/admin/users/{name}/token", post(rotate_token))
        .route("/api/v1/admin/groups/{group}/members", post(add_member))
        .route(
            "/api/v1/admin/groups/{group}/members/{user}",
            delete(remove_member),
        )
        .route("/api/v1/admin/hosts", get(list_hosts))
        .route(
            "/api/v1/admin/messages",
            get(list_messages).post(send_message),
        )
        .route(
            "/api/v1/admin/messages/{id}",
            get(get_message).patch(edit_message),
        )
        .route(
            "/api/v1/admin/messages/{id}/withdraw",
            post(withdraw_message),
        )
        .route(
            "/api/v1/admin/messages/{id}/receipts",
            get(message_receipts),
        )
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

async fn health() -> Json<Health> {
    Json(Health {
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        api_version: API_VERSION,
        server_time: Utc::now(),
    })
}

async fn agent_poll(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(req): Body<PollRequest>,
) -> Result<Json<PollResponse>, Error> {
    let user = st.agent_user(&headers).await?;
    let policy = Arc::clone(&st.policy);
    let answer = st
        .db(move |c| {
            let now = Utc::now();
            let mut answer = poll::poll(c, &user, &req, &policy, now)?;
            if policy.push == PushMode::Inbound {
                // The address is the poll's own: a token holder cannot make
                // the server call a machine it does not poll from.
                answer.settings.push_secret =
                    inbound_key(c, &user, &req, peer.ip().to_canonical(), &policy, now)?;
            }
            Ok(answer)
        })
        .await?;
    tracing::debug!(
        changed = answer.changed,
        messages = answer.messages.len(),
        stopped = answer.stopped.len(),
        "poll"
    );
    Ok(Json(answer))
}

async fn agent_receipts(
    State(st): State<AppState>,
    headers: HeaderMap,
    Body(batch): Body<ReceiptBatch>,
) -> Result<Json<ReceiptAnswer>, Error> {
    let user = st.agent_user(&headers).await?;
    let answer = st
        .db(move |c| poll::record_receipts(c, &user, &batch.host, &batch.receipts, Utc::now()))
        .await?;
    Ok(Json(answer))
}

/// Registers an announcing agent as a listener and gives it its key; an
/// agent that did not announce gets the key only if it still listens.
fn inbound_key(
    c: &Connection,
    user: &User,
    req: &PollRequest,
    ip: std::net::IpAddr,
    policy: &AgentPolicy,
    now: chrono::DateTime<Utc>,
) -> Result<Option<String>, Error> {
    let host = directory::normalize_host(&req.host)?;
    match req.push_port.filter(|p| *p != 0) {
        Some(port) => inbound::register(c, user, &host, ip, port, now).map(Some),
        None => inbound::live_secret(c, user, &host, now, policy.listener_max_age()),
    }
}

/// The push stream: Server-Sent Events carrying only `check` hints, with a
/// heartbeat comment so that the agent notices a dead connection.
async fn agent_push(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    if st.policy.push != PushMode::Stream {
        return Err(Error::NotFound(format!(
            "this server does not offer push streams (push: {})",
            st.policy.push.as_str()
        )));
    }
    let user = st.agent_user(&headers).await?;
    let host = directory::normalize_host(
        query
            .get("host")
            .ok_or_else(|| Error::bad("give the host: ?host=NAME"))?,
    )?;
    let reg = st.hub.register(&user.name, &host);
    tracing::debug!(user = %user.name, %host, streams = st.hub.connected(), "push stream open");
    let ready = futures_util::stream::once(async { Ok(Event::default().event("ready").data("")) });
    let hints = futures_util::stream::unfold(reg, |mut reg| async move {
        reg.hints.recv().await?;
        Some((Ok(Event::default().event(PUSH_EVENT_CHECK).data("")), reg))
    });
    Ok(Sse::new(ready.chain(hints)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(PUSH_HEARTBEAT_SECS))
            .text("heartbeat"),
    ))
}

/// Whom to tell at once of a change to message `id`, read in the same
/// database turn as the change; `None` when the message is not pushed.
type PushPlan = Option<(Targets, Vec<Listener>)>;

fn push_plan(c: &Connection, id: &str, policy: &AgentPolicy) -> Result<PushPlan, Error> {
    let Some(targets) = messages::push_targets(c, id)? else {
        return Ok(None);
    };
    let listeners = if policy.push == PushMode::Inbound {
        inbound::listeners(c, &targets, Utc::now(), policy.listener_max_age())?
    } else {
        Vec::new()
    };
    Ok(Some((targets, listeners)))
}

/// Makes a change to a message, then tells the agents it concerns.
async fn change<F>(st: &AppState, f: F) -> Result<Json<MessageInfo>, Error>
where
    F: FnOnce(&mut Connection) -> Result<MessageInfo, Error> + Send + 'static,
{
    let policy = Arc::clone(&st.policy);
    let (info, plan) = st
        .db(move |c| {
            let info = f(c)?;
            let plan = push_plan(c, &info.id, &policy)?;
            Ok((info, plan))
        })
        .await?;
    hint(st, &info.id, plan);
    Ok(Json(info))
}

/// Tells the agents a change concerns, by the server's push mode.
fn hint(st: &AppState, id: &str, plan: PushPlan) {
    let Some((targets, listeners)) = plan else {
        return;
    };
    match st.policy.push {
        PushMode::Off => {}
        PushMode::Stream => {
            let streams = st.hub.notify(&targets);
            tracing::info!(%id, streams, "push hint");
        }
        PushMode::Inbound => {
            let Some(http) = st.caller.clone() else {
                return;
            };
            let id = id.to_owned();
            // The admin's request does not wait for desktops to answer.
            tokio::spawn(async move {
                let calls = listeners.len();
                let accepted = inbound::call_all(&http, listeners).await;
                tracing::info!(%id, calls, accepted, "inbound push calls");
            });
        }
    }
}

async fn list_users(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<UserInfo>>, Error> {
    st.check_admin(&headers)?;
    st.db(|c| directory::list_users(c)).await.map(Json)
}

async fn add_user(
    State(st): State<AppState>,
    headers: HeaderMap,
    Body(new): Body<NewUser>,
) -> Result<Json<UserCreated>, Error> {
    st.check_admin(&headers)?;
    st.db(move |c| {
        let token = directory::add_user(c, &new.name, &new.groups, Utc::now())?;
        Ok(UserCreated {
            name: new.name,
            token,
        })
    })
    .await
    .map(Json)
}

async fn remove_user(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<(), Error> {
    st.check_admin(&headers)?;
    st.db(move |c| directory::remove_user(c, &name)).await
}

async fn rotate_token(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<UserCreated>, Error> {
    st.check_admin(&headers)?;
    st.db(move |c| {
        Ok(UserCreated {
            token: directory::rotate_token(c, &name)?,
            name,
        })
    })
    .await
    .map(Json)
}

async fn add_member(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(group): Path<String>,
    Body(m): Body<Membership>,
) -> Result<(), Error> {
    st.check_admin(&headers)?;
    st.db(move |c| directory::add_member(c, &group, &m.user))
        .await
}

async fn remove_member(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((group, user)): Path<(String, String)>,
) -> Result<(), Error> {
    st.check_admin(&headers)?;
    st.db(move |c| directory::remove_member(c, &group, &user))
        .await
}

async fn list_hosts(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<HostInfo>>, Error> {
    st.check_admin(&headers)?;
    st.db(|c| directory::list_hosts(c)).await.map(Json)
}

async fn list_messages(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<MessageInfo>>, Error> {
    st.check_admin(&headers)?;
    st.db(|c| messages::list(c)).await.map(Json)
}

async fn send_message(
    State(st): State<AppState>,
    headers: HeaderMap,
    Body(new): Body<NewMessage>,
) -> Result<Json<MessageInfo>, Error> {
    st.check_admin(&headers)?;
    change(&st, move |c| messages::create(c, new, Utc::now())).await
}

async fn get_message(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<MessageInfo>, Error> {
    st.check_admin(&headers)?;
    st.db(move |c| messages::get(c, &id)).await.map(Json)
}

async fn edit_message(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(edit): Body<MessageEdit>,
) -> Result<Json<MessageInfo>, Error> {
    st.check_admin(&headers)?;
    change(&st, move |c| messages::edit(c, &id, edit, Utc::now())).await
}

async fn withdraw_message(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<MessageInfo>, Error> {
    st.check_admin(&headers)?;
    change(&st, move |c| messages::withdraw(c, &id, Utc::now())).await
}

async fn message_receipts(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReceiptRecord>>, Error> {
    st.check_admin(&headers)?;
    st.db(move |c| messages::receipts(c, &id)).await.map(Json)
}
