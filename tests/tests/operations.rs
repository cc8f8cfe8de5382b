//! Running the server for a company: behind a load balancer,
//! `X-Forwarded-For` names the client only when the request came through a
//! proxy given with `--trusted-proxy`; the health endpoint says whether the
//! instance can serve; a backup taken while it runs restores whole; and
//! `migrate` moves everything to another database, PostgreSQL among them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use herald_e2e::{Agent, Server};
use serde_json::Value;

/// The state the agent gives the message titled `title`.
fn state_of(all: &[Value], title: &str) -> Option<String> {
    all.iter()
        .find(|m| m["title"] == title)
        .map(|m| m["state"].as_str().unwrap().to_owned())
}

/// A failed console sign-in as `name`, claiming to come from `claimed`.
fn sign_in_from(server: &Server, name: &str, claimed: &str) {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", &format!("X-Forwarded-For: {claimed}")])
        .args([
            "--data",
            &format!(r#"{{"name":"{name}","password":"not the password"}}"#),
        ])
        .arg(format!("{}/api/v1/console/signin", server.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
}

fn source_of(server: &Server, name: &str) -> String {
    let audit: Vec<Value> = serde_json::from_str(&server.ok(&["audit", "--json"])).unwrap();
    let line = audit
        .iter()
        .find(|l| l["action"] == "sign-in-failed" && l["target"] == name)
        .unwrap_or_else(|| panic!("no failed sign-in for {name}: {audit:?}"));
    line["source"].as_str().unwrap().to_owned()
}

#[test]
fn the_forwarded_client_counts_only_through_a_trusted_proxy() {
    let direct = Server::start();
    sign_in_from(&direct, "eve", "198.51.100.4");
    assert_eq!(
        source_of(&direct, "eve"),
        "127.0.0.1",
        "a client named itself"
    );

    // Here loopback is the balancer: what it forwards is believed, and of
    // a client's own header only what the balancer appended.
    let behind = Server::start_with(&["--trusted-proxy", "10.0.0.0/8,127.0.0.1"]);
    sign_in_from(&behind, "ann", "198.51.100.4");
    assert_eq!(source_of(&behind, "ann"), "198.51.100.4");
    sign_in_from(&behind, "bob", "192.0.2.99, 198.51.100.7");
    assert_eq!(source_of(&behind, "bob"), "198.51.100.7");
    sign_in_from(&behind, "cy", "garbage");
    assert_eq!(source_of(&behind, "cy"), "127.0.0.1");

    let out = behind.admin(&["serve", "--trusted-proxy", "10.0.0.0/33"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an address block"), "{err}");
}

#[test]
fn health_says_the_instance_is_ready_with_its_database() {
    let server = Server::start();
    let out = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .arg(format!("{}/api/v1/health", server.url))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, status) = text.rsplit_once('\n').unwrap();
    assert_eq!(status, "200", "{text}");
    let health: Value = serde_json::from_str(body).unwrap();
    assert_eq!(health["ready"], true, "{health}");
    assert_eq!(health["database"], "ok", "{health}");
}

#[test]
fn a_backup_taken_while_the_server_runs_restores_every_message_and_receipt() {
    let server = Server::start();
    let mut ann = Agent::new(&server.url, &server.add_user("ann", &["staff"]), "pc-ann");
    let first = server.send("group:staff", "alert", "Fire drill", &[]);
    let first = first.trim();
    server.send("all", "info", "Canteen closed", &[]);
    ann.sync();
    ann.ok(&["ack", first]);
    ann.sync();

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("herald-backup.db");
    let copy_arg = copy.display().to_string();
    let db_arg = server.db_location();
    let said = server.ok(&["backup", &copy_arg, "--db", &db_arg]);
    assert!(said.contains("1 users, 2 messages"), "{said}");
    let again = server.admin(&["backup", &copy_arg, "--db", &db_arg]);
    assert!(
        !again.status.success(),
        "a second backup overwrote the first"
    );
    // The server carries on, and what it does now is not in the copy; the
    // agent's cursor moves past what the copy knows.
    server.send("all", "info", "After the backup", &[]);
    ann.sync();
    assert!(ann.all().iter().any(|m| m["title"] == "After the backup"));

    let restored = Server::start_with(&["--db", &copy_arg]);
    let list: Vec<Value> = serde_json::from_str(&restored.ok(&["list", "--json"])).unwrap();
    let titles: Vec<&str> = list.iter().map(|m| m["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Fire drill") && titles.contains(&"Canteen closed"));
    let receipts = restored.receipts(first);
    assert!(
        receipts
            .iter()
            .any(|r| r["user"] == "ann" && r["kind"] == "read"),
        "{receipts:?}"
    );
    // The same agent against the restored copy: its token works, and its
    // cursor, newer than the copy, gets a full answer that stops the
    // message the copy never had (kept in the history, not shown).
    ann.server = restored.url.clone();
    ann.sync();
    let all = ann.all();
    let state = |title: &str| state_of(&all, title);
    assert_eq!(
        state("After the backup").as_deref(),
        Some("withdrawn"),
        "{all:?}"
    );
    assert_eq!(
        state("Canteen closed").as_deref(),
        Some("staged"),
        "{all:?}"
    );
    assert_eq!(state("Fire drill").as_deref(), Some("read"), "{all:?}");
    assert_eq!(ann.queue(), ["Canteen closed"]);
}

/// The units in packaging/linux are ones systemd takes as written.
#[test]
fn the_systemd_units_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no systemd-analyze");
        return;
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/linux");
    let dir = tempfile::tempdir().unwrap();
    let bin = herald_e2e::bin("herald-server").display().to_string();
    let mut units = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let to = dir.path().join(path.file_name().unwrap());
        std::fs::write(&to, text.replace("/usr/local/bin/herald-server", &bin)).unwrap();
        units.push(to);
    }
    assert_eq!(units.len(), 3, "{units:?}");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// The `Set-Cookie` of a good console sign-in that says it came over HTTPS.
fn cookie_signing_in(server: &Server) -> String {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "a long enough passphrase\n").unwrap();
    let pw = pw.display().to_string();
    server.ok(&[
        "admin",
        "add",
        "ada",
        "--role",
        "admin",
        "--password-file",
        &pw,
    ]);
    let out = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", "X-Forwarded-Proto: https"])
        .args([
            "--data",
            r#"{"name":"ada","password":"a long enough passphrase"}"#,
        ])
        .arg(format!("{}/api/v1/console/signin", server.url))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {head}"))
        .to_owned()
}

#[test]
fn the_session_cookie_is_secure_when_a_trusted_proxy_took_https() {
    let behind = Server::start_with(&["--trusted-proxy", "127.0.0.1"]);
    let cookie = cookie_signing_in(&behind);
    assert!(cookie.contains("; Secure"), "{cookie}");
    // A client that says so itself is not believed.
    let direct = Server::start();
    let cookie = cookie_signing_in(&direct);
    assert!(!cookie.contains("Secure"), "{cookie}");
}

/// From the embedded SQLite file to PostgreSQL (to another SQLite file when
/// the tests run without a cluster): every message, receipt, audit line and
/// agent token goes along, and the agent carries on from its cursor.
#[test]
fn migrate_moves_everything_and_agents_carry_on() {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("embedded.db").display().to_string();
    let mut server = Server::start_with(&["--db", &file]);
    let mut ann = Agent::new(&server.url, &server.add_user("ann", &["staff"]), "pc-ann");
    let drill = server.send("group:staff", "alert", "Fire drill", &[]);
    let drill = drill.trim().to_owned();
    ann.sync();
    ann.ok(&["ack", &drill]);
    ann.sync();
    server.stop();

    let dest = herald_e2e::postgres_database(data.path())
        .unwrap_or_else(|| format!("sqlite:{}", data.path().join("moved.db").display()));
    let from = format!("sqlite:{file}");
    let moved = server.admin(&["migrate", "--from", &from, "--to", &dest]);
    let said = String::from_utf8_lossy(&moved.stdout);
    assert!(
        moved.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    assert!(
        said.contains("users: 1 rows") && said.contains("receipts: "),
        "{said}"
    );
    // Into a database that holds data: refused, and it says why.
    let again = server.admin(&["migrate", "--from", &from, "--to", &dest]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds data"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let there = Server::start_with(&["--db", &dest]);
    let receipts = there.receipts(&drill);
    assert!(
        receipts
            .iter()
            .any(|r| r["user"] == "ann" && r["kind"] == "read"),
        "{receipts:?}"
    );
    let audit = there.ok(&["audit", "--json"]);
    assert!(audit.contains("Fire drill"), "{audit}");
    // The agent's token and cursor work there: the next message arrives,
    // and what it had keeps its state.
    ann.server = there.url.clone();
    there.send("all", "info", "Canteen closed", &[]);
    ann.sync();
    let all = ann.all();
    let state = |title: &str| state_of(&all, title);
    assert_eq!(state("Fire drill").as_deref(), Some("read"), "{all:?}");
    assert_eq!(
        state("Canteen closed").as_deref(),
        Some("staged"),
        "{all:?}"
    );
}
