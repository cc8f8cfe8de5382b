//! Agents that sign in by Kerberos: a private MIT realm, the server with
//! its keytab, and Linux agents with a `kinit` ticket cache and no token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::kdc::{self, Kdc};
use std::time::Duration;

use herald_e2e::{wait_for, Agent, Server};

/// One realm for this file: GSSAPI in the server reads KRB5_CONFIG from
/// its environment, which the server inherits from here.
/// The tests take turns: one re-keys the server's principal.
fn realm() -> Option<(&'static Kdc, std::sync::MutexGuard<'static, ()>)> {
    static KDC: std::sync::OnceLock<Kdc> = std::sync::OnceLock::new();
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if !kdc::available() {
        return None;
    }
    let turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let kdc = KDC.get_or_init(|| {
        let k = Kdc::start();
        std::env::set_var("KRB5_CONFIG", k.config());
        k
    });
    Some((kdc, turn))
}

/// An agent for the server on `localhost` (the service's host name) with
/// `cache` as its ticket cache and no token.
fn agent(server: &Server, kdc: &Kdc, cache: &str, host: &str) -> Agent {
    let url = server.url.replace("127.0.0.1", "localhost");
    let mut a = Agent::new(&url, "", host);
    a.env.push(("HERALD_KERBEROS".into(), "true".into()));
    a.env.push(("KRB5CCNAME".into(), cache.into()));
    a.env
        .push(("KRB5_CONFIG".into(), kdc.config().display().to_string()));
    a
}

fn fails_with(agent: &Agent, what: &str) {
    let out = agent.run(&["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(what), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_user_with_a_ticket_and_no_token_receives_their_messages() {
    let Some((kdc, _turn)) = realm() else { return };
    let keytab = kdc.keytab().display().to_string();
    let server = Server::start_with(&["--keytab", &keytab]);
    server.add_user("krbalice", &[]);
    server.send("user:krbalice", "info", "By Kerberos", &[]);
    let cache = kdc.login("krbalice");

    let a = agent(&server, kdc, &cache, "pc-k1");
    let out = a.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
    assert_eq!(a.queue(), ["By Kerberos"]);

    // The token it got is this computer's, and Kerberos renews it.
    server.ok(&["host", "revoke", "pc-k1"]);
    let out = a.ok(&["sync"]);
    assert!(out.contains("synced"), "{out}");
}

#[test]
fn the_machines_ticket_proves_the_host_and_the_users_alone_does_not() {
    let Some((kdc, _turn)) = realm() else { return };
    let keytab = kdc.keytab().display().to_string();
    let server = Server::start_with(&["--keytab", &keytab, "--poll-interval", "300"]);
    server.add_user("krbfay", &[]);
    let cache = kdc.login("krbfay");

    // The user's ticket alone: signed in, the host claimed only.
    let claimed = agent(&server, kdc, &cache, "pc-k8");
    claimed.ok(&["sync"]);
    // The same user with the computer's own ticket, from the machine config.
    let machine_cache = kdc.login("host/pc-k9");
    let mut proven = agent(&server, kdc, &cache, "pc-k9");
    let machine = proven.data_dir().join("machine.toml");
    let ccache = machine_cache.trim_start_matches("FILE:");
    std::fs::write(
        &machine,
        format!("kerberos_machine_ccache = \"{ccache}\"\n"),
    )
    .unwrap();
    proven.env.push((
        "HERALD_MACHINE_CONFIG".into(),
        machine.display().to_string(),
    ));
    proven.ok(&["sync"]);
    // A machine ticket for another computer proves nothing.
    let mut other = agent(&server, kdc, &cache, "pc-k10");
    other.env.push((
        "HERALD_MACHINE_CONFIG".into(),
        machine.display().to_string(),
    ));
    let out = other.run(&["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("the machine ticket is host/pc-k9@HERALD.TEST's, not host 'pc-k10''s"),
        "{err}"
    );

    server.send("host:pc-k8", "info", "For pc-k8", &[]);
    server.send("host:pc-k9", "info", "For pc-k9", &[]);
    claimed.ok(&["sync"]);
    proven.ok(&["sync"]);
    assert!(claimed.queue().is_empty(), "{:?}", claimed.queue());
    assert_eq!(proven.queue(), ["For pc-k9"]);
    let hosts = server.ok(&["hosts"]);
    let line = |name: &str| hosts.lines().find(|l| l.starts_with(name)).unwrap_or("");
    assert!(line("pc-k8\t").ends_with("\tunproven"), "{hosts}");
    assert!(line("pc-k9\t").ends_with("\tproven"), "{hosts}");
}

#[test]
fn no_ticket_an_unknown_user_or_a_wrong_key_is_refused_clearly() {
    let Some((kdc, _turn)) = realm() else { return };
    let keytab = kdc.keytab().display().to_string();
    let server = Server::start_with(&["--keytab", &keytab]);

    // No ticket cache at all.
    let nobody = agent(&server, kdc, "FILE:/nonexistent/cache", "pc-k2");
    fails_with(&nobody, "Kerberos: no ticket for HTTP@localhost");

    // A ticket for someone the server does not know.
    let cache = kdc.login("krbstranger");
    fails_with(
        &agent(&server, kdc, &cache, "pc-k3"),
        "no user 'krbstranger' for the Kerberos principal krbstranger@HERALD.TEST",
    );

    // A ticket cache whose tickets have expired: the agent says so, and
    // sends nothing.
    server.add_user("krbcarol", &[]);
    let cache = kdc.login_for("krbcarol", "2s");
    std::thread::sleep(std::time::Duration::from_millis(3_500));
    fails_with(&agent(&server, kdc, &cache, "pc-k5"), "expired");

    // The service's key changed since the server's keytab was made: the
    // ticket cannot be read with it.
    server.add_user("krbbob", &[]);
    kdc.admin("cpw -randkey HTTP/localhost");
    let cache = kdc.login("krbbob");
    fails_with(
        &agent(&server, kdc, &cache, "pc-k4"),
        "the Kerberos ticket was refused",
    );
    // Put it back for the other tests.
    kdc.admin(&format!(
        "ktadd -k {} HTTP/localhost",
        kdc.keytab().display()
    ));
}

#[test]
fn users_of_another_realm_are_not_taken_for_this_ones() {
    let Some((kdc, _turn)) = realm() else { return };
    let keytab = kdc.keytab().display().to_string();
    let server = Server::start_with(&["--keytab", &keytab, "--kerberos-realm", "CORP.EXAMPLE"]);
    server.add_user("krbdave", &[]);
    let cache = kdc.login("krbdave");
    fails_with(
        &agent(&server, kdc, &cache, "pc-k6"),
        "krbdave@HERALD.TEST: this server takes Kerberos users from CORP.EXAMPLE only",
    );
}

#[test]
fn a_running_agent_signs_in_again_when_its_token_is_revoked() {
    let Some((kdc, _turn)) = realm() else { return };
    let keytab = kdc.keytab().display().to_string();
    let server = Server::start_with(&["--keytab", &keytab, "--poll-interval", "300"]);
    server.add_user("krberin", &[]);
    let cache = kdc.login("krberin");
    let a = agent(&server, kdc, &cache, "pc-k7");
    let _running = a.start(&["--headless"]);
    wait_for("the first contact", Duration::from_secs(15), || {
        !a.contacts().is_empty()
    });

    server.ok(&["host", "revoke", "pc-k7"]);
    server.send("user:krberin", "info", "After the revocation", &[]);
    // Push may have synced already on the send's hint; either way the
    // contact succeeds, with a new token.
    let answer = a.ok(&["check-now"]);
    assert!(answer.contains("contact ok"), "{answer}");
    assert_eq!(a.queue(), ["After the revocation"]);
}
