//! The HTTP API, served in-process on a loopback port with a real SQLite
//! file: validation, authorization, the cheap unchanged poll, receipts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_reason_and_changes_nothing() {
    let s = start().await;
    s.user("alice", &[]).await;
    let ok = json!({"to": ["user:alice"], "severity": "info", "title": "t", "body": "b"});
    let cases = [
        (
            json!({"to": ["user:alice"], "severity": "urgent", "title": "t", "body": ""}),
            "urgent",
        ),
        (
            json!({"to": ["user:alice"], "severity": "info", "title": "  ", "body": ""}),
            "empty title",
        ),
        (
            json!({"to": ["user:alice"], "severity": "info", "title": "t", "body": "",
                   "valid_from": "+2h", "valid_until": "+1h"}),
            "valid-until must be after valid-from",
        ),
        (
            json!({"to": ["user:alice"], "severity": "info", "title": "t", "body": "x".repeat(64 * 1024 + 1)}),
            "over the limit",
        ),
        (
            json!({"to": ["user:nobody"], "severity": "info", "title": "t", "body": ""}),
            "unknown recipient",
        ),
        (
            json!({"to": ["group:nogroup"], "severity": "info", "title": "t", "body": ""}),
            "unknown recipient",
        ),
        (
            json!({"to": ["host:never-seen"], "severity": "info", "title": "t", "body": ""}),
            "unknown recipient",
        ),
        (
            json!({"to": ["martians"], "severity": "info", "title": "t", "body": ""}),
            "bad recipient",
        ),
        (
            json!({"to": [], "severity": "info", "title": "t", "body": ""}),
            "no recipient",
        ),
        (
            json!({"to": ["all"], "severity": "info", "title": "t", "body": "", "valid_until": "soon"}),
            "bad time",
        ),
    ];
    for (body, reason) in cases {
        let (status, v) = s.send(body).await;
        assert_eq!(status, 400, "{v}");
        let e = one_line_error(&v);
        assert!(e.contains(reason), "expected '{reason}' in '{e}'");
    }
    let (status, text) = s
        .raw(
            "POST",
            "/api/v1/admin/messages",
            ADMIN,
            Some("{not json".into()),
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("malformed request"), "{text}");
    assert_eq!(s.message_count().await, 0);

    let (status, _) = s.send(ok).await;
    assert_eq!(status, 200);
    assert_eq!(s.message_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_and_scoped() {
    let s = start().await;
    let alice = s.user("alice", &[]).await;
    let bob = s.user("bob", &[]).await;
    let (_, m) = s
        .send(json!({"to": ["user:alice"], "severity": "info", "title": "for alice", "body": ""}))
        .await;
    let id = m["id"].as_str().unwrap();

    for token in ["", "wrong", alice.as_str()] {
        let (status, v) = s
            .call("GET", "/api/v1/admin/messages", token, Value::Null)
            .await;
        assert_eq!(status, 401, "admin API with {token:?}: {v}");
        one_line_error(&v);
    }
    let (status, _, _) = s.poll("wrong", "pc", None).await;
    assert_eq!(status, 401);

    let (status, v, _) = s.poll(&bob, "pc", None).await;
    assert_eq!(status, 200);
    assert!(
        v["messages"].as_array().unwrap().is_empty(),
        "bob sees alice's message: {v}"
    );

    // Bob cannot acknowledge alice's message, on any host.
    let batch = json!({"host": "pc", "receipts": [{"message_id": id, "revision": 1, "kind": "read", "at": "2026-01-01T00:00:00Z"}]});
    let (status, v) = s.call("POST", "/api/v1/receipts", &bob, batch).await;
    assert_eq!(status, 200);
    assert_eq!(v["recorded"], 0);
    assert_eq!(v["rejected"][0]["index"], 0);
    let r = s.receipts(id).await;
    assert_eq!(r.as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_poll_is_almost_empty_and_changes_arrive_as_differences() {
    let s = start().await;
    let alice = s.user("alice", &["ops"]).await;
    let (_, m1) = s.send(json!({"to": ["group:ops"], "severity": "warning", "title": "one", "body": "x".repeat(2000)})).await;

    let (_, first, _) = s.poll(&alice, "PC-1", None).await;
    assert_eq!(first["full"], true);
    assert_eq!(first["messages"].as_array().unwrap().len(), 1);
    assert_eq!(first["settings"]["poll_interval_secs"], 300);
    assert!(first["settings"]["version_warning"]
        .as_str()
        .unwrap()
        .contains("update"));
    let cursor = first["cursor"].as_str().unwrap().to_owned();

    let (_, again, bytes) = s.poll(&alice, "pc-1", Some(&cursor)).await;
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["cursor"], cursor.as_str());
    assert!(
        bytes < 400,
        "unchanged poll answer is {bytes} bytes: {again}"
    );

    // A new message comes alone; the one already delivered is not repeated.
    s.send(json!({"to": ["user:alice"], "severity": "info", "title": "two", "body": ""}))
        .await;
    let (_, delta, _) = s.poll(&alice, "pc-1", Some(&cursor)).await;
    assert_eq!(delta["full"], false);
    let titles: Vec<&str> = delta["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["two"]);
    let cursor = delta["cursor"].as_str().unwrap().to_owned();

    // Leaving the group stops the group's message.
    let (status, _) = s
        .call(
            "DELETE",
            "/api/v1/admin/groups/ops/members/alice",
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    let (_, delta, _) = s.poll(&alice, "pc-1", Some(&cursor)).await;
    assert_eq!(
        delta["stopped"],
        json!([{"id": m1["id"], "reason": "unaddressed"}])
    );

    // A stale cursor gets everything, marked full.
    let (_, stale, _) = s.poll(&alice, "pc-1", Some("bogus.1")).await;
    assert_eq!(stale["full"], true);
    assert_eq!(stale["messages"].as_array().unwrap().len(), 1);

    // The instance counted each kind of answer: two full, two
    // differences, one unchanged.
    let (status, metrics) = s.raw("GET", "/api/v1/admin/metrics", ADMIN, None).await;
    assert_eq!(status, 200, "{metrics}");
    for line in [
        "herald_polls_total{answer=\"full\"} 2",
        "herald_polls_total{answer=\"changed\"} 2",
        "herald_polls_total{answer=\"unchanged\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in {metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_are_idempotent_and_reading_drops_the_message_everywhere() {
    let s = start().await;
    let alice = s.user("alice", &[]).await;
    let (_, m) = s.send(json!({"to": ["user:alice"], "severity": "alert", "title": "t", "body": "", "receipt": "both"})).await;
    let id = m["id"].as_str().unwrap();
    let (_, on_b, _) = s.poll(&alice, "pc-b", None).await;
    let cursor_b = on_b["cursor"].as_str().unwrap().to_owned();

    let batch = json!({"host": "pc-a", "receipts": [
        {"message_id": id, "revision": 1, "kind": "displayed", "at": "2026-01-01T00:00:00Z"},
        {"message_id": id, "revision": 1, "kind": "read", "at": "2026-01-01T00:00:05Z"},
        {"message_id": id, "revision": 7, "kind": "read", "at": "2026-01-01T00:00:05Z"}]});
    let (_, first) = s
        .call("POST", "/api/v1/receipts", &alice, batch.clone())
        .await;
    assert_eq!(
        (first["recorded"].as_u64(), first["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(first["rejected"][0]["index"], 2);
    let (_, second) = s.call("POST", "/api/v1/receipts", &alice, batch).await;
    assert_eq!(
        (second["recorded"].as_u64(), second["duplicates"].as_u64()),
        (Some(0), Some(2))
    );

    let r = s.receipts(id).await;
    assert_eq!(r.as_array().unwrap().len(), 2, "{r}");

    let (_, on_b, _) = s.poll(&alice, "pc-b", Some(&cursor_b)).await;
    assert_eq!(
        on_b["stopped"],
        json!([{"id": id, "reason": "read_elsewhere"}])
    );

    // A new revision applies again.
    let (status, _) = s
        .call(
            "PATCH",
            &format!("/api/v1/admin/messages/{id}"),
            ADMIN,
            json!({"body": "new"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, on_b2, _) = s.poll(&alice, "pc-b", on_b["cursor"].as_str()).await;
    assert_eq!(on_b2["messages"][0]["revision"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_and_withdraw() {
    let s = start().await;
    s.user("alice", &[]).await;
    let (_, m) = s
        .send(json!({"to": ["all"], "severity": "info", "title": "t", "body": ""}))
        .await;
    let id = m["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/messages/{id}");
    let (status, v) = s.call("PATCH", &path, ADMIN, json!({})).await;
    assert_eq!(status, 400, "{v}");
    let (_, v) = s
        .call(
            "PATCH",
            &path,
            ADMIN,
            json!({"title": "t2", "severity": "alert"}),
        )
        .await;
    assert_eq!(
        (v["revision"].as_u64(), v["severity"].as_str()),
        (Some(2), Some("alert"))
    );
    let (status, v) = s
        .call("POST", &format!("{path}/withdraw"), ADMIN, Value::Null)
        .await;
    assert_eq!(status, 200);
    assert!(v["withdrawn_at"].is_string());
    let (status, v) = s.call("PATCH", &path, ADMIN, json!({"title": "t3"})).await;
    assert_eq!(status, 409, "{v}");
    let (status, _) = s
        .call("GET", "/api/v1/admin/messages/nope", ADMIN, Value::Null)
        .await;
    assert_eq!(status, 404);
}

/// Reads a push stream until `want` appears in it, or gives up after `wait`.
async fn until(stream: &mut reqwest::Response, want: &str, wait: std::time::Duration) -> bool {
    let mut seen = String::new();
    let end = tokio::time::Instant::now() + wait;
    while !seen.contains(want) {
        match tokio::time::timeout_at(end, stream.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            _ => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_hints_go_to_the_recipients_streams_only_and_carry_no_content() {
    use std::time::Duration;
    let srv = start().await;
    let ann = srv.user("ann", &["staff"]).await;
    let bob = srv.user("bob", &[]).await;
    let open = |token: String| {
        let http = srv.http.clone();
        let url = format!("{}/api/v1/push?host=pc-1", srv.url);
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let mut a = open(ann.clone()).await;
    let mut b = open(bob.clone()).await;
    assert_eq!(a.status(), 200);
    assert!(a
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream")));
    assert!(until(&mut a, "event: ready", Duration::from_secs(2)).await);
    assert!(until(&mut b, "event: ready", Duration::from_secs(2)).await);

    // An info is not immediate by default: no hint.
    let (s, _) = srv
        .send(json!({"to": ["group:staff"], "severity": "info", "title": "t", "body": "b"}))
        .await;
    assert_eq!(s, 200);
    assert!(!until(&mut a, "event: check", Duration::from_millis(500)).await);

    // An alert to the group reaches Ann's stream, not Bob's, and says only "check".
    let (s, m) = srv
        .send(json!({"to": ["group:staff"], "severity": "alert", "title": "Secret title", "body": "b"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(m["immediate"], true);
    let mut seen = String::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(2);
    while !seen.contains("event: check") {
        let c = tokio::time::timeout_at(end, a.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(!seen.contains("Secret"), "{seen}");
    assert!(!until(&mut b, "event: check", Duration::from_millis(500)).await);

    // Withdrawing it is news too.
    let id = m["id"].as_str().unwrap();
    let (s, _) = srv
        .call(
            "POST",
            &format!("/api/v1/admin/messages/{id}/withdraw"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(s, 200);
    assert!(until(&mut a, "event: check", Duration::from_secs(2)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_calls_are_signed_empty_and_keys_die_with_the_token() {
    use herald_protocol::{verify, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let srv = start_with(herald_protocol::PushMode::Inbound).await;
    let ann = srv.user("ann", &[]).await;
    let secret = |v: &Value| v["settings"]["push_secret"].as_str().map(str::to_owned);

    // No key until the agent listens; then one key, kept while it does.
    let (_, v, _) = srv.poll(&ann, "pc-1", None).await;
    assert_eq!(v["settings"]["push"], "inbound");
    assert_eq!(secret(&v), None);
    let agent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = agent.local_addr().unwrap().port();
    let (_, v, _) = srv.poll_listening(&ann, "pc-1", None, Some(port)).await;
    let key = secret(&v).expect("no key for a listening agent");
    assert_eq!(key.len(), 64);
    let (_, v, _) = srv.poll(&ann, "pc-1", None).await;
    assert_eq!(
        secret(&v).as_deref(),
        Some(key.as_str()),
        "a one-shot sync lost the key"
    );
    let (s, _) = srv.raw("GET", "/api/v1/push?host=pc-1", &ann, None).await;
    assert_eq!(s, 404, "streams are not offered in inbound mode");

    // An alert: the server calls back where the poll came from, signed,
    // with nothing of the message in the call.
    let (s, _) = srv
        .send(
            json!({"to": ["user:ann"], "severity": "alert", "title": "Secret title", "body": "b"}),
        )
        .await;
    assert_eq!(s, 200);
    let (mut conn, _) = tokio::time::timeout(std::time::Duration::from_secs(3), agent.accept())
        .await
        .expect("the server did not call")
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        .await
        .unwrap();
    assert!(
        head.starts_with("POST /herald/v1/check HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(!head.contains("Secret"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "the call has a body: {head}");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    };
    let ts: i64 = header(HEADER_TIMESTAMP).parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() <= 5);
    let nonce = header(HEADER_NONCE);
    assert!(verify(&key, ts, &nonce, "pc-1", &header(HEADER_SIGNATURE)));

    // A new token means a new key: the old token's holder had the old one.
    let (s, v) = srv
        .call("POST", "/api/v1/admin/users/ann/token", ADMIN, Value::Null)
        .await;
    assert_eq!(s, 200);
    let ann = v["token"].as_str().unwrap().to_owned();
    let (_, v, _) = srv.poll_listening(&ann, "pc-1", None, Some(port)).await;
    let new_key = secret(&v).unwrap();
    assert_ne!(new_key, key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_typo_is_a_400_and_the_server_keeps_serving() {
    let s = start().await;
    let bob = s.user("bob", &[]).await;
    let (_, first, _) = s.poll(&bob, "pc", None).await;
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    for until in [
        "+100000000d",
        "+9223372036854775807s",
        "+99999999999999999999d",
        "+3000000d",
        "10000-01-01T00:00:00Z",
    ] {
        let (status, v) = s
            .send(json!({"to": ["user:bob"], "severity": "info", "title": "x", "body": "", "valid_until": until}))
            .await;
        assert_eq!(status, 400, "{until}: {v}");
        assert!(!one_line_error(&v).is_empty());
    }
    let (status, v) = s
        .send(json!({"to": ["user:bob"], "severity": "info", "title": "x", "body": "", "valid_from": "9999-12-31T12:00:00Z"}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(s.message_count().await, 0);
    let (_, m) = s
        .send(json!({"to": ["user:bob"], "severity": "info", "title": "ok", "body": ""}))
        .await;
    let path = format!("/api/v1/admin/messages/{}", m["id"].as_str().unwrap());
    let (status, v) = s
        .call("PATCH", &path, ADMIN, json!({"valid_until": "+100000000d"}))
        .await;
    assert_eq!(status, 400, "{v}");
    let (status, v, _) = s.poll(&bob, "pc", Some(&cursor)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["messages"][0]["title"], "ok");
    // Found by fuzzing: a name echoed in a 400 carries no control
    // characters to the admin's terminal.
    let body = json!({"host": "pc\n\u{1b}[31mred", "cursor": null, "agent_version": "0.1.0"});
    let (status, v) = s.call("POST", "/api/v1/poll", &bob, body).await;
    assert_eq!(status, 400, "{v}");
    let reason = one_line_error(&v);
    assert!(!reason.chars().any(char::is_control), "{reason:?}");
    // A receipt dated outside the API's range is refused, not stored.
    let read = json!({"host": "pc", "receipts": [{"message_id": m["id"], "revision": 1, "kind": "read", "at": "+200000-01-01T00:00:00Z"}]});
    let (status, v) = s.call("POST", "/api/v1/receipts", &bob, read).await;
    assert_eq!(
        (status, &v["rejected"][0]["reason"]),
        (200, &json!("time out of range")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_others_carry_on() {
    let app = herald_server::http::router::contain_panics(
        axum::Router::new()
            .route(
                "/boom",
                axum::routing::get(|| async {
                    if true {
                        panic!("a bug in one handler");
                    }
                    "unreachable"
                }),
            )
            .route("/fine", axum::routing::get(|| async { "fine" })),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let boom = http.get(format!("{url}/boom")).send().await.unwrap();
    assert_eq!(boom.status().as_u16(), 500);
    let v: Value = boom.json().await.unwrap();
    assert!(one_line_error(&v).contains("unexpectedly"), "{v}");
    let fine = http.get(format!("{url}/fine")).send().await.unwrap();
    assert_eq!(fine.text().await.unwrap(), "fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn others_changes_leave_a_poll_on_the_cheap_path() {
    // It polls as pc-ann with ann's own token: her word for the host.
    let s = common::start_trusting_claimed_hosts().await;
    let ann = s.user("ann", &["ops"]).await;
    let bob = s.user("bob", &["sales"]).await;
    s.user("carl", &[]).await;
    let (_, m) = s
        .send(json!({"to": ["group:ops", "group:sales"], "severity": "info", "title": "both", "body": ""}))
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let (_, first, _) = s.poll(&ann, "pc-ann", None).await;
    let mut cursor = first["cursor"].as_str().unwrap().to_owned();
    let (_, _, _) = s.poll(&bob, "pc-bob", None).await;
    let seen = s.seq_seen("ann", "pc-ann");

    // None of these concern ann at pc-ann.
    s.send(json!({"to": ["user:bob"], "severity": "info", "title": "bob only", "body": ""}))
        .await;
    s.send(json!({"to": ["group:sales"], "severity": "info", "title": "sales", "body": ""}))
        .await;
    s.send(json!({"to": ["host:pc-bob"], "severity": "info", "title": "bob's pc", "body": ""}))
        .await;
    let read = json!({"host": "pc-bob", "receipts": [{"message_id": id, "revision": 1, "kind": "read", "at": "2026-01-01T00:00:00Z"}]});
    let (status, v) = s.call("POST", "/api/v1/receipts", &bob, read).await;
    assert_eq!((status, &v["recorded"]), (200, &json!(1)), "{v}");
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/admin/groups/sales/members",
            ADMIN,
            json!({"user": "carl"}),
        )
        .await;
    assert_eq!(status, 200);

    let (_, again, _) = s.poll(&ann, "pc-ann", Some(&cursor)).await;
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(
        s.seq_seen("ann", "pc-ann"),
        seen,
        "an unrelated change sent ann's poll down the full path"
    );

    // Each of these does concern her, and her next poll sees it.
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/admin/groups/sales/members",
            ADMIN,
            json!({"user": "ann"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, v, _) = s.poll(&ann, "pc-ann", Some(&cursor)).await;
    assert_eq!(v["messages"][0]["title"], "sales", "{v}");
    cursor = v["cursor"].as_str().unwrap().to_owned();
    s.send(json!({"to": ["host:pc-ann"], "severity": "info", "title": "her pc", "body": ""}))
        .await;
    let (_, v, _) = s.poll(&ann, "pc-ann", Some(&cursor)).await;
    assert_eq!(v["messages"][0]["title"], "her pc", "{v}");
    cursor = v["cursor"].as_str().unwrap().to_owned();
    // Read on another of her computers: this one drops it.
    let read = json!({"host": "laptop", "receipts": [{"message_id": id, "revision": 1, "kind": "read", "at": "2026-01-01T00:00:00Z"}]});
    s.call("POST", "/api/v1/receipts", &ann, read).await;
    let (_, v, _) = s.poll(&ann, "pc-ann", Some(&cursor)).await;
    assert_eq!(v["stopped"][0]["reason"], "read_elsewhere", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_poll_writes_nothing_until_the_batch_is_flushed() {
    let s = start().await;
    let ann = s.user("ann", &[]).await;
    let (_, first, _) = s.poll(&ann, "pc-ann", None).await;
    let cursor = first["cursor"].as_str().unwrap().to_owned();
    let hosts = |s: &TestServer| -> i64 {
        let c = s.peek();
        c.query_row(
            "SELECT last_seen FROM hosts WHERE name = 'pc-ann'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = hosts(&s);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (_, v, _) = s.poll(&ann, "pc-ann", Some(&cursor)).await;
    assert_eq!(v["changed"], false);
    assert_eq!(
        hosts(&s),
        before,
        "the unchanged poll wrote last-seen at once"
    );
    // The admin's host list writes the batch first.
    let (_, list) = s
        .call("GET", "/api/v1/admin/hosts", ADMIN, Value::Null)
        .await;
    assert_ne!(list[0]["last_seen"], first["server_time"], "{list}");
    assert!(hosts(&s) > before, "the batch was not flushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_refuses_a_missing_or_agent_token_before_reading_the_body() {
    let s = start().await;
    let agent = s.user("ann", &[]).await;
    let routes = [
        ("GET", "/api/v1/admin/users"),
        ("POST", "/api/v1/admin/users"),
        ("DELETE", "/api/v1/admin/users/ann"),
        ("POST", "/api/v1/admin/users/ann/token"),
        ("POST", "/api/v1/admin/groups/ops/members"),
        ("DELETE", "/api/v1/admin/groups/ops/members/ann"),
        ("GET", "/api/v1/admin/hosts"),
        ("GET", "/api/v1/admin/messages"),
        ("POST", "/api/v1/admin/messages"),
        ("GET", "/api/v1/admin/messages/x"),
        ("PATCH", "/api/v1/admin/messages/x"),
        ("POST", "/api/v1/admin/messages/x/withdraw"),
        ("GET", "/api/v1/admin/messages/x/receipts"),
        ("GET", "/api/v1/admin/metrics"),
    ];
    for (method, path) in routes {
        for token in ["", agent.as_str()] {
            let (status, text) = s.raw(method, path, token, Some("{not json".into())).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {text}");
        }
    }
    let (_, users) = s
        .call("GET", "/api/v1/admin/users", ADMIN, Value::Null)
        .await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}
