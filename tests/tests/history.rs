//! `herald-history`: the window over a real store (under Xvfb, driven with
//! xdotool) and the exports for scripts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command};
use std::time::Duration;

use herald_e2e::{
    bin, gui, press, type_text, wait_for, wait_no_window, wait_window, Agent, Server,
};

struct Window(Child);

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn history(agent: &Agent, args: &[&str]) -> Command {
    let mut c = Command::new(bin("herald-history"));
    c.args(args).env("HERALD_DATA_DIR", agent.data_dir());
    c
}

#[test]
fn the_window_lists_searches_shows_again_and_deletes_log_entries() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let drill = server.send("user:alice", "alert", "Fire drill done", &[]);
    server.send("user:alice", "info", "Canteen menu", &[]);
    server.send("user:alice", "warning", "Mail maintenance", &[]);
    agent.sync();
    agent.ok(&["ack", &drill]);
    for t in ["Canteen menu", "Mail maintenance"] {
        agent.ok(&["ack", &agent.id_of(t)]);
    }
    agent.sync();
    let receipts_before = server.receipts(&drill).len();
    let _run = agent.start(&[]);
    wait_for("the agent's first contact", Duration::from_secs(15), || {
        agent.contacts().len() >= 3
    });

    let _w = Window(history(&agent, &[]).spawn().unwrap());
    let w = wait_window("Herald history \u{2014} 3 of 3 messages");
    type_text(&w, "drill");
    wait_window("Herald history \u{2014} 1 of 3 messages");

    // Enter picks the first match, Enter again is "Show again": the agent
    // shows the read message once more, and nothing is reported.
    press(&w, &["Return", "Return"]);
    let popup = wait_window("Fire drill done");
    press(&popup, &["Tab", "Return"]);
    wait_no_window("Fire drill done");
    agent.wait_state(&drill, "read");
    agent.ok(&["check-now"]);
    assert_eq!(server.receipts(&drill).len(), receipts_before);

    // The exchange log: select all, delete, confirm.
    let entries = agent.log().len();
    press(&w, &["alt+2"]);
    let title = format!("Herald history \u{2014} exchange log ({entries} entries)");
    wait_window(&title);
    press(&w, &["ctrl+a", "Delete", "Return"]);
    wait_window("Herald history \u{2014} exchange log (0 entries)");
    assert!(agent.log().is_empty());
}

#[test]
fn the_log_exports_as_csv_and_json() {
    let server = Server::start();
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    server.send("user:alice", "info", "one", &[]);
    agent.sync();
    agent.sync();
    let out = history(&agent, &["--export-log", "csv", "--oldest-first"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("id,at,kind,server,ok,"));
    assert!(lines[1].contains(",true,0,1,0,"), "{csv}");

    let file = agent.data_dir().join("log.json");
    let out = history(&agent, &["--export-log", "json", "--output"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["received"], 0, "newest first by default");
}

#[test]
fn the_window_speaks_french_says_scheduled_and_rebuilds_only_on_change() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    server.send("user:alice", "info", "Later today", &["--from", "+2h"]);
    agent.sync();
    let rows: serde_json::Value =
        serde_json::from_slice(&history(&agent, &["--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(rows[0]["scheduled"], true, "{rows}");

    let mut child = history(&agent, &[])
        // French words; the C library keeps a locale this machine has
        // (without one GTK cannot name the window in UTF-8).
        .env("LANGUAGE", "fr")
        .env("HERALD_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _w = Window(child);
    let rebuilds = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = rebuilds.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("page rebuilt") {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    let w = wait_window("Historique Herald \u{2014} 1 messages sur 1");
    assert!(herald_e2e::xprop(&w, "_NET_WM_ICON").contains("Icon (32 x 32)"));
    // Nothing changes for a few ticks: the page is not rebuilt.
    std::thread::sleep(Duration::from_secs(4));
    let before = rebuilds.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(before, 1, "rebuilt without a change");
    // The agent writes: the window follows.
    server.send("user:alice", "info", "Now", &[]);
    agent.sync();
    wait_window("Historique Herald \u{2014} 2 messages sur 2");
    assert!(rebuilds.load(std::sync::atomic::Ordering::SeqCst) > before);
}
