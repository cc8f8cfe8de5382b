//! TLS end to end: the real server on HTTPS with a certificate from a test
//! CA; agents that are given the CA (flag, environment, config file) talk
//! to it, polls and push stream alike; agents that are not refuse it in one
//! line and change nothing; nothing falls back to plain HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use herald_e2e::tls::TestCa;
use herald_e2e::{bin, wait_for, Agent, Server};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

#[test]
fn an_agent_given_the_ca_polls_and_holds_its_stream_over_tls() {
    let ca = TestCa::new();
    let server = Server::start_tls(&ca, &["--poll-interval", "300"]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let token = server.add_user("alice", &[]);
    server.send("user:alice", "info", "Over TLS", &[]);

    let mut agent = Agent::new(&server.url, &token, "pc-1");
    agent
        .env
        .push(("HERALD_SERVER_CA".into(), ca.ca.display().to_string()));
    let out = agent.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
    assert_eq!(agent.queue(), ["Over TLS"]);

    // The push stream goes through the same TLS and trust.
    let _run = agent.start(&["--headless"]);
    wait_for("the push stream", Duration::from_secs(20), || {
        agent.status()["push_state"]
            .as_str()
            .is_some_and(|s| s.starts_with("connected since"))
    });
    server.send("user:alice", "alert", "Pushed over TLS", &[]);
    wait_for("the pushed alert", Duration::from_secs(2), || {
        agent.queue().contains(&"Pushed over TLS".to_owned())
    });
}

#[test]
fn without_the_ca_the_agent_refuses_in_one_line_and_changes_nothing() {
    let ca = TestCa::new();
    let server = Server::start_tls(&ca, &["--poll-interval", "300"]);
    let token = server.add_user("bob", &[]);
    server.send("user:bob", "info", "Not for a stranger", &[]);

    let mut agent = Agent::new(&server.url, &token, "pc-2");
    let out = agent.run(&["sync"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("does not verify")
            && err.contains("UnknownIssuer")
            && err.contains("server_ca"),
        "{err}"
    );
    assert!(agent.queue().is_empty());

    // Another company's CA is no better.
    let other = TestCa::new();
    agent
        .env
        .push(("HERALD_SERVER_CA".into(), other.ca.display().to_string()));
    let err = stderr(&agent.run(&["sync"]));
    assert!(err.contains("does not verify"), "{err}");

    // A CA file that is not one stops at once, naming the file.
    let junk = agent.data_dir().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    agent.env = vec![("HERALD_SERVER_CA".into(), junk.display().to_string())];
    let err = stderr(&agent.run(&["sync"]));
    assert!(
        err.contains("junk.pem") && err.contains("no PEM certificate"),
        "{err}"
    );

    // Plain HTTP to the TLS port is a failure, not a way around.
    let plain = Agent::new(&server.url.replace("https://", "http://"), &token, "pc-2");
    let out = plain.run(&["sync"]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(plain.queue().is_empty());
}

#[test]
fn the_ca_can_come_from_the_config_file() {
    let ca = TestCa::new();
    let server = Server::start_tls(&ca, &[]);
    let token = server.add_user("carol", &[]);
    server.send("user:carol", "info", "Configured", &[]);
    let agent = Agent::new(&server.url, &token, "pc-3");
    let config = agent.data_dir().join("no-config.toml");
    let quoted = toml_string(&ca.ca.display().to_string());
    std::fs::write(&config, format!("server_ca = {quoted}\n")).unwrap();
    let out = agent.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Starts `serve` on `listen` with `extra`; returns its first stdout line
/// and everything it logged in its first moments.
fn start_and_stop(listen: &str, extra: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin("herald-server"))
        .args(["serve", "--listen", listen])
        .args(extra)
        .env("HERALD_SERVER_DATA_DIR", dir.path())
        .env("HERALD_ADMIN_TOKEN", "t")
        .env("HERALD_LOG", "info")
        .env_remove("HERALD_TLS_CERT")
        .env_remove("HERALD_TLS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().ok();
    child.wait().ok();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).ok();
    (line, err)
}

#[test]
fn the_server_warns_when_it_serves_plain_http_beyond_loopback() {
    let (line, err) = start_and_stop("0.0.0.0:0", &[]);
    assert!(
        line.starts_with("herald-server listening on http://"),
        "{line}"
    );
    assert!(err.contains("plain HTTP beyond this computer"), "{err}");

    let (line, err) = start_and_stop("127.0.0.1:0", &[]);
    assert!(
        line.starts_with("herald-server listening on http://"),
        "{line}"
    );
    assert!(!err.contains("plain HTTP"), "{err}");

    let ca = TestCa::new();
    let (cert, key) = (ca.cert.display().to_string(), ca.key.display().to_string());
    let (line, err) = start_and_stop("0.0.0.0:0", &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(
        line.starts_with("herald-server listening on https://"),
        "{line}"
    );
    assert!(!err.contains("plain HTTP"), "{err}");
}

#[test]
fn a_wrong_certificate_or_key_file_stops_the_server_naming_it() {
    let ca = TestCa::new();
    let (cert, key) = (ca.cert.display().to_string(), ca.key.display().to_string());
    // The key given as the certificate and the other way round.
    let out = Command::new(bin("herald-server"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &key,
            "--tls-key",
            &cert,
        ])
        .env(
            "HERALD_SERVER_DATA_DIR",
            tempfile::tempdir().unwrap().path(),
        )
        .env("HERALD_ADMIN_TOKEN", "t")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("server.key"), "{err}");
    // Only one of the two.
    let out = Command::new(bin("herald-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert", &cert])
        .env(
            "HERALD_SERVER_DATA_DIR",
            tempfile::tempdir().unwrap().path(),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--tls-key"), "{}", stderr(&out));
}
