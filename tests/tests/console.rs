//! The admin console in a real browser (Debian's Chromium, headless, driven
//! by Playwright) against the real server and real agents: sign in, compose
//! an alert to a group with one member excluded and a script in its body,
//! the agents, the report that follows a read by itself, the fleet, the
//! audit log, a sender held to its limits, and CSRF.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use herald_e2e::{Agent, Server};
use serde_json::Value;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Chromium, Node and playwright-core are there (scripts/install-deps puts
/// them there); in CI they must be.
fn available() -> bool {
    let there = Path::new("/usr/bin/chromium").exists()
        && Command::new("node").arg("--version").output().is_ok()
        && browser_dir().join("node_modules/playwright-core").exists();
    assert!(
        there || std::env::var_os("CI").is_none(),
        "CI must have chromium, node and playwright-core (scripts/install-deps)"
    );
    if !there {
        eprintln!("skipped: no chromium, node or playwright-core (run scripts/install-deps)");
    }
    there
}

struct Browser {
    url: String,
    state: PathBuf,
    shots: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Browser {
    fn new(url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Browser {
            url: url.to_owned(),
            state: dir.path().join("state.json"),
            // Set to docs/src/images to refresh the console's pictures
            // (docs/src/development/screenshots.md).
            shots: std::env::var_os("HERALD_CONSOLE_SHOTS").map(PathBuf::from),
            _dir: dir,
        }
    }

    fn command(&self, phase: &str, env: &[(&str, &str)]) -> Command {
        let mut c = Command::new("node");
        c.arg(browser_dir().join("console.mjs"))
            .arg(phase)
            .current_dir(browser_dir())
            .env("HERALD_URL", &self.url)
            .env("HERALD_STATE", &self.state)
            .env(
                "HERALD_SHOTS",
                self.shots.as_deref().unwrap_or(Path::new("")),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs a phase to its end; returns its last JSON line.
    fn run(&self, phase: &str, env: &[(&str, &str)]) -> Value {
        let out = self.command(phase, env).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "browser phase {phase} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap()
    }
}

#[test]
fn an_admin_sends_from_the_console_and_follows_it_and_a_sender_is_held_to_its_limits() {
    if !available() {
        return;
    }
    let server = Server::start_with(&["--poll-interval", "60"]);
    let ann = Agent::new(&server.url, &server.add_user("ann", &["staff"]), "pc-ann");
    let bob = Agent::new(&server.url, &server.add_user("bob", &["staff"]), "pc-bob");
    server.ok(&["site", "add", "plant-x"]);
    server.add_user("oli", &["ops"]);
    ann.sync();
    bob.sync();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "a long admin passphrase\n").unwrap();
    let pw_arg = pw.display().to_string();
    server.ok(&[
        "admin",
        "add",
        "root",
        "--role",
        "admin",
        "--password-file",
        &pw_arg,
    ]);
    std::fs::write(&pw, "a long sender passphrase\n").unwrap();
    server.ok(&[
        "admin",
        "add",
        "opsdesk",
        "--role",
        "sender",
        "--password-file",
        &pw_arg,
    ]);
    server.ok(&[
        "admin",
        "set",
        "opsdesk",
        "--targets",
        "group:ops",
        "--severities",
        "info,warning",
    ]);

    let browser = Browser::new(&server.url);
    let sent = browser.run(
        "compose",
        &[
            ("ADMIN_NAME", "root"),
            ("ADMIN_PASSWORD", "a long admin passphrase"),
        ],
    );
    let id = sent["id"].as_str().unwrap().to_owned();
    for forged in sent["csrf"].as_array().unwrap() {
        assert_eq!(forged["status"], 403, "{sent}");
        assert!(forged["error"].as_str().unwrap().contains("CSRF"), "{sent}");
    }
    let list: Vec<Value> = serde_json::from_str(&server.ok(&["list", "--json"])).unwrap();
    assert_eq!(list.len(), 1, "a forged request sent a message: {list:?}");
    assert_eq!(list[0]["severity"], "alert");
    assert_eq!(list[0]["exclude"], serde_json::json!(["user:bob"]));
    assert_eq!(list[0]["created_by"], "root");

    // The agents: ann has it, the body as it was typed; bob, excluded, not.
    ann.sync();
    bob.sync();
    let got = ann.all();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0]["body"].as_str().unwrap().contains("<script>"));
    assert!(bob.all().is_empty(), "bob was excluded: {:?}", bob.all());

    // The report page is open when ann reads it, and follows.
    let mut report = browser
        .command("report", &[("HERALD_MESSAGE", &id)])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(report.stdout.take().unwrap()).lines();
    let ready = lines.next().map(Result::unwrap).unwrap_or_default();
    if !ready.contains("ready") {
        let out = report.wait_with_output().unwrap();
        panic!(
            "the report page did not open: {ready}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ann.ok(&["ack", &id]);
    ann.sync();
    let mut stdin = report.stdin.take().unwrap();
    writeln!(stdin, "read").unwrap();
    drop(stdin);
    let last: Vec<String> = lines.map(Result::unwrap).collect();
    let out = report.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "browser phase report failed:\n{last:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(last.last().unwrap()).unwrap();
    let fleet = seen["fleet"].as_str().unwrap();
    assert!(
        fleet.contains("pc-ann") && fleet.contains("pc-bob"),
        "{fleet}"
    );
    let sites = seen["sites"].as_str().unwrap();
    assert!(
        sites.contains("plant-x") && sites.contains("https") && sites.contains("never"),
        "{sites}"
    );
    let audit = seen["audit"].as_str().unwrap();
    for action in ["sign-in-failed", "sign-in", "send"] {
        assert!(
            audit.contains(action),
            "no {action} in the audit page:\n{audit}"
        );
    }
    assert_eq!(seen["sends"], 1, "{seen}");

    // A sender limited to ops: refused in the page and by the API, and
    // nothing is sent.
    let held = browser.run(
        "sender",
        &[
            ("SENDER_NAME", "opsdesk"),
            ("SENDER_PASSWORD", "a long sender passphrase"),
        ],
    );
    let refused = held["refused"].as_str().unwrap();
    assert!(
        refused.contains("opsdesk may not send to group:staff"),
        "{held}"
    );
    let api = held["api"].as_array().unwrap();
    assert_eq!(api[0]["status"], 403, "{held}");
    assert_eq!(api[1]["status"], 403, "{held}");
    assert!(
        api[1]["error"]
            .as_str()
            .unwrap()
            .contains("may not send alert"),
        "{held}"
    );
    assert_eq!(api[2]["status"], 200, "{held}");
    let list: Vec<Value> = serde_json::from_str(&server.ok(&["list", "--json"])).unwrap();
    assert_eq!(
        list.len(),
        2,
        "only the allowed message was added: {list:?}"
    );

    // The audit log has all of it, with where it came from.
    let audit: Vec<Value> = serde_json::from_str(&server.ok(&["audit", "--json"])).unwrap();
    let has = |actor: &str, action: &str| {
        audit
            .iter()
            .any(|l| l["actor"] == actor && l["action"] == action && l["source"] == "127.0.0.1")
    };
    assert!(has("root", "sign-in") && has("root", "send"), "{audit:?}");
    assert!(
        has("opsdesk", "sign-in") && has("opsdesk", "send"),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l["action"] == "sign-in-failed" && l["target"] == "root"),
        "{audit:?}"
    );
}

/// A call to the server's API with `token`, as an agent or a script makes
/// it; returns the status and the JSON answer.
fn call(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut c = Command::new("curl");
    c.args(["-s", "-m", "10", "-w", "\n%{http_code}", "-X", method])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(format!("{}{path}", server.url));
    if let Some(body) = body {
        c.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(body.to_string());
    }
    let out = c.output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout);
    let (json, status) = text.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(json).unwrap_or(Value::Null),
    )
}

#[test]
fn a_message_in_two_languages_asks_for_answers_and_its_report_shows_them() {
    if !available() {
        return;
    }
    let server = Server::start_with(&["--poll-interval", "60"]);
    let tokens: Vec<String> = ["ann", "bob", "cid"]
        .iter()
        .map(|u| server.add_user(u, &["staff"]))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "a long admin passphrase\n").unwrap();
    let pw_arg = pw.display().to_string();
    server.ok(&[
        "admin",
        "add",
        "root",
        "--role",
        "admin",
        "--password-file",
        &pw_arg,
    ]);

    let browser = Browser::new(&server.url);
    let sent = browser.run(
        "languages",
        &[
            ("ADMIN_NAME", "root"),
            ("ADMIN_PASSWORD", "a long admin passphrase"),
        ],
    );
    let id = sent["id"].as_str().unwrap().to_owned();

    // The server has both versions and the answers, as typed.
    let admin = server.admin_token.clone();
    let (status, m) = call(
        &server,
        &admin,
        "GET",
        &format!("/api/v1/admin/messages/{id}"),
        None,
    );
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["title"], "Evacuation drill", "{m}");
    assert_eq!(m["lang"], "en", "{m}");
    assert_eq!(
        m["answers"],
        serde_json::json!(["I am safe", "I need help"]),
        "{m}"
    );
    assert_eq!(
        m["translations"],
        serde_json::json!([{
            "lang": "fr",
            "title": "Exercice d’évacuation",
            "body": "**Sortez** par l’escalier.",
            "answers": ["Je suis en sécurité", "J’ai besoin d’aide"],
        }]),
        "{m}"
    );
    assert_eq!(m["sound"], "alert", "{m}");
    assert!(m.get("display").is_none(), "not asked for fullscreen: {m}");

    // ann answers 1 on a desktop in English, bob 2 on one in French, each
    // with a real agent; cid does not answer.
    for (token, host, answer, locale) in [
        (&tokens[0], "pc-1", "1", "en_GB.UTF-8"),
        (&tokens[1], "pc-2", "2", "fr_FR.UTF-8"),
    ] {
        let agent = Agent::in_locale(&server.url, token, host, locale);
        agent.sync();
        agent.ok(&["ack", &id, "--answer", answer]);
        agent.sync();
    }

    let seen = browser.run("answers", &[("HERALD_MESSAGE", &id)]);
    for (n, label) in [
        ("1", "I am safe (Je suis en sécurité)"),
        ("2", "I need help (J’ai besoin d’aide)"),
    ] {
        let a = &seen["answered"][n];
        assert_eq!(a["text"], format!("{n}. {label}"), "{seen}");
        assert_eq!(a["count"], "1", "{seen}");
        assert_eq!(a["percent"], "33 %", "{seen}");
        let bar = a["bar"].as_f64().unwrap();
        assert!((33.0..34.0).contains(&bar), "{seen}");
    }
    let users = &seen["users"];
    for (user, has) in [
        ("ann", ["1. I am safe", "pc-1", "in en"]),
        ("bob", ["2. I need help", "pc-2", "in fr"]),
    ] {
        let row = users[user].as_str().unwrap();
        for part in has {
            assert!(row.contains(part), "{user}: no {part} in {row}");
        }
    }
    assert!(
        users["cid"].as_str().unwrap().contains("not answered"),
        "{seen}"
    );
    assert_eq!(seen["unanswered"], "Not answered (1): cid", "{seen}");
    assert_eq!(
        seen["summary"], "2 of 3 addressed user(s) answered.",
        "{seen}"
    );
    assert_eq!(seen["french"], "Sans réponse (1) : cid", "{seen}");
    let listed = seen["listed"].as_str().unwrap();
    assert!(
        listed.contains("en fr") && listed.contains("☑ 2") && listed.contains("🔔"),
        "{listed}"
    );
    let audit = seen["audit"].to_string();
    for part in [
        "languages en,fr",
        r#"answers \"I am safe\" / \"I need help\""#,
        "sound alert",
    ] {
        assert!(audit.contains(part), "no {part} in the audit page: {audit}");
    }

    // Sent again to those who chose "I need help": bob alone, in both
    // languages, with the same answers.
    let again = seen["again"].as_str().unwrap();
    assert_ne!(again, id);
    let (status, m) = call(
        &server,
        &admin,
        "GET",
        &format!("/api/v1/admin/messages/{again}"),
        None,
    );
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["to"], serde_json::json!(["user:bob"]), "{m}");
    assert_eq!(m["translations"][0]["lang"], "fr", "{m}");
    for (user, token) in ["ann", "bob", "cid"].iter().zip(&tokens) {
        let agent = Agent::new(&server.url, token, &format!("pc-{user}"));
        agent.sync();
        let has = agent.all().iter().any(|x| x["id"] == again);
        assert_eq!(has, *user == "bob", "{user}: {:?}", agent.all());
    }
}
