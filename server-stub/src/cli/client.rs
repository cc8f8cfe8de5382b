//! The admin commands' HTTP client.

use anyhow::{bail, Context, Result};
use herald_protocol::ErrorBody;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl AdminClient {
    pub fn new(server: &str, token: &str, ca: Option<&std::path::Path>) -> Result<Self> {
        let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(180));
        if let Some(ca) = ca {
            let pem = std::fs::read(ca)
                .with_context(|| format!("cannot read the server CA {}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("the server CA {} is not PEM", ca.display()))?;
            if certs.is_empty() {
                bail!("the server CA {} holds no certificate", ca.display());
            }
            builder = certs
                .into_iter()
                .fold(builder, reqwest::ClientBuilder::add_root_certificate);
        }
        let http = builder.build().context("cannot build the HTTP client")?;
        Ok(AdminClient {
            http,
            base: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// The server's address, as given.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let text = self.call_raw(method, path, body).await?;
        serde_json::from_str(&text)
            .with_context(|| format!("the server's answer to {path} is not what was expected"))
    }

    pub async fn call_empty<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<()> {
        self.call_raw(method, path, body).await.map(drop)
    }

    /// The answer as text (CSV, say).
    pub async fn text(&self, method: Method, path: &str) -> Result<String> {
        self.call_raw::<()>(method, path, None).await
    }

    async fn call_raw<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .context("the server's answer was cut off")?;
        if !status.is_success() {
            let reason = serde_json::from_str::<ErrorBody>(&text)
                .map(|e| e.error)
                .unwrap_or(text);
            if status == StatusCode::UNAUTHORIZED {
                bail!("the server refused the admin token (401): check HERALD_ADMIN_TOKEN");
            }
            bail!("the server said {}: {}", status.as_u16(), reason.trim());
        }
        Ok(text)
    }
}

/// Path segments come from the command line; keep them from changing the route.
pub fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.@".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
