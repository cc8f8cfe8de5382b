//! `herald-agent run` as a long-running process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{wait_for, Agent, Server};

#[test]
fn the_running_agent_polls_on_the_servers_interval_and_survives_an_outage() {
    let mut server = Server::start_with(&["--poll-interval", "1"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    // Killed on drop, even when an assertion fails: a leaked agent would
    // poll a dead port for the rest of the suite.
    let mut run = agent.start(&["--headless"]);
    server.send("user:alice", "alert", "first", &[]);
    wait_for(
        "the agent to stage the message",
        Duration::from_secs(15),
        || agent.queue() == ["first"],
    );
    let status = agent.ok(&["status", "--json"]);
    assert!(status.contains("\"poll_interval_secs\": 1"), "{status}");
    // The next poll is planned once the contact's answer is stored, a
    // moment after the message is.
    wait_for("the next poll planned", Duration::from_secs(5), || {
        agent.status()["next_poll"].is_string()
    });

    server.stop();
    wait_for(
        "a failed contact in the log",
        Duration::from_secs(15),
        || agent.contacts().first().is_some_and(|e| e["ok"] == false),
    );
    assert!(run.is_alive(), "the agent died when the server went away");
}

#[test]
fn a_second_agent_for_the_same_user_says_so_and_exits_0() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let mut first = agent.start(&["--headless"]);
    wait_for("the first agent to sync", Duration::from_secs(15), || {
        !agent.contacts().is_empty()
    });
    let out = agent.run(&["run", "--headless"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "second agent failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("already runs (pid "), "{stdout}");
    assert!(first.is_alive());
}

#[test]
fn autostart_writes_and_removes_an_xdg_entry() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    let agent = Agent::new("http://127.0.0.1:9", "t", "pc-1");
    let run = |action: &str| {
        let out = agent
            .command()
            .args(["autostart", action])
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", &config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(run("status"), "autostart: disabled");
    assert!(run("enable").starts_with("autostart: enabled"));
    let entry = std::fs::read_to_string(config.join("autostart/herald-agent.desktop")).unwrap();
    let exe = herald_e2e::bin("herald-agent");
    assert!(
        entry.contains(&format!("Exec=\"{}\" run", exe.display())),
        "{entry}"
    );
    assert!(run("status").starts_with("autostart: enabled"));
    assert_eq!(run("disable"), "autostart: disabled");
    assert!(!config.join("autostart/herald-agent.desktop").exists());
}

#[test]
fn check_now_and_show_waiting_reach_the_running_agent() {
    let server = Server::start(); // the default 300 s poll interval
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");

    let out = agent.run(&["check-now"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the agent does not run"), "{stderr}");

    let _running = agent.start(&["--headless"]);
    wait_for("the first contact", Duration::from_secs(15), || {
        !agent.contacts().is_empty()
    });
    server.send("user:alice", "info", "between polls", &[]);
    assert!(agent.queue().is_empty());
    let answer = agent.ok(&["check-now"]);
    assert!(answer.contains("contact ok: 1 new"), "{answer}");
    assert_eq!(agent.queue(), ["between polls"]);

    // Closed without reading, it waits for the next contact; show-waiting
    // brings it back at once.
    let id = agent.id_of("between polls");
    agent.ok(&["cancel", &id]);
    assert!(agent.queue().is_empty());
    let answer = agent.ok(&["show-waiting"]);
    assert!(
        answer.contains("1 closed messages brought back"),
        "{answer}"
    );
    assert_eq!(agent.queue(), ["between polls"]);

    // The socket is the user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(agent.data_dir().join("agent.sock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn the_control_socket_refuses_garbage_and_keeps_serving() {
    use std::io::{Read, Write};
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let _running = agent.start(&["--headless"]);
    let sock = agent.data_dir().join("agent.sock");
    wait_for("the control socket", Duration::from_secs(15), || {
        sock.exists()
    });
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.write_all(b"show ../../etc/passwd\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("error unknown request"), "{answer}");
    let answer = agent.ok(&["check-now"]);
    assert!(answer.contains("contact ok"), "{answer}");
}
