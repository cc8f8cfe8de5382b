//! A contact that fails, whatever the cause, leaves the store as it was,
//! says what went wrong in one line, exits non-zero and is logged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::{fake_server, http_answer, Agent, Server};

/// An agent with one message read (a receipt pending) and one due.
fn agent_with_state(server: &Server) -> Agent {
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let read = server.send("user:alice", "warning", "read me", &["--receipt", "both"]);
    server.send("user:alice", "info", "still due", &[]);
    agent.sync();
    agent.ok(&["ack", &read]);
    agent
}

fn assert_failed_cleanly(agent: &Agent, before: &str, expect: &str) {
    let err = agent.sync_fails();
    assert!(err.contains(expect), "expected '{expect}' in: {err}");
    assert_eq!(agent.snapshot(), before, "the store changed after: {err}");
    let log = agent.log();
    assert_eq!(log[0]["ok"], false);
    assert!(log[0]["error"].as_str().unwrap().contains(expect));
    assert!(agent.ok(&["status"]).contains(expect));
}

#[test]
fn a_wrong_token_changes_nothing() {
    let server = Server::start();
    let mut agent = agent_with_state(&server);
    let before = agent.snapshot();
    agent.token = "not-the-token".into();
    assert_failed_cleanly(&agent, &before, "refused the agent token (401)");
}

#[test]
fn a_server_that_is_down_changes_nothing() {
    let mut server = Server::start();
    let agent = agent_with_state(&server);
    let before = agent.snapshot();
    server.stop();
    assert_failed_cleanly(&agent, &before, "cannot reach the server");
    // Staged messages are still there to show.
    assert_eq!(agent.queue(), ["still due"]);
}

#[test]
fn garbage_answers_change_nothing() {
    let server = Server::start();
    let mut agent = agent_with_state(&server);
    let before = agent.snapshot();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            http_answer("200 OK", "application/json", b"this is not json"),
            "malformed answer",
        ),
        (
            http_answer("200 OK", "application/json", br#"{"recorded": 1, "dup"#),
            "malformed answer",
        ),
        (
            http_answer(
                "200 OK",
                "application/json",
                br#"{"recorded": 0, "duplicates": 0, "rejected": []}"#,
            ),
            "settled 0 of 2",
        ),
        (
            http_answer(
                "500 Internal Server Error",
                "text/html",
                b"<html>oops</html>",
            ),
            "answered 500",
        ),
        (
            http_answer("200 OK", "application/json", &vec![b' '; 9 * 1024 * 1024]),
            "larger than",
        ),
        (b"not even http\r\n\r\n".to_vec(), "cannot reach the server"),
    ];
    for (answer, expect) in cases {
        agent.server = fake_server(answer);
        assert_failed_cleanly(&agent, &before, expect);
    }
    // The real server still works afterwards, and gets the receipts once.
    agent.server = server.url.clone();
    agent.sync();
    let read = agent.id_of("read me");
    assert_eq!(server.receipts(&read).len(), 2);
}

#[test]
fn a_malformed_poll_answer_after_receipts_went_through_changes_nothing() {
    // Receipts accepted, then a broken poll: the outbox is not marked sent,
    // so they go again later, and the server counts them once.
    let server = Server::start();
    let mut agent = agent_with_state(&server);
    let before = agent.snapshot();
    let read = agent.id_of("read me");
    agent.server = fake_server(http_answer(
        "200 OK",
        "application/json",
        br#"{"recorded": 2, "duplicates": 0, "rejected": []}"#,
    ));
    assert_failed_cleanly(&agent, &before, "malformed answer");
    agent.server = server.url.clone();
    agent.sync();
    agent.sync();
    assert_eq!(server.receipts(&read).len(), 2);
}

#[test]
fn server_times_out_of_range_are_refused_and_change_nothing() {
    let server = Server::start();
    let mut agent = agent_with_state(&server);
    let before = agent.snapshot();
    // One body that parses as the receipt answer and as the poll answer.
    let answer = |server_time: &str, until: &str| {
        format!(
            r#"{{"recorded": 1, "duplicates": 1, "rejected": [],
               "api_version": 1, "server_time": "{server_time}", "cursor": "x.1",
               "changed": true, "full": true, "stopped": [],
               "settings": {{"poll_interval_secs": 60, "push": "off"}},
               "messages": [{{"id": "far", "revision": 1, "severity": "alert",
                  "title": "far", "body": "", "sender": "x", "receipt": "read",
                  "valid_from": "2026-01-01T00:00:00Z", "valid_until": "{until}",
                  "revised_at": "2026-01-01T00:00:00Z"}}]}}"#
        )
    };
    for (server_time, until) in [
        ("+200000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00Z", "+262000-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"),
    ] {
        let body = answer(server_time, until);
        agent.server = fake_server(http_answer("200 OK", "application/json", body.as_bytes()));
        let err = agent.sync_fails();
        assert!(
            err.contains("out of range"),
            "{server_time} / {until}: {err}"
        );
        assert_eq!(agent.snapshot(), before, "the store changed after: {err}");
    }
    agent.server = server.url.clone();
    agent.sync();
}

/// A poll answer with the given settings and messages, that also parses as
/// the receipt answer.
fn poll_answer(settings: &str, messages: &str) -> String {
    format!(
        r#"{{"recorded": 1, "duplicates": 1, "rejected": [],
           "api_version": 1, "server_time": "2026-01-01T00:00:00Z", "cursor": "x.1",
           "changed": true, "full": true, "stopped": [],
           "settings": {settings}, "messages": {messages}}}"#
    )
}

#[test]
fn hostile_answers_are_refused_in_one_line_and_change_nothing() {
    let server = Server::start();
    let mut agent = agent_with_state(&server);
    let before = agent.snapshot();
    let ok_settings = r#"{"poll_interval_secs": 60, "push": "off"}"#;
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let mut bad_utf8 = poll_answer(ok_settings, "[]").into_bytes();
    let at = bad_utf8.windows(5).position(|w| w == b"\"x.1\"").unwrap() + 1;
    bad_utf8[at] = 0xff;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (nested.clone().into_bytes(), "malformed answer"),
        (
            poll_answer(ok_settings, &nested).into_bytes(),
            "malformed answer",
        ),
        (bad_utf8, "malformed answer"),
        (
            poll_answer(r#"{"poll_interval_secs": -5, "push": "off"}"#, "[]").into_bytes(),
            "malformed answer",
        ),
        (
            poll_answer(
                r#"{"poll_interval_secs": 18446744073709551615, "push": "off"}"#,
                "[]",
            )
            .into_bytes(),
            "poll interval of 18446744073709551615 s is out of range",
        ),
        (
            poll_answer(r#"{"poll_interval_secs": 0, "push": "off"}"#, "[]").into_bytes(),
            "poll interval of 0 s is out of range",
        ),
        (
            poll_answer(ok_settings, r#"[{"id": "x", "revision": 4294967296}]"#).into_bytes(),
            "malformed answer",
        ),
    ];
    for (body, expect) in cases {
        agent.server = fake_server(http_answer("200 OK", "application/json", &body));
        let err = agent.sync_fails();
        assert!(err.contains(expect), "expected '{expect}' in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
        assert_eq!(agent.snapshot(), before, "the store changed after: {err}");
    }
    agent.server = server.url.clone();
    agent.sync();
}

#[test]
fn an_answer_trickled_one_byte_a_second_is_given_up_in_bounded_time() {
    let server = Server::start();
    let mut agent = agent_with_state(&server);
    let before = agent.snapshot();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    agent.server = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = conn.read(&mut buf);
                let answer = http_answer("200 OK", "application/json", &[b' '; 4096]);
                for b in answer {
                    if conn.write_all(&[b]).is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            });
        }
    });
    let started = std::time::Instant::now();
    let err = agent.sync_fails();
    let took = started.elapsed();
    assert!(err.contains("cannot reach the server"), "{err}");
    assert!(took < std::time::Duration::from_secs(40), "took {took:?}");
    assert_eq!(agent.snapshot(), before);
}
