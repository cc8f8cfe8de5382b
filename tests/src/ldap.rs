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
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("ldap://127.0.0.1:{port}");
        let child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .args(["-h", &format!("{url}/"), "-d", "0"])
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
        Slapd {
            child: Some(child),
            dir,
            url,
        }
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
