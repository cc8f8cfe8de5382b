//! A site relay exchanging with the central server by HTTPS's plain
//! sibling on loopback: the real `herald-server` twice, a real agent at the
//! site. An alert sent centrally reaches the site's agent, its read receipt
//! comes back, the site's user becomes addressable centrally, preferences
//! reach the agent, and the trace can be read, exported and cleared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use herald_e2e::{bin, Agent, Server};
use serde_json::Value;

/// A site's relay, registered at `central`, with its config file.
struct Relay {
    server: Server,
    _config: tempfile::TempDir,
}

fn relay_for(central: &Server, site: &str) -> Relay {
    let keys: Value = serde_json::from_str(&central.ok(&["site", "add", site, "--json"])).unwrap();
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join("server.toml");
    std::fs::write(
        &path,
        format!(
            "[relay]\nsite = \"{site}\"\nkey = \"{}\"\ncentral_key = \"{}\"\n\
             transport = \"https\"\ncentral_url = \"{}\"\n",
            keys["site_key"].as_str().unwrap(),
            keys["central_key"].as_str().unwrap(),
            central.url
        ),
    )
    .unwrap();
    // Its agents use their users' own tokens: their word for their hosts.
    let server = Server::start_with(&[
        "--config",
        path.to_str().unwrap(),
        "--poll-interval",
        "300",
        "--trust-claimed-hosts",
    ]);
    Relay {
        server,
        _config: config,
    }
}

fn exchange(relay: &Server) -> String {
    relay.ok(&["exchange"])
}

#[test]
fn an_alert_goes_down_its_receipt_comes_up_and_preferences_follow() {
    let central = Server::start_with(&["--poll-interval", "300"]);
    let site = relay_for(&central, "plant-a");
    let relay = &site.server;

    // ann exists only at the site: her agent talks to the relay as to a
    // server, and checks its messages with the central server's key.
    let token = relay.add_user("ann", &[]);
    let mut agent = Agent::new(&relay.url, &token, "pc-ann");
    agent.env.push((
        "HERALD_SERVER_KEY".into(),
        format!("{}@plant-a", central.public_key()),
    ));
    agent.sync();

    let id = central.send("all", "alert", "Evacuate hall 3", &[]);
    let out = exchange(relay);
    assert!(out.contains("sent #1"), "{out}");
    assert!(out.contains("1 new"), "{out}");
    agent.sync();
    assert_eq!(agent.queue(), ["Evacuate hall 3"]);

    let local = agent.id_of("Evacuate hall 3");
    assert_eq!(local, id, "the same message, by the central server's id");
    agent.ok(&["ack", &id]);
    agent.sync();
    exchange(relay);
    let receipts = central.receipts(&id);
    assert!(
        receipts
            .iter()
            .any(|r| r["user"] == "ann" && r["host"] == "pc-ann" && r["kind"] == "read"),
        "{receipts:?}"
    );

    // ann and pc-ann are known centrally now: user:ann reaches her.
    let users = central.ok(&["user", "list"]);
    assert!(users.contains("ann"), "{users}");
    central.send("user:ann", "info", "For ann only", &[]);
    central.send("host:pc-ann", "info", "For her computer", &[]);
    // Preferences for this site reach its agents through the relay.
    central.ok(&["prefs", "set", "poll-interval", "42", "--site", "plant-a"]);
    central.ok(&["prefs", "set", "language", "fr"]);
    central.ok(&["prefs", "set", "max-dnd", "20"]);
    exchange(relay);
    agent.sync();
    let queue = agent.queue();
    assert!(queue.contains(&"For ann only".to_owned()), "{queue:?}");
    assert!(queue.contains(&"For her computer".to_owned()), "{queue:?}");
    let status = agent.status();
    assert_eq!(status["poll_interval_secs"], 42, "{status}");
    assert_eq!(status["language"], "fr", "{status}");
    assert_eq!(status["max_dnd_minutes"], 20, "{status}");
    assert_eq!(
        status["origins"]["poll-interval"], "central server, via site plant-a",
        "{status}"
    );
    let text = agent.ok(&["status"]);
    assert!(
        text.contains("poll interval:    42 s (from the central server, via site plant-a)"),
        "{text}"
    );

    // The central side sees the site up to date, with its inventory.
    let sites: Value = serde_json::from_str(&central.ok(&["site", "list", "--json"])).unwrap();
    let info = &sites[0];
    assert_eq!(info["name"], "plant-a");
    assert_eq!(info["state"], "up-to-date", "{info}");
    assert_eq!(info["users"], 1, "{info}");
    assert_eq!(info["hosts"], 1, "{info}");
    assert!(info["version_warning"].is_null(), "{info}");

    // exchange test: every step of the way, and the central key checked.
    let test = relay.ok(&["exchange", "test"]);
    for step in ["dns", "tcp", "https", "site-key"] {
        let line = test
            .lines()
            .find(|l| l.split_whitespace().next() == Some(step))
            .unwrap_or_else(|| panic!("no {step} in {test}"));
        assert!(line.contains(" ok "), "{test}");
    }
}

/// An agent at the relay's site that trusts `key`.
fn verifying_agent(relay: &Server, user: &str, host: &str, key: String) -> Agent {
    let token = relay.add_user(user, &[]);
    let mut agent = Agent::new(&relay.url, &token, host);
    agent.env.push(("HERALD_SERVER_KEY".into(), key));
    agent
}

fn titles(agent: &Agent) -> Vec<String> {
    let mut t: Vec<String> = agent
        .all()
        .iter()
        .map(|m| m["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    t.sort();
    t
}

#[test]
fn central_messages_keep_their_signature_and_the_relays_key_is_certified_for_its_site() {
    let central = Server::start_with(&["--poll-interval", "300"]);
    let site = relay_for(&central, "plant-a");
    let relay = &site.server;
    let central_key = central.public_key();
    // ann's agent belongs to the site: the central key vouches for its
    // relay. bob's trusts the central key alone, as the central server's
    // own agents do.
    let ann = verifying_agent(relay, "ann", "pc-ann", format!("{central_key}@plant-a"));
    let bob = verifying_agent(relay, "bob", "pc-bob", central_key.clone());

    // The relay's own message, before the central server certified its key.
    let local = relay.send("all", "info", "Canteen closed", &[]);
    for a in [&ann, &bob] {
        a.sync();
        // The next contact delivers the "rejected" receipt.
        a.sync();
    }
    assert!(titles(&ann).is_empty(), "{:?}", titles(&ann));
    let report = relay.ok(&["report", &local]);
    assert!(report.contains("2 rejected"), "{report}");

    // One exchange: the relay reports its key, the central server
    // certifies it for plant-a and sends its alert with its own signature.
    central.send("all", "alert", "Evacuate hall 3", &[]);
    let out = exchange(relay);
    assert!(out.contains("1 new"), "{out}");
    let shown = String::from_utf8_lossy(&relay.local(&["key", "show"]).stdout).into_owned();
    assert!(
        shown.contains(&format!("server_key: {central_key}@plant-a")),
        "{shown}"
    );
    ann.sync();
    bob.sync();
    // The central alert verifies with the central key itself, so bob shows
    // it too; the relay's message only at its own site.
    assert_eq!(titles(&ann), ["Canteen closed", "Evacuate hall 3"]);
    assert_eq!(titles(&bob), ["Evacuate hall 3"]);

    // A message the relay makes now is certified from the start.
    relay.send("all", "info", "Canteen open again", &[]);
    ann.sync();
    assert!(titles(&ann).contains(&"Canteen open again".to_owned()));
}

#[test]
fn a_forged_bundle_is_refused_and_the_trace_is_kept_exported_and_cleared() {
    let central = Server::start_with(&[]);
    let site = relay_for(&central, "plant-b");
    let relay = &site.server;
    central.send("all", "info", "Canteen closed", &[]);
    exchange(relay);
    exchange(relay);

    // A bundle signed with another key: refused, logged, nothing changes.
    let other = relay_for(&central, "plant-c");
    let forged = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: text/plain", "-H", "X-Herald-Site: plant-b"])
        .arg("--data-binary")
        .arg(format!(
            "HERALD-BUNDLE 1\n{}\nSIGNATURE\n{}==\nEND HERALD-BUNDLE\n",
            base64_of(r#"{"site":"plant-b","direction":"up","number":99,"ack":99,"created":"2026-01-01T00:00:00Z","nonce":"bm9uY2U=","sender_version":"0.1.0","body":{"receipts":[],"hosts":[],"users":["mallory"]}}"#),
            "A".repeat(86)
        ))
        .arg(format!("{}/api/v1/site/exchange", central.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&forged.stdout), "403");
    assert!(!central.ok(&["user", "list"]).contains("mallory"));
    let log: Value = serde_json::from_str(&central.ok(&["exchange", "log", "--json"])).unwrap();
    assert_eq!(log[0]["outcome"], "rejected", "{log}");
    assert!(
        log[0]["detail"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{log}"
    );
    drop(other);

    // The relay's trace: newest first, or oldest first.
    let newest: Value = serde_json::from_str(&relay.ok(&["exchange", "log", "--json"])).unwrap();
    let oldest: Value =
        serde_json::from_str(&relay.ok(&["exchange", "log", "--json", "--oldest-first"])).unwrap();
    let n = newest.as_array().unwrap().len();
    assert!(n >= 4, "{newest}");
    assert_eq!(newest[0], oldest[n - 1]);
    let csv = relay.ok(&["exchange", "log", "export", "csv"]);
    assert!(
        csv.starts_with("id,at,site,event,number,outcome,detail\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), n + 1, "{csv}");

    // Deleting asks first; "n" deletes nothing, --yes deletes.
    let mut c = Command::new(bin("herald-server"))
        .args(["exchange", "log", "delete", "--all"])
        .env("HERALD_SERVER", &relay.url)
        .env("HERALD_ADMIN_TOKEN", &relay.admin_token)
        .env("HERALD_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing deleted"));
    let still: Value = serde_json::from_str(&relay.ok(&["exchange", "log", "--json"])).unwrap();
    assert_eq!(still.as_array().unwrap().len(), n);
    let first = newest[0]["id"].to_string();
    relay.ok(&["exchange", "log", "delete", &first, "--yes"]);
    let after: Value = serde_json::from_str(&relay.ok(&["exchange", "log", "--json"])).unwrap();
    assert_eq!(after.as_array().unwrap().len(), n - 1);
    relay.ok(&["exchange", "log", "delete", "--all", "--yes"]);
    assert_eq!(relay.ok(&["exchange", "log", "--json"]).trim(), "[]");
}

#[test]
fn a_relay_that_cannot_reach_the_central_server_says_so_and_catches_up() {
    let mut central = Server::start_with(&[]);
    let site = relay_for(&central, "ship-1");
    let relay = &site.server;
    central.send("all", "warning", "Storm ahead", &[]);
    central.stop();
    let out = relay.admin(&["exchange"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("did not take it"), "{said}");
    central.restart();
    let out = exchange(relay);
    assert!(out.contains("1 new"), "{out}");
}

fn base64_of(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &x)| n | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn languages_and_answers_go_down_unchanged_and_answers_come_up() {
    use herald_e2e::api::{answered, polled};
    let central = Server::start_with(&["--poll-interval", "300"]);
    let site = relay_for(&central, "plant-b");
    let relay = &site.server;
    let token = relay.add_user("ann", &[]);
    let id = central.ok(&[
        "send",
        "--to",
        "all",
        "--severity",
        "alert",
        "--title",
        "Fire drill",
        "--body",
        "Leave by the stairs.",
        "--answer",
        "I am safe",
        "--answer",
        "I need help",
        "--lang",
        "fr",
        "--title",
        "Exercice incendie",
        "--body",
        "Sortez par l'escalier.",
        "--answer",
        "Je suis en sécurité",
        "--answer",
        "J'ai besoin d'aide",
        "--fullscreen",
    ]);
    let id = id.trim();
    exchange(relay);

    // At the site, as the central server wrote it, and signed by it.
    let sent: Value = serde_json::from_str(&central.ok(&["show", id, "--json"])).unwrap();
    let there: Value = serde_json::from_str(&relay.ok(&["show", id, "--json"])).unwrap();
    for field in [
        "title",
        "lang",
        "translations",
        "answers",
        "display",
        "sound",
    ] {
        assert_eq!(there[field], sent[field], "{field}");
    }
    let m = polled(relay, &token, Some(1), id);
    assert_eq!(m.extras.translations[0].answers[1], "J'ai besoin d'aide");
    let key = herald_protocol::signing::parse_public_key(&central.public_key()).unwrap();
    herald_protocol::signing::Trust::new(&[key])
        .verify(&m, chrono::Utc::now())
        .unwrap();

    // ann answers in French at the site; the central report counts it.
    let a = answered(relay, &token, "pc-ann", id, 2, "fr");
    assert_eq!(a["recorded"], 1, "{a}");
    exchange(relay);
    let r: Value = serde_json::from_str(&central.ok(&["report", id, "--json"])).unwrap();
    assert_eq!(r["answers"][1]["count"], 1, "{r}");
    let ann = r["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user"] == "ann")
        .unwrap();
    assert_eq!(ann["answered"]["answer"], 2, "{ann}");
    assert_eq!(ann["answered"]["lang"], "fr", "{ann}");
    assert_eq!(ann["answered"]["host"], "pc-ann", "{ann}");
}
