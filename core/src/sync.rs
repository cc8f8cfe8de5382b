//! One contact with the server: send the receipt outbox, poll, apply.

use std::time::Duration;

use chrono::Utc;
use herald_protocol::{
    time_in_range, EnrollRequest, Enrolled, ErrorBody, KerberosSignIn, PollRequest, PollResponse,
    Receipt, ReceiptAnswer, ReceiptBatch, ReceiptKind, API_VERSION, ENROLL_PATH, KERBEROS_PATH,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::SyncError;
use crate::store::{Applied, ContactTimes, StoreHandle};

/// Larger answers are refused: a poll answer of every valid message at the
/// 64 KiB body limit would need over a hundred messages to come near this.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// The longest poll interval a server may ask for: a day. Longer would
/// leave an agent deaf to everything but push.
pub const MAX_POLL_INTERVAL_SECS: u64 = 86_400;

/// Receipts sent per contact; the rest go at the next one.
pub const RECEIPT_BATCH: usize = 500;

/// Who the agent is and whom it talks to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub server: String,
    pub token: String,
    pub host: String,
    /// A CA to trust besides the system's, for `https://` servers.
    pub server_ca: Option<std::path::PathBuf>,
}

/// HTTP client for the agent API. Clones share the connection pool.
#[derive(Clone)]
pub struct SyncClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    push_port: Option<u16>,
    /// Configured server keys (hex); with those kept beside the store, the
    /// keys that every message must be signed by.
    server_keys: Vec<String>,
}

impl SyncClient {
    pub fn new(endpoint: Endpoint) -> Result<Self, SyncError> {
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("herald-agent/", env!("CARGO_PKG_VERSION")));
        let http = crate::tls::trust(builder, endpoint.server_ca.as_ref())?
            .build()
            .map_err(|e| SyncError::Unreachable {
                server: endpoint.server.clone(),
                reason: chain(&e),
            })?;
        let server = endpoint.server.trim_end_matches('/').to_owned();
        Ok(SyncClient {
            http,
            endpoint: Endpoint { server, ..endpoint },
            push_port: None,
            server_keys: Vec::new(),
        })
    }

    /// The configured server keys (hex).
    pub(crate) fn server_keys(&self) -> &[String] {
        &self.server_keys
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Presents an enrollment key for `user` on this client's host; the
    /// answer's token works for that user on that host only.
    pub async fn enroll(&self, key: &str, user: &str) -> Result<Enrolled, SyncError> {
        let req = EnrollRequest {
            key: key.to_owned(),
            user: user.to_owned(),
            host: self.endpoint.host.clone(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        match self.post(ENROLL_PATH, &req).await {
            Err(SyncError::Unauthorized) => Err(SyncError::EnrollRefused(
                "unknown, revoked or expired key".into(),
            )),
            Err(SyncError::Status {
                status: 403,
                reason,
            }) => Err(SyncError::EnrollRefused(reason)),
            other => other,
        }
    }

    /// Messages must be signed by one of these keys (hex), or by one that
    /// the keys kept beside the store lead to.
    pub fn with_server_keys(mut self, keys: Vec<String>) -> Self {
        self.server_keys = keys;
        self
    }

    /// The port to announce for inbound push calls, while listening on it.
    pub fn set_push_port(&mut self, port: Option<u16>) {
        self.push_port = port;
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SyncError> {
        // An agent signing in has no token yet.
        let auth =
            (!self.endpoint.token.is_empty()).then(|| format!("Bearer {}", self.endpoint.token));
        self.post_as(path, body, auth).await
    }

    /// Signs in with a Kerberos (SPNEGO) token for the server, and the
    /// computer's own (`machine`) if it has one, which proves its name.
    pub async fn kerberos_sign_in(
        &self,
        token: &[u8],
        machine: Option<&[u8]>,
    ) -> Result<Enrolled, SyncError> {
        use base64::Engine as _;
        let b64 = |t: &[u8]| base64::engine::general_purpose::STANDARD.encode(t);
        let auth = format!("Negotiate {}", b64(token));
        let req = KerberosSignIn {
            host: self.endpoint.host.clone(),
            machine_token: machine.map(b64),
        };
        match self.post_as(KERBEROS_PATH, &req, Some(auth)).await {
            Err(SyncError::Status {
                status: 401 | 403 | 404,
                reason,
            }) => Err(SyncError::KerberosRefused(reason)),
            other => other,
        }
    }

    async fn post_as<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        auth: Option<String>,
    ) -> Result<T, SyncError> {
        let server = &self.endpoint.server;
        let failed = |e: reqwest::Error| unreachable(server, &e);
        let mut req = self.http.post(format!("{server}{path}"));
        if let Some(auth) = auth {
            req = req.header(reqwest::header::AUTHORIZATION, auth);
        }
        let mut resp = req.json(body).send().await.map_err(failed)?;
        let status = resp.status();
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(SyncError::TooLarge(MAX_ANSWER_BYTES));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(failed)? {
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_ANSWER_BYTES {
                return Err(SyncError::TooLarge(MAX_ANSWER_BYTES));
            }
        }
        // A refused ticket says why; a refused token is just refused.
        if status == reqwest::StatusCode::UNAUTHORIZED && path != KERBEROS_PATH {
            return Err(SyncError::Unauthorized);
        }
        if !status.is_success() {
            let reason = error_reason(&buf);
            return Err(SyncError::Status {
                status: status.as_u16(),
                reason,
            });
        }
        serde_json::from_slice(&buf).map_err(|e| SyncError::Malformed(format!("{path}: {e}")))
    }
}

/// One full contact. On failure nothing in the store changes but the
/// exchange log and the last error, and the error is returned.
///
/// What it needs from the store it reads on the reader's connection, so
/// the server is asked at once even while another process holds the write
/// lock; only storing the answer waits for it.
pub async fn sync_once(store: &StoreHandle, client: &SyncClient) -> Result<Applied, SyncError> {
    let started = Utc::now();
    let result = contact(store, client, started).await;
    if let Err(e) = &result {
        let ms = (Utc::now() - started).num_milliseconds();
        let server = client.endpoint.server.clone();
        let error = e.to_string();
        let logged = store
            .write(move |s| s.record_failure(&server, &error, started, ms))
            .await;
        if let Err(log_err) = logged {
            tracing::error!(error = %log_err, "cannot record the failed contact in the exchange log");
        }
    }
    result
}

async fn contact(
    store: &StoreHandle,
    client: &SyncClient,
    started: chrono::DateTime<Utc>,
) -> Result<Applied, SyncError> {
    let ep = &client.endpoint;
    let (state, pending, pushed) = store
        .read(|s| {
            Ok((
                s.sync_state()?,
                s.pending_receipts(RECEIPT_BATCH)?,
                s.pushed()?,
            ))
        })
        .await?;
    let ids: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
    if !pending.is_empty() {
        let batch = ReceiptBatch {
            host: ep.host.clone(),
            receipts: pending.into_iter().map(|(_, r)| r).collect(),
        };
        let answer: ReceiptAnswer = client.post("/api/v1/receipts", &batch).await?;
        let settled = answer.recorded as usize + answer.duplicates as usize + answer.rejected.len();
        if settled != batch.receipts.len() {
            return Err(SyncError::Malformed(format!(
                "the server settled {settled} of {} receipts",
                batch.receipts.len()
            )));
        }
        for r in &answer.rejected {
            let what = batch
                .receipts
                .get(r.index)
                .map(|rc| rc.message_id.as_str())
                .unwrap_or("?");
            tracing::warn!(message = what, reason = %r.reason, "server rejected a receipt for good");
        }
    }
    let request = PollRequest {
        host: ep.host.clone(),
        cursor: state.cursor_for(&ep.server).map(str::to_owned),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        push_port: client.push_port,
        content: herald_protocol::CONTENT_VERSION,
        pushed: pushed.clone(),
    };
    let poll_sent = Utc::now();
    let answer: PollResponse = client.post("/api/v1/poll", &request).await?;
    let poll_answered = Utc::now();
    validate(&answer)?;
    let mut answer = answer;
    let refused = verify(store, client, &mut answer)?;
    let times = ContactTimes {
        started,
        poll_sent,
        poll_answered,
    };
    tracing::debug!(
        messages = answer.messages.len(),
        stopped = answer.stopped.len(),
        "poll answered; storing"
    );
    let server = ep.server.clone();
    let applied = store
        .write(move |s| s.apply_verified(&server, &answer, &ids, times, &refused))
        .await?;
    if !pushed.is_empty() {
        // Kept, they are named again at the next poll: no harm done.
        if let Err(e) = store.write(move |s| s.forget_pushed(&pushed)).await {
            tracing::warn!(error = %e, "cannot clear what the push stream brought");
        }
    }
    Ok(applied)
}

/// Stands for the cursor after an answer with a refused message: no server
/// makes it, so the next poll gets a full answer, the refused message in
/// it again, and a properly signed one (re-signed, or a new revision) is
/// taken then.
pub const UNVERIFIED_CURSOR: &str = "unverified";

/// Takes out of `answer` every message whose signature does not verify,
/// when this agent has keys to verify with, and returns the receipts that
/// tell the server. Keys learned from a rotation's certificates are kept.
fn verify(
    store: &StoreHandle,
    client: &SyncClient,
    answer: &mut PollResponse,
) -> Result<Vec<Receipt>, SyncError> {
    let refused = verify_messages(store, client, &mut answer.messages, answer.server_time)?;
    if !refused.is_empty() {
        answer.cursor = UNVERIFIED_CURSOR.to_owned();
    }
    Ok(refused)
}

/// Takes out of `messages` every one whose signature does not verify at
/// server time `now`, and returns the receipts that tell the server.
pub(crate) fn verify_messages(
    store: &StoreHandle,
    client: &SyncClient,
    messages: &mut Vec<herald_protocol::Message>,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<Receipt>, SyncError> {
    let file = crate::trust::file_of(store.path());
    verify_with(&file, &client.server_keys, messages, now)
}

/// `verify_messages` with the trust file and the configured keys, for
/// where only those are at hand (the store's own thread).
pub(crate) fn verify_with(
    file: &std::path::Path,
    server_keys: &[String],
    messages: &mut Vec<herald_protocol::Message>,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<Receipt>, SyncError> {
    let mut trust = crate::trust::load(file, server_keys)?;
    if trust.is_empty() {
        return Ok(Vec::new());
    }
    let known = trust.clone();
    let mut refused = Vec::new();
    messages.retain(|m| match trust.verify(m, now) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(message = %m.id, revision = m.revision, reason = %e,
                "message refused: its signature does not verify; not stored, not shown");
            refused.push(Receipt {
                message_id: m.id.clone(),
                revision: m.revision,
                kind: ReceiptKind::Rejected,
                at: now,
                answer: None,
                lang: None,
            });
            false
        }
    });
    if trust != known {
        tracing::info!("learned the server's new signing key from a certificate by a trusted one");
        crate::trust::save(file, &trust)?;
    }
    Ok(refused)
}

/// What serde cannot check: the answer must make sense before it is applied.
/// Times outside the API's range are refused here, so that the clock offset
/// and the schedule never compute with a time near chrono's edge.
pub fn validate(a: &PollResponse) -> Result<(), SyncError> {
    if !time_in_range(a.server_time) {
        return Err(SyncError::Malformed(format!(
            "the server's time {} is out of range",
            a.server_time
        )));
    }
    if a.api_version != API_VERSION {
        return Err(SyncError::Malformed(format!(
            "the server speaks API version {}, this agent {API_VERSION}",
            a.api_version
        )));
    }
    let interval = a.settings.poll_interval_secs;
    if !(1..=MAX_POLL_INTERVAL_SECS).contains(&interval) {
        return Err(SyncError::Malformed(format!(
            "a poll interval of {interval} s is out of range (1 to {MAX_POLL_INTERVAL_SECS})"
        )));
    }
    if a.cursor.is_empty() {
        return Err(SyncError::Malformed("empty cursor".into()));
    }
    a.messages.iter().try_for_each(validate_message)
}

/// What serde cannot check of one message.
pub(crate) fn validate_message(m: &herald_protocol::Message) -> Result<(), SyncError> {
    if m.id.is_empty() || m.revision == 0 || m.valid_until <= m.valid_from {
        return Err(SyncError::Malformed(format!(
            "message '{}' is inconsistent",
            m.id
        )));
    }
    if ![m.valid_from, m.valid_until, m.revised_at]
        .into_iter()
        .all(time_in_range)
    {
        return Err(SyncError::Malformed(format!(
            "message '{}' has a time out of range",
            m.id
        )));
    }
    Ok(())
}

/// Why the server refused, from its answer's body: Herald's own error, or,
/// from a proxy or balancer in between, its page's title.
pub(crate) fn error_reason(body: &[u8]) -> String {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        return e.error;
    }
    let text = String::from_utf8_lossy(body);
    let title = text
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| one_line(title));
    match title {
        Some(title) if !title.is_empty() => {
            format!(
                "{title} (a web page, not Herald's answer: from a proxy or balancer in between?)"
            )
        }
        _ => one_line(&text),
    }
}

fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}

/// reqwest's own message hides the cause ("error sending request"); the
/// chain says "connection refused" or "timed out".
/// A failed request: a refused certificate is told apart, as the fix is
/// the administrator's (give the CA), not the network's.
pub(crate) fn unreachable(server: &str, e: &reqwest::Error) -> SyncError {
    match crate::tls::refused_certificate(e) {
        Some(reason) => SyncError::Certificate {
            server: server.to_owned(),
            reason,
        },
        None => SyncError::Unreachable {
            server: server.to_owned(),
            reason: chain(e),
        },
    }
}

pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    herald_protocol::steps::one_line(e)
}

#[cfg(test)]
mod tests {
    use super::error_reason;

    #[test]
    fn a_refusal_says_why_in_one_line_whoever_wrote_it() {
        assert_eq!(error_reason(br#"{"error":"unknown host"}"#), "unknown host");
        let nginx = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(
            error_reason(nginx),
            "502 Bad Gateway (a web page, not Herald's answer: from a proxy or balancer in between?)"
        );
        assert_eq!(error_reason(b"overloaded\nretry later"), "overloaded");
        assert_eq!(error_reason(b"<title></title>oops"), "<title></title>oops");
    }
}
