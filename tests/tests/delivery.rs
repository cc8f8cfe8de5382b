//! Messages from `herald-server send` to `herald-agent queue`, through the
//! real binaries and real SQLite files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{wait_for, Agent, Server};

#[test]
fn due_messages_come_alerts_first_then_warnings_then_infos() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    server.send("user:alice", "info", "info one", &[]);
    server.send("user:alice", "warning", "warning one", &[]);
    server.send("user:alice", "alert", "alert one", &[]);
    server.send("user:alice", "info", "info two", &[]);
    agent.sync();
    assert_eq!(
        agent.queue(),
        ["alert one", "warning one", "info one", "info two"]
    );
}

#[test]
fn targeting_users_groups_hosts_and_all() {
    // The agents' own tokens: their word for their computers' names.
    let server = Server::start_with(&["--trust-claimed-hosts"]);
    let alice = server.add_user("alice", &["finance"]);
    let bob = server.add_user("bob", &["sales"]);
    let alice_pc = Agent::new(&server.url, &alice, "pc-a");
    let bob_pc = Agent::new(&server.url, &bob, "pc-b");
    // Hosts become known to the server when their agents first call.
    alice_pc.sync();
    bob_pc.sync();
    server.send("user:alice", "info", "to alice", &[]);
    server.send("group:sales", "info", "to sales", &[]);
    server.send("host:PC-A", "info", "to pc-a", &[]);
    server.send("all", "info", "to all", &[]);
    server.send("user:bob,group:finance", "info", "to bob and finance", &[]);
    alice_pc.sync();
    bob_pc.sync();
    let mut a = alice_pc.queue();
    let mut b = bob_pc.queue();
    a.sort();
    b.sort();
    assert_eq!(a, ["to alice", "to all", "to bob and finance", "to pc-a"]);
    assert_eq!(b, ["to all", "to bob and finance", "to sales"]);
}

#[test]
fn exclusions_win_over_every_inclusion_and_the_audience_is_counted() {
    let server = Server::start_with(&["--trust-claimed-hosts"]);
    let alice = server.add_user("alice", &["staff"]);
    let bob = server.add_user("bob", &["staff", "contractors"]);
    let carol = server.add_user("carol", &["staff"]);
    let pcs = [
        Agent::new(&server.url, &alice, "pc-a"),
        Agent::new(&server.url, &bob, "pc-b"),
        Agent::new(&server.url, &carol, "pc-c"),
    ];
    for pc in &pcs {
        pc.sync();
    }
    let audience = |to: &str, exclude: &str| -> String {
        server.ok(&["audience", "--to", to, "--exclude", exclude])
    };
    assert_eq!(
        audience("group:staff", "user:carol"),
        "2 users, 0 computers"
    );
    assert_eq!(audience("all", "group:contractors"), "2 users, 0 computers");

    server.send(
        "group:staff",
        "info",
        "staff but carol",
        &["--exclude", "user:carol"],
    );
    server.send(
        "all",
        "info",
        "no contractors",
        &["--exclude", "group:contractors"],
    );
    // Named, and still left out: the exclusion wins.
    server.send(
        "user:bob,user:alice",
        "info",
        "not on pc-a",
        &["--exclude", "host:pc-a"],
    );
    for pc in &pcs {
        pc.sync();
    }
    let sorted = |pc: &Agent| {
        let mut q = pc.queue();
        q.sort();
        q
    };
    assert_eq!(sorted(&pcs[0]), ["no contractors", "staff but carol"]);
    assert_eq!(sorted(&pcs[1]), ["not on pc-a", "staff but carol"]);
    assert_eq!(sorted(&pcs[2]), ["no contractors"]);

    // What the admin sees, and what cannot be excluded.
    let list = server.ok(&["list"]);
    assert!(list.contains("group:staff,-user:carol"), "{list}");
    let out = server.admin(&[
        "send",
        "--to",
        "all",
        "--exclude",
        "all",
        "--severity",
        "info",
        "--title",
        "x",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("'all' cannot be excluded"));
    let out = server.admin(&[
        "send",
        "--to",
        "all",
        "--exclude",
        "user:nobody",
        "--severity",
        "info",
        "--title",
        "x",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown recipient 'user:nobody'"));
}

#[test]
fn withdrawn_message_leaves_the_queue() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let id = server.send("user:alice", "warning", "maintenance", &[]);
    agent.sync();
    assert_eq!(agent.queue(), ["maintenance"]);
    server.ok(&["withdraw", &id]);
    agent.sync();
    assert!(agent.queue().is_empty());
    assert_eq!(agent.state_of(&id), "withdrawn");
}

#[test]
fn a_new_revision_is_shown_again_after_it_was_read() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let id = server.send("user:alice", "info", "mail down at 18:00", &[]);
    agent.sync();
    agent.ok(&["ack", &id]);
    agent.sync();
    assert!(agent.queue().is_empty());
    assert_eq!(agent.state_of(&id), "read");
    server.ok(&["edit", &id, "--title", "mail down at 19:00"]);
    agent.sync();
    assert_eq!(agent.queue(), ["mail down at 19:00"]);
    let all = agent.all();
    assert_eq!(all[0]["revision"], 2);
}

#[test]
fn a_cancelled_message_returns_after_the_next_sync() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let id = server.send("user:alice", "alert", "fire drill", &[]);
    agent.sync();
    agent.ok(&["cancel", &id]);
    assert!(
        agent.queue().is_empty(),
        "cancelled message still due before any contact"
    );
    assert_eq!(agent.state_of(&id), "cancelled");
    agent.sync();
    assert_eq!(agent.queue(), ["fire drill"]);
}

#[test]
fn read_on_one_computer_disappears_on_the_users_other_computer() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let desk = Agent::new(&server.url, &token, "desk");
    let laptop = Agent::new(&server.url, &token, "laptop");
    let id = server.send("user:alice", "warning", "new VPN", &[]);
    desk.sync();
    laptop.sync();
    assert_eq!(laptop.queue(), ["new VPN"]);
    desk.ok(&["ack", &id]);
    desk.sync();
    laptop.sync();
    assert!(laptop.queue().is_empty());
    assert_eq!(laptop.state_of(&id), "read");
    // The laptop owes no receipt: it was read on the desk.
    assert!(laptop
        .ok(&["status", "--json"])
        .contains("\"pending_receipts\": 0"));
}

#[test]
fn a_future_message_is_staged_then_shown_when_due_with_the_server_down() {
    let mut server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let id = server.send(
        "user:alice",
        "alert",
        "evacuation test",
        &["--from", "+3s", "--until", "+1h"],
    );
    agent.sync();
    server.stop();
    assert!(agent.queue().is_empty(), "shown before its valid-from");
    assert_eq!(agent.state_of(&id), "staged");
    wait_for(
        "the staged message to become due",
        Duration::from_secs(10),
        || !agent.queue().is_empty(),
    );
    assert_eq!(agent.queue(), ["evacuation test"]);
    // Read offline: the receipt waits in the outbox.
    agent.ok(&["ack", &id]);
    assert!(agent
        .ok(&["status", "--json"])
        .contains("\"pending_receipts\": 1"));
}

#[test]
fn receipts_reach_the_server_exactly_once() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let both = server.send("user:alice", "warning", "both", &["--receipt", "both"]);
    let none = server.send("user:alice", "info", "none", &["--receipt", "none"]);
    agent.sync();
    agent.ok(&["ack", &both]);
    agent.ok(&["ack", &none]);
    assert!(
        server.receipts(&both).is_empty(),
        "receipt sent before any contact"
    );
    agent.sync();
    agent.sync();
    agent.sync();
    let kinds: Vec<String> = server
        .receipts(&both)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["displayed", "read"]);
    let r = &server.receipts(&both)[0];
    assert_eq!(
        (
            r["user"].as_str(),
            r["host"].as_str(),
            r["revision"].as_u64()
        ),
        (Some("alice"), Some("pc-1"), Some(1))
    );
    // With no receipt asked for, only the acknowledgement goes back.
    let kinds: Vec<String> = server
        .receipts(&none)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["read"]);
    let log = agent.log();
    let sent: u64 = log
        .iter()
        .map(|e| e["receipts_sent"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, 3);
}

#[test]
fn history_lists_what_the_store_holds() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let id = server.send("user:alice", "info", "lunch menu", &[]);
    agent.sync();
    agent.ok(&["ack", &id]);
    let out = std::process::Command::new(herald_e2e::bin("herald-history"))
        .arg("--list")
        .env("HERALD_DATA_DIR", agent.data_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("lunch menu") && text.contains("read") && text.contains("receipt pending"),
        "{text}"
    );
}
