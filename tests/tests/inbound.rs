//! Inbound push: the server calls agents that listen, signed with the key
//! each got in a poll answer. A genuine call brings an alert at once with a
//! 5-minute poll; forged, stale, replayed or content-carrying calls are
//! rejected, logged and change nothing; a prober is rate-limited without
//! shutting the server out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use herald_e2e::inbound::{call, now_secs, redirect_listener, signed_call, Recorder};
use herald_e2e::{wait_for, Agent, Running, Server};

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn listening_agent(server: &Server, token: &str) -> (Agent, Running) {
    let agent = Agent::new(&server.url, token, "pc-1");
    let run = agent.start(&["--headless", "--push-listen", "127.0.0.1:0"]);
    // Listening, and the poll that announced the port has brought the key.
    wait_for(
        "the agent to listen with a key",
        Duration::from_secs(20),
        || agent.listen_addr().is_some() && agent.push_secret().is_some(),
    );
    (agent, run)
}

fn rejections(agent: &Agent) -> Vec<String> {
    agent
        .log()
        .iter()
        .filter(|e| e["kind"] == "push" && e["ok"] == false)
        .map(|e| e["error"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_listening_agent_is_called_and_stages_an_alert_within_two_seconds() {
    let server = Server::start_with(&["--poll-interval", "300", "--push", "inbound"]);
    let token = server.add_user("alice", &["staff"]);
    let (agent, _run) = listening_agent(&server, &token);
    let status = agent.ok(&["status"]);
    assert!(
        status.contains("push:             inbound, listening on 127.0.0.1:"),
        "{status}"
    );

    server.send("group:staff", "alert", "Evacuate the building", &[]);
    let sent = Instant::now();
    wait_for("the alert", Duration::from_secs(2), || {
        agent.queue() == ["Evacuate the building"]
    });
    eprintln!("alert staged {:?} after send returned", sent.elapsed());
    assert!(agent.log().iter().any(|e| e["kind"] == "push"
        && e["error"]
            .as_str()
            .unwrap()
            .starts_with("inbound push call from 127.0.0.1:")));
}

#[test]
fn a_forged_stale_or_replayed_inbound_call_is_rejected_and_changes_nothing() {
    let server = Server::start_with(&["--poll-interval", "300", "--push", "inbound"]);
    let token = server.add_user("alice", &[]);
    let (agent, run) = listening_agent(&server, &token);
    let to = agent.listen_addr().unwrap();
    let key = agent.push_secret().unwrap();
    let before = agent.snapshot();
    let contacts = agent.contacts().len();
    let nonce = |i: u32| format!("{i:032x}");

    let now = now_secs();
    let attempts: [(&str, Vec<u8>, &str); 6] = [
        (
            "forged",
            signed_call("a guessed key", now, &nonce(1), "pc-1", ""),
            "bad signature",
        ),
        (
            "stale",
            signed_call(&key, now - 120, &nonce(2), "pc-1", ""),
            "stale",
        ),
        (
            "from the future",
            signed_call(&key, now + 120, &nonce(3), "pc-1", ""),
            "stale",
        ),
        (
            "meant for another computer",
            signed_call(&key, now, &nonce(4), "pc-2", ""),
            "bad signature",
        ),
        (
            "carrying content",
            signed_call(&key, now, &nonce(5), "pc-1", "Evacuate now!"),
            "carried a body",
        ),
        (
            "unsigned",
            b"POST /herald/v1/check HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "malformed timestamp",
        ),
    ];
    for (what, request, _) in &attempts {
        assert_eq!(call(to, LOCAL, request), "401", "the {what} call");
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        agent.snapshot(),
        before,
        "a rejected call changed the store"
    );
    assert_eq!(
        agent.contacts().len(),
        contacts,
        "a rejected call made the agent poll"
    );
    let logged = rejections(&agent);
    for (what, _, reason) in &attempts {
        assert!(
            logged.iter().any(|l| l.contains(reason)),
            "the {what} call is not logged with '{reason}': {logged:?}"
        );
    }

    // A call the real server makes, captured on its way: the first delivery
    // works (it is genuine), a second one is a replay.
    let recorder = Recorder::start();
    redirect_listener(&server.db_path(), "alice", recorder.addr);
    server.send("user:alice", "alert", "Captured", &[]);
    let captured = recorder.wait(Duration::from_secs(5));
    assert_eq!(agent.snapshot(), before, "the alert came by another way");
    assert_eq!(call(to, LOCAL, &captured), "204", "the genuine call");
    wait_for("the alert", Duration::from_secs(2), || {
        agent.queue() == ["Captured"]
    });
    wait_for("the agent to settle", Duration::from_secs(5), || {
        agent.contacts().len() == contacts + 1
    });
    let after = agent.snapshot();
    assert_eq!(call(to, LOCAL, &captured), "401", "the replayed call");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(agent.snapshot(), after, "the replay changed the store");
    assert_eq!(
        agent.contacts().len(),
        contacts + 1,
        "the replay made the agent poll"
    );
    assert!(rejections(&agent)
        .iter()
        .any(|l| l.contains("nonce already used")));

    // Nor does it pass once the agent has restarted and forgotten its nonces.
    drop(run);
    let _run = agent.start(&["--headless", "--push-listen", "127.0.0.1:0"]);
    wait_for("the agent to listen again", Duration::from_secs(20), || {
        agent.listen_addr().is_some()
    });
    wait_for(
        "the restarted agent's contact",
        Duration::from_secs(10),
        || agent.contacts().len() >= contacts + 3,
    );
    let settled = agent.snapshot();
    let contacts = agent.contacts().len();
    let to = agent.listen_addr().unwrap();
    assert_eq!(
        call(to, LOCAL, &captured),
        "401",
        "the replay after a restart"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(agent.snapshot(), settled);
    assert_eq!(agent.contacts().len(), contacts);
    assert!(rejections(&agent)
        .iter()
        .any(|l| l.contains("before this agent started listening") || l.contains("stale")));
}

#[test]
fn a_prober_is_rate_limited_and_the_server_still_gets_through() {
    let server = Server::start_with(&["--poll-interval", "300", "--push", "inbound"]);
    let token = server.add_user("alice", &[]);
    let (agent, _run) = listening_agent(&server, &token);
    let to = agent.listen_addr().unwrap();
    let prober: IpAddr = "127.0.0.2".parse().unwrap();
    let codes: Vec<String> = (0..30)
        .map(|_| call(to, prober, b"POST /herald/v1/check HTTP/1.1\r\n\r\n"))
        .collect();
    let refused = codes.iter().filter(|c| *c == "401").count();
    let limited = codes.iter().filter(|c| *c == "429").count();
    assert_eq!((refused, limited), (10, 20), "{codes:?}");
    // Logged: each refusal, and the limit once; not the 20 dropped calls.
    std::thread::sleep(Duration::from_millis(500));
    let logged = rejections(&agent);
    assert_eq!(logged.len(), 11, "{logged:?}");
    assert!(logged.iter().any(|l| l.contains("too many rejected calls")));

    server.send("user:alice", "alert", "Still heard", &[]);
    wait_for("the alert", Duration::from_secs(2), || {
        agent.queue() == ["Still heard"]
    });
}

#[test]
fn without_a_listen_address_inbound_mode_means_polling() {
    let server = Server::start_with(&["--poll-interval", "1", "--push", "inbound"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let _run = agent.start(&["--headless"]);
    server.send("user:alice", "alert", "By poll", &[]);
    wait_for("the polled alert", Duration::from_secs(10), || {
        agent.queue() == ["By poll"]
    });
    let status = agent.ok(&["status"]);
    assert!(status.contains("no push_listen address"), "{status}");
    assert!(agent.push_secret().is_none());
}
