//! Another process holding the agent's store (the history window writing,
//! `herald-agent ack`, a backup tool) must not freeze the running agent:
//! push is heard, the server is asked and check-now is taken while the lock
//! is held, and what arrived is stored as soon as it is released.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_e2e::{wait_for, Agent, Server};

/// The agent's log lines, each with the moment it was read.
type Lines = Arc<Mutex<Vec<(Instant, String)>>>;

fn first(lines: &Lines, needle: &str) -> Option<Instant> {
    lines
        .lock()
        .unwrap()
        .iter()
        .find(|(_, l)| l.contains(needle))
        .map(|(t, _)| *t)
}

#[test]
fn a_store_locked_for_four_seconds_holds_up_neither_push_nor_check_now() {
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let mut child = agent
        .command()
        .args(["run", "--headless"])
        .env("HERALD_LOG", "herald_core=debug,herald_agent=debug,info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Lines = Arc::default();
    let stderr = child.stderr.take().unwrap();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push((Instant::now(), line));
        }
    });
    wait_for("the push stream", Duration::from_secs(20), || {
        agent.status()["push_state"]
            .as_str()
            .is_some_and(|s| s.starts_with("connected since"))
    });
    wait_for("a quiet agent", Duration::from_secs(5), || {
        first(&lines, "synced").is_some()
    });
    std::thread::sleep(Duration::from_millis(300));

    // Another process takes the write lock, as a writer in a long
    // transaction would.
    let other = rusqlite::Connection::open(agent.data_dir().join("agent.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked = Instant::now();
    lines.lock().unwrap().clear();

    server.send("user:alice", "alert", "Sent while the store is locked", &[]);
    let checker = {
        let agent_cmd = agent.command();
        std::thread::spawn(move || {
            let mut cmd = agent_cmd;
            let out = cmd.arg("check-now").output().unwrap();
            (Instant::now(), out)
        })
    };
    std::thread::sleep(Duration::from_secs(4).saturating_sub(locked.elapsed()));
    let released = Instant::now();
    other.execute_batch("COMMIT").unwrap();

    // The stream carries the alert itself; it is heard, and waits only to
    // be stored.
    let pushed = first(&lines, "pushed: message").expect("the pushed alert was never heard");
    assert!(pushed < released, "the pushed alert waited for the lock");
    let asked = first(&lines, "poll answered; storing").expect("the server was never asked");
    assert!(asked < released, "the poll waited for the lock");
    let check_taken =
        first(&lines, "check now requested").expect("check-now never reached the loop");
    assert!(check_taken < released, "check-now waited for the lock");

    wait_for(
        "the alert, stored after the lock",
        Duration::from_secs(1),
        || agent.queue() == ["Sent while the store is locked"],
    );
    eprintln!("alert stored {:?} after the release", released.elapsed());
    let (answered, out) = checker.join().unwrap();
    assert!(
        out.status.success(),
        "check-now failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(answered > released);
    assert!(
        answered - released < Duration::from_secs(1),
        "check-now answered {:?} after the release",
        answered - released
    );
    // Its log, read through a pipe, carries no colour codes.
    assert!(!lines
        .lock()
        .unwrap()
        .iter()
        .any(|(_, l)| l.contains('\u{1b}')));
    child.kill().ok();
    child.wait().ok();
}
