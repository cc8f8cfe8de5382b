//! The Windows popup alone, cross-built by `scripts/windows` and run under
//! wine with a message on standard input, as the agent starts it: the
//! banner's colour on screen, the body's RichEdit control read back (the
//! bold run, the link marked with its text and target), a click on the
//! link, the window's height for a short and a long body, the window at
//! 200 %, the popup closing when the process it watches ends, the
//! user's language, the answers' buttons, and a fullscreen alert that
//! rings.
//!
//! `HERALD_POPUP_DEBUG_LAYOUT=1` makes the popup print what its window
//! and its control hold, read from them, on standard error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Seek};
use std::process::{Child, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use herald_e2e::wine::{self, Prefix};
use herald_e2e::{wait_for, wait_no_window, wait_window, xdotool};

const SECS: Duration = Duration::from_secs(30);
const ALERT_RED: [u8; 3] = [0xb0, 0x00, 0x20];

fn turn() -> Option<MutexGuard<'static, ()>> {
    static LOCK: Mutex<()> = Mutex::new(());
    if !wine::available() {
        return None;
    }
    if std::env::var_os("DISPLAY").is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI runs under xvfb-run");
        return None;
    }
    Some(
        LOCK.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// A running `herald-popup.exe`, its output in files (see `wine::output`
/// for why not pipes).
struct Popup {
    child: Child,
    out: std::fs::File,
    err: std::fs::File,
}

fn request(severity: &str, title: &str, body: &str) -> String {
    serde_json::json!({
        "id": "m1", "revision": 1, "severity": severity, "title": title,
        "body_markdown": body, "sender": "IT Service Desk",
        "revised_at": "2026-11-23T09:00:00Z", "valid_from": "2026-11-23T09:00:00Z",
        "valid_until": "2026-11-23T18:00:00Z", "locale": "En", "review": false,
    })
    .to_string()
}

impl Popup {
    fn start(request: &str, env: &[(&str, &str)]) -> Popup {
        Popup::start_in(Prefix::shared(), request, env)
    }

    fn start_in(prefix: &Prefix, request: &str, env: &[(&str, &str)]) -> Popup {
        let mut input = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut input, request.as_bytes()).unwrap();
        input.rewind().unwrap();
        let (out, err) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
        let exe = wine::win_path(&wine::release_dir().join("herald-popup.exe"));
        let mut c = prefix.command("wine");
        // No browser under the tests: a link that is opened fails, quietly.
        c.arg(exe)
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=;winebrowser.exe=d")
            .env("HERALD_POPUP_DEBUG_LAYOUT", "1")
            .env_remove("HERALD_AGENT_PID")
            .envs(env.iter().copied())
            .stdin(Stdio::from(input))
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap());
        Popup {
            child: c.spawn().unwrap(),
            out,
            err,
        }
    }

    fn said(&self) -> String {
        read_all(&self.err)
    }

    /// The line of standard error that starts with `prefix`, once there.
    fn line(&self, prefix: &str) -> String {
        let mut found = String::new();
        wait_for(&format!("'{prefix}' from the popup"), SECS, || {
            match self.said().lines().find(|l| l.starts_with(prefix)) {
                Some(l) => {
                    found = l.to_owned();
                    true
                }
                None => false,
            }
        });
        found
    }

    /// Waits for the end; its exit code and standard output.
    fn end(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        (status.code(), read_all(&self.out))
    }
}

impl Drop for Popup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_all(f: &std::fs::File) -> String {
    let mut f = f.try_clone().unwrap();
    let mut s = String::new();
    f.rewind().unwrap();
    f.read_to_string(&mut s).unwrap();
    s
}

/// The numbers of "WxH+X+Y".
fn geometry(s: &str) -> Vec<i32> {
    s.split(['x', '+']).map(|n| n.parse().unwrap()).collect()
}

/// "herald-popup: layout window 466x438+407+181 body 242 wanted 242 ..."
/// as (window height, body height, wanted, work area height).
fn layout(line: &str) -> (i32, i32, i32, i32) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |w: &str| words[words.iter().position(|x| *x == w).unwrap() + 1];
    let size = |s: &str| -> (i32, i32) {
        let mut it = s.split(['x', '+']).map(|n| n.parse().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    };
    let area = words[words.iter().position(|x| *x == "area").unwrap() + 1];
    (
        size(after("window")).1,
        after("body").parse().unwrap(),
        after("wanted").parse().unwrap(),
        size(area).1,
    )
}

#[test]
fn the_popup_shows_its_body_in_rich_edit_and_a_click_on_a_link_leaves() {
    let Some(_turn) = turn() else { return };
    let popup = Popup::start(
        &request(
            "alert",
            "Rich drill",
            "# Evacuate\n\nLeave by the **nearest exit**. See \
             [the plan](https://intranet.example/plan).\n\n<script>alert(1)</script>",
        ),
        &[],
    );
    let w = wait_window("Alert - Rich drill");
    // The banner in the alert's red, drawn by the window itself.
    wait_for("the banner's red", SECS, || {
        wine::window_pixels(&w).contains(&ALERT_RED)
    });
    // What the control holds: the RTF's bold and the link run, marked as
    // a link (CFE_LINK) over exactly its text.
    let link = popup.line("herald-popup: link ");
    assert!(
        link.starts_with("herald-popup: link \"the plan\" marked true at ")
            && link.ends_with(" -> https://intranet.example/plan"),
        "{link}"
    );
    let said = popup.said();
    assert!(
        said.contains("herald-popup: bold \"nearest exit\""),
        "{said}"
    );
    assert!(said.contains("herald-popup: bold \"Evacuate\""), "{said}");
    assert!(!said.contains("bold \"Leave"), "{said}");

    // A click on it: EN_LINK names the run, the popup opens its target
    // (no browser here) and stays up.
    let at = link
        .split(" at ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let (x, y) = at.split_once(',').unwrap();
    let (x, y): (i32, i32) = (x.parse().unwrap(), y.parse().unwrap());
    xdotool(&[
        "mousemove",
        "--sync",
        &(x + 4).to_string(),
        &(y + 6).to_string(),
    ]);
    xdotool(&["click", "1"]);
    popup.line("herald-popup: link clicked -> https://intranet.example/plan");
    assert_eq!(herald_e2e::windows_titled("Alert - Rich drill").len(), 1);

    // Escape cancels; no answer came from the click.
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "Escape"]);
    wait_no_window("Alert - Rich drill");
    let (code, out) = popup.end();
    assert_eq!((code, out.as_str()), (Some(0), "cancelled\n"));
}

#[test]
fn the_popup_grows_with_its_body_up_to_a_share_of_the_screen() {
    let Some(_turn) = turn() else { return };
    let open = |title: &str, body: &str| {
        let popup = Popup::start(&request("info", title, body), &[]);
        let w = wait_window(&format!("Information - {title}"));
        let line = popup.line("herald-popup: layout ");
        xdotool(&["windowfocus", "--sync", &w]);
        xdotool(&["key", "--clearmodifiers", "Return"]);
        let (code, out) = popup.end();
        assert_eq!((code, out.as_str()), (Some(0), "read\n"));
        layout(&line)
    };
    let (short, short_body, short_wanted, area) = open("Short", "One line.");
    assert_eq!(short_body, short_wanted, "a short body is shown whole");
    let paragraphs = "A paragraph of the long body.\n\n".repeat(60);
    let (long, long_body, long_wanted, _) = open("Long", &paragraphs);
    assert!(long > short + 100, "{long} vs {short}");
    // At most 70 % of the work area, the frame aside; the body scrolls.
    assert!(long <= area * 70 / 100 + 40, "{long} of {area}");
    assert!(long_body < long_wanted, "{long_body} of {long_wanted}");
    // A long title wraps and leaves the body its room.
    let title = "Wartung des Mailservers und aller angeschlossenen Systeme ".repeat(3);
    let title = title.trim();
    let (_, body, _, _) = open(title, &paragraphs);
    assert!(body >= 120, "a body of {body} px under a long title");
}

#[test]
fn the_popup_closes_when_the_process_it_watches_ends() {
    let Some(_turn) = turn() else { return };
    // Another popup stands for the agent: a Windows process that says its
    // Windows pid.
    let mut agent = Popup::start(&request("info", "Stand-in", "The agent."), &[]);
    wait_window("Information - Stand-in");
    let pid = agent.line("herald-popup: pid ");
    let pid = pid.rsplit(' ').next().unwrap().to_owned();
    let popup = Popup::start(
        &request("warning", "Orphan", "Waiting."),
        &[("HERALD_AGENT_PID", &pid)],
    );
    wait_window("Warning - Orphan");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(herald_e2e::windows_titled("Warning - Orphan").len(), 1);
    // SIGKILL to the wine process is the Windows process's end.
    agent.child.kill().unwrap();
    wait_no_window("Warning - Orphan");
    let (code, out) = popup.end();
    // Nothing answered: the restarted agent shows the message again.
    assert_eq!((code, out.as_str()), (Some(3), ""));
}

#[test]
fn at_200_percent_the_popup_is_twice_as_large_and_on_the_screen() {
    let Some(_turn) = turn() else { return };
    // A prefix of its own: wine takes one DPI for the whole session, from
    // the registry, when its server starts.
    let prefix = Prefix::boot();
    let out = prefix.wine(
        "reg",
        &[
            "add",
            r"HKCU\Control Panel\Desktop",
            "/v",
            "LogPixels",
            "/t",
            "REG_DWORD",
            "/d",
            "192",
            "/f",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let _ = prefix.command("wineserver").arg("-k").status();
    let _ = wine::output(prefix.command("wineserver").arg("-p60"));
    let long = "A paragraph of the long body.\n\n".repeat(20);
    let popup = Popup::start_in(&prefix, &request("alert", "Scaled", &long), &[]);
    let w = wait_window("Alert - Scaled");
    let line = popup.line("herald-popup: layout ");
    assert!(line.ends_with(" dpi 192"), "{line}");
    let words: Vec<&str> = line.split_whitespace().collect();
    let window = geometry(words[3]);
    // 460 logical pixels inside, and a frame.
    assert!((920..960).contains(&window[0]), "{line}");
    // Within the work area, whole.
    let area = geometry(words[words.iter().position(|x| *x == "area").unwrap() + 1]);
    assert!(window[2] >= area[2] && window[3] >= area[3], "{line}");
    assert!(window[2] + window[0] <= area[2] + area[0], "{line}");
    assert!(window[3] + window[1] <= area[3] + area[1], "{line}");
    let (_, body, _, _) = layout(&line);
    assert!(body >= 240, "{line}");
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "Return"]);
    let (code, out) = popup.end();
    assert_eq!((code, out.as_str()), (Some(0), "read\n"));
}

#[test]
fn the_popup_speaks_the_users_language_and_enter_reads_it() {
    let Some(_turn) = turn() else { return };
    let french = request(
        "alert",
        "Exercice incendie",
        "Sortez par **la sortie la plus proche**.",
    )
    .replace("\"locale\":\"En\"", "\"locale\":\"Fr\"");
    assert!(french.contains("\"locale\":\"Fr\""), "{french}");
    let popup = Popup::start(&french, &[]);
    let w = wait_window("Alerte - Exercice incendie");
    let button = popup.line("herald-popup: button ");
    assert_eq!(button, "herald-popup: button \"&J'ai lu le message\"");
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "Return"]);
    wait_no_window("Alerte - Exercice incendie");
    let (code, out) = popup.end();
    assert_eq!((code, out.as_str()), (Some(0), "read\n"));
}

/// `request` with more of the message's fields.
fn request_with(severity: &str, title: &str, body: &str, extra: serde_json::Value) -> String {
    let mut r: serde_json::Value = serde_json::from_str(&request(severity, title, body)).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r.to_string()
}

/// "herald-popup: answer 2 "I need help" 120x32+520+600 default" as
/// (label, [w, h, x, y], default).
fn answer_line(line: &str) -> (String, Vec<i32>, bool) {
    let (_, rest) = line.split_once('"').unwrap();
    let (label, rest) = rest.rsplit_once('"').unwrap();
    let words: Vec<&str> = rest.split_whitespace().collect();
    (
        label.to_owned(),
        geometry(words[0]),
        words.get(1) == Some(&"default"),
    )
}

fn answer_lines(popup: &Popup, n: usize) -> Vec<(String, Vec<i32>, bool)> {
    popup.line(&format!("herald-popup: answer {n} "));
    (1..=n)
        .map(|k| answer_line(&popup.line(&format!("herald-popup: answer {k} "))))
        .collect()
}

#[test]
fn a_popup_with_answers_has_a_button_each_and_tab_then_enter_answers_the_second() {
    let Some(_turn) = turn() else { return };
    let popup = Popup::start(
        &request_with(
            "alert",
            "Roll call",
            "Where are you?",
            serde_json::json!({"answers": ["I am safe", "I need help", "Not on site"]}),
        ),
        &[],
    );
    let w = wait_window("Alert - Roll call");
    let buttons = answer_lines(&popup, 3);
    // In order, read back from the controls; "I" starts two of them, so
    // only the third has an accelerator. The first is the default.
    let labels: Vec<&str> = buttons.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(labels, ["I am safe", "I need help", "&Not on site"]);
    let defaults: Vec<bool> = buttons.iter().map(|b| b.2).collect();
    assert_eq!(defaults, [true, false, false]);
    // Short labels: one row, left to right.
    let (a, b, c) = (&buttons[0].1, &buttons[1].1, &buttons[2].1);
    assert!(a[3] == b[3] && b[3] == c[3], "{buttons:?}");
    assert!(a[2] + a[0] <= b[2] && b[2] + b[0] <= c[2], "{buttons:?}");
    let said = popup.said();
    assert!(!said.contains("herald-popup: button "), "{said}");
    assert!(!said.contains("herald-popup: rang"), "{said}");

    // The first button has the focus; Tab moves to the second, Enter
    // presses it.
    herald_e2e::press(&w, &["Tab", "Return"]);
    wait_no_window("Alert - Roll call");
    let (code, out) = popup.end();
    assert_eq!((code, out.as_str()), (Some(0), "answer 2\n"));
}

#[test]
fn a_fullscreen_alert_covers_the_screen_rings_and_waits_for_an_answer() {
    let Some(_turn) = turn() else { return };
    let mut popup = Popup::start(
        &request_with(
            "alert",
            "Evacuation",
            "Leave the building **now**.",
            serde_json::json!({
                "answers": [
                    "Evacuating by the north stairs",
                    "Sheltering in the meeting room",
                    "I need help",
                    "Not on site",
                ],
                "fullscreen": true,
                "ring": true,
            }),
        ),
        &[],
    );
    let w = wait_window("Alert - Evacuation");
    popup.line("herald-popup: rang");

    // The window covers the whole X screen: what the popup says of it and
    // what X says.
    let full = popup.line("herald-popup: fullscreen ");
    let words: Vec<&str> = full.split_whitespace().collect();
    let (window, screen, card) = (geometry(words[3]), geometry(words[6]), geometry(words[8]));
    let display = xdotool(&["getdisplaygeometry"]);
    let display: Vec<i32> = display
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(window, screen, "{full}");
    assert_eq!(window, vec![display[0], display[1], 0, 0], "{full}");
    let x_geometry = xdotool(&["getwindowgeometry", &w]);
    assert!(
        x_geometry.contains(&format!("Geometry: {}x{}", display[0], display[1])),
        "{x_geometry}"
    );
    // The card in the middle of it, the backdrop around.
    let centre = |at: i32, size: i32| at + size / 2;
    assert!(
        (centre(card[2], card[0]) - display[0] / 2).abs() <= 1,
        "{full}"
    );
    assert!(
        (centre(card[3], card[1]) - display[1] / 2).abs() <= 1,
        "{full}"
    );
    wait_for("the backdrop and the banner", SECS, || {
        let px = wine::window_pixels(&w);
        px.len() == (display[0] * display[1]) as usize
            && px.contains(&ALERT_RED)
            && px.contains(&[0x1c, 0x1c, 0x20])
    });

    // Long labels wrap to a second row; each has its accelerator.
    let buttons = answer_lines(&popup, 4);
    let labels: Vec<&str> = buttons.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(
        labels,
        [
            "&Evacuating by the north stairs",
            "&Sheltering in the meeting room",
            "&I need help",
            "&Not on site"
        ]
    );
    let tops: std::collections::BTreeSet<i32> = buttons.iter().map(|b| b.1[3]).collect();
    assert!(tops.len() >= 2, "{buttons:?}");
    for b in &buttons {
        assert!(
            b.1[2] >= card[2] && b.1[2] + b.1[0] <= card[2] + card[0],
            "{buttons:?}"
        );
    }

    // Neither Escape nor Alt+F4 close a message that waits for an answer.
    herald_e2e::press(&w, &["Escape", "alt+F4"]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(herald_e2e::windows_titled("Alert - Evacuation").len(), 1);
    assert!(popup.child.try_wait().unwrap().is_none());
    // Alt and the underlined letter answer.
    herald_e2e::press(&w, &["alt+i"]);
    wait_no_window("Alert - Evacuation");
    let (code, out) = popup.end();
    assert_eq!((code, out.as_str()), (Some(0), "answer 3\n"));
}
