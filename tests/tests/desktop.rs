//! The agent as the desktop shell sees it: its tray on the session bus
//! (read and clicked as a shell would) and its notifications, received by
//! a notification service on the same bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::dbus::{self, Notifications};
use herald_e2e::{
    gui, press, wait_for, wait_no_window, wait_window, windows_titled, Agent, Server,
};

const SECS: Duration = Duration::from_secs(20);

#[test]
fn the_tray_shows_the_state_and_its_menu_drives_the_agent() {
    let Some(_screen) = gui() else { return };
    let mut server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let mut run = agent.start(&[]);
    let mut found = None;
    wait_for("the tray on the session bus", SECS, || {
        found = dbus::tray_of(run.pid());
        found.is_some()
    });
    let tray = found.unwrap();
    wait_for("the last contact in the tooltip", SECS, || {
        dbus::tooltip(&tray).contains("Last contact with the server: ")
    });
    let labels: Vec<String> = dbus::menu(&tray).into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        labels,
        [
            "Show history",
            "Check for messages now",
            "Show waiting messages",
            "Do not disturb for 1 hour",
            "Quit"
        ]
    );
    let normal_icon = dbus::icon_pixels(&tray);
    assert!(!normal_icon.is_empty());

    // Sent between two polls, it comes at once with "Check for messages now".
    server.send("user:alice", "info", "Tray check", &[]);
    dbus::click(&tray, "Check for messages now");
    let w = wait_window("Tray check");
    press(&w, &["Escape"]);
    wait_no_window("Tray check");
    wait_for("the waiting state", SECS, || {
        dbus::tooltip(&tray).contains("1 message waiting")
    });
    assert_ne!(dbus::icon_pixels(&tray), normal_icon);

    // "Show waiting messages" brings it back without a contact.
    dbus::click(&tray, "Show waiting messages");
    let w = wait_window("Tray check");
    press(&w, &["Tab", "Return"]);
    wait_no_window("Tray check");
    wait_for("the normal state again", SECS, || {
        !dbus::tooltip(&tray).contains("waiting")
    });
    assert_eq!(dbus::icon_pixels(&tray), normal_icon);

    // Do not disturb: the alert still comes, the info waits until it ends.
    dbus::click(&tray, "Do not disturb for 1 hour");
    wait_for("do-not-disturb in the tooltip", SECS, || {
        dbus::tooltip(&tray).contains("Do not disturb until")
    });
    server.send("user:alice", "info", "Quiet info", &[]);
    server.send("user:alice", "alert", "Loud alert", &[]);
    dbus::click(&tray, "Check for messages now");
    let w = wait_window("Loud alert");
    press(&w, &["Tab", "Return"]);
    wait_no_window("Loud alert");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        windows_titled("Quiet info").is_empty(),
        "shown during do-not-disturb"
    );
    assert!(dbus::tooltip(&tray).contains("1 message waiting"));

    // Do-not-disturb outlives a restart of the agent.
    let _ = std::process::Command::new("kill")
        .arg(run.pid().to_string())
        .status();
    assert!(run.exits_within(Duration::from_secs(10)));
    run = agent.start(&[]);
    let mut found = None;
    wait_for("the tray after the restart", SECS, || {
        found = dbus::tray_of(run.pid());
        found.is_some()
    });
    let tray = found.unwrap();
    wait_for("do-not-disturb still on", SECS, || {
        dbus::tooltip(&tray).contains("Do not disturb until")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        windows_titled("Quiet info").is_empty(),
        "shown during do-not-disturb after a restart"
    );
    dbus::click(&tray, "Do not disturb for 1 hour");
    let w = wait_window("Quiet info");
    press(&w, &["Escape"]);
    wait_no_window("Quiet info");

    // The server goes away: the tray says so.
    server.stop();
    dbus::click(&tray, "Check for messages now");
    wait_for("the unreachable state", SECS, || {
        dbus::tooltip(&tray).contains("Cannot reach the server since")
    });

    dbus::click(&tray, "Quit");
    assert!(
        run.exits_within(Duration::from_secs(10)),
        "Quit did not stop the agent"
    );
}

#[test]
fn a_message_arriving_behind_a_popup_is_announced_by_a_notification() {
    let Some(_screen) = gui() else { return };
    let notices = Notifications::start();
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let mut agent = Agent::new(&server.url, &token, "pc-1");
    agent
        .env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), notices.address().into()));
    server.send("user:alice", "alert", "On screen", &[]);
    let _run = agent.start(&[]);
    let w = wait_window("On screen");
    assert!(notices.received().is_empty(), "{:?}", notices.received());

    server.send("user:alice", "info", "Behind", &[]);
    let answer = agent.ok(&["check-now"]);
    assert!(answer.contains("1 new"), "{answer}");
    wait_for("a notification", SECS, || !notices.received().is_empty());
    let got = notices.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "Herald");
    assert_eq!(got[0].1, "1 message waiting");
    assert!(windows_titled("Behind").is_empty());

    press(&w, &["Escape"]);
    let w = wait_window("Behind");
    press(&w, &["Escape"]);
    wait_no_window("Behind");
}

#[test]
fn a_popup_that_cannot_start_is_retried_with_backoff_and_told_once() {
    let Some(_screen) = gui() else { return };
    let notices = Notifications::start();
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let mut agent = Agent::new(&server.url, &token, "pc-1");
    agent
        .env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), notices.address().into()));
    // A popup that cannot open a window: it counts its starts and fails as
    // herald-popup does, with a one-line reason.
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("starts");
    let popup = dir.path().join("broken-popup");
    std::fs::write(
        &popup,
        format!(
            "#!/bin/sh\necho start >> '{}'\necho 'herald-popup: cannot open a window (no display here)' >&2\nexit 1\n",
            count.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&popup, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let id = server.send("user:alice", "alert", "Cannot be shown", &[]);
    let mut cmd = agent.command();
    cmd.arg("run").env("HERALD_POPUP", &popup);
    let run = herald_e2e::Running::adopt(cmd.spawn().unwrap(), None);
    let starts = || {
        std::fs::read_to_string(&count)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut found = None;
    wait_for("the tray", SECS, || {
        found = dbus::tray_of(run.pid());
        found.is_some()
    });
    let tray = found.unwrap();
    wait_for("the tray to say why", SECS, || {
        dbus::tooltip(&tray)
            .contains("Messages cannot be shown: cannot open a window (no display here)")
    });
    // Tried at once, again 10 s later, then not before 20 s more: never
    // in a tight loop.
    wait_for("the second try", SECS, || starts() >= 2);
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(starts(), 2, "retried too soon");
    assert!(dbus::tooltip(&tray).contains("1 message waiting"));
    // Told once: one notification and one line in the exchange log.
    let got = notices.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "Messages cannot be shown");
    let lines: Vec<_> = agent
        .log()
        .into_iter()
        .filter(|e| e["kind"] == "popup")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let what = lines[0]["error"].as_str().unwrap();
    assert!(
        what.contains("cannot open a window (no display here); retrying with backoff"),
        "{what}"
    );
    // The message waits, unread and not cancelled.
    assert_eq!(agent.state_of(&id), "staged");
    assert_eq!(agent.queue(), ["Cannot be shown"]);
}
