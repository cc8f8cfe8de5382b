//! The site exchange endpoint against posts from anyone: replays of a
//! relay's real bundle, stale and forged bundles, bundles for no site and
//! big bodies. A relay's side is a real database of its own that seals
//! bundles as a relay does; the central server is the real one in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{TestServer, ADMIN};
use ed25519_dalek::SigningKey;
use herald_protocol::Transport;
use herald_server::domain::sites::{self, bundle, exchange_flow};
use herald_server::store::db;
use herald_server::store::sql::Conn;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATH: &str = "/api/v1/site/exchange";

struct Relay {
    name: String,
    conn: Conn,
    key: SigningKey,
    _dir: tempfile::TempDir,
}

impl Relay {
    fn seal(&self, now: DateTime<Utc>) -> String {
        exchange_flow::relay_seal(&self.conn, &self.name, &self.key, now)
            .unwrap()
            .1
    }
}

async fn relay(s: &TestServer, name: &str) -> Relay {
    let (status, keys) = s
        .call(
            "POST",
            "/api/v1/admin/sites",
            ADMIN,
            json!({"name": name, "transport": "https"}),
        )
        .await;
    assert_eq!(status, 200, "{keys}");
    let dir = tempfile::tempdir().unwrap();
    let conn = db::open(&dir.path().join("relay.db")).unwrap();
    let central_key = keys["central_key"].as_str().unwrap();
    sites::ensure_central(&conn, name, Transport::Https, None, central_key, Utc::now()).unwrap();
    Relay {
        name: name.to_owned(),
        conn,
        key: bundle::signing_key(keys["site_key"].as_str().unwrap()).unwrap(),
        _dir: dir,
    }
}

async fn post(s: &TestServer, site: Option<&str>, body: String) -> (u16, String) {
    let mut req = s
        .http
        .post(format!("{}{PATH}", s.url))
        .header("content-type", "text/plain")
        .body(body);
    if let Some(site) = site {
        req = req.header("x-herald-site", site);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn refused_lines(s: &TestServer, site: &str) -> Vec<Value> {
    let (status, log) = s
        .call("GET", "/api/v1/admin/exchange/log", ADMIN, Value::Null)
        .await;
    assert_eq!(status, 200, "{log}");
    log.as_array()
        .unwrap()
        .iter()
        .filter(|l| l["site"] == site && l["outcome"] == "rejected")
        .cloned()
        .collect()
}

async fn site_info(s: &TestServer, site: &str) -> Value {
    let (_, all) = s
        .call("GET", "/api/v1/admin/sites", ADMIN, Value::Null)
        .await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == site)
        .cloned()
        .unwrap()
}

fn junk_bundle(site: &str) -> String {
    use base64::Engine;
    let json = format!(
        r#"{{"site":"{site}","direction":"up","number":99,"ack":0,"created":"{}","nonce":"bm9uY2U=","sender_version":"0.1.0","body":{{"receipts":[],"hosts":[],"users":["mallory"]}}}}"#,
        Utc::now().to_rfc3339()
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "HERALD-BUNDLE 1\n{}\nSIGNATURE\n{}\nEND HERALD-BUNDLE\n",
        b64.encode(json),
        b64.encode([7u8; 64])
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_bundle_gets_no_answer_and_one_trace_line() {
    let s = common::start().await;
    let r = relay(&s, "plant-a").await;
    s.send(json!({"to": ["all"], "severity": "info", "title": "Canteen closed"}))
        .await;
    let sent = r.seal(Utc::now());
    let (status, answer) = post(&s, Some("plant-a"), sent.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(bundle::is_bundle(&answer), "{answer}");
    let before = site_info(&s, "plant-a").await;

    // The same bundle again, as anyone holding a copy could post it.
    for _ in 0..5 {
        let (status, again) = post(&s, Some("plant-a"), sent.clone()).await;
        assert_eq!(status, 403, "{again}");
        assert!(!bundle::is_bundle(&again), "{again}");
    }
    let lines = refused_lines(&s, "plant-a").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]["detail"].as_str().unwrap().contains("replayed"),
        "{lines:?}"
    );
    let after = site_info(&s, "plant-a").await;
    assert_eq!(before["last_exchange"], after["last_exchange"], "{after}");
    assert!(after["last_error"].is_null(), "{after}");
    assert_eq!(before["sent"], after["sent"], "no bundle down was made");

    // The relay's next, new bundle is taken as ever.
    let (status, _) = post(&s, Some("plant-a"), r.seal(Utc::now())).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_older_than_a_day_is_refused() {
    let s = common::start().await;
    let r = relay(&s, "plant-a").await;
    let old = r.seal(Utc::now() - chrono::Duration::hours(25));
    let (status, body) = post(&s, Some("plant-a"), old).await;
    assert_eq!(status, 403, "{body}");
    let lines = refused_lines(&s, "plant-a").await;
    assert!(
        lines[0]["detail"].as_str().unwrap().contains("stale"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_bundle_and_one_for_no_site_get_the_same_answer() {
    let s = common::start().await;
    let _r = relay(&s, "plant-a").await;
    let forged = post(&s, Some("plant-a"), junk_bundle("plant-a")).await;
    let nowhere = post(&s, Some("nowhere"), junk_bundle("nowhere")).await;
    let unnamed = post(&s, None, junk_bundle("plant-a")).await;
    let garbage = post(&s, Some("plant-a"), "no bundle at all".into()).await;
    assert_eq!(forged.0, 403, "{}", forged.1);
    assert_eq!(forged, nowhere);
    assert_eq!(forged, unnamed);
    assert_eq!(forged, garbage);
    let (_, users) = s
        .call("GET", "/api/v1/admin/users", ADMIN, Value::Null)
        .await;
    assert!(!users.to_string().contains("mallory"), "{users}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_bundles_write_one_trace_line_a_minute_and_leave_the_site_alone() {
    let s = common::start().await;
    let r = relay(&s, "plant-a").await;
    let (status, _) = post(&s, Some("plant-a"), r.seal(Utc::now())).await;
    assert_eq!(status, 200);
    for _ in 0..20 {
        let (status, _) = post(&s, Some("plant-a"), junk_bundle("plant-a")).await;
        assert_eq!(status, 403);
    }
    let lines = refused_lines(&s, "plant-a").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let info = site_info(&s, "plant-a").await;
    assert!(info["last_error"].is_null(), "{info}");
    assert_eq!(info["state"], "up-to-date", "{info}");
}

/// A body declared at 20 MiB for a site not registered: the answer comes
/// before the body is sent, so it was not read. Before, the server waited
/// for all of it; the client sends 1 MiB only, then waits for the answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_big_body_for_no_site_is_refused_unread() {
    let s = common::start().await;
    let _r = relay(&s, "plant-a").await;
    let before = site_info(&s, "plant-a").await;
    // The last: past the small limit for no site, refused for its size. On
    // a socket of its own: the server answers before the body is sent and
    // closes, which a pooled client may meet while still writing.
    let cases = [
        ("x-herald-site: nowhere\r\n", 20 * 1024 * 1024),
        ("", 20 * 1024 * 1024),
        ("x-herald-site: nowhere\r\n", 200 * 1024),
    ];
    for (site_header, length) in cases {
        let addr = s.url.trim_start_matches("http://").to_owned();
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {PATH} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: text/plain\r\n\
             {site_header}content-length: {length}\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        // The server may answer and close before this is all written.
        let _ = tcp.write_all(&vec![b'A'; length.min(1024 * 1024)]).await;
        let mut answer = vec![0u8; 4096];
        // Generous: a stall is the bug, not slowness.
        let n = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut answer))
            .await
            .expect("no answer: the server waits for the whole body")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
    let after = site_info(&s, "plant-a").await;
    assert_eq!(before, after);
}
