//! Harness for the end-to-end tests: starts the real `herald-server` on a
//! free loopback port with a temporary database, and runs real
//! `herald-agent` commands, each agent with its own temporary data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod api;
pub mod atspi;
pub mod dbus;
pub mod inbound;
pub mod kdc;
pub mod ldap;
pub mod mail;
pub mod nginx;
pub mod popup;
pub mod sse;
pub mod tls;
pub mod wine;

/// Variables of the developer's own setup that must not leak into tests.
const HERALD_VARS: &[&str] = &[
    "HERALD_SERVER",
    "HERALD_TOKEN",
    "HERALD_HOST",
    "HERALD_DATA_DIR",
    "HERALD_CONFIG",
    "HERALD_ADMIN_TOKEN",
    "HERALD_SERVER_DATA_DIR",
    "HERALD_POLL_INTERVAL",
    "HERALD_PUSH_LISTEN",
    "HERALD_MACHINE_CONFIG",
    "HERALD_POPUP",
    "HERALD_SERVER_CA",
    "HERALD_TLS_CERT",
    "HERALD_TLS_KEY",
    "HERALD_SERVER_CONFIG",
    "HERALD_ENROLL_KEY",
    "HERALD_SERVER_KEY",
    "HERALD_SIGNING_KEY",
];

/// Path of a workspace binary, built (once per test process) so that the
/// tests never run stale binaries.
pub fn bin(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut build = Command::new(env!("CARGO"));
        build
            .current_dir(root)
            .args(["build", "--quiet", "--bins", "--workspace"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cannot run cargo build");
        assert!(status.success(), "cargo build of the binaries failed");
        dir
    });
    dir.join(name)
}

fn command(name: &str) -> Command {
    let mut c = Command::new(bin(name));
    for v in HERALD_VARS {
        c.env_remove(v);
    }
    c.env("HERALD_LOG", "warn");
    c
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).trim().to_owned()
}

const ADMIN_TOKEN: &str = "e2e-admin-token";

/// A loopback port free when asked (another process may take it after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `herald-server serve`, killed on drop.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub admin_token: String,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    /// The CA the admin commands trust, for a server on TLS.
    pub ca: Option<PathBuf>,
}

/// With `HERALD_TEST_PG` (the URL of a cluster's administration
/// database; scripts/test starts one), each server's data directory gets a
/// database of its own on that cluster, made on first use and kept for a
/// restart. Without it the server uses SQLite in its data directory.
pub fn postgres_database(dir: &Path) -> Option<String> {
    let admin = std::env::var("HERALD_TEST_PG").ok()?;
    let marker = dir.join("postgres-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "herald_e2e_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let out = Command::new("psql")
        .args(["-qAt", &admin, "-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    std::fs::write(&marker, &url).unwrap();
    Some(url)
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts with extra `serve` arguments (e.g. `--poll-interval 1`).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let (child, url) = Self::spawn(dir.path(), "127.0.0.1:0", &extra);
        Server {
            url,
            child: Some(child),
            admin_token: ADMIN_TOKEN.to_owned(),
            dir,
            extra,
            ca: None,
        }
    }

    /// Starts on HTTPS with the certificate `ca` issued.
    pub fn start_tls(ca: &tls::TestCa, extra: &[&str]) -> Self {
        let cert = ca.cert.display().to_string();
        let key = ca.key.display().to_string();
        let mut args = vec!["--tls-cert", &cert, "--tls-key", &key];
        args.extend_from_slice(extra);
        let mut server = Self::start_with(&args);
        server.ca = Some(ca.ca.clone());
        server
    }

    /// Stops the server and starts it again on the same address and
    /// database, as after a restart: every push stream is cut.
    pub fn restart(&mut self) {
        self.stop();
        let addr = self.url.split_once("://").map_or("", |(_, a)| a).to_owned();
        let (child, url) = Self::spawn(self.dir.path(), &addr, &self.extra);
        assert_eq!(url, self.url);
        self.child = Some(child);
    }

    fn spawn(dir: &Path, listen: &str, extra: &[String]) -> (Child, String) {
        let mut child = command("herald-server")
            .args(["serve", "--listen", listen])
            .args(extra)
            .envs(postgres_database(dir).map(|url| ("HERALD_DB", url)))
            .env("HERALD_SERVER_DATA_DIR", dir)
            .env("HERALD_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("herald-server listening on ") else {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("server did not start: {line:?} {err}");
        };
        (child, url.to_owned())
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("server.db")
    }

    /// The database as `--db` takes it: the PostgreSQL URL when the server
    /// runs on one, else its SQLite file.
    pub fn db_location(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres-url"))
            .unwrap_or_else(|_| self.db_path().display().to_string())
    }

    /// Kills the server (as a crash or power loss would).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// Runs a `herald-server` command on this server's own files (its
    /// data directory and database), as `key` commands work.
    pub fn local(&self, args: &[&str]) -> Output {
        command("herald-server")
            .args(args)
            .env("HERALD_SERVER_DATA_DIR", self.dir.path())
            .envs(postgres_database(self.dir.path()).map(|url| ("HERALD_DB", url)))
            .output()
            .unwrap()
    }

    /// The server's message-signing public key, as `key show` prints it.
    pub fn public_key(&self) -> String {
        let out = self.local(&["key", "show"]);
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "key show: {out:?}");
        shown
            .lines()
            .find_map(|l| l.strip_prefix("public key: "))
            .unwrap_or_else(|| panic!("no key in {shown}"))
            .trim()
            .to_owned()
    }

    /// Runs an admin command against this server.
    pub fn admin(&self, args: &[&str]) -> Output {
        self.admin_as(&self.admin_token, args)
    }

    /// Runs an admin command with another token (an account's).
    pub fn admin_as(&self, token: &str, args: &[&str]) -> Output {
        let mut c = command("herald-server");
        c.args(args)
            .env("HERALD_SERVER", &self.url)
            .env("HERALD_ADMIN_TOKEN", token);
        if let Some(ca) = &self.ca {
            c.env("HERALD_SERVER_CA", ca);
        }
        c.output().unwrap()
    }

    /// Runs an admin command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "herald-server {args:?} failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    pub fn add_user(&self, name: &str, groups: &[&str]) -> String {
        let mut args = vec!["user", "add", name];
        for g in groups {
            args.extend(["--group", g]);
        }
        self.ok(&args)
    }

    /// `send` with the given arguments; returns the message id.
    pub fn send(&self, to: &str, severity: &str, title: &str, extra: &[&str]) -> String {
        let mut args = vec!["send", "--to", to, "--severity", severity, "--title", title];
        args.extend(extra);
        self.ok(&args)
    }

    /// One of this instance's counters from `/api/v1/admin/metrics`, as
    /// `herald_polls_total{answer="full"}` names it; 0 when absent.
    pub fn metric(&self, name: &str) -> u64 {
        let out = Command::new("curl")
            .args(["-sf", "-m", "5", "-H"])
            .arg(format!("Authorization: Bearer {}", self.admin_token))
            .arg(format!("{}/api/v1/admin/metrics", self.url))
            .output()
            .expect("curl");
        assert!(out.status.success(), "metrics of {}: {out:?}", self.url);
        text(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0)
    }

    /// The admin API called with a JSON body (`POST`, or `PATCH` etc. by
    /// `method`); the answer's JSON. Fails the test on an error status.
    pub fn api(&self, method: &str, path: &str, body: &Value) -> Value {
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "-m", "10", "-X", method, "-H"])
            .arg(format!("Authorization: Bearer {}", self.admin_token))
            .args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(body.to_string())
            .arg(format!("{}{path}", self.url))
            .output()
            .expect("curl");
        let said = text(&out.stdout);
        assert!(out.status.success(), "{method} {path}: {said} {out:?}");
        serde_json::from_str(&said).unwrap()
    }

    pub fn receipts(&self, id: &str) -> Vec<Value> {
        let out = self.ok(&["receipts", id, "--json"]);
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One user's agent on one (named) computer, with its own store.
pub struct Agent {
    dir: tempfile::TempDir,
    pub server: String,
    pub token: String,
    pub host: String,
    /// The Windows agent under wine: the prefix and the program.
    wine: Option<(PathBuf, String)>,
    /// Use the platform's default data directory instead of a private one.
    pub default_data_dir: bool,
    /// Extra environment for the agent (a private session bus, say).
    pub env: Vec<(String, String)>,
}

impl Agent {
    pub fn new(server: &str, token: &str, host: &str) -> Self {
        Agent {
            dir: tempfile::tempdir().unwrap(),
            server: server.into(),
            token: token.into(),
            host: host.into(),
            wine: None,
            default_data_dir: false,
            env: Vec::new(),
        }
    }

    /// An agent whose desktop speaks `locale` (as `LANG` writes it:
    /// `fr_FR.UTF-8`), the other locale variables empty.
    pub fn in_locale(server: &str, token: &str, host: &str, locale: &str) -> Self {
        let mut a = Agent::new(server, token, host);
        for (k, v) in [
            ("LANG", locale),
            ("LANGUAGE", ""),
            ("LC_ALL", ""),
            ("LC_MESSAGES", ""),
        ] {
            a.env.push((k.into(), v.into()));
        }
        a
    }

    /// The Windows agent `exe` (a Windows path) in a wine prefix.
    pub fn under_wine(server: &str, token: &str, host: &str, prefix: &Path, exe: &str) -> Self {
        Agent {
            wine: Some((prefix.to_owned(), exe.to_owned())),
            ..Agent::new(server, token, host)
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self) -> Command {
        let path = |p: &Path| match self.wine {
            Some(_) => wine::win_path(p),
            None => p.display().to_string(),
        };
        let mut c = match &self.wine {
            None => command("herald-agent"),
            Some((prefix, exe)) => {
                let mut c = Command::new("wine");
                c.arg(exe)
                    .env("WINEPREFIX", prefix)
                    .env("WINEDEBUG", "-all")
                    .env("WINEDLLOVERRIDES", "mscoree,mshtml=");
                for v in HERALD_VARS {
                    c.env_remove(v);
                }
                c.env("HERALD_LOG", "warn");
                c
            }
        };
        c.env("HERALD_SERVER", &self.server)
            .env("HERALD_TOKEN", &self.token)
            .env("HERALD_HOST", &self.host)
            .env(
                "HERALD_CONFIG",
                path(&self.dir.path().join("no-config.toml")),
            );
        if !self.default_data_dir {
            c.env("HERALD_DATA_DIR", path(self.dir.path()));
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut c = self.command();
        c.args(args);
        if self.wine.is_some() {
            return wine::output(&mut c);
        }
        c.output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        // The status and the output too: under wine a crash ends the
        // process without a word on stderr.
        assert!(
            out.status.success(),
            "herald-agent {args:?} failed ({}): {}\nstdout: {}",
            out.status,
            text(&out.stderr),
            text(&out.stdout)
        );
        text(&out.stdout)
    }

    /// `sync` that must fail; returns its one-line error.
    pub fn sync_fails(&self) -> String {
        let out = self.run(&["sync"]);
        assert!(
            !out.status.success(),
            "sync succeeded: {}",
            text(&out.stdout)
        );
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "error is not one line: {err}");
        err
    }

    pub fn sync(&self) {
        self.ok(&["sync"]);
    }

    fn json(&self, args: &[&str]) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.ok(args))
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Titles of the due messages, in the order they would be shown.
    pub fn queue(&self) -> Vec<String> {
        self.json(&["queue", "--json"])
            .iter()
            .map(|m| m["title"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every message held, as JSON objects.
    pub fn all(&self) -> Vec<Value> {
        self.json(&["queue", "--all", "--json"])
    }

    pub fn state_of(&self, id: &str) -> String {
        let all = self.all();
        let m = all
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in the store"));
        m["state"].as_str().unwrap().to_owned()
    }

    /// Waits until the message is in `state`: the popup's window goes
    /// before the agent has recorded the answer.
    pub fn wait_state(&self, id: &str, state: &str) {
        let mut last = String::new();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            last = self.state_of(id);
            if last == state {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{id} is {last}, not {state}");
    }

    pub fn id_of(&self, title: &str) -> String {
        let all = self.all();
        let m = all
            .iter()
            .find(|m| m["title"] == title)
            .unwrap_or_else(|| panic!("'{title}' not in the store"));
        m["id"].as_str().unwrap().to_owned()
    }

    /// Everything in the store but the exchange log and the last error, to
    /// check that a failed contact changed nothing.
    pub fn snapshot(&self) -> String {
        let conn = rusqlite::Connection::open(self.dir.path().join("agent.db")).unwrap();
        let mut out = String::new();
        for sql in [
            "SELECT * FROM messages ORDER BY id",
            "SELECT * FROM outbox ORDER BY id",
            "SELECT server, cursor, clock_offset_ms, last_success, poll_interval_secs FROM sync_state",
        ] {
            let mut stmt = conn.prepare(sql).unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let cols: Vec<String> = (0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect();
                    Ok(cols.join("|"))
                })
                .unwrap();
            for row in rows {
                out.push_str(&row.unwrap());
                out.push('\n');
            }
        }
        out
    }

    /// The exchange log, newest first.
    pub fn log(&self) -> Vec<Value> {
        self.json(&["log", "--json"])
    }
}

impl Agent {
    /// The exchange log without push events: the contacts with the server.
    pub fn contacts(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["kind"] == "poll")
            .collect()
    }

    /// `status --json`, parsed.
    pub fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }
}

/// Waits until `f` holds, or panics after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A loopback HTTP server that answers every request with `response`, to
/// stand for a broken or impostor server.
pub fn fake_server(response: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            conn.set_read_timeout(Some(Duration::from_secs(2))).ok();
            // Read the request head and body, whatever it is, then answer.
            let mut buf = [0u8; 65536];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(&response);
        }
    });
    url
}

/// An HTTP/1.1 answer with the given status line and body.
pub fn http_answer(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A long-running `herald-agent run`, stopped with SIGTERM on drop so that
/// it takes its popup down with it.
pub struct Running {
    child: Child,
    /// Under wine: the prefix whose processes (popups included) end with it.
    wine_prefix: Option<PathBuf>,
}

impl Running {
    /// Takes charge of an agent started by hand; `wine_prefix` when it runs
    /// under wine.
    pub fn adopt(child: Child, wine_prefix: Option<&Path>) -> Running {
        Running {
            child,
            wine_prefix: wine_prefix.map(Path::to_owned),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to end by itself.
    pub fn exits_within(&mut self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(prefix) = &self.wine_prefix {
            // Windows programs get no SIGTERM: end everything in the prefix.
            let _ = Command::new("wineserver")
                .arg("-k")
                .env("WINEPREFIX", prefix)
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// Starts `herald-agent run` with extra arguments.
    pub fn start(&self, extra: &[&str]) -> Running {
        let child = self.command().arg("run").args(extra).spawn().unwrap();
        Running {
            child,
            wine_prefix: self.wine.as_ref().map(|(p, _)| p.clone()),
        }
    }
}

/// GUI tests need an X display (run them under `xvfb-run -a dbus-run-session`).
/// Without one they are skipped, except in CI, where that is a failure.
/// Returns a guard: GUI tests take turns, as they share one screen and focus.
pub fn gui() -> Option<std::sync::MutexGuard<'static, ()>> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if std::env::var_os("DISPLAY").is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the GUI tests under xvfb-run"
        );
        eprintln!("skipped: no DISPLAY (run under xvfb-run -a dbus-run-session)");
        return None;
    }
    Some(
        LOCK.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

pub fn xdotool(args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .output()
        .expect("xdotool is not installed");
    text(&out.stdout)
}

/// One X property of a window, as xprop prints it.
pub fn xprop(window: &str, property: &str) -> String {
    let out = Command::new("xprop")
        .args(["-id", window, property])
        .output()
        .expect("xprop (x11-utils) is not installed");
    text(&out.stdout)
}

/// The X windows whose title is exactly `title`.
pub fn windows_titled(title: &str) -> Vec<String> {
    let pattern = format!("^{}$", regex_escape(title));
    xdotool(&["search", "--onlyvisible", "--name", &pattern])
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn wait_window(title: &str) -> String {
    let mut found = Vec::new();
    wait_for(
        &format!("a window titled '{title}'"),
        Duration::from_secs(30),
        || {
            found = windows_titled(title);
            !found.is_empty()
        },
    );
    found.remove(0)
}

pub fn wait_no_window(title: &str) {
    wait_for(
        &format!("the window '{title}' to close"),
        Duration::from_secs(15),
        || windows_titled(title).is_empty(),
    );
}

/// Gives `window` the keyboard focus, then types `keys` (xdotool names).
pub fn press(window: &str, keys: &[&str]) {
    xdotool(&["windowfocus", "--sync", window]);
    for k in keys {
        xdotool(&["key", "--clearmodifiers", k]);
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Gives `window` the keyboard focus, then types `text`.
pub fn type_text(window: &str, text: &str) {
    xdotool(&["windowfocus", "--sync", window]);
    xdotool(&["type", "--delay", "60", text]);
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}
