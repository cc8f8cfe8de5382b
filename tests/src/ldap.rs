//! A private OpenLDAP server (Debian's slapd) on a free loopback port, with
//! the tree a test gives, an admin to change it and a read-only account
//! for Herald to bind as. Killed on drop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BASE: &str = "dc=example,dc=org";
pub const READER: &str = "cn=herald,dc=example,dc=org";
const ADMIN: &str = "cn=admin,dc=example,dc=org";
const ADMIN_PW: &str = "admin-secret";
const READER_PW: &str = "reader-secret";

pub struct Slapd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub url: String,
    /// `ldap://`, which takes StartTLS when the server has a certificate.
    pub plain_url: String,
}

/// slapd is there (scripts/install-deps installs it); in CI it must be.
pub fn available() -> bool {
    let there = Path::new("/usr/sbin/slapd").exists();
    assert!(
        there || std::env::var_os("CI").is_none(),
        "CI must have slapd (scripts/install-deps)"
    );
    if !there {
        eprintln!("skipped: no slapd (run scripts/install-deps)");
    }
    there
}

impl Slapd {
    /// Starts with `tree` (LDIF under `BASE`) and, if given, a size limit
    /// that Herald's account cannot pass.
    pub fn start(tree: &str, size_limit: Option<u32>) -> Self {
        Self::start_with(tree, size_limit, None)
    }

    /// Starts with the certificate `ca` issued: `url` is `ldaps://`, and
    /// `plain_url` takes StartTLS.
    pub fn start_tls(tree: &str, ca: &crate::tls::TestCa) -> Self {
        Self::start_with(tree, None, Some(ca))
    }

    fn start_with(tree: &str, size_limit: Option<u32>, ca: Option<&crate::tls::TestCa>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             pidfile {d}/slapd.pid\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             sizelimit {limit}\n\
             database mdb\n\
             maxsize 10485760\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ADMIN}\"\n\
             rootpw {ADMIN_PW}\n\
             directory {d}/db\n",
            d = d.display(),
            limit = size_limit.map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
        );
        let tls = ca.map_or_else(String::new, |ca| {
            format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                ca.ca.display(),
                ca.cert.display(),
                ca.key.display()
            )
        });
        // Global directives come before the first database.
        let conf = conf.replacen("database mdb", &format!("{tls}database mdb"), 1);
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        let base = format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
             dn: {READER}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n\
             cn: herald\nuserPassword: {READER_PW}\n\n{tree}"
        );
        std::fs::write(d.join("tree.ldif"), base).unwrap();
        let out = Command::new("/usr/sbin/slapadd")
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-l")
            .arg(d.join("tree.ldif"))
            .output()
            .unwrap();
        assert!(out.status.success(), "slapadd: {out:?}");
        let free = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let port = free();
        let plain_url = format!("ldap://127.0.0.1:{port}");
        let (url, listen) = if ca.is_some() {
            let tls_port = free();
            let tls_url = format!("ldaps://127.0.0.1:{tls_port}");
            let listen = format!("{plain_url}/ {tls_url}/");
            (tls_url, listen)
        } else {
            (plain_url.clone(), format!("{plain_url}/"))
        };
        let child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .args(["-h", &listen, "-d", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "slapd did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut slapd = Slapd {
            child: Some(child),
            dir,
            url,
            plain_url,
        };
        // The TLS port opens with the plain one; wait for both.
        if let Some(tls_port) = slapd.url.strip_prefix("ldaps://127.0.0.1:") {
            let tls_port: u16 = tls_port.parse().unwrap();
            while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "slapd's TLS port did not open"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if slapd.child.as_mut().unwrap().try_wait().unwrap().is_some() {
            panic!("slapd exited at start");
        }
        slapd
    }

    /// A file with Herald's bind password.
    pub fn password_file(&self) -> PathBuf {
        let p = self.dir.path().join("reader.pw");
        std::fs::write(&p, format!("{READER_PW}\n")).unwrap();
        p
    }

    /// Changes the tree as an administrator would (`ldapmodify` LDIF).
    pub fn modify(&self, ldif: &str) {
        let mut child = Command::new("ldapmodify")
            .args(["-x", "-H", &self.url, "-D", ADMIN, "-w", ADMIN_PW])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "ldapmodify failed");
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}
