//! The state every request handler and background task shares: the
//! database, the effective agent policy, the push hub, this instance's
//! counters and limits. Built once at start, cloned cheaply.

use std::sync::Arc;

use crate::config::{AgentPolicy, ConnLimits, TrustedProxies};
use crate::domain::admins::passwords::Passwords;
use crate::domain::admins::sessions::SignInLimiter;
use crate::domain::directory::lastseen::LastSeen;
use crate::domain::directory::{self, User};
use crate::domain::sites::prefs;
use crate::error::Error;
use crate::state::counters::Counters;
use crate::state::exchange::ExchangeSetup;
use crate::state::hub::Hub;
use crate::store::db::Location;
use crate::store::pool::{self, Db};
use crate::store::sql::Conn;
use crate::tokens;

struct Effective {
    policy: Arc<AgentPolicy>,
    extras: Arc<prefs::Extras>,
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
    pub(crate) exchange: Arc<ExchangeSetup>,
    pub(crate) hub: Hub,
    pub(crate) seen: Arc<LastSeen>,
    /// Reads on blocking threads at once: beyond the pool's readers, more
    /// threads and connections would only take turns on the same cores.
    reading: Arc<tokio::sync::Semaphore>,
    /// Makes inbound push calls; `None` if no HTTP client could be built,
    /// and then agents find their messages by polling.
    pub(crate) caller: Option<reqwest::Client>,
    /// Failed console sign-ins, by name and by address.
    pub(crate) sign_ins: Arc<SignInLimiter>,
    /// Session cookies are `Secure`: the server speaks TLS.
    pub(crate) secure_cookies: bool,
    /// Balancers whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: Arc<TrustedProxies>,
    /// This instance's counts, for `/api/v1/admin/metrics`.
    pub(crate) counters: Arc<Counters>,
    /// Takes every agent's word for its computer's name, as before names
    /// were proven (`serve --trust-claimed-hosts`).
    pub(crate) trust_claimed_hosts: bool,
    /// Connection caps and time limits.
    pub(crate) conn_limits: Arc<ConnLimits>,
    /// Where argon2 runs: apart from the database's readers, so that a
    /// flood of sign-ins cannot delay agents.
    pub(crate) passwords: Arc<Passwords>,
}

impl AppState {
    /// On PostgreSQL, `serve` has it hear the push hints other instances
    /// announce too (see `jobs::notify`).
    pub fn new(db: Db, admin_token: &str, policy: AgentPolicy) -> Self {
        Self::with_admin_hash(db, tokens::hash_token(admin_token), policy)
    }

    /// `new`, with the admin token known only by its hash (another
    /// instance made it; the database keeps the hash).
    pub fn with_admin_hash(db: Db, admin_token_hash: String, policy: AgentPolicy) -> Self {
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
            reading: Arc::new(tokio::sync::Semaphore::new(pool::IDLE_READERS)),
            caller: crate::state::caller::client()
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
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Caps connections and bounds their times as `limits` say.
    #[must_use]
    pub fn with_conn_limits(mut self, limits: ConnLimits) -> Self {
        self.conn_limits = Arc::new(limits);
        self
    }

    /// Exchanges with other sites as `setup` says (a relay's `[relay]`, a
    /// mailbox's `[mail]`).
    #[must_use]
    pub fn with_exchange(mut self, setup: ExchangeSetup) -> Self {
        self.exchange = Arc::new(setup);
        self
    }

    /// The agent policy now: the configured one with the central
    /// preferences on top.
    pub(crate) fn policy(&self) -> Arc<AgentPolicy> {
        Arc::clone(&self.effective.read().policy)
    }

    /// What the central preferences add to every agent's settings.
    pub(crate) fn extras(&self) -> Arc<prefs::Extras> {
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
            .read(move |c| crate::domain::sites::prefs::effective(c, site.as_deref()))
            .await
        {
            Ok(prefs) => {
                let (policy, extras) =
                    crate::domain::sites::prefs::apply(&self.base_policy, &prefs, &origin);
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
