//! Which token the agent uses, so that nobody copies one by hand: a token
//! configured by an administrator wins; else the one the agent got by
//! signing in earlier (kept in the store); else it signs in now, by
//! Kerberos if configured, or with the enrollment key, and keeps what it
//! gets.
//!
//! A token Kerberos gave that the server later refuses is renewed the same
//! way, since the logged-on user's ticket vouches for them again. One got
//! with an enrollment key is not: the administrator refused it (`host
//! revoke`, `user token`), and `herald-agent enroll` is how a person says
//! otherwise.

use chrono::Utc;

use crate::error::SyncError;
use crate::store::{Applied, Credential, StoreHandle};
use crate::sync::{self, Endpoint, SyncClient};

/// What the agent was configured with.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub server: String,
    pub host: String,
    pub server_ca: Option<std::path::PathBuf>,
    /// A token given by hand (flag, environment, config file).
    pub token: Option<String>,
    pub enroll_key: Option<String>,
    /// Sign in by Kerberos, for this service (`HTTP@host`).
    pub kerberos_service: Option<String>,
    /// The computer's own ticket, to prove its name at Kerberos sign-in.
    pub machine_ccache: Option<std::path::PathBuf>,
    /// The server's message-signing keys as configured (hex, checked).
    pub server_keys: Vec<String>,
}

impl SignIn {
    /// A client with a token, enrolling first if there is none yet.
    pub async fn client(&self, store: &StoreHandle) -> Result<SyncClient, SyncError> {
        if let Some(token) = &self.token {
            return self.with_token(token.clone());
        }
        let (server, host) = (self.server_key(), self.host.clone());
        let kept = store.read(move |s| s.credential(&server, &host)).await?;
        if let Some(c) = kept {
            return self.with_token(c.token);
        }
        if self.kerberos_service.is_some() {
            return self.kerberos(store).await;
        }
        if self.enroll_key.is_none() {
            return Err(SyncError::NoToken);
        }
        self.enroll(store).await
    }

    /// Whether a refused token may be renewed without a person: only one
    /// Kerberos gave, which Kerberos gives again.
    pub async fn renews_by_itself(&self, store: &StoreHandle) -> bool {
        if self.token.is_some() || self.kerberos_service.is_none() {
            return false;
        }
        let (server, host) = (self.server_key(), self.host.clone());
        matches!(
            store.read(move |s| s.credential(&server, &host)).await,
            Ok(Some(c)) if c.via == "kerberos"
        )
    }

    /// One contact. A refused token Kerberos gave is renewed and the
    /// contact made again; the new client comes back with the outcome.
    pub async fn sync_renewing(
        &self,
        store: &StoreHandle,
        client: &SyncClient,
    ) -> (Result<Applied, SyncError>, Option<SyncClient>) {
        match sync::sync_once(store, client).await {
            Err(SyncError::Unauthorized) if self.renews_by_itself(store).await => {
                tracing::info!("the server refused the token Kerberos gave: signing in again");
                match self.kerberos(store).await {
                    Ok(renewed) => (sync::sync_once(store, &renewed).await, Some(renewed)),
                    Err(e) => (Err(e), None),
                }
            }
            other => (other, None),
        }
    }

    /// Signs in with the logged-on user's Kerberos ticket, keeping the
    /// token the server gives for this user on this host.
    pub async fn kerberos(&self, store: &StoreHandle) -> Result<SyncClient, SyncError> {
        let service = self.kerberos_service.clone().ok_or(SyncError::NoToken)?;
        let machine = self.machine_ccache.clone();
        // GSSAPI may talk to the KDC: off the async threads.
        let (ticket, machine) = tokio::task::spawn_blocking(move || {
            let user = herald_krb::client_token(&service)?;
            // Without the computer's ticket the sign-in still works; the
            // server then takes the host name as claimed, not proven.
            let machine = machine.and_then(|cache| {
                herald_krb::client_token_from(&service, &cache)
                    .map_err(|e| {
                        tracing::warn!(cache = %cache.display(), error = %e,
                            "no machine ticket: this computer's name stays unproven")
                    })
                    .ok()
            });
            Ok::<_, herald_krb::KrbError>((user, machine))
        })
        .await
        .map_err(|e| SyncError::KerberosRefused(e.to_string()))??;
        let anonymous = self.with_token(String::new())?;
        let got = anonymous
            .kerberos_sign_in(&ticket, machine.as_deref())
            .await?;
        remember_keys(store, &got.server_keys)?;
        let credential = Credential {
            user: got.user.clone(),
            token: got.token.clone(),
            via: "kerberos".into(),
        };
        let (server, host) = (self.server_key(), self.host.clone());
        store
            .write(move |s| s.save_credential(&server, &host, &credential, Utc::now()))
            .await?;
        tracing::info!(user = %got.user, host = %self.host, "signed in by Kerberos");
        self.with_token(got.token)
    }

    /// Enrolls with the key now, replacing any token kept for this server
    /// and host.
    pub async fn enroll(&self, store: &StoreHandle) -> Result<SyncClient, SyncError> {
        let key = self.enroll_key.clone().ok_or(SyncError::NoToken)?;
        let user = os_user_name();
        let anonymous = self.with_token(String::new())?;
        let got = anonymous.enroll(&key, &user).await?;
        remember_keys(store, &got.server_keys)?;
        let credential = Credential {
            user: got.user,
            token: got.token.clone(),
            via: "enroll".into(),
        };
        let (server, host) = (self.server_key(), self.host.clone());
        store
            .write(move |s| s.save_credential(&server, &host, &credential, Utc::now()))
            .await?;
        tracing::info!(%user, host = %self.host, "enrolled: this agent has its own token now");
        self.with_token(got.token)
    }

    fn with_token(&self, token: String) -> Result<SyncClient, SyncError> {
        SyncClient::new(Endpoint {
            server: self.server.clone(),
            token,
            host: self.host.clone(),
            server_ca: self.server_ca.clone(),
        })
        .map(|c| c.with_server_keys(self.server_keys.clone()))
    }

    /// Tokens are kept under the server's address as given, less a final
    /// slash, as the client uses it.
    fn server_key(&self) -> String {
        self.server.trim_end_matches('/').to_owned()
    }
}

/// Keeps the keys a sign-in answer names, when the agent trusts none yet.
fn remember_keys(store: &StoreHandle, keys: &[String]) -> Result<(), SyncError> {
    if crate::trust::remember_enrolled(&crate::trust::file_of(store.path()), keys)? {
        tracing::info!(
            keys = keys.len(),
            "the server's signing key kept: messages are verified from now on"
        );
    }
    Ok(())
}

/// The Kerberos service of a server URL: `HTTP@` its host name.
pub fn kerberos_service_of(server: &str) -> Option<String> {
    let rest = server.split_once("://").map_or(server, |(_, r)| r);
    let authority = rest.split(['/', '?']).next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| format!("HTTP@{host}"))
}

/// The logged-on user's account name, as the operating system gives it.
pub fn os_user_name() -> String {
    whoami::username()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_service_is_http_at_the_servers_host() {
        use super::kerberos_service_of as of;
        assert_eq!(
            of("https://herald.example.com:8740/").as_deref(),
            Some("HTTP@herald.example.com")
        );
        assert_eq!(of("http://localhost:1").as_deref(), Some("HTTP@localhost"));
        assert_eq!(of("http://[::1]:8740").as_deref(), Some("HTTP@::1"));
        assert_eq!(of("http://h").as_deref(), Some("HTTP@h"));
    }
}
