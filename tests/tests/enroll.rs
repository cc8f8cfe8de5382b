//! Agents that sign in by themselves with an enrollment key: the real
//! server and agent binaries on loopback. The token an agent gets works for
//! its user on its computer only; revoking the key stops new enrollments
//! only; `host revoke` and `user token` log enrolled agents out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{wait_for, Agent, Server};

/// The user name the agent presents: the one the tests run as.
fn os_user() -> String {
    let out = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn key(server: &Server, extra: &[&str]) -> String {
    let mut args = vec!["enroll", "create"];
    args.extend_from_slice(extra);
    server.ok(&args).trim().to_owned()
}

fn enrolling(server: &Server, key: &str, host: &str) -> Agent {
    let mut agent = Agent::new(&server.url, "", host);
    agent.env.push(("HERALD_ENROLL_KEY".into(), key.into()));
    agent
}

fn without_key(agent: &Agent) -> Agent {
    let mut a = Agent::new(&agent.server, "", &agent.host);
    a.env = vec![(
        "HERALD_DATA_DIR".into(),
        agent.data_dir().display().to_string(),
    )];
    a
}

/// The token the agent keeps in its store.
fn kept_token(agent: &Agent) -> String {
    let db = rusqlite::Connection::open(agent.data_dir().join("agent.db")).unwrap();
    db.query_row("SELECT token FROM credentials", [], |r| r.get(0))
        .unwrap()
}

fn fails_with(agent: &Agent, args: &[&str], what: &str) {
    let out = agent.run(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(err.contains(what), "{err}");
}

#[test]
fn a_key_gives_a_token_for_this_user_on_this_computer_only() {
    let server = Server::start_with(&["--poll-interval", "300"]);
    let key = key(&server, &[]);
    server.send("all", "info", "Welcome aboard", &[]);

    let agent = enrolling(&server, &key, "pc-1");
    let out = agent.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
    assert_eq!(agent.queue(), ["Welcome aboard"]);
    // The user is known now: addressed by name, reached.
    let me = os_user();
    assert!(server.ok(&["user", "list"]).contains(&me));
    server.send(&format!("user:{me}"), "info", "Just for you", &[]);
    // The kept token does it from now on, with no key.
    let kept = without_key(&agent);
    let out = kept.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
    assert_eq!(
        server.ok(&["enroll", "list"]).matches("1 enrolled").count(),
        1
    );

    // The token is this computer's: another one cannot use it.
    let token = kept_token(&agent);
    let elsewhere = Agent::new(&server.url, &token, "pc-2");
    fails_with(&elsewhere, &["sync"], "refused the agent token (401)");
    let here = Agent::new(&server.url, &token, "pc-1");
    here.ok(&["sync"]);

    // The enrolled token proves pc-1's name: a message to the computer
    // reaches it, and not a user's own token that claims the name.
    let mallory = server.add_user("mallory", &[]);
    let claiming = Agent::new(&server.url, &mallory, "pc-1");
    server.send("host:pc-1", "info", "For pc-1", &[]);
    kept.ok(&["sync"]);
    claiming.ok(&["sync"]);
    assert!(kept.queue().contains(&"For pc-1".to_owned()));
    assert!(!claiming.queue().contains(&"For pc-1".to_owned()));
}

#[test]
fn revoking_the_key_stops_new_agents_but_not_enrolled_ones() {
    let server = Server::start();
    let key = key(&server, &[]);
    let first = enrolling(&server, &key, "pc-1");
    first.ok(&["sync"]);
    let id = server.ok(&["enroll", "list"]);
    let id = id.split('\t').next().unwrap().to_owned();
    server.ok(&["enroll", "revoke", &id]);
    assert!(server.ok(&["enroll", "list"]).contains("revoked"));

    let second = enrolling(&server, &key, "pc-2");
    fails_with(
        &second,
        &["sync"],
        "refused the enrollment key: unknown, revoked or expired key",
    );
    assert!(second.queue().is_empty());
    without_key(&first).ok(&["sync"]);
}

#[test]
fn host_revoke_and_a_new_user_token_log_enrolled_agents_out() {
    let server = Server::start();
    let key = key(&server, &[]);
    let agent = enrolling(&server, &key, "pc-1");
    agent.ok(&["sync"]);

    let out = server.ok(&["host", "revoke", "PC-1"]);
    assert!(
        out.contains("pc-1: 1 signed-in agent token(s) revoked"),
        "{out}"
    );
    // The key still being there does not sign it back in by itself.
    fails_with(&agent, &["sync"], "herald-agent enroll");
    let out = agent.ok(&["enroll"]);
    assert!(out.contains("enrolled at"), "{out}");
    agent.ok(&["sync"]);

    server.ok(&["user", "token", &os_user()]);
    fails_with(&agent, &["sync"], "refused the agent token (401)");
}

#[test]
fn expired_keys_and_hosts_outside_the_pattern_are_refused() {
    let server = Server::start();
    let lab = key(&server, &["--hosts", "lab-*"]);
    enrolling(&server, &lab, "LAB-7").ok(&["sync"]);
    fails_with(
        &enrolling(&server, &lab, "office-1"),
        &["sync"],
        "this enrollment key does not enroll host 'office-1'",
    );

    let brief = key(&server, &["--expires", "+1s"]);
    std::thread::sleep(Duration::from_millis(1500));
    fails_with(
        &enrolling(&server, &brief, "lab-8"),
        &["sync"],
        "unknown, revoked or expired key",
    );
    // A bad pattern is refused when the key is made.
    let out = server.admin(&["enroll", "create", "--hosts", "pc;rm"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad host pattern"));
}

#[test]
fn a_running_agent_waits_for_the_server_then_enrolls() {
    let mut server = Server::start_with(&["--poll-interval", "300"]);
    let key = key(&server, &[]);
    server.send("all", "alert", "Once the network is up", &[]);
    server.stop();
    let agent = enrolling(&server, &key, "pc-9");
    let _run = agent.start(&["--headless"]);
    std::thread::sleep(Duration::from_secs(2));
    server.restart();
    wait_for(
        "the enrolled agent's first contact",
        Duration::from_secs(30),
        || agent.queue().contains(&"Once the network is up".to_owned()),
    );
}

#[test]
fn no_token_and_no_key_says_what_to_give() {
    let server = Server::start();
    let agent = Agent::new(&server.url, "", "pc-1");
    fails_with(&agent, &["sync"], "HERALD_ENROLL_KEY");
    fails_with(&agent, &["enroll"], "no enrollment key");
}
