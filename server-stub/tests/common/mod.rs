//! A server in-process on a loopback port with a real SQLite file, and
//! the calls the API tests make to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use herald_server::store::db::Location;
use herald_server::store::pool::Db;
use herald_server::{serve, AgentPolicy, AppState};
use serde_json::{json, Value};

pub const ADMIN: &str = "admin-secret";

pub struct TestServer {
    pub url: String,
    pub location: Location,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    start_with(herald_protocol::PushMode::Stream).await
}

/// A fresh database of its own on the cluster `HERALD_TEST_PG` names
/// (scripts/test starts one), or else a SQLite file in `dir`. The tests
/// run on a multi-threaded runtime, where PostgreSQL's client may block.
pub fn location(dir: &std::path::Path) -> Location {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let Ok(admin) = std::env::var("HERALD_TEST_PG") else {
        return Location::Sqlite(dir.join("server.db"));
    };
    let name = format!(
        "herald_api_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let conn = herald_server::store::sql::Conn::connect_postgres(&admin, false).unwrap();
    conn.execute_batch(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    Location::Postgres(format!("{base}/{name}"))
}

pub async fn start_with(push: herald_protocol::PushMode) -> TestServer {
    start_custom(push, |st| st).await
}

/// A server that takes every agent's word for its host name
/// (`serve --trust-claimed-hosts`).
pub async fn start_trusting_claimed_hosts() -> TestServer {
    start_custom(herald_protocol::PushMode::Stream, |st| {
        st.with_trust_claimed_hosts(true)
    })
    .await
}

/// A server whose state `setup` adjusts first (connection limits, say).
pub async fn start_custom(
    push: herald_protocol::PushMode,
    setup: impl FnOnce(AppState) -> AppState,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let location = location(dir.path());
    let db = Db::open_at(&location).unwrap();
    let policy = AgentPolicy {
        poll_interval_secs: 300,
        min_agent_version: Some("99.0.0".into()),
        push,
    };
    let state = setup(AppState::new(db, ADMIN, policy));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(serve(listener, None, state, async {
        let _ = stopped.await;
    }));
    TestServer {
        url,
        location,
        http: reqwest::Client::new(),
        stop: Some(stop),
        served: Some(served),
        _dir: dir,
    }
}

impl TestServer {
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn call(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() {
            None
        } else {
            Some(body.to_string())
        };
        let (status, text) = self.raw(method, path, token, body).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn user(&self, name: &str, groups: &[&str]) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/api/v1/admin/users",
                ADMIN,
                json!({"name": name, "groups": groups}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    /// An agent token bound to `host` for `user`, from an enrollment key:
    /// it proves the host's name.
    pub async fn enroll(&self, user: &str, host: &str) -> String {
        let (s, key) = self
            .call("POST", "/api/v1/admin/enroll-keys", ADMIN, json!({}))
            .await;
        assert_eq!(s, 200, "{key}");
        let (s, v) = self
            .call(
                "POST",
                "/api/v1/enroll",
                "",
                json!({"key": key["key"], "user": user, "host": host}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    pub async fn send(&self, body: Value) -> (u16, Value) {
        self.call("POST", "/api/v1/admin/messages", ADMIN, body)
            .await
    }

    pub async fn receipts(&self, id: &str) -> Value {
        let path = format!("/api/v1/admin/messages/{id}/receipts");
        self.call("GET", &path, ADMIN, Value::Null).await.1
    }

    pub async fn message_count(&self) -> usize {
        let (_, v) = self
            .call("GET", "/api/v1/admin/messages", ADMIN, Value::Null)
            .await;
        v.as_array().unwrap().len()
    }

    pub async fn poll(&self, token: &str, host: &str, cursor: Option<&str>) -> (u16, Value, usize) {
        self.poll_listening(token, host, cursor, None).await
    }

    pub async fn poll_listening(
        &self,
        token: &str,
        host: &str,
        cursor: Option<&str>,
        port: Option<u16>,
    ) -> (u16, Value, usize) {
        let body =
            json!({"host": host, "cursor": cursor, "agent_version": "0.1.0", "push_port": port})
                .to_string();
        let (s, text) = self.raw("POST", "/api/v1/poll", token, Some(body)).await;
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text.len(),
        )
    }
}

impl TestServer {
    /// Stops the server as a signal would; returns how long `serve` took
    /// to return, or `None` if it had not within `wait`.
    pub async fn stop(&mut self, wait: std::time::Duration) -> Option<std::time::Duration> {
        let began = std::time::Instant::now();
        let _ = self.stop.take()?.send(());
        let served = self.served.take()?;
        match tokio::time::timeout(wait, served).await {
            Ok(r) => {
                r.unwrap().unwrap();
                Some(began.elapsed())
            }
            Err(_) => None,
        }
    }

    /// A connection of the test's own to the server's database, to see
    /// what the server wrote.
    pub fn peek(&self) -> herald_server::store::sql::Conn {
        match &self.location {
            Location::Sqlite(path) => herald_server::store::sql::Conn::from_sqlite(
                rusqlite::Connection::open(path).unwrap(),
            ),
            Location::Postgres(url) => {
                herald_server::store::sql::Conn::connect_postgres(url, true).unwrap()
            }
        }
    }

    /// What the server last recorded for an agent, read from its own file:
    /// the change sequence its last full answer was computed at.
    pub fn seq_seen(&self, user: &str, host: &str) -> i64 {
        let c = self.peek();
        c.query_row(
            "SELECT s.seq_seen FROM agent_sync s JOIN users u ON u.id = s.user_id
             WHERE u.name = ?1 AND s.host = ?2",
            [user, host],
            |r| r.get(0),
        )
        .unwrap()
    }
}

pub fn one_line_error(v: &Value) -> &str {
    let e = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {v}"));
    assert!(!e.contains('\n'), "error spans lines: {e}");
    e
}
