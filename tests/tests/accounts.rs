//! Administrators' accounts through the real server and CLI: an admin
//! account with its own API token, a sender held to its recipient set,
//! severities and receipts, and an audit log of all of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::Server;
use serde_json::Value;

fn err(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "it should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(server: &Server, token: &str, args: &[&str]) -> String {
    let out = server.admin_as(token, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn message_count(server: &Server) -> usize {
    let list: Vec<Value> = serde_json::from_str(&server.ok(&["list", "--json"])).unwrap();
    list.len()
}

#[test]
fn accounts_act_under_their_names_and_a_sender_stays_within_its_limits() {
    let server = Server::start();
    server.add_user("alice", &["staff"]);
    server.add_user("bob", &["sales"]);
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "correct horse battery staple\n").unwrap();
    let pw = pw.display().to_string();

    // The first account, made with the static admin token.
    let out = server.ok(&[
        "admin",
        "add",
        "ada",
        "--role",
        "admin",
        "--password-file",
        &pw,
    ]);
    assert!(out.contains("ada\tadmin\tenabled\tpassword"), "{out}");
    let ada = server.ok(&["admin", "token", "ada"]).trim().to_owned();
    ok(
        &server,
        &ada,
        &[
            "send",
            "--to",
            "all",
            "--severity",
            "alert",
            "--title",
            "From ada",
        ],
    );
    let list: Vec<Value> = serde_json::from_str(&server.ok(&["list", "--json"])).unwrap();
    assert_eq!(list[0]["created_by"], "ada");

    // A sender may send to staff (alice through it), info and warning,
    // without receipts; nothing else, and it changes nothing.
    ok(&server, &ada, &["admin", "add", "sam", "--role", "sender"]);
    ok(
        &server,
        &ada,
        &[
            "admin",
            "set",
            "sam",
            "--targets",
            "group:staff",
            "--severities",
            "info,warning",
        ],
    );
    let sam = ok(&server, &ada, &["admin", "token", "sam"])
        .trim()
        .to_owned();
    let send = |to: &str, severity: &str, receipt: &str| {
        server.admin_as(
            &sam,
            &[
                "send",
                "--to",
                to,
                "--severity",
                severity,
                "--title",
                "From sam",
                "--receipt",
                receipt,
            ],
        )
    };
    assert!(send("group:staff", "info", "none").status.success());
    assert!(send("user:alice", "warning", "none").status.success());
    let before = message_count(&server);
    assert!(err(&send("group:sales", "info", "none")).contains("sam may not send to group:sales"));
    assert!(err(&send("user:bob", "info", "none")).contains("sam may not send to user:bob"));
    assert!(err(&send("all", "info", "none")).contains("sam may not send to all"));
    assert!(err(&send("group:staff", "alert", "none")).contains("sam may not send alert messages"));
    assert!(err(&send("group:staff", "info", "read")).contains("sam may not ask for receipts"));
    assert_eq!(message_count(&server), before);

    // Only an admin manages users and accounts; a sender does not even
    // see what it did not send.
    let e = err(&server.admin_as(&sam, &["user", "add", "mallory"]));
    assert!(
        e.contains("403") && e.contains("the sender role cannot POST /api/v1/admin/users"),
        "{e}"
    );
    let e = err(&server.admin_as(&sam, &["admin", "set", "sam", "--role", "admin"]));
    assert!(e.contains("the sender role cannot PATCH"), "{e}");
    let ada_msg = {
        let list: Vec<Value> = serde_json::from_str(&server.ok(&["list", "--json"])).unwrap();
        list.iter().find(|m| m["created_by"] == "ada").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let e = err(&server.admin_as(&sam, &["withdraw", &ada_msg]));
    assert!(e.contains("404") && e.contains("no message"), "{e}");

    // A disabled account's tokens stop working.
    ok(&server, &ada, &["admin", "set", "sam", "--disable"]);
    let e = err(&send("group:staff", "info", "none"));
    assert!(e.contains("401"), "{e}");

    // Everything above is in the audit log, newest first, with who and
    // from where; refusals changed nothing, so they are not there.
    let log: Vec<Value> = serde_json::from_str(&server.ok(&["audit", "--json"])).unwrap();
    let lines: Vec<String> = log
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "admin-token account-add ada",
        "admin-token token ada",
        "ada account-add sam",
        "ada account-change sam",
        "ada token sam",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected} not in {lines:#?}"
        );
    }
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("sam send ")).count(),
        2,
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("ada send ")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l == "admin-token user-add alice"),
        "{lines:#?}"
    );
    assert!(log.iter().all(|e| e["source"] == "127.0.0.1"), "{log:#?}");
    let sends = server.ok(&["audit", "--actor", "sam", "--action", "send"]);
    assert_eq!(sends.lines().count(), 2, "{sends}");
    let csv = server.ok(&["audit", "--csv", "--action", "account-change"]);
    assert!(
        csv.starts_with("id,at,actor,action,target,detail,source\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("ada,127.0.0.1") || csv.contains(",ada,"),
        "{csv}"
    );
    assert!(csv.contains("disabled"), "{csv}");
}

#[test]
fn account_names_and_passwords_are_checked() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "hunter2\n").unwrap();
    let e = err(&server.admin(&[
        "admin",
        "add",
        "eve",
        "--password-file",
        &short.display().to_string(),
    ]));
    assert!(e.contains("at least 12 characters"), "{e}");
    let e = err(&server.admin(&["admin", "add", "admin-token"]));
    assert!(e.contains("bad account name"), "{e}");
    server.ok(&["admin", "add", "eve"]);
    let e = err(&server.admin(&["admin", "add", "EVE"]));
    assert!(e.contains("account 'EVE' exists"), "{e}");
    // Only the static token or an account's token opens the API.
    let e = err(&server.admin_as("not-a-token", &["admin", "list"]));
    assert!(e.contains("401"), "{e}");
}
