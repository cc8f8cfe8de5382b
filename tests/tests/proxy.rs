//! Behind a load balancer: `X-Forwarded-For` names the client only when the
//! request came through a proxy given with `--trusted-proxy`; from anywhere
//! else the peer address stands, whatever the header says. And the health
//! endpoint says whether the instance can serve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use herald_e2e::Server;
use serde_json::Value;

/// A failed console sign-in as `name`, claiming to come from `claimed`.
fn sign_in_from(server: &Server, name: &str, claimed: &str) {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", &format!("X-Forwarded-For: {claimed}")])
        .args(["--data", &format!(r#"{{"name":"{name}","password":"not the password"}}"#)])
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
    assert_eq!(source_of(&direct, "eve"), "127.0.0.1", "a client named itself");

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
