//! The HTTP API: shared state, the router, and the agent's endpoints (user
//! tokens). The admin endpoints are in `admin`, behind one auth layer.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::sql::Conn;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::StreamExt;
use herald_protocol::{
    ErrorBody, Health, PollRequest, PollResponse, PushMode, ReceiptAnswer, ReceiptBatch,
    API_VERSION, ENROLL_PATH, KERBEROS_PATH, PUSH_PATH,
};

use crate::auth;
use crate::db::to_ms;
use crate::db::Location;
use crate::directory::{self, User};
use crate::error::Error;
use crate::inbound;
use crate::lastseen::LastSeen;
use crate::poll::{self, AgentPolicy, Quick};
use crate::pool::Db;
use crate::push::Hub;

struct Effective {
    policy: Arc<AgentPolicy>,
    extras: Arc<crate::prefs::Extras>,
}

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub(crate) db: Arc<Db>,
    pub(crate) admin_token_hash: Arc<str>,
    /// The server's own agent policy, as configured at start.
    base_policy: Arc<AgentPolicy>,
    /// The policy with the central preferences on top; swapped whole when
    /// they change (see `reload_prefs`).
    effective: Arc<parking_lot::RwLock<Effective>>,
    /// How this server exchanges with other sites, if it does.
    pub(crate) exchange: Arc<crate::exchange_run::ExchangeSetup>,
    pub(crate) hub: Hub,
    pub(crate) seen: Arc<LastSeen>,
    /// Reads on blocking threads at once: beyond the pool's readers, more
    /// threads and connections would only take turns on the same cores.
    reading: Arc<tokio::sync::Semaphore>,
    /// Makes inbound push calls; `None` if no HTTP client could be built,
    /// and then agents find their messages by polling.
    pub(crate) caller: Option<reqwest::Client>,
    /// Failed console sign-ins, by name and by address.
    pub(crate) sign_ins: Arc<crate::sessions::SignInLimiter>,
    /// Session cookies are `Secure`: the server speaks TLS.
    pub(crate) secure_cookies: bool,
    /// Balancers whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: Arc<crate::proxy::TrustedProxies>,
    /// This instance's counts, for `/api/v1/admin/metrics`.
    pub(crate) counters: Arc<crate::metrics::Counters>,
    /// Takes every agent's word for its computer's name, as before names
    /// were proven (`serve --trust-claimed-hosts`).
    pub(crate) trust_claimed_hosts: bool,
    /// Connection caps and time limits.
    pub(crate) conn_limits: Arc<crate::admission::ConnLimits>,
    /// Where argon2 runs: apart from the database's readers, so that a
    /// flood of sign-ins cannot delay agents.
    pub(crate) passwords: Arc<crate::passwords::Passwords>,
}

impl AppState {
    /// On PostgreSQL, inside a tokio runtime, it also hears the push hints
    /// other instances announce (see `notify`).
    pub fn new(db: Db, admin_token: &str, policy: AgentPolicy) -> Self {
        Self::with_admin_hash(db, auth::hash_token(admin_token), policy)
    }

    /// `new`, with the admin token known only by its hash (another
    /// instance made it; the database keeps the hash).
    pub fn with_admin_hash(db: Db, admin_token_hash: String, policy: AgentPolicy) -> Self {
        let st = Self::without_announcements(db, admin_token_hash, policy);
        if let (Location::Postgres(url), Ok(_)) =
            (st.db.location(), tokio::runtime::Handle::try_current())
        {
            if let Err(e) = crate::notify::spawn_listener(url.clone(), st.clone()) {
                tracing::error!(error = %e, "cannot listen for push announcements");
            }
        }
        st
    }

    fn without_announcements(db: Db, admin_token_hash: String, policy: AgentPolicy) -> Self {
        AppState {
            db: Arc::new(db),
            admin_token_hash: admin_token_hash.into(),
            effective: Arc::new(parking_lot::RwLock::new(Effective {
                policy: Arc::new(policy.clone()),
                extras: Arc::default(),
            })),
            base_policy: Arc::new(policy),
            exchange: Arc::default(),
            hub: Hub::default(),
            seen: Arc::new(LastSeen::default()),
            reading: Arc::new(tokio::sync::Semaphore::new(crate::pool::IDLE_READERS)),
            caller: inbound::client()
                .map_err(|e| tracing::error!(error = %e, "no client for inbound push calls"))
                .ok(),
            sign_ins: Arc::default(),
            secure_cookies: false,
            trusted_proxies: Arc::default(),
            counters: Arc::default(),
            trust_claimed_hosts: false,
            conn_limits: Arc::default(),
            passwords: Arc::default(),
        }
    }

    /// Whether this copy is the last: the server that made it is gone.
    pub(crate) fn is_only_holder(&self) -> bool {
        Arc::strong_count(&self.db) == 1
    }

    /// Believes `X-Forwarded-For` from these proxies, and only them.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: crate::proxy::TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Caps connections and bounds their times as `limits` say.
    #[must_use]
    pub fn with_conn_limits(mut self, limits: crate::admission::ConnLimits) -> Self {
        self.conn_limits = Arc::new(limits);
        self
    }

    /// Exchanges with other sites as `setup` says (a relay's `[relay]`, a
    /// mailbox's `[mail]`).
    #[must_use]
    pub fn with_exchange(mut self, setup: crate::exchange_run::ExchangeSetup) -> Self {
        self.exchange = Arc::new(setup);
        self
    }

    /// The agent policy now: the configured one with the central
    /// preferences on top.
    pub(crate) fn policy(&self) -> Arc<AgentPolicy> {
        Arc::clone(&self.effective.read().policy)
    }

    /// What the central preferences add to every agent's settings.
    pub(crate) fn extras(&self) -> Arc<crate::prefs::Extras> {
        Arc::clone(&self.effective.read().extras)
    }

    /// Reads the preferences again and applies them to the answers agents
    /// get from now on. At a relay they are the central server's for this
    /// site; at the central server, those set for all sites.
    pub async fn reload_prefs(&self) {
        let site = self.exchange.relay.as_ref().map(|r| r.site.clone());
        let origin = match &site {
            Some(s) => format!("central server, via site {s}"),
            None => "central server preference".to_owned(),
        };
        match self
            .read(move |c| crate::prefs::effective(c, site.as_deref()))
            .await
        {
            Ok(prefs) => {
                let (policy, extras) = crate::prefs::apply(&self.base_policy, &prefs, &origin);
                *self.effective.write() = Effective {
                    policy: Arc::new(policy),
                    extras: Arc::new(extras),
                };
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the preferences; the last ones stand")
            }
        }
    }

    /// Takes an agent's word for its computer's name, whatever its token:
    /// for small sites where every user may be trusted with that.
    #[must_use]
    pub fn with_trust_claimed_hosts(mut self, trust: bool) -> Self {
        self.trust_claimed_hosts = trust;
        self
    }

    /// The user as host rules see it here: with `--trust-claimed-hosts`,
    /// every claimed name counts as proven.
    pub(crate) fn vouch(&self, mut user: User) -> User {
        user.host_proven |= self.trust_claimed_hosts;
        user
    }

    /// Marks session cookies `Secure`, for a server on TLS.
    #[must_use]
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Runs writing work on the database's writer (see `Db::write`).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Conn) -> Result<T, Error> + Send + 'static,
    {
        self.db.write(f).await
    }

    /// Runs reading work off the async threads on a pooled reader.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Conn) -> Result<T, Error> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        let _turn = self
            .reading
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || db.read(f))
            .await
            .map_err(joined)?
    }

    /// A short read that decides whether a request needs more: inline on
    /// SQLite, where a few indexed reads cost less than the hop to another
    /// thread; on the reader pool for PostgreSQL, where each statement is a
    /// round trip that would hold the async worker and every request on it.
    pub(crate) async fn look<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Conn) -> Result<T, Error> + Send + 'static,
    {
        if matches!(self.db.location(), Location::Sqlite(_)) {
            self.db.read(f)
        } else {
            self.read(f).await
        }
    }

    /// Writes the batch of last-seen times now.
    pub async fn flush_last_seen(&self) -> Result<usize, Error> {
        let seen = Arc::clone(&self.seen);
        self.write(move |c| seen.flush(c)).await
    }

    /// The user of an agent on `host` (normalized), or 401.
    async fn agent_user(&self, headers: &HeaderMap, host: &str) -> Result<User, Error> {
        self.user_by_token(auth::bearer(headers)?, host).await
    }

    pub(crate) async fn user_by_token(&self, token: &str, host: &str) -> Result<User, Error> {
        let (token, host) = (token.to_owned(), host.to_owned());
        self.read(move |c| directory::user_by_token(c, &token, &host)?.ok_or(Error::Unauthorized))
            .await
            .map(|user| self.vouch(user))
    }
}

/// A panic in a blocking task is that request's 500, nothing more.
fn joined(e: tokio::task::JoinError) -> Error {
    if e.is_panic() {
        Error::Internal("the request failed unexpectedly; it was not applied".into())
    } else {
        Error::Internal(e.to_string())
    }
}

/// JSON body whose rejection is a one-line 400 in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub(crate) struct Body<T>(pub T);

/// Path parameters whose rejection (bad percent-encoding) is a 400 in the
/// API's error shape, not axum's plain text.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub(crate) struct Path<T>(pub T);

/// Query parameters, likewise.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub(crate) struct Query<T>(pub T);

/// Requests larger than this are refused before they are parsed; a message
/// body is limited separately, and more tightly.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .route("/api/v1/health", get(health))
        .route(
            "/api/v1/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    crate::openapi::json(),
                )
            }),
        )
        .route("/api/v1/poll", post(agent_poll))
        .route("/api/v1/receipts", post(agent_receipts))
        .route(PUSH_PATH, get(agent_push))
        .route(ENROLL_PATH, post(crate::enroll_api::agent_enroll))
        .route(KERBEROS_PATH, post(crate::kerberos_api::sign_in))
        .merge(crate::exchange_api::site_routes())
        .nest("/api/v1/admin", crate::admin::router(state.clone()))
        .merge(crate::console_api::routes())
        .merge(crate::console_ui::routes())
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state);
    contain_panics(app)
}

/// A panic in a handler answers that request 500, in the API's error shape;
/// the server and its other requests carry on.
pub fn contain_panics(app: Router) -> Router {
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_panic: Box<dyn std::any::Any + Send>| {
            Error::Internal("the request failed unexpectedly; it was not applied".into())
                .into_response()
        },
    ))
}

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

#[utoipa::path(post, path = "/api/v1/poll", tag = "agent", request_body = PollRequest,
    security(("agent_token" = [])),
    responses((status = 200, description = "What changed for this agent", body = PollResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong agent token", body = ErrorBody)))]
pub(crate) async fn agent_poll(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(req): Body<PollRequest>,
) -> Result<Json<PollResponse>, Error> {
    let token_hash = auth::hash_token(auth::bearer(&headers)?);
    let host = directory::normalize_host(&req.host)?;
    poll::check_report(&req)?;
    let ip = peer.ip().to_canonical();
    let now = Utc::now();
    // A hinted agent will find a change: the first look would be wasted,
    // and the writer checks the token itself.
    let user = if st.hub.take_hinted(&host) {
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
            let held = inbound::held_at(c, user, host, ip, port)?;
            if held.is_some() {
                st.seen.listener(user.id, host, to_ms(now));
            }
            Ok(held.map(Some))
        }
        None => Ok(Some(inbound::live_secret(
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
    responses((status = 200, description = "How each receipt was taken", body = ReceiptAnswer), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong agent token", body = ErrorBody)))]
pub(crate) async fn agent_receipts(
    State(st): State<AppState>,
    headers: HeaderMap,
    Body(batch): Body<ReceiptBatch>,
) -> Result<Json<ReceiptAnswer>, Error> {
    let host = directory::normalize_host(&batch.host)?;
    let user = st.agent_user(&headers, &host).await?;
    let (name, proven) = (user.name.clone(), user.host_proven);
    let answer = st
        .write(move |c| poll::record_receipts(c, &user, &batch.host, &batch.receipts, Utc::now()))
        .await?;
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
        Some(port) => inbound::register(c, user, &host, ip, port, now).map(Some),
        None => inbound::live_secret(c, user, &host, now, policy.listener_max_age()),
    }
}

/// The push stream: Server-Sent Events carrying only `check` hints, with a
/// heartbeat comment so that the agent notices a dead connection. A fresh
/// connection asking for it is served by `stream` and never gets here.
#[utoipa::path(get, path = "/api/v1/push", tag = "agent",
    params(("host" = String, Query, description = "The agent's computer")),
    security(("agent_token" = [])),
    responses(
        (status = 200, description = "Server-Sent Events: `ready`, then `check` hints and heartbeats", content_type = "text/event-stream", body = String),
        (status = 404, description = "This server does not offer push streams", body = ErrorBody),
        (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong agent token", body = ErrorBody)))]
pub(crate) async fn agent_push(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, Error> {
    let host = query.get("host").map(String::as_str);
    let reg = crate::stream::open(&st, auth::bearer(&headers), host).await?;
    // The same bytes as `stream` writes on a bare connection.
    let body = crate::stream::events(reg)
        .map(|bytes| Ok::<_, Infallible>(axum::body::Bytes::from_static(bytes)));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/event-stream"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(body),
    ))
}
