//! Several instances behind a load balancer: two `herald-server` on one
//! PostgreSQL, Debian's nginx in front with a round-robin upstream and the
//! shipped proxy settings, and real agents that know only nginx's address.
//! Needs a cluster (`HERALD_TEST_PG`, set by scripts/test) and nginx.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use herald_e2e::nginx::Balancer;
use herald_e2e::{wait_for, Agent, Server};

const AGENTS: usize = 6;

fn streams(s: &Server) -> u64 {
    s.metric("herald_push_streams")
}

fn full_answers(s: &Server) -> u64 {
    s.metric("herald_polls_total{answer=\"full\"}")
}

fn answered(s: &Server) -> u64 {
    ["unchanged", "changed", "full"]
        .iter()
        .map(|a| s.metric(&format!("herald_polls_total{{answer=\"{a}\"}}")))
        .sum()
}

fn connected(agent: &Agent) -> bool {
    agent.status()["push_state"]
        .as_str()
        .is_some_and(|s| s.starts_with("connected since"))
}

/// Sends through `via` and waits until every agent holds the message;
/// panics past 2 s. Returns the message id and the time it took.
fn everyone_stages(via: &Server, agents: &[Agent], title: &str) -> (String, Duration) {
    let id = via.send("group:staff", "alert", title, &[]);
    let sent = Instant::now();
    for agent in agents {
        wait_for(
            title,
            Duration::from_secs(2).saturating_sub(sent.elapsed()),
            || agent.queue().iter().any(|t| t == title),
        );
    }
    (id.trim().to_owned(), sent.elapsed())
}

/// The hosts with a read receipt for `id`, each as often as recorded.
fn reads(server: &Server, id: &str) -> Vec<String> {
    let mut hosts: Vec<String> = server
        .receipts(id)
        .iter()
        .filter(|r| r["kind"] == "read")
        .map(|r| r["host"].as_str().unwrap().to_owned())
        .collect();
    hosts.sort();
    hosts
}

#[test]
fn two_instances_behind_nginx_lose_nothing_when_one_is_killed() {
    if std::env::var_os("HERALD_TEST_PG").is_none() {
        eprintln!("skipped: needs HERALD_TEST_PG (scripts/test sets it)");
        return;
    }
    let args = ["--poll-interval", "300", "--trusted-proxy", "127.0.0.1"];
    let first = Server::start_with(&args);
    let shared = first.db_location();
    let second = Server::start_with(&[&args[..], &["--db", &shared]].concat());
    let lb = Balancer::start(&[&first.url, &second.url]);
    let mut servers = [first, second];

    let agents: Vec<Agent> = (0..AGENTS)
        .map(|i| {
            let token = servers[0].add_user(&format!("user{i}"), &["staff"]);
            Agent::new(&lb.url, &token, &format!("pc-{i}"))
        })
        .collect();
    let _runs: Vec<_> = agents.iter().map(|a| a.start(&["--headless"])).collect();
    wait_for(
        "every stream, through nginx",
        Duration::from_secs(30),
        || {
            agents.iter().all(connected)
                && servers.iter().map(streams).sum::<u64>() == AGENTS as u64
        },
    );
    let held: Vec<u64> = servers.iter().map(streams).collect();
    eprintln!("streams per instance: {held:?}");

    // An alert sent through either instance reaches every agent in 2 s,
    // whichever instance holds its stream.
    let mut alerts = Vec::new();
    for (i, via) in servers.iter().enumerate() {
        let (id, took) = everyone_stages(via, &agents, &format!("Alert via instance {i}"));
        eprintln!("alert via instance {i}: every agent staged it within {took:?}");
        alerts.push(id);
    }

    // The instance holding most streams dies while every agent sends its
    // read: the receipts in flight on it are not lost, and its agents
    // come back through the other.
    let victim = usize::from(held[1] > held[0]);
    let survivor = 1 - victim;
    let lost = held[victim];
    let full_before = full_answers(&servers[survivor]);
    for agent in &agents {
        agent.ok(&["ack", &alerts[0]]);
    }
    std::thread::scope(|s| {
        for agent in &agents {
            s.spawn(|| agent.run(&["check-now"]));
        }
        std::thread::sleep(Duration::from_millis(30));
        servers[victim].stop();
    });
    let hosts: Vec<String> = (0..AGENTS).map(|i| format!("pc-{i}")).collect();
    wait_for(
        "every read receipt, through the survivor",
        Duration::from_secs(30),
        || reads(&servers[survivor], &alerts[0]) == hosts,
    );
    wait_for(
        "every stream back, on the survivor",
        Duration::from_secs(30),
        || agents.iter().all(connected) && streams(&servers[survivor]) == AGENTS as u64,
    );
    let (_, took) = everyone_stages(&servers[survivor], &agents, "After the loss");
    eprintln!("after the loss: every agent staged an alert within {took:?}");

    // The instance comes back on the same database: the agents' cursors
    // are the database's, so their polls through it are differences, not
    // everything again.
    servers[victim].restart();
    std::thread::sleep(Duration::from_secs(3)); // nginx's fail_timeout
    let (id, _) = everyone_stages(&servers[victim], &agents, "After the restart");
    for agent in &agents {
        agent.ok(&["ack", &id]);
        // Two contacts each, so that round-robin sends some to each instance.
        agent.ok(&["check-now"]);
        agent.ok(&["check-now"]);
    }
    wait_for(
        "the reads after the restart",
        Duration::from_secs(20),
        || reads(&servers[survivor], &id) == hosts,
    );
    assert!(
        answered(&servers[victim]) > 0,
        "no poll reached the restarted instance: {}",
        lb.error_log()
    );
    let full = full_answers(&servers[survivor]) - full_before + full_answers(&servers[victim]);
    eprintln!("full answers after the loss of {lost} streams: {full}");
    assert!(
        full <= lost,
        "{full} full answers after losing an instance that held {lost} streams"
    );
    // Nothing read before the loss was recorded twice.
    assert_eq!(reads(&servers[survivor], &alerts[0]), hosts);
}
