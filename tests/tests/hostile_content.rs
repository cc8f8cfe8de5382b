//! The hostile corpus (`tests/data/xss.txt`: script tags, event handlers,
//! dangerous link schemes, SVG and MathML tricks, CSS expressions, entity
//! tricks, broken markup, bidi and zero-width characters) in the title,
//! the body, the sender and as link targets, shown in the real popup and
//! the real history window. The history window is a web page: a payload
//! that ran would post "xss-ran" to its IPC, which it logs; none may. The
//! Linux popup is GTK, with no page to run anything in: there every
//! payload must stay text, so GTK must accept every label's markup (it
//! logs what it rejects, with the text), and only the keys pressed may
//! answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use herald_e2e::{bin, gui, press, type_text, wait_for, wait_window, xdotool, Agent, Server};

const JS: &str = "window.ipc.postMessage('xss-ran')";

fn payloads() -> Vec<String> {
    include_str!("../data/xss.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("{JS}", JS))
        .collect()
}

/// Each payload as text, as a Markdown link target and as a raw link.
fn hostile_body(payloads: &[String]) -> String {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{p}\n\n[link {i}]({p})\n\n<a href=\"{p}\">raw {i}</a>\n\n"))
        .collect()
}

fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[test]
fn no_payload_runs_in_the_popup() {
    let Some(_screen) = gui() else { return };
    let payloads = payloads();
    assert!(payloads.len() >= 100);
    for (b, batch) in payloads.chunks(12).enumerate() {
        let request = serde_json::json!({
            "id": format!("xss{b}"),
            "revision": 1,
            "severity": "alert",
            "title": batch.join(" "),
            "body_markdown": hostile_body(batch),
            "sender": batch.join(" "),
            "revised_at": "2026-01-01T00:00:00Z",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2036-01-01T00:00:00Z",
            "locale": "En",
            "review": false,
        });
        let mut child = Command::new(bin("herald-popup"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.to_string().as_bytes()).unwrap();
        drop(stdin);
        let pid = child.id().to_string();
        let mut window = String::new();
        wait_for("the hostile popup", Duration::from_secs(30), || {
            window = xdotool(&["search", "--onlyvisible", "--pid", &pid])
                .lines()
                .next()
                .unwrap_or("")
                .to_owned();
            !window.is_empty()
        });
        // Give handlers their chance: load, then focus moving over links.
        std::thread::sleep(Duration::from_secs(1));
        press(&window, &["Tab", "Tab", "Tab", "Tab", "Tab", "Tab"]);
        std::thread::sleep(Duration::from_millis(500));
        press(&window, &["Escape"]);
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stdout.trim(), "cancelled", "batch {b}: {stderr}");
        for sign in ["xss-ran", "markup", "Pango-"] {
            assert!(
                !stderr.contains(sign),
                "batch {b}: a payload broke out of its text: {stderr}"
            );
        }
    }
}

#[test]
fn no_payload_runs_in_the_history_window() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("alice", &[]);
    let agent = Agent::new(&server.url, &token, "pc-1");
    let payloads = payloads();
    for p in &payloads {
        let short = first_chars(p, 190);
        server.send(
            "user:alice",
            "info",
            &short,
            &["--later", "--sender", &short, "--body", p],
        );
    }
    server.send(
        "user:alice",
        "info",
        "XSS corpus",
        &["--later", "--body", &hostile_body(&payloads)],
    );
    agent.sync();
    let total = payloads.len() + 1;
    let log_before = agent.log().len();

    let mut child = Command::new(bin("herald-history"))
        .env("HERALD_DATA_DIR", agent.data_dir())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let w = wait_window(&format!(
        "Herald history \u{2014} {total} of {total} messages"
    ));
    type_text(&w, "XSS corpus");
    wait_window(&format!("Herald history \u{2014} 1 of {total} messages"));
    // Enter opens it: the details pane renders the whole corpus.
    press(&w, &["Return"]);
    std::thread::sleep(Duration::from_secs(2));
    press(&w, &["shift+Tab", "shift+Tab", "shift+Tab"]);
    std::thread::sleep(Duration::from_millis(500));
    child.kill().ok();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("xss-ran"), "a payload ran: {stderr}");
    assert!(
        !stderr.contains("unexpected request"),
        "the page sent something of its own: {stderr}"
    );
    // Nothing acted on the agent's store through the page.
    assert_eq!(agent.log().len(), log_before);
    assert_eq!(agent.queue().len(), total);
}
