//! A private MIT Kerberos realm (Debian's krb5-kdc) on a free loopback
//! port: the server's keytab for `HTTP/localhost`, and users who get a
//! ticket cache with `kinit`. Killed on drop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const REALM: &str = "HERALD.TEST";

pub struct Kdc {
    dir: tempfile::TempDir,
    child: Child,
}

/// krb5-kdc is there (scripts/install-deps installs it); in CI it must be.
pub fn available() -> bool {
    let there = Path::new("/usr/sbin/krb5kdc").exists();
    assert!(
        there || std::env::var_os("CI").is_none(),
        "CI must have krb5-kdc (scripts/install-deps)"
    );
    if !there {
        eprintln!("skipped: no krb5-kdc (run scripts/install-deps)");
    }
    there
}

impl Kdc {
    pub fn start() -> Self {
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
                "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n clockskew = 1\n\
                 [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("kdc.conf"),
            format!(
                "[kdcdefaults]\n kdc_ports = {port}\n kdc_tcp_ports = {port}\n\
                 [realms]\n {REALM} = {{\n  database_name = {d}/principal\n  key_stash_file = {d}/stash\n  acl_file = {d}/kadm5.acl\n }}\n",
                d = d.display()
            ),
        )
        .unwrap();
        std::fs::write(d.join("kadm5.acl"), "").unwrap();
        let kdc = |cmd: &str, args: &[&str]| {
            let out = Command::new(cmd)
                .args(args)
                .env("KRB5_CONFIG", d.join("krb5.conf"))
                .env("KRB5_KDC_PROFILE", d.join("kdc.conf"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
        };
        kdc(
            "/usr/sbin/kdb5_util",
            &["-r", REALM, "-P", "master", "create", "-s"],
        );
        let child = Command::new("/usr/sbin/krb5kdc")
            .arg("-n")
            .env("KRB5_CONFIG", d.join("krb5.conf"))
            .env("KRB5_KDC_PROFILE", d.join("kdc.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
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
        let kdc = Kdc { dir, child };
        kdc.admin("addprinc -randkey HTTP/localhost");
        kdc.admin(&format!(
            "ktadd -k {} HTTP/localhost",
            kdc.keytab().display()
        ));
        kdc
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("krb5.conf")
    }

    /// The server's keytab.
    pub fn keytab(&self) -> PathBuf {
        self.dir.path().join("server.keytab")
    }

    pub fn admin(&self, query: &str) {
        let out = Command::new("/usr/sbin/kadmin.local")
            .args(["-q", query])
            .env("KRB5_CONFIG", self.config())
            .env("KRB5_KDC_PROFILE", self.dir.path().join("kdc.conf"))
            .output()
            .unwrap();
        assert!(out.status.success(), "kadmin.local {query}: {out:?}");
    }

    /// Makes `user` a principal and gives them a fresh ticket cache, as a
    /// login would; returns the cache (for KRB5CCNAME).
    pub fn login(&self, user: &str) -> String {
        self.login_for(user, "10h")
    }

    /// As `login`, with tickets that last `lifetime` (kinit's `-l`).
    pub fn login_for(&self, user: &str, lifetime: &str) -> String {
        // A host principal (`host/pc-1`) names a file too.
        let file = user.replace('/', "_");
        let keytab = self.dir.path().join(format!("{file}.keytab"));
        self.admin(&format!("addprinc -randkey {user}"));
        self.admin(&format!("ktadd -k {} {user}", keytab.display()));
        let cache = format!("FILE:{}/{file}.cc", self.dir.path().display());
        let out = Command::new("kinit")
            .args(["-l", lifetime, "-k", "-t"])
            .arg(&keytab)
            .args(["-c", &cache, user])
            .env("KRB5_CONFIG", self.config())
            .output()
            .unwrap();
        assert!(out.status.success(), "kinit {user}: {out:?}");
        cache
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
