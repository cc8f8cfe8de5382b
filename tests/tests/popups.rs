//! Real popups on a real (virtual) screen: the agent's `run` starts
//! `herald-popup` processes; xdotool plays the user.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use herald_e2e::{
    bin, gui, press, wait_for, wait_no_window, wait_window, windows_titled, xdotool, xprop, Agent,
    Server,
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

/// One of `xdotool getwindowgeometry --shell`'s or `getdisplaygeometry`'s
/// numbers.
fn number(out: &str, key: &str) -> i32 {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
        .parse()
        .unwrap()
}

#[test]
fn a_long_title_and_body_fit_the_screen_and_the_body_keeps_room_to_read() {
    let Some(_screen) = gui() else { return };
    // 194 characters: near the server's cap of 200, in a wordy language.
    let title = "Exercice d'\u{e9}vacuation incendie : tous les occupants du b\u{e2}timent B \
                 doivent quitter imm\u{e9}diatement leurs bureaux par l'escalier le plus proche \
                 et se rendre au point de rassemblement C, parking nord";
    assert_eq!(title.chars().count(), 194);
    let body: String = (1..=40)
        .map(|i| {
            format!(
                "{i}. Quittez le b\u{e2}timent dans le calme, sans utiliser les ascenseurs, \
                 et rejoignez le point de rassemblement indiqu\u{e9} sur le parking.\n\n"
            )
        })
        .collect();
    let request = serde_json::json!({
        "id": "long",
        "revision": 1,
        "severity": "alert",
        "title": title,
        "body_markdown": body,
        "sender": "Service de s\u{e9}curit\u{e9} du site de Lyon",
        "revised_at": "2026-01-01T00:00:00Z",
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2036-01-01T00:00:00Z",
        "locale": "Fr",
        "review": false,
    });
    let mut child = Command::new(bin("herald-popup"))
        .env("HERALD_POPUP_DEBUG_LAYOUT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(request.to_string().as_bytes()).unwrap();
    drop(stdin);
    let w = wait_window(title);
    let screen = xdotool(&["getdisplaygeometry"]);
    let (sw, sh) = screen.split_once(' ').unwrap();
    let (sw, sh): (i32, i32) = (sw.parse().unwrap(), sh.trim().parse().unwrap());
    let g = xdotool(&["getwindowgeometry", "--shell", &w]);
    let (x, y) = (number(&g, "X"), number(&g, "Y"));
    let (width, height) = (number(&g, "WIDTH"), number(&g, "HEIGHT"));
    assert!(
        x >= 0 && y >= 0 && x + width <= sw && y + height <= sh,
        "the window leaves the {sw}x{sh} screen: {g}"
    );
    press(&w, &["Escape"]);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cancelled");
    let body_height: i32 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("herald-popup: layout window "))
        .and_then(|l| l.split(" body ").nth(1)?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no layout line: {stderr}"));
    assert!(
        body_height >= 120,
        "the body has {body_height} px of a {height}-px window: {stderr}"
    );
}
