//! Real mail servers from Debian on free loopback ports: OpenSMTPD takes
//! mail by SMTP and hands it by LMTP to Dovecot, which serves the
//! mailboxes by IMAP. Mailboxes are maildirs in a temporary directory, so a
//! test can lose, copy or plant a mail by hand. Killed on drop.
//!
//! OpenSMTPD keeps its queue and control socket at fixed places, so one
//! runs at a time on a machine: `lock` serializes the tests that use it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::free_port;

/// The domain every test mailbox is in.
pub const DOMAIN: &str = "herald.test";
/// In the config's name, so that a leftover of ours can be told apart from
/// a mail server the machine runs for itself.
const MARK: &str = "herald-e2e-smtpd";

/// Dovecot and OpenSMTPD are there and we are root (OpenSMTPD must start
/// as root); in CI all must hold.
pub fn available() -> bool {
    let there = Path::new("/usr/sbin/dovecot").exists() && Path::new("/usr/sbin/smtpd").exists();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert!(
        (there && root) || std::env::var_os("CI").is_none(),
        "CI must have dovecot and opensmtpd (scripts/install-deps) and run as root"
    );
    if !there {
        eprintln!("skipped: no dovecot or opensmtpd (run scripts/install-deps)");
    } else if !root {
        eprintln!("skipped: OpenSMTPD starts only as root");
    }
    there && root
}

/// One test at a time uses the machine's one OpenSMTPD.
pub fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub struct MailServers {
    dovecot: Option<Child>,
    smtpd: Option<Child>,
    dir: tempfile::TempDir,
    pub smtp_port: u16,
    pub imap_port: u16,
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn wait_port(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl MailServers {
    /// Starts both, with a mailbox (address, password) for each of `users`.
    pub fn start(users: &[(&str, &str)]) -> Self {
        stop_leftover();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let dovecot_uid = uid_of("dovecot");
        std::os::unix::fs::chown(d.join("mail"), Some(dovecot_uid), Some(dovecot_uid)).unwrap();
        let (smtp_port, imap_port, lmtp_port) = (free_port(), free_port(), free_port());
        let passwd: String = users
            .iter()
            .map(|(u, p)| format!("{u}:{{PLAIN}}{p}::::::\n"))
            .collect();
        std::fs::write(d.join("users"), passwd).unwrap();
        let conf = format!(
            "base_dir = {d}/run\n\
             state_dir = {d}/state\n\
             log_path = {d}/dovecot.log\n\
             protocols = imap lmtp\n\
             listen = 127.0.0.1\n\
             ssl = no\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             default_internal_user = dovecot\n\
             default_login_user = dovenull\n\
             first_valid_uid = 100\n\
             mail_location = maildir:{d}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp_port}\n  }}\n  unix_listener lmtp {{\n    mode = 0600\n  }}\n}}\n",
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let dovecot = Command::new("/usr/sbin/dovecot")
            .args(["-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot");
        wait_port(imap_port, "dovecot");
        wait_port(lmtp_port, "dovecot's LMTP");

        std::fs::write(d.join("vusers"), format!("@{DOMAIN} opensmtpd\n")).unwrap();
        let smtpd_conf = d.join(format!("{MARK}.conf"));
        std::fs::write(
            &smtpd_conf,
            format!(
                "table vusers file:{d}/vusers\n\
                 listen on 127.0.0.1 port {smtp_port}\n\
                 action \"dovecot\" lmtp \"127.0.0.1:{lmtp_port}\" rcpt-to virtual <vusers>\n\
                 match from any for domain \"{DOMAIN}\" action \"dovecot\"\n",
                d = d.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(
            &smtpd_conf,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let log = std::fs::File::create(d.join("smtpd.log")).unwrap();
        let smtpd = Command::new("/usr/sbin/smtpd")
            .args(["-d", "-f"])
            .arg(&smtpd_conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("smtpd");
        let mut servers = MailServers {
            dovecot: Some(dovecot),
            smtpd: Some(smtpd),
            dir,
            smtp_port,
            imap_port,
        };
        // One that exits at once (another holds the machine's control
        // socket, say) says why in its log.
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_err() {
            servers.check_alive();
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "smtpd did not listen on {smtp_port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        servers
    }

    fn check_alive(&mut self) {
        if let Some(c) = &mut self.smtpd {
            if let Ok(Some(status)) = c.try_wait() {
                let log = std::fs::read_to_string(self.dir.path().join("smtpd.log"));
                panic!("smtpd exited ({status}): {log:?}");
            }
        }
    }

    /// The `[mail]` section for `user`'s mailbox, plain SMTP and IMAP on
    /// loopback.
    pub fn config(&self, user: &str, password: &str) -> String {
        format!(
            "[mail]\naddress = \"{user}\"\n\
             smtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_security = \"plain\"\n\
             imap_host = \"127.0.0.1\"\nimap_port = {}\nimap_security = \"plain\"\n\
             imap_user = \"{user}\"\nimap_password = \"{password}\"\n",
            self.smtp_port, self.imap_port
        )
    }

    fn maildir(&self, user: &str) -> PathBuf {
        self.dir.path().join("mail").join(user)
    }

    /// Every mail file in `user`'s mailbox, read or not.
    pub fn mails(&self, user: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir(user).join(sub)) {
                out.extend(entries.filter_map(Result::ok).map(|e| e.path()));
            }
        }
        out.sort();
        out
    }

    /// Waits until `user`'s mailbox holds `n` mails; returns them.
    pub fn wait_mails(&self, user: &str, n: usize) -> Vec<PathBuf> {
        let started = Instant::now();
        loop {
            let mails = self.mails(user);
            if mails.len() >= n {
                return mails;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{user} has {} mails, not {n}; smtpd log: {:?}",
                mails.len(),
                std::fs::read_to_string(self.dir.path().join("smtpd.log"))
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Puts a mail into `user`'s mailbox as if it had been delivered.
    pub fn plant(&self, user: &str, mail: &[u8]) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let new = self.maildir(user).join("new");
        std::fs::create_dir_all(&new).unwrap();
        let tmp = self.maildir(user).join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let name = format!("{}.P{}Q{n}.herald-e2e", std::process::id(), n);
        std::fs::write(tmp.join(&name), mail).unwrap();
        let uid = uid_of("dovecot");
        std::os::unix::fs::chown(tmp.join(&name), Some(uid), Some(uid)).unwrap();
        std::fs::rename(tmp.join(&name), new.join(&name)).unwrap();
    }
}

/// A run cut short may leave our OpenSMTPD behind, holding the machine's
/// one control socket; one that is not ours is left alone.
fn stop_leftover() {
    let ours = Command::new("pgrep")
        .args(["-f", MARK])
        .output()
        .is_ok_and(|o| o.status.success());
    if ours {
        let _ = Command::new("pkill").args(["-TERM", "-f", MARK]).status();
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().ok();
    child.wait().ok();
}

impl Drop for MailServers {
    fn drop(&mut self) {
        for c in [self.smtpd.take(), self.dovecot.take()]
            .iter_mut()
            .flatten()
        {
            terminate(c);
        }
    }
}
