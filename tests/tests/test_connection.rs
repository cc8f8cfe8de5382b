//! `herald-agent test-connection` against the real server: every step ok
//! when all is well, and the failing step named, with its reason, when the
//! token is wrong, the certificate is not trusted or the server is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::tls::TestCa;
use herald_e2e::{Agent, Server};
use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The line of `step` in the report.
fn line<'a>(out: &'a str, step: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(step))
        .unwrap_or_else(|| panic!("no {step} line in:\n{out}"))
}

#[test]
fn every_step_passes_and_the_poll_is_kept_like_a_sync() {
    let server = Server::start_with(&["--poll-interval", "300", "--push", "stream"]);
    let token = server.add_user("alice", &[]);
    server.send("user:alice", "info", "Tested on the way", &[]);
    let agent = Agent::new(&server.url, &token, "pc-test-1");
    let out = agent.ok(&["test-connection"]);
    for step in ["dns", "tcp", "http", "token", "poll", "push"] {
        assert!(line(&out, step).contains(" ok "), "{step}:\n{out}");
    }
    assert!(line(&out, "tls").contains("not used"), "{out}");
    assert!(line(&out, "http").contains("database ok"), "{out}");
    assert!(line(&out, "poll").contains("1 received"), "{out}");
    assert!(line(&out, "push").contains("the stream opened"), "{out}");
    // The answer was stored: the server's record and the agent's agree.
    assert_eq!(agent.queue(), ["Tested on the way"]);
    assert!(agent.ok(&["sync"]).contains("0 received"));

    let json: Value = serde_json::from_str(&agent.ok(&["test-connection", "--json"])).unwrap();
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 7, "{json}");
    assert_eq!(steps[0]["step"], "dns");
    assert_eq!(steps[5]["step"], "poll");
    assert_eq!(steps[5]["outcome"], "ok");
}

#[test]
fn a_wrong_token_fails_at_the_token_step() {
    let server = Server::start_with(&["--poll-interval", "300"]);
    server.add_user("bob", &[]);
    let agent = Agent::new(&server.url, "not-a-token", "pc-test-2");
    let out = agent.run(&["test-connection"]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(line(&stdout, "http").contains(" ok "), "{stdout}");
    assert!(
        line(&stdout, "token").contains("FAILED") && stdout.contains("refused the agent token"),
        "{stdout}"
    );
    assert!(line(&stdout, "poll").contains("not checked"), "{stdout}");
    assert!(text(&out.stderr).contains("failed at token"));
}

#[test]
fn an_untrusted_certificate_fails_at_tls_and_a_stopped_server_at_tcp() {
    let ca = TestCa::new();
    let mut server = Server::start_tls(&ca, &["--poll-interval", "300"]);
    let token = server.add_user("carol", &[]);
    let mut agent = Agent::new(&server.url, &token, "pc-test-3");
    let out = agent.run(&["test-connection"]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(line(&stdout, "tcp").contains(" ok "), "{stdout}");
    let tls = line(&stdout, "tls");
    assert!(
        tls.contains("FAILED") && tls.contains("does not verify"),
        "{stdout}"
    );

    agent
        .env
        .push(("HERALD_SERVER_CA".into(), ca.ca.display().to_string()));
    let out = agent.ok(&["test-connection"]);
    assert!(
        line(&out, "tls").contains("the certificate verifies"),
        "{out}"
    );

    server.stop();
    let out = agent.run(&["test-connection"]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    let port = server.url.rsplit(':').next().unwrap();
    let tcp = line(&stdout, "tcp");
    assert!(tcp.contains("FAILED") && tcp.contains(port), "{stdout}");
    assert!(line(&stdout, "token").contains("not checked"), "{stdout}");
}
