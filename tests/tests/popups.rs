//! Real popups on a real (virtual) screen: the agent's `run` starts
//! `herald-popup` processes; xdotool plays the user.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{
    gui, press, wait_for, wait_no_window, wait_window, windows_titled, xprop, Agent, Server,
};

#[test]
fn three_messages_come_one_at_a_time_most_urgent_first_and_escape_moves_on() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let titles = ["Alert one", "Warning one", "Info one"];
    server.send("user:alice", "info", titles[2], &[]);
    server.send("user:alice", "warning", titles[1], &[]);
    server.send("user:alice", "alert", titles[0], &[]);
    let _run = agent.start(&[]);
    for (i, title) in titles.iter().enumerate() {
        let w = wait_window(title);
        for other in titles.iter().skip(i + 1) {
            assert!(
                windows_titled(other).is_empty(),
                "'{other}' is on screen together with '{title}'"
            );
        }
        press(&w, &["Escape"]);
        wait_no_window(title);
    }
    for t in titles {
        agent.wait_state(&agent.id_of(t), "cancelled");
    }
}

#[test]
fn the_read_control_works_from_the_keyboard_and_the_server_gets_the_receipt() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "1"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let id = server.send(
        "user:alice",
        "warning",
        "Please read",
        &["--receipt", "both"],
    );
    let _run = agent.start(&[]);
    let w = wait_window("Please read");
    // The frame moves and closes, nothing else (Motif functions 0x24:
    // no minimize, no maximize, no resize), and it carries Herald's icon.
    let hints = xprop(&w, "_MOTIF_WM_HINTS");
    assert!(hints.contains("= 0x3, 0x24,"), "{hints}");
    assert!(xprop(&w, "_NET_WM_ICON").contains("Icon (32 x 32)"));
    press(&w, &["Tab", "Return"]);
    wait_no_window("Please read");
    wait_for(
        "the read receipt at the server",
        Duration::from_secs(20),
        || server.receipts(&id).iter().any(|r| r["kind"] == "read"),
    );
    let kinds: Vec<String> = server
        .receipts(&id)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["displayed", "read"]);
}

#[test]
fn a_more_urgent_message_takes_the_screen_and_the_other_waits_untouched() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "1"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let routine = server.send("user:alice", "info", "Routine notice", &[]);
    let _run = agent.start(&[]);
    wait_window("Routine notice");
    server.send("user:alice", "alert", "Evacuate now", &[]);
    let w = wait_window("Evacuate now");
    wait_no_window("Routine notice");
    assert_eq!(
        agent.state_of(&routine),
        "staged",
        "the displaced message was not put back untouched"
    );
    press(&w, &["Tab", "space"]);
    wait_no_window("Evacuate now");
    wait_window("Routine notice");
}

#[test]
fn scripts_and_javascript_links_in_a_body_run_nothing() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    // Any of these, if it ran, would tell the agent the message was read.
    let body = "<script>window.ipc.postMessage('read')</script>\n\n\
                Hello <img src=x onerror=\"window.ipc.postMessage('read')\">\n\n\
                [click me](javascript:window.ipc.postMessage('read'))";
    let id = server.send("user:alice", "warning", "Hostile body", &["--body", body]);
    let _run = agent.start(&[]);
    let w = wait_window("Hostile body");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        agent.state_of(&id),
        "shown",
        "something in the body acted on the popup"
    );
    assert!(!windows_titled("Hostile body").is_empty());
    press(&w, &["Escape"]);
    wait_no_window("Hostile body");
    agent.wait_state(&id, "cancelled");
}
