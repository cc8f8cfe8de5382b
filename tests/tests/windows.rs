//! The Windows agent, cross-built by `scripts/windows`, run under wine
//! against the real Linux server on loopback: its commands, its store under
//! %LOCALAPPDATA%, the Run key, the named pipe, the running agent with its
//! push stream and tray, the native popup read with keys, a popup that
//! cannot start, and the MSI. The popup alone is in `windows_popup.rs`.
//!
//! The wine tests take turns (one wine prefix, one screen); each ends every
//! process it started in the prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use herald_e2e::tls::TestCa;
use herald_e2e::wine::{self, Prefix};
use herald_e2e::{wait_for, windows_titled, xdotool, Agent, Server};

const SECS: Duration = Duration::from_secs(30);
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

fn turn() -> Option<MutexGuard<'static, ()>> {
    static LOCK: Mutex<()> = Mutex::new(());
    if !wine::available() {
        return None;
    }
    Some(
        LOCK.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// The cross-built agent, run from the release folder (its popup beside it).
fn agent(server: &Server, token: &str, host: &str) -> Agent {
    let prefix = Prefix::shared();
    let exe = wine::win_path(&wine::release_dir().join("herald-agent.exe"));
    Agent::under_wine(&server.url, token, host, prefix.path(), &exe)
}

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some()
}

#[test]
fn one_shot_commands_work_and_the_store_is_per_computer() {
    let Some(_turn) = turn() else { return };
    let prefix = Prefix::shared();
    let server = Server::start();
    let token = server.add_user("wendy", &[]);
    let mut agent = agent(&server, &token, "win-1");
    // The platform's default store, as a user who sets nothing gets.
    agent.default_data_dir = true;
    let read = server.send("user:wendy", "warning", "Read me", &["--receipt", "both"]);
    let cancel = server.send("user:wendy", "info", "Close me", &[]);

    let out = agent.ok(&["sync"]);
    assert!(out.contains("2 received"), "{out}");
    assert_eq!(agent.queue(), ["Read me", "Close me"]);

    // %LOCALAPPDATA%, never the roaming profile.
    let status = agent.status();
    let store = status["store"].as_str().unwrap();
    assert!(
        store.ends_with(r"AppData\Local\herald\agent.db"),
        "store at {store}"
    );
    let profile = prefix.profile();
    assert!(profile.join("AppData/Local/herald/agent.db").is_file());
    assert!(!profile.join("AppData/Roaming/herald/agent.db").exists());

    // Read: the server records it at the next contact.
    agent.ok(&["ack", &read]);
    agent.sync();
    let kinds: Vec<String> = server
        .receipts(&read)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert!(kinds.contains(&"read".to_owned()), "{kinds:?}");

    // Cancel: gone from the queue, back after the next contact.
    agent.ok(&["cancel", &cancel]);
    assert_eq!(agent.state_of(&cancel), "cancelled");
    assert!(agent.queue().is_empty());
    agent.sync();
    assert_eq!(agent.queue(), ["Close me"]);

    // The exchange log has every contact, newest first.
    let log = agent.contacts();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.iter().all(|e| e["ok"] == true));
    assert_eq!(log[2]["received"], 2);
    let text = agent.ok(&["log"]);
    assert!(text.contains(&server.url), "{text}");

    let text = agent.ok(&["status"]);
    assert!(text.contains("last error:       none"), "{text}");
}

#[test]
fn autostart_writes_and_removes_the_run_key() {
    let Some(_turn) = turn() else { return };
    let prefix = Prefix::shared();
    let server = Server::start();
    let agent = agent(&server, "unused", "win-2");
    assert_eq!(agent.ok(&["autostart", "status"]), "autostart: disabled");
    let out = agent.ok(&["autostart", "enable"]);
    assert!(out.contains("enabled"), "{out}");
    let value = prefix.reg_value(RUN_KEY, "herald-agent").unwrap();
    assert!(
        value.starts_with('"') && value.ends_with(r#"herald-agent.exe" run"#),
        "{value}"
    );
    assert!(agent.ok(&["autostart", "status"]).contains("enabled"));
    agent.ok(&["autostart", "disable"]);
    assert_eq!(prefix.reg_value(RUN_KEY, "herald-agent"), None);
    assert_eq!(agent.ok(&["autostart", "status"]), "autostart: disabled");
}

#[test]
fn the_running_agent_takes_push_the_pipe_and_a_one_shot_sync_beside_it() {
    let Some(_turn) = turn() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("walt", &[]);
    let agent = agent(&server, &token, "win-3");
    let mut run = agent.start(&["--headless"]);
    wait_for("the push stream", SECS, || {
        agent.log().iter().any(|e| {
            e["kind"] == "push"
                && e["error"]
                    .as_str()
                    .is_some_and(|t| t.contains("push stream connected"))
        })
    });

    // An alert comes over the push stream, long before the next poll.
    server.send("user:walt", "alert", "Pushed", &[]);
    wait_for("the pushed alert in the store", SECS, || {
        agent.queue() == ["Pushed"]
    });

    // The named pipe: check-now reaches the running agent.
    server.send("user:walt", "info", "Checked", &["--later"]);
    let answer = agent.ok(&["check-now"]);
    assert!(answer.contains("contact ok: 1 new"), "{answer}");

    // A second agent for the same user refuses, and says who runs.
    let second = agent.run(&["run", "--headless"]);
    assert!(second.status.success());
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(said.contains("already runs"), "{said}");

    // A one-shot sync beside the running agent works and changes nothing
    // the agent holds.
    server.send("user:walt", "warning", "Beside", &["--later"]);
    let out = agent.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
    assert!(agent.queue().contains(&"Beside".to_owned()));
    assert!(run.is_alive(), "the agent died");
    let answer = agent.ok(&["check-now"]);
    assert!(answer.starts_with("contact ok"), "{answer}");
}

/// The tray's icon in wine's system tray: the pixels of its window.
fn tray_has(colour: [u8; 3]) -> bool {
    windows_titled("Wine System Tray")
        .iter()
        .any(|w| wine::window_pixels(w).contains(&colour))
}

const BLUE: [u8; 3] = [0x1f, 0x5f, 0xa8];
const ORANGE: [u8; 3] = [0xe0, 0x8a, 0x00];

#[test]
fn the_native_popup_is_read_and_closed_with_keys() {
    let Some(_turn) = turn() else { return };
    if !has_display() {
        assert!(std::env::var_os("CI").is_none(), "CI runs under xvfb-run");
        return;
    }
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("wanda", &[]);
    let agent = agent(&server, &token, "win-4");
    let alert = server.send(
        "user:wanda",
        "alert",
        "Fire drill",
        &[
            "--body",
            "Leave by the **nearest exit**.\n\n<script>alert(1)</script>",
        ],
    );
    let _run = agent.start(&[]);

    // The native popup, alerts first.
    let w = herald_e2e::wait_window("Alert - Fire drill");
    wait_for("the tray icon", SECS, || tray_has(BLUE));
    // Enter on the focused default control: "I have read the message".
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "Return"]);
    herald_e2e::wait_no_window("Alert - Fire drill");
    agent.wait_state(&alert, "read");
    wait_for("the read at the server", SECS, || {
        agent.ok(&["check-now"]);
        server.receipts(&alert).iter().any(|r| r["kind"] == "read")
    });

    // Escape closes without reading: waiting, and the tray says so.
    let info = server.send("user:wanda", "info", "Coffee", &[]);
    agent.ok(&["check-now"]);
    let w = herald_e2e::wait_window("Information - Coffee");
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "Escape"]);
    herald_e2e::wait_no_window("Information - Coffee");
    agent.wait_state(&info, "cancelled");
    wait_for("the waiting icon", SECS, || tray_has(ORANGE));

    // Alt+I reads too, from a message brought back.
    agent.ok(&["show-waiting"]);
    let w = herald_e2e::wait_window("Information - Coffee");
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "alt+i"]);
    herald_e2e::wait_no_window("Information - Coffee");
    agent.wait_state(&info, "read");
    wait_for("the normal icon", SECS, || {
        tray_has(BLUE) && !tray_has(ORANGE)
    });
}

#[test]
fn a_more_urgent_message_takes_the_windows_popup_and_the_other_waits_untouched() {
    let Some(_turn) = turn() else { return };
    if !has_display() {
        assert!(std::env::var_os("CI").is_none(), "CI runs under xvfb-run");
        return;
    }
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("walt", &[]);
    let agent = agent(&server, &token, "win-5");
    let routine = server.send("user:walt", "info", "Routine notice", &[]);
    let _run = agent.start(&[]);
    herald_e2e::wait_window("Information - Routine notice");
    let alert = server.send("user:walt", "alert", "Evacuate now", &[]);
    agent.ok(&["check-now"]);
    let w = herald_e2e::wait_window("Alert - Evacuate now");
    herald_e2e::wait_no_window("Information - Routine notice");
    assert_eq!(
        agent.state_of(&routine),
        "staged",
        "the displaced message was not put back untouched"
    );
    xdotool(&["windowfocus", "--sync", &w]);
    xdotool(&["key", "--clearmodifiers", "Return"]);
    herald_e2e::wait_no_window("Alert - Evacuate now");
    agent.wait_state(&alert, "read");
    herald_e2e::wait_window("Information - Routine notice");
}

#[test]
fn a_popup_that_cannot_start_keeps_the_message_and_is_logged_once() {
    let Some(_turn) = turn() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("wilma", &[]);
    let agent = agent(&server, &token, "win-5");
    let id = server.send("user:wilma", "alert", "Nowhere to show", &[]);
    let mut cmd = agent.command();
    cmd.arg("run")
        .env("HERALD_POPUP", r"Z:\nonexistent\herald-popup.exe");
    let child = cmd.spawn().unwrap();
    let _run = herald_e2e::Running::adopt(child, Some(Prefix::shared().path()));
    let popup_lines = || -> Vec<serde_json::Value> {
        agent
            .log()
            .into_iter()
            .filter(|e| e["kind"] == "popup")
            .collect()
    };
    wait_for("the popup failure in the log", SECS, || {
        !popup_lines().is_empty()
    });
    // The agent retries after 10 s, then 20 s: still one line.
    std::thread::sleep(Duration::from_secs(13));
    let lines = popup_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let what = lines[0]["error"].as_str().unwrap();
    assert!(
        what.starts_with("cannot show messages: cannot start"),
        "{what}"
    );
    assert_eq!(lines[0]["ok"], false);
    // The message stays waiting, neither read nor cancelled.
    assert_eq!(agent.queue(), ["Nowhere to show"]);
    assert_eq!(agent.state_of(&id), "staged");
    assert!(server.receipts(&id).is_empty());
}

#[test]
fn over_tls_the_windows_agent_trusts_the_given_ca_and_refuses_without() {
    let Some(_turn) = turn() else { return };
    let ca = TestCa::new();
    let server = Server::start_tls(&ca, &["--poll-interval", "300"]);
    let token = server.add_user("tess", &[]);
    server.send("user:tess", "info", "TLS on Windows", &[]);
    let mut agent = agent(&server, &token, "win-tls");
    let out = agent.run(&["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("does not verify") && err.contains("UnknownIssuer"),
        "{err}"
    );
    agent
        .env
        .push(("HERALD_SERVER_CA".into(), wine::win_path(&ca.ca)));
    let out = agent.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
}

#[test]
fn the_windows_agent_enrolls_with_a_key_and_a_revoked_key_enrolls_no_one() {
    let Some(_turn) = turn() else { return };
    let server = Server::start_with(&["--poll-interval", "300"]);
    let key = server.ok(&["enroll", "create"]).trim().to_owned();
    server.send("all", "info", "Enrolled on Windows", &[]);
    let mut first = agent(&server, "", "win-enroll-1");
    first.env.push(("HERALD_ENROLL_KEY".into(), key.clone()));
    let out = first.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");
    // The token is kept in the store: the key is not needed again.
    first.env.clear();
    first.ok(&["sync"]);

    let id = server.ok(&["enroll", "list"]);
    let id = id.split('\t').next().unwrap().to_owned();
    server.ok(&["enroll", "revoke", &id]);
    let mut second = agent(&server, "", "win-enroll-2");
    second.env.push(("HERALD_ENROLL_KEY".into(), key));
    let out = second.run(&["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("refused the enrollment key"), "{err}");
    first.ok(&["sync"]);
}

#[test]
fn the_msi_installs_per_machine_and_uninstalls_cleanly() {
    let Some(_turn) = turn() else { return };
    // A prefix of its own: the machine config it writes is a policy that
    // would override the other tests' agents.
    let prefix = Prefix::boot();
    let server = Server::start_with(&["--poll-interval", "300"]);
    let token = server.add_user("willy", &[]);
    let msi = wine::win_path(&wine::windows_target_dir().join("herald-agent.msi"));
    let server_prop = format!("SERVER={}", server.url);
    // The CA is copied at install: the file named may be on a share.
    let ca = TestCa::new();
    let ca_prop = format!("SERVER_CA={}", wine::win_path(&ca.ca));
    let out = prefix.wine(
        "msiexec",
        &[
            "/i",
            &msi,
            "/qn",
            &server_prop,
            "PUSH_LISTEN=127.0.0.1:0",
            &ca_prop,
            "ENROLL_KEY=k-from-the-msi",
            "KERBEROS=1",
        ],
    );
    assert!(out.status.success(), "msiexec /i failed: {out:?}");

    let dir = prefix.drive_c().join("Program Files/Herald");
    for f in [
        "herald-agent.exe",
        "herald-popup.exe",
        "herald-history.exe",
        "WebView2Loader.dll",
    ] {
        assert!(dir.join(f).is_file(), "{f} not installed");
    }
    // The test shim is never part of what ships.
    assert!(!dir.join("bcryptprimitives.dll").exists());
    let run = prefix
        .reg_value(
            r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run",
            "Herald",
        )
        .expect("no HKLM Run entry");
    assert_eq!(run, r#""C:\Program Files\Herald\herald-agent.exe" run"#);
    assert_eq!(
        prefix
            .reg_value(
                r"HKLM\Software\Classes\AppUserModelId\Herald.Agent",
                "DisplayName"
            )
            .as_deref(),
        Some("Herald")
    );
    let config = prefix.drive_c().join("ProgramData/Herald/agent.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!("server = \"{}\"", server.url)),
        "{text}"
    );
    assert!(text.contains("push_listen = \"127.0.0.1:0\""), "{text}");
    // TOML may write the path as a literal string or with escapes.
    assert!(
        text.lines().any(|l| l.starts_with("server_ca = ")
            && l.replace(r"\\", r"\")
                .contains(r"C:\ProgramData\Herald\server-ca.pem")),
        "{text}"
    );
    assert!(text.contains("enroll_key = \"k-from-the-msi\""), "{text}");
    assert!(text.contains("kerberos = true"), "{text}");
    let copied = prefix.drive_c().join("ProgramData/Herald/server-ca.pem");
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(&ca.ca).unwrap()
    );

    // The installed agent takes the server from the machine config, even
    // when the user's environment names another one.
    server.send("user:willy", "info", "Installed", &[]);
    let installed = Agent::under_wine(
        "http://127.0.0.1:9",
        &token,
        "win-6",
        prefix.path(),
        r"C:\Program Files\Herald\herald-agent.exe",
    );
    let out = installed.ok(&["sync"]);
    assert!(
        out.contains(&server.url) && out.contains("1 received"),
        "{out}"
    );
    let status = installed.ok(&["status"]);
    assert!(
        status.contains("machine config:   server, push_listen, server_ca, enroll_key"),
        "{status}"
    );

    let out = prefix.wine("msiexec", &["/x", &msi, "/qn"]);
    assert!(out.status.success(), "msiexec /x failed: {out:?}");
    assert!(!dir.join("herald-agent.exe").exists(), "files left behind");
    assert!(!config.exists(), "machine config left behind");
    assert!(!copied.exists(), "CA copy left behind");
    assert_eq!(
        prefix.reg_value(
            r"HKLM\Software\Microsoft\Windows\CurrentVersion\Run",
            "Herald"
        ),
        None
    );
}

/// SSPI under wine: wine's Negotiate and Kerberos packages run on the
/// system's MIT Kerberos, so the Windows agent's SSPI code signs in with a
/// `kinit` ticket cache from a real KDC, as a domain logon would give it.
#[test]
fn the_windows_agent_signs_in_by_kerberos_through_sspi() {
    let Some(_turn) = turn() else { return };
    if !herald_e2e::kdc::available() {
        return;
    }
    let kdc = herald_e2e::kdc::Kdc::start();
    let keytab = kdc.keytab().display().to_string();
    let config = kdc.config().display().to_string();
    // The server reads the realm's settings from its environment.
    std::env::set_var("KRB5_CONFIG", &config);
    let server = Server::start_with(&["--keytab", &keytab, "--poll-interval", "300"]);
    server.add_user("winkrb", &[]);
    server.send("user:winkrb", "info", "By SSPI", &[]);
    let cache = kdc.login("winkrb");
    let url = server.url.replace("127.0.0.1", "localhost");
    let prefix = Prefix::shared();
    let exe = wine::win_path(&wine::release_dir().join("herald-agent.exe"));
    let mut a = Agent::under_wine(&url, "", "win-krb-1", prefix.path(), &exe);
    a.env.push(("HERALD_KERBEROS".into(), "true".into()));
    a.env.push(("KRB5CCNAME".into(), cache));
    a.env.push(("KRB5_CONFIG".into(), config));
    let out = a.ok(&["sync"]);
    assert!(out.contains("1 received"), "{out}");

    // Without a ticket, a clear error and nothing sent.
    let mut b = Agent::under_wine(&url, "", "win-krb-2", prefix.path(), &exe);
    b.env.push(("HERALD_KERBEROS".into(), "true".into()));
    b.env
        .push(("KRB5CCNAME".into(), "FILE:/nonexistent/cache".into()));
    b.env
        .push(("KRB5_CONFIG".into(), kdc.config().display().to_string()));
    let out = b.run(&["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("no ticket for HTTP/localhost"), "{err}");
}
