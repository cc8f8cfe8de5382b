//! Push carries the change: a stream that asks for changes is sent the
//! message itself, and only what a poll with the same token and host
//! would return: not another user's, not an excluded user's, not a
//! message for another host, and a withdrawal or a read on another
//! computer as a stop. A stream that reads nothing is closed without
//! holding up the thousand beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use herald_e2e::sse::{self, Stream};
use herald_e2e::{api, wait_for, Server};
use serde_json::{json, Value};

/// The titles a full poll by `token` at `host` returns now.
fn polled_titles(server: &Server, token: &str, host: &str) -> BTreeSet<String> {
    let req = json!({"host": host, "cursor": null, "agent_version": "0.1.0", "content": 1});
    let (status, answer) = api::post(server, token, "/api/v1/poll", &req);
    assert_eq!(status, 200, "{answer}");
    answer["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap().to_owned())
        .collect()
}

/// What a stream holds by what it was sent: the messages, less those
/// stopped since.
fn held_titles(stream: &Stream) -> BTreeSet<String> {
    let mut held = std::collections::BTreeMap::new();
    for c in stream.changes() {
        if let Some(m) = c["message"].as_object() {
            held.insert(
                m["id"].as_str().unwrap().to_owned(),
                m["title"].as_str().unwrap().to_owned(),
            );
        }
        if let Some(id) = c["stopped"]["id"].as_str() {
            held.remove(id);
        }
    }
    held.into_values().collect()
}

#[test]
fn a_stream_is_sent_what_a_poll_would_return_and_nothing_else() {
    // Claimed host names count, so that `host:` recipients apply.
    let server = Server::start_with(&["--poll-interval", "300", "--trust-claimed-hosts"]);
    let alice = server.add_user("alice", &["staff"]);
    let bob = server.add_user("bob", &["staff"]);
    let carol = server.add_user("carol", &[]);
    let streams = [
        (&alice, "pc-1"),
        (&alice, "pc-2"),
        (&bob, "pc-3"),
        (&carol, "pc-4"),
    ];
    // Each agent polls first: the server knows its host from then on.
    for (token, host) in &streams {
        polled_titles(&server, token, host);
    }
    let open: Vec<Stream> = streams
        .iter()
        .map(|(t, h)| sse::open(&server.url, t, h))
        .collect();
    open.iter().for_each(Stream::wait_ready);
    let [a1, a2, b3, c4] = &open[..] else {
        unreachable!()
    };

    let staff = server.send(
        "group:staff",
        "alert",
        "Staff but Bob",
        &["--exclude", "user:bob"],
    );
    server.send("host:pc-4", "alert", "For pc-4", &[]);
    server.send(
        "user:alice",
        "alert",
        "Alice not on pc-2",
        &["--exclude", "host:pc-2"],
    );
    let read = server.send("user:alice", "alert", "Read on pc-1", &[]);
    wait_for(
        "the alerts on alice's streams",
        Duration::from_secs(10),
        || a1.titles().len() == 3 && a2.titles().len() == 2 && c4.titles().len() == 1,
    );
    assert_eq!(
        a1.titles(),
        ["Staff but Bob", "Alice not on pc-2", "Read on pc-1"]
    );
    assert_eq!(a2.titles(), ["Staff but Bob", "Read on pc-1"]);
    assert_eq!(c4.titles(), ["For pc-4"]);
    assert!(
        b3.changes().is_empty(),
        "bob, excluded, was sent {:?}",
        b3.changes()
    );

    // A withdrawal stops it where it was sent, and is sent nowhere else.
    server.ok(&["withdraw", &staff]);
    // Read on pc-1: alice's other computer stops showing it.
    let receipt = json!({"host": "pc-1", "receipts": [{
        "message_id": read, "revision": 1, "kind": "read", "at": chrono::Utc::now().to_rfc3339(),
    }]});
    let (status, answer) = api::post(&server, &alice, "/api/v1/receipts", &receipt);
    assert_eq!(status, 200, "{answer}");
    wait_for(
        "the stops on alice's streams",
        Duration::from_secs(10),
        || a1.stops().len() == 2 && a2.stops().len() == 2,
    );
    assert_eq!(
        a2.stops(),
        [
            (staff.clone(), "withdrawn".to_owned()),
            (read.clone(), "read_elsewhere".to_owned())
        ]
    );
    assert!(
        b3.changes().is_empty(),
        "bob was told of a withdrawal: {:?}",
        b3.changes()
    );
    assert!(c4.stops().is_empty(), "carol was told of alice's messages");

    // Every stream holds what a full poll with its token and host returns.
    for ((token, host), stream) in streams.iter().zip(&open) {
        assert_eq!(
            held_titles(stream),
            polled_titles(&server, token, host),
            "the stream of {host} and its poll disagree"
        );
    }
    // Every change is numbered, so that a stream that comes back resumes.
    assert!(a1
        .events()
        .iter()
        .filter(|e| e.name == "change")
        .all(|e| e.id.is_some()));
}

#[test]
fn a_stream_that_reads_nothing_is_closed_and_a_thousand_others_get_the_alert() {
    const READERS: usize = 1000;
    // Every stream comes from loopback: one client, as the server counts.
    let server = Server::start_with(&[
        "--poll-interval",
        "300",
        "--max-connections-per-client",
        "100000",
    ]);
    let token = |name: &str, groups: Value| -> String {
        let (status, user) = sse::request(
            &server.url,
            &server.admin_token,
            "POST",
            "/api/v1/admin/users",
            &json!({"name": name, "groups": groups}),
        );
        assert_eq!(status, 200, "{user}");
        user["token"].as_str().unwrap().to_owned()
    };
    let readers: Vec<Stream> = (0..READERS)
        .map(|i| {
            sse::open(
                &server.url,
                &token(&format!("user{i}"), json!(["many"])),
                "pc",
            )
        })
        .collect();
    readers.iter().for_each(Stream::wait_ready);

    // A stream whose reader never reads, with a small receive buffer so
    // that the server's writes to it block early.
    let stuck_token = token("stuck", json!([]));
    let stuck = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    stuck.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    stuck.connect(&addr.into()).unwrap();
    let mut stuck: std::net::TcpStream = stuck.into();
    std::io::Write::write_all(
        &mut stuck,
        format!("GET /api/v1/push?host=pc&changes=1 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {stuck_token}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    wait_for("every stream", Duration::from_secs(20), || {
        server.metric("herald_push_streams") == READERS as u64 + 1
    });
    let body = "x".repeat(30_000);
    let mut sent = 0;
    while server.metric("herald_push_streams") > READERS as u64 {
        let (status, answer) = sse::request(
            &server.url,
            &server.admin_token,
            "POST",
            "/api/v1/admin/messages",
            &json!({"to": ["user:stuck"], "severity": "alert", "title": format!("to the stuck {sent}"), "body": body}),
        );
        assert_eq!(status, 200, "{answer}");
        sent += 1;
        assert!(sent < 1000, "the stuck stream was never closed");
    }
    eprintln!("the stuck stream was closed after {sent} alerts of 30 kB");

    let started = Instant::now();
    server.send("group:many", "alert", "For the thousand", &[]);
    wait_for(
        "the alert on every reading stream",
        Duration::from_secs(20),
        || {
            readers
                .iter()
                .all(|r| r.got_at("For the thousand").is_some())
        },
    );
    let last = readers
        .iter()
        .filter_map(|r| r.got_at("For the thousand"))
        .max()
        .unwrap();
    eprintln!(
        "the alert reached {READERS} streams {:?} after send was called",
        last.duration_since(started)
    );
    drop(stuck);
}
