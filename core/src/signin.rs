//! Which token the agent uses, so that nobody copies one by hand: a token
//! configured by an administrator wins; else the one the agent got by
//! signing in earlier (kept in the store); else it enrolls now with the
//! enrollment key and keeps what it gets.
//!
//! A token got by signing in that the server later refuses is not renewed
//! with the key by itself: the administrator refused it (`host revoke`,
//! `user token`), and `herald-agent enroll` is how a person says otherwise.

use chrono::Utc;

use crate::error::SyncError;
use crate::store::{Credential, StoreHandle};
use crate::sync::{Endpoint, SyncClient};

/// What the agent was configured with.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub server: String,
    pub host: String,
    pub server_ca: Option<std::path::PathBuf>,
    /// A token given by hand (flag, environment, config file).
    pub token: Option<String>,
    pub enroll_key: Option<String>,
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
        if self.enroll_key.is_none() {
            return Err(SyncError::NoToken);
        }
        self.enroll(store).await
    }

    /// Enrolls with the key now, replacing any token kept for this server
    /// and host.
    pub async fn enroll(&self, store: &StoreHandle) -> Result<SyncClient, SyncError> {
        let key = self.enroll_key.clone().ok_or(SyncError::NoToken)?;
        let user = os_user_name();
        let anonymous = self.with_token(String::new())?;
        let got = anonymous.enroll(&key, &user).await?;
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
    }

    /// Tokens are kept under the server's address as given, less a final
    /// slash, as the client uses it.
    fn server_key(&self) -> String {
        self.server.trim_end_matches('/').to_owned()
    }
}

/// The logged-on user's account name, as the operating system gives it.
pub fn os_user_name() -> String {
    whoami::username()
}
