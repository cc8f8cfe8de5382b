//! Push streams on both paths: a fresh connection (served from the bare
//! socket) and a connection hyper already serves (a reused one, as a proxy
//! keeps them). Both must say the same, refuse the same, and end at
//! shutdown instead of holding the server up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use herald_protocol::PushMode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads what arrives within `wait`, until `want` is in it.
async fn read_until(tcp: &mut TcpStream, want: &str, wait: Duration) -> String {
    let mut seen = Vec::new();
    let end = tokio::time::Instant::now() + wait;
    while !String::from_utf8_lossy(&seen).contains(want) {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(end, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// The body of an answer read so far, with any chunked framing removed.
fn body(answer: &str) -> String {
    let Some((head, mut rest)) = answer.split_once("\r\n\r\n") else {
        return String::new();
    };
    if !head.contains("transfer-encoding: chunked") {
        return rest.to_owned();
    }
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn push_request(token: &str, host: &str) -> String {
    format!(
        "GET /api/v1/push?host={host} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
}

/// A connection on which hyper has already answered a request.
async fn reused(url: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until(&mut tcp, "api_version", Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tcp
}

async fn fresh(url: &str) -> TcpStream {
    TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// The status and the one-line reason of a refusal.
fn refusal(answer: &str) -> (u16, String) {
    let status = answer[9..12].parse().unwrap();
    let body = &answer[answer.find('{').unwrap_or(answer.len())..];
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, one_line_error(&v).to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_paths_carry_the_same_events_and_hints() {
    let srv = start().await;
    let ann = srv.user("ann", &["staff"]).await;
    let mut bare = fresh(&srv.url).await;
    let mut kept = reused(&srv.url).await;
    for tcp in [&mut bare, &mut kept] {
        tcp.write_all(push_request(&ann, "pc-1").as_bytes())
            .await
            .unwrap();
    }
    let bare_head = read_until(&mut bare, "data: \n\n", Duration::from_secs(5)).await;
    let kept_head = read_until(&mut kept, "data: \n\n", Duration::from_secs(5)).await;
    for head in [&bare_head, &kept_head] {
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        assert_eq!(body(head), "event: ready\ndata: \n\n", "{head}");
    }
    // Which path served which: only the bare one closes after the stream.
    assert!(bare_head.contains("connection: close"), "{bare_head}");
    assert!(!kept_head.contains("connection: close"), "{kept_head}");

    let (s, _) = srv
        .send(json!({"to": ["group:staff"], "severity": "alert", "title": "Secret", "body": "b"}))
        .await;
    assert_eq!(s, 200);
    let mut seen = Vec::new();
    for (tcp, head) in [(&mut bare, &bare_head), (&mut kept, &kept_head)] {
        let more = read_until(tcp, "data: \n\n", Duration::from_secs(5)).await;
        seen.push(body(&format!("{head}{more}")).to_owned());
    }
    // A stream that did not ask for changes (an agent that predates them)
    // gets a numbered hint, never the message.
    let hint = &seen[0];
    assert!(hint.starts_with("event: ready\ndata: \n\nid: "), "{hint}");
    assert!(hint.ends_with("\nevent: check\ndata: \n\n"), "{hint}");
    assert!(!hint.contains("Secret"), "{hint}");
    assert_eq!(seen[0], seen[1], "the two paths said different things");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_paths_refuse_alike() {
    let srv = start().await;
    let ann = srv.user("ann", &[]).await;
    let cases = [
        (push_request("wrong", "pc-1"), 401),
        (push_request(&ann, "bad%20host"), 400),
        (
            format!("GET /api/v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ann}\r\n\r\n"),
            400,
        ),
        (
            "GET /api/v1/push?host=pc HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
            401,
        ),
    ];
    for (request, want) in cases {
        let mut answers = Vec::new();
        for mut tcp in [fresh(&srv.url).await, reused(&srv.url).await] {
            tcp.write_all(request.as_bytes()).await.unwrap();
            let answer = read_until(&mut tcp, "\"}", Duration::from_secs(5)).await;
            answers.push(refusal(&answer));
        }
        assert_eq!(answers[0].0, want, "{request}: {answers:?}");
        assert_eq!(answers[0], answers[1], "{request}");
    }
    // A server without push streams says so on both paths.
    let off = start_with(PushMode::Off).await;
    let bob = off.user("bob", &[]).await;
    for mut tcp in [fresh(&off.url).await, reused(&off.url).await] {
        tcp.write_all(push_request(&bob, "pc-1").as_bytes())
            .await
            .unwrap();
        let (status, reason) = refusal(&read_until(&mut tcp, "\"}", Duration::from_secs(5)).await);
        assert_eq!(status, 404);
        assert!(reason.contains("push: off"), "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_or_endless_head_is_refused_and_others_are_served() {
    let srv = start().await;
    let mut bad = fresh(&srv.url).await;
    bad.write_all(b"GET /api/v1/push?host=a HTTP/1.1\r\n\x01\x02\r\n\r\n")
        .await
        .unwrap();
    let (status, _) = refusal(&read_until(&mut bad, "\"}", Duration::from_secs(5)).await);
    assert_eq!(status, 400);

    let mut endless = fresh(&srv.url).await;
    endless
        .write_all(b"GET /api/v1/push?host=a HTTP/1.1\r\n")
        .await
        .unwrap();
    for _ in 0..200 {
        // Bounded: the head is refused once it passes 8 KB.
        if endless.write_all(&[b'X'; 64]).await.is_err() {
            break;
        }
    }
    let (status, reason) = refusal(&read_until(&mut endless, "\"}", Duration::from_secs(5)).await);
    assert_eq!((status, reason.as_str()), (400, "request head too large"));

    // Meanwhile, and after, the server answers as usual.
    let (s, _) = srv.raw("GET", "/api/v1/health", "", None).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_on_both_paths_do_not_hold_up_shutdown() {
    let mut srv = start().await;
    let ann = srv.user("ann", &[]).await;
    let mut bare = fresh(&srv.url).await;
    let mut kept = reused(&srv.url).await;
    for tcp in [&mut bare, &mut kept] {
        tcp.write_all(push_request(&ann, "pc-1").as_bytes())
            .await
            .unwrap();
        let head = read_until(tcp, "event: ready", Duration::from_secs(5)).await;
        assert!(head.contains("event: ready"), "{head}");
    }
    // And a connection that has said nothing yet.
    let _silent = fresh(&srv.url).await;
    let took = srv
        .stop(Duration::from_secs(8))
        .await
        .expect("the server did not stop while push streams were open");
    assert!(took < Duration::from_secs(8), "{took:?}");
    for tcp in [&mut bare, &mut kept] {
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
        assert!(ended.is_ok(), "a stream was left open after shutdown");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hinted_host_still_needs_the_right_token() {
    let srv = start().await;
    let ann = srv.user("ann", &[]).await;
    let (_, first, _) = srv.poll(&ann, "pc-1", None).await;
    let mut bare = fresh(&srv.url).await;
    bare.write_all(push_request(&ann, "pc-1").as_bytes())
        .await
        .unwrap();
    read_until(&mut bare, "event: ready", Duration::from_secs(5)).await;
    let (s, _) = srv
        .send(json!({"to": ["user:ann"], "severity": "alert", "title": "t", "body": "b"}))
        .await;
    assert_eq!(s, 200);
    read_until(&mut bare, "event: check", Duration::from_secs(5)).await;
    // The hint makes pc-1's next poll skip the first look; a stranger
    // claiming pc-1 is still refused, and takes nothing.
    let (s, v, _) = srv.poll("wrong-token", "pc-1", None).await;
    assert_eq!(s, 401, "{v}");
    let (s, v, _) = srv.poll(&ann, "pc-1", first["cursor"].as_str()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(1), "{v}");
}
