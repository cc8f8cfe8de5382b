//! A real MIT KDC (Debian's krb5-kdc) in a temporary realm: a user's
//! ticket cache from `kinit`, the server's keytab, and the token between
//! them. The realm fixture is the end-to-end suite's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/kdc.rs"]
mod kdc;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kdc::Kdc;

/// Runs this test binary's `helper` in a child with the realm's settings
/// and `cache` as the ticket cache: GSSAPI reads its environment once per
/// process.
fn as_role(kdc: &Kdc, role: &str, cache: &str, extra: &[(&str, String)]) -> String {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "helper", "--nocapture", "--include-ignored"])
        .env("HERALD_KRB_ROLE", role)
        .env("KRB5_CONFIG", kdc.config())
        .env("KRB5CCNAME", cache);
    for (k, v) in extra {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "run by the tests below, in a process of its own"]
fn helper() {
    let role = std::env::var("HERALD_KRB_ROLE").unwrap();
    match role.as_str() {
        "client" => match herald_krb::client_token("HTTP@localhost") {
            Ok(token) => {
                std::fs::write(std::env::var("HERALD_KRB_OUT").unwrap(), token).unwrap();
                println!("TOKEN");
            }
            Err(e) => println!("ERROR: {e}"),
        },
        "server" => {
            let token = std::fs::read(std::env::var("HERALD_KRB_IN").unwrap()).unwrap();
            let keytab = std::env::var("HERALD_KRB_KEYTAB").unwrap();
            match herald_krb::accept(&token, Some(Path::new(&keytab))) {
                Ok(p) => println!("PRINCIPAL: {p}"),
                Err(e) => println!("ERROR: {e}"),
            }
        }
        other => panic!("role {other}"),
    }
}

fn token(kdc: &Kdc, cache: &str, file: &str) -> (String, String) {
    let path = kdc.dir().join(file).display().to_string();
    let said = as_role(kdc, "client", cache, &[("HERALD_KRB_OUT", path.clone())]);
    (said, path)
}

fn accept(kdc: &Kdc, token: &str, keytab: &Path) -> String {
    as_role(
        kdc,
        "server",
        "FILE:/nonexistent",
        &[
            ("HERALD_KRB_IN", token.to_owned()),
            ("HERALD_KRB_KEYTAB", keytab.display().to_string()),
        ],
    )
}

#[test]
fn a_ticket_from_kinit_names_its_user_and_a_stale_key_or_late_token_is_refused() {
    if !kdc::available() {
        return;
    }
    let kdc = Kdc::start();
    let keytab = kdc.keytab();

    // No credentials: a clear error from the client's side.
    let (said, _) = token(&kdc, "FILE:/nonexistent/cache", "none");
    assert!(
        said.contains("ERROR: Kerberos: no ticket for HTTP@localhost"),
        "{said}"
    );

    let cache = kdc.login("alice");
    let (said, alice) = token(&kdc, &cache, "alice.token");
    assert!(said.lines().any(|l| l == "TOKEN"), "{said}");
    let said = accept(&kdc, &alice, &keytab);
    assert!(said.contains("PRINCIPAL: alice@HERALD.TEST"), "{said}");
    // Garbage is refused, not trusted.
    std::fs::write(kdc.dir().join("garbage"), b"\x60\x03\x06\x01\x00").unwrap();
    let said = accept(
        &kdc,
        &kdc.dir().join("garbage").display().to_string(),
        &keytab,
    );
    assert!(said.contains("ERROR:"), "{said}");

    // A token made with tickets that have since expired (kinit -l 2s; the
    // realm allows 1 s of clock skew) is refused by the server, and the
    // client will not make a new one from the expired cache.
    let short = kdc.login_for("carol", "2s");
    let (said, late) = token(&kdc, &short, "carol.token");
    assert!(said.lines().any(|l| l == "TOKEN"), "{said}");
    std::thread::sleep(Duration::from_millis(4_500));
    let said = accept(&kdc, &late, &keytab);
    assert!(said.contains("ERROR:"), "{said}");
    assert!(said.contains("expired"), "{said}");
    let (said, _) = token(&kdc, &short, "carol2.token");
    assert!(said.contains("ERROR:"), "{said}");
    assert!(said.contains("expired"), "{said}");

    // The service was re-keyed after the server's keytab was written: a
    // fresh ticket carries the new key, which the keytab lacks.
    kdc.admin("cpw -randkey HTTP/localhost");
    let cache = kdc.login("bob");
    let (said, bob) = token(&kdc, &cache, "bob.token");
    assert!(said.lines().any(|l| l == "TOKEN"), "{said}");
    let said = accept(&kdc, &bob, &keytab);
    assert!(said.contains("ERROR:"), "{said}");
}
