//! Clients that stall the server: sockets that send half a request head
//! and then nothing (slowloris), a body trickled a byte at a time, more
//! connections from one client than its share, and connections up to the
//! total cap. The server must close the stalled ones in time, refuse the
//! excess, and meanwhile serve agents, admins and health checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use herald_protocol::PushMode;
use herald_server::config::ConnLimits;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

const HALF_A_HEAD: &[u8] = b"POST /api/v1/poll HTTP/1.1\r\nHost: x\r\n";

fn addr(s: &TestServer) -> SocketAddr {
    s.url.trim_start_matches("http://").parse().unwrap()
}

/// A connection to the server from `from` (a loopback address).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(to).await.unwrap()
}

/// A connection that says `said` and then nothing.
async fn stalled(from: &str, to: SocketAddr, said: &[u8]) -> TcpStream {
    let mut tcp = connect_from(from, to).await;
    tcp.write_all(said).await.unwrap();
    tcp
}

/// Reads until the server closes the connection or `by`; returns what it
/// said and whether it closed.
async fn until_closed(tcp: &mut TcpStream, by: Instant) -> (String, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(by, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into(), false),
        }
    }
}

/// A client that opens a connection per request, so that each request is
/// counted as a new connection.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A 500-socket attack needs more open files than the usual 1,024 (the
/// server is in this process too).
fn enough_open_files(need: u64) {
    let have = herald_server::net::open_files::raise().unwrap_or(u64::MAX);
    assert!(
        have >= need,
        "this test needs {need} open files and the hard limit is {have}: raise it (ulimit -Hn)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_sockets_are_closed_in_time_and_agents_and_admins_are_served_meanwhile() {
    enough_open_files(2_500);
    let limits = ConnLimits {
        head_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(3),
        close_grace: Duration::from_secs(1),
        max_connections: 2_000,
        max_per_client: 1_000,
        reserved: 16,
    };
    let s = start_custom(PushMode::Stream, |st| st.with_conn_limits(limits)).await;
    let alice = s.user("alice", &[]).await;
    let to = addr(&s);

    let opened = Instant::now();
    let mut lorises = Vec::new();
    for _ in 0..500 {
        lorises.push(stalled("127.0.0.1", to, HALF_A_HEAD).await);
    }
    // A whole head, then a body a byte at a time for ever.
    let mut trickle = stalled(
        "127.0.0.1",
        to,
        format!(
            "POST /api/v1/poll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n\
             Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await;
    let trickled = Instant::now();
    let (mut trickle_rd, mut trickle_wr) = trickle.split();
    let drip = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if trickle_wr.write_all(b" ").await.is_err() {
                // Cut: the read side says how.
                std::future::pending::<()>().await;
            }
        }
    };

    // Meanwhile an agent polls and an admin sends, each within a few
    // seconds.
    let served = async {
        let http = fresh_client();
        let began = Instant::now();
        let poll = http
            .post(format!("{}/api/v1/poll", s.url))
            .bearer_auth(&alice)
            .json(&json!({"host": "pc-1", "cursor": null, "agent_version": "0.1.0"}))
            .send()
            .await
            .unwrap();
        assert_eq!(poll.status(), 200, "{}", poll.text().await.unwrap());
        let sent = http
            .post(format!("{}/api/v1/admin/messages", s.url))
            .bearer_auth(ADMIN)
            .json(&json!({"to": ["user:alice"], "severity": "info", "title": "t", "body": ""}))
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
        began.elapsed()
    };
    let trickle_closed = async {
        let by = trickled + Duration::from_secs(15);
        let (said, closed) = until_closed_split(&mut trickle_rd, by).await;
        (said, closed, trickled.elapsed())
    };
    let (took, (said, closed, after)) = tokio::select! {
        r = async { tokio::join!(served, trickle_closed) } => r,
        () = drip => unreachable!(),
    };
    assert!(
        took < Duration::from_secs(5),
        "agent and admin took {took:?}"
    );
    assert!(
        closed,
        "the trickled body is still open after {after:?}: {said}"
    );
    assert!(
        after < Duration::from_secs(8),
        "the trickled body was cut only after {after:?}"
    );

    // Every stalled socket is closed by the server: the head time, and
    // some slack for a busy machine, not for ever.
    let by = opened + Duration::from_secs(12);
    let mut open = 0;
    for tcp in &mut lorises {
        let (_, closed) = until_closed(tcp, by).await;
        if !closed {
            open += 1;
        }
    }
    assert_eq!(
        open,
        0,
        "stalled sockets still open after {:?}",
        opened.elapsed()
    );
}

/// `until_closed` for a read half.
async fn until_closed_split(rd: &mut tokio::net::tcp::ReadHalf<'_>, by: Instant) -> (String, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(by, rd.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into(), false),
        }
    }
}

async fn health_from(from: &str, to: SocketAddr) -> (String, bool) {
    let mut tcp = connect_from(from, to).await;
    tcp.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    until_closed(&mut tcp, Instant::now() + Duration::from_secs(10)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_beyond_its_share_is_refused_while_another_is_served() {
    let limits = ConnLimits {
        head_timeout: Duration::from_secs(30),
        max_per_client: 5,
        max_connections: 100,
        reserved: 4,
        ..ConnLimits::default()
    };
    let s = start_custom(PushMode::Stream, |st| st.with_conn_limits(limits)).await;
    let to = addr(&s);
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(stalled("127.0.0.1", to, HALF_A_HEAD).await);
    }
    // The server has taken them all once a request behind them is served.
    let (said, _) = health_from("127.0.0.2", to).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");

    // The sixth from 127.0.0.1 is told and closed, at once.
    let mut sixth = connect_from("127.0.0.1", to).await;
    let (said, closed) = until_closed(&mut sixth, Instant::now() + Duration::from_secs(5)).await;
    assert!(closed, "the sixth connection was kept");
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("too many connections"), "{said}");

    // Another address is served meanwhile.
    let (said, _) = health_from("127.0.0.2", to).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");

    // One of the five gone, 127.0.0.1 is served again.
    drop(held.pop());
    let by = Instant::now() + Duration::from_secs(5);
    loop {
        let (said, _) = health_from("127.0.0.1", to).await;
        if said.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < by, "127.0.0.1 still refused: {said}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_health_and_admins_are_still_served_and_agents_told_to_retry() {
    let limits = ConnLimits {
        head_timeout: Duration::from_secs(30),
        max_per_client: 1_000,
        max_connections: 20,
        reserved: 4,
        ..ConnLimits::default()
    };
    let s = start_custom(PushMode::Stream, |st| st.with_conn_limits(limits)).await;
    let alice = s.user("alice", &[]).await;
    let to = addr(&s);
    // Every unreserved slot taken by stalled sockets.
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(stalled("127.0.0.1", to, HALF_A_HEAD).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let http = fresh_client();
    let health = http
        .get(format!("{}/api/v1/health", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let admin = http
        .get(format!("{}/api/v1/admin/messages", s.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let poll = http
        .post(format!("{}/api/v1/poll", s.url))
        .bearer_auth(&alice)
        .json(&json!({"host": "pc-1", "cursor": null, "agent_version": "0.1.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), 503);
    assert!(poll.headers().contains_key("retry-after"));

    // A stalled socket in a reserved slot is dropped as soon as its
    // request line shows it is not a health check or an admin's.
    let mut sneaky = stalled("127.0.0.1", to, HALF_A_HEAD).await;
    let (said, closed) = until_closed(&mut sneaky, Instant::now() + Duration::from_secs(5)).await;
    assert!(closed && said.starts_with("HTTP/1.1 503"), "{said}");
    drop(sneaky);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The reserved slots too, taken by sockets that never finish their
    // request line, until one is refused: then health is refused at once.
    let mut full = false;
    for _ in 0..10 {
        let mut tcp = stalled("127.0.0.1", to, b"GET /api/v1/hea").await;
        let by = Instant::now() + Duration::from_millis(300);
        let (said, closed) = until_closed(&mut tcp, by).await;
        if closed {
            assert!(said.starts_with("HTTP/1.1 503"), "{said}");
            full = true;
            break;
        }
        held.push(tcp);
    }
    assert!(full, "no cap after {} connections", held.len());
    let (said, closed) = health_from("127.0.0.2", to).await;
    assert!(closed && said.starts_with("HTTP/1.1 503"), "{said}");

    // Freed, health answers again.
    held.clear();
    let by = Instant::now() + Duration::from_secs(5);
    loop {
        let (said, _) = health_from("127.0.0.2", to).await;
        if said.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < by, "health still refused: {said}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
