//! Push: with a 5-minute poll, immediate messages still arrive at once
//! through the agent's push stream; the stream comes back after the server
//! cuts it; with push off the agent polls as before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use herald_e2e::{wait_for, Agent, Server};

fn connected(agent: &Agent) -> bool {
    agent.status()["push_state"]
        .as_str()
        .is_some_and(|s| s.starts_with("connected since"))
}

fn wait_connected(agent: &Agent) {
    wait_for("the push stream", Duration::from_secs(20), || {
        connected(agent)
    });
}

#[test]
fn an_alert_is_staged_within_two_seconds_with_a_five_minute_poll() {
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &["staff"]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let _run = agent.start(&["--headless"]);
    wait_connected(&agent);
    assert_eq!(agent.status()["push_mode"], "stream");

    let polls = || {
        ["unchanged", "changed", "full"]
            .iter()
            .map(|a| server.metric(&format!("herald_polls_total{{answer=\"{a}\"}}")))
            .sum::<u64>()
    };
    let polls_before = polls();
    server.send("group:staff", "alert", "Evacuate the building", &[]);
    let sent = Instant::now();
    wait_for("the alert", Duration::from_secs(2), || {
        agent.queue() == ["Evacuate the building"]
    });
    eprintln!("alert staged {:?} after send returned", sent.elapsed());

    // An info is not pushed unless asked: it waits for the next poll.
    server.send("user:alice", "info", "Canteen menu", &[]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!agent.queue().contains(&"Canteen menu".to_owned()));
    // With --now it is.
    server.send("user:alice", "info", "Printer moved", &["--now"]);
    wait_for("the --now info", Duration::from_secs(2), || {
        agent.queue().contains(&"Printer moved".to_owned())
    });
    // The stream carried both: the agent did not poll for them, so the
    // other info still waits for the next poll.
    assert_eq!(
        polls(),
        polls_before,
        "the agent polled for a pushed message"
    );
    assert!(!agent.queue().contains(&"Canteen menu".to_owned()));
    agent.sync();
    assert!(agent.queue().contains(&"Canteen menu".to_owned()));

    let log = agent.log();
    let pushed = |e: &serde_json::Value| {
        e["kind"] == "push"
            && e["error"]
                .as_str()
                .is_some_and(|s| s.starts_with("pushed: message"))
    };
    assert_eq!(log.iter().filter(|e| pushed(e)).count(), 2, "{log:#?}");
    assert!(log
        .iter()
        .any(|e| e["kind"] == "push" && e["error"] == "push stream connected"));
}

#[test]
fn the_stream_comes_back_after_the_server_cuts_it_and_nothing_is_missed() {
    let mut server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let _run = agent.start(&["--headless"]);
    wait_connected(&agent);

    server.restart();
    // Sent while the agent waits to reconnect: its hint reaches nobody, and
    // the sync on reconnection brings it.
    server.send("user:alice", "warning", "Sent during the gap", &[]);
    wait_for(
        "the message sent during the gap",
        Duration::from_secs(15),
        || agent.queue() == ["Sent during the gap"],
    );
    wait_connected(&agent);
    assert!(agent.log().iter().any(|e| e["kind"] == "push"
        && e["ok"] == false
        && e["error"].as_str().unwrap().starts_with("push stream lost")));

    // And the new stream carries hints.
    server.send("user:alice", "alert", "After the gap", &[]);
    wait_for(
        "the alert after reconnection",
        Duration::from_secs(2),
        || agent.queue().first().is_some_and(|t| t == "After the gap"),
    );
}

#[test]
fn with_push_off_the_agent_still_polls() {
    let server = Server::start_with(&["--poll-interval", "1", "--push", "off"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let _run = agent.start(&["--headless"]);
    server.send("user:alice", "alert", "By poll", &[]);
    wait_for("the polled alert", Duration::from_secs(10), || {
        agent.queue() == ["By poll"]
    });
    let status = agent.status();
    assert_eq!(status["push_mode"], "off");
    assert!(status["push_state"].is_null());
    assert!(agent.log().iter().all(|e| e["kind"] == "poll"));
    let text = agent.ok(&["status"]);
    assert!(
        text.contains("push:             off (polling only)"),
        "{text}"
    );
}

#[test]
fn the_push_endpoint_wants_a_valid_token_and_a_host() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let url = format!("{}/api/v1/push", server.url);
    let status = |auth: &str, query: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2"])
            .args(["-H", &format!("Authorization: Bearer {auth}")])
            .arg(format!("{url}{query}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(status("wrong", "?host=pc-1"), "401");
    assert_eq!(status(&token, ""), "400");
}

/// Two instances on one PostgreSQL database: an alert sent through one
/// reaches, at once, an agent whose stream the other holds. (Without a
/// cluster, `HERALD_TEST_PG` unset, there is nothing to share.)
#[test]
fn an_alert_sent_through_one_instance_reaches_a_stream_held_by_another() {
    if std::env::var_os("HERALD_TEST_PG").is_none() {
        eprintln!("skipped: needs HERALD_TEST_PG (scripts/test sets it)");
        return;
    }
    let a = Server::start_with(&["--poll-interval", "300"]);
    let shared = a.db_location();
    let b = Server::start_with(&["--poll-interval", "300", "--db", &shared]);
    let token = a.add_user("alice", &["staff"]);
    let agent = Agent::new(&b.url, &token, "pc-1");
    let _run = agent.start(&["--headless"]);
    wait_connected(&agent);

    a.send("group:staff", "alert", "Evacuate the building", &[]);
    let sent = Instant::now();
    wait_for(
        "the alert through the other instance",
        Duration::from_secs(2),
        || agent.queue() == ["Evacuate the building"],
    );
    eprintln!("alert staged {:?} after send returned", sent.elapsed());
    // And the other way round, with a withdrawal.
    let id = b.send("user:alice", "warning", "Printer moved", &["--now"]);
    wait_for("the second message", Duration::from_secs(2), || {
        agent.queue().contains(&"Printer moved".to_owned())
    });
    a.ok(&["withdraw", id.trim()]);
    wait_for("the withdrawal", Duration::from_secs(2), || {
        !agent.queue().contains(&"Printer moved".to_owned())
    });
}
