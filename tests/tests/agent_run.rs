//! `herald-agent run` as a long-running process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{wait_for, Agent, Server};

#[test]
fn the_running_agent_polls_on_the_servers_interval_and_survives_an_outage() {
    let mut server = Server::start_with(&["--poll-interval", "1"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let mut child = agent.command().args(["run", "--headless"]).spawn().unwrap();
    server.send("user:alice", "alert", "first", &[]);
    wait_for(
        "the agent to stage the message",
        Duration::from_secs(15),
        || agent.queue() == ["first"],
    );
    let status = agent.ok(&["status", "--json"]);
    assert!(status.contains("\"poll_interval_secs\": 1"), "{status}");
    assert!(!status.contains("\"next_poll\": null"), "{status}");

    server.stop();
    wait_for(
        "a failed contact in the log",
        Duration::from_secs(15),
        || agent.log().first().is_some_and(|e| e["ok"] == false),
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the agent died when the server went away"
    );
    child.kill().ok();
    child.wait().ok();
}
