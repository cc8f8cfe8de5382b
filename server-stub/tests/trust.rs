//! Trust: an audit log that says who changed what and cannot be forged
//! from a sign-in form, senders held to their own messages, and account
//! tokens that can be listed and revoked. A message a sender may not see
//! answers 404, as if it did not exist; one it may see but not change,
//! 403.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

/// The real `herald-server` binary, as an administrator runs it.
async fn cli(s: &TestServer, token: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "--server".to_owned(),
        s.url.clone(),
        "--admin-token".to_owned(),
        token.to_owned(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    tokio::process::Command::new(env!("CARGO_BIN_EXE_herald-server"))
        .args(&all)
        .env_remove("HERALD_ADMIN_TOKEN")
        .env_remove("HERALD_SERVER")
        .output()
        .await
        .unwrap()
}

async fn cli_ok(s: &TestServer, token: &str, args: &[&str]) -> String {
    let out = cli(s, token, args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn sign_in(s: &TestServer, name: &str, password: &str) -> reqwest::Response {
    s.http
        .post(format!("{}/api/v1/console/signin", s.url))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn audit(s: &TestServer, query: &str) -> Vec<Value> {
    let (st, v) = s
        .call(
            "GET",
            &format!("/api/v1/admin/audit?{query}"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v.as_array().unwrap().clone()
}

/// An account with its API token; a sender gets `limits`.
async fn account(s: &TestServer, name: &str, role: &str, limits: Option<Value>) -> String {
    let (st, v) = s
        .call(
            "POST",
            "/api/v1/admin/accounts",
            ADMIN,
            json!({"name": name, "role": role, "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    if let Some(l) = limits {
        let path = format!("/api/v1/admin/accounts/{name}");
        let (st, v) = s.call("PATCH", &path, ADMIN, json!({"limits": l})).await;
        assert_eq!(st, 200, "{v}");
    }
    let path = format!("/api/v1/admin/accounts/{name}/token");
    let (st, v) = s.call("POST", &path, ADMIN, Value::Null).await;
    assert_eq!(st, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_sign_in_name_prints_as_one_escaped_line() {
    let s = start().await;
    let forged = "eve\n2026-01-01T00:00:00+00:00\tadmin\t1.2.3.4\tsend\tm1\t\x1b[8mx";
    let r = sign_in(&s, forged, "not the password at all").await;
    assert_eq!(r.status().as_u16(), 401);

    let out = cli_ok(&s, ADMIN, &["audit", "--action", "sign-in-failed"]).await;
    assert_eq!(
        out.lines().count(),
        1,
        "one line, not a forged second: {out:?}"
    );
    let line = out.trim_end_matches('\n');
    assert!(!line.contains('\x1b'), "ESC reaches the terminal: {line:?}");
    assert_eq!(line.matches('\t').count(), 5, "forged columns: {line:?}");
    assert!(
        line.contains(r"eve\n2026-01-01T00:00:00+00:00\tadmin\t1.2.3.4\tsend\tm1\t\x1b[8mx"),
        "{line:?}"
    );

    // The console and the CSV get the same text from the API and the
    // export: the CSV escapes it too.
    let (st, csv) = s.raw("GET", "/api/v1/admin/audit.csv", ADMIN, None).await;
    assert_eq!(st, 200);
    assert!(!csv.contains('\x1b'), "{csv:?}");
    assert_eq!(csv.lines().count(), 2, "{csv:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_csv_quotes_and_defuses_formula_cells() {
    let s = start().await;
    for name in [";=1+1", "=HYPERLINK(1)", "@SUM(A1)"] {
        let r = sign_in(&s, name, "not the password at all").await;
        assert_eq!(r.status().as_u16(), 401);
    }
    let (st, csv) = s.raw("GET", "/api/v1/admin/audit.csv", ADMIN, None).await;
    assert_eq!(st, 200);
    for cell in [r#""';=1+1""#, r#""'=HYPERLINK(1)""#, r#""'@SUM(A1)""#] {
        assert!(csv.contains(cell), "{cell} not in {csv}");
    }
    for line in csv.lines().skip(1) {
        for cell in line.split(',') {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', ';']),
                "a live formula: {cell} in {line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deletion_is_audited_by_name_and_only_if_it_happened() {
    let s = start().await;
    s.user("alice", &["staff"]).await;
    let (st, v) = s
        .call("DELETE", "/api/v1/admin/users/alice", ADMIN, Value::Null)
        .await;
    assert_eq!(st, 200, "{v}");
    let lines = audit(&s, "action=user-remove").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["target"], "alice");
    assert_eq!(lines[0]["actor"], "admin-token");
    assert_eq!(lines[0]["source"], "127.0.0.1");

    // A deletion that fails leaves no line: the line is written in the
    // deletion's transaction.
    let (st, _) = s
        .call("DELETE", "/api/v1/admin/users/ghost", ADMIN, Value::Null)
        .await;
    assert_eq!(st, 404);
    let lines = audit(&s, "q=ghost").await;
    assert!(lines.is_empty(), "{lines:?}");

    // Other changes name their object and what changed.
    s.user("bob", &[]).await;
    let (st, _) = s
        .call(
            "POST",
            "/api/v1/admin/groups/sales/members",
            ADMIN,
            json!({"user": "bob"}),
        )
        .await;
    assert_eq!(st, 200);
    let lines = audit(&s, "action=group-member-add").await;
    assert_eq!(lines[0]["target"], "sales");
    assert!(
        lines[0]["detail"].as_str().unwrap().contains("bob"),
        "{lines:?}"
    );
    let lines = audit(&s, "action=user-add&q=bob").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(audit(&s, "action=api").await.is_empty());
}

/// alice in staff, bob in sales; an admin's message to alice and one to
/// bob; a sender "sam" who may send to staff; sam's own message to alice.
struct Scene {
    s: TestServer,
    sam: String,
    admins: String,
    admins_to_bob: String,
    sams: String,
}

async fn scene(read_addressed: bool) -> Scene {
    let s = start().await;
    s.user("alice", &["staff"]).await;
    s.user("bob", &["sales"]).await;
    let limits =
        json!({"targets": ["group:staff"], "receipts": true, "read_addressed": read_addressed});
    let sam = account(&s, "sam", "sender", Some(limits)).await;
    let (st, m) = s
        .send(json!({"to": ["user:alice"], "severity": "info", "title": "admin's", "body": ""}))
        .await;
    assert_eq!(st, 200, "{m}");
    let admins = m["id"].as_str().unwrap().to_owned();
    let (_, m) = s
        .send(json!({"to": ["user:bob"], "severity": "info", "title": "to bob", "body": ""}))
        .await;
    let admins_to_bob = m["id"].as_str().unwrap().to_owned();
    let (st, m) = s
        .call(
            "POST",
            "/api/v1/admin/messages",
            &sam,
            json!({"to": ["user:alice"], "severity": "info", "title": "sam's", "body": ""}),
        )
        .await;
    assert_eq!(st, 200, "{m}");
    let sams = m["id"].as_str().unwrap().to_owned();
    Scene {
        s,
        sam,
        admins,
        admins_to_bob,
        sams,
    }
}

const READS: [&str; 5] = ["", "/receipts", "/revisions", "/report", "/report.csv"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_reads_and_acts_on_only_its_own_messages() {
    let Scene {
        s,
        sam,
        admins,
        sams,
        ..
    } = scene(false).await;
    let (st, v) = s
        .call("GET", "/api/v1/admin/messages", &sam, Value::Null)
        .await;
    assert_eq!(st, 200);
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sams.as_str()], "{v}");
    assert_eq!(s.message_count().await, 3, "an admin lists them all");

    for tail in READS {
        let path = format!("/api/v1/admin/messages/{admins}{tail}");
        let (st, body) = s.raw("GET", &path, &sam, None).await;
        assert_eq!(st, 404, "{path}: {body}");
        assert!(!body.contains("admin's"), "{path}: {body}");
        let (st, body) = s.raw("GET", &path, ADMIN, None).await;
        assert_eq!(st, 200, "admin {path}: {body}");
        let own = format!("/api/v1/admin/messages/{sams}{tail}");
        let (st, body) = s.raw("GET", &own, &sam, None).await;
        assert_eq!(st, 200, "{own}: {body}");
    }
    for (method, tail, body) in [
        ("POST", "/unread-again", Value::Null),
        ("POST", "/withdraw", Value::Null),
        ("PATCH", "", json!({"title": "mine now"})),
    ] {
        let path = format!("/api/v1/admin/messages/{admins}{tail}");
        let (st, v) = s.call(method, &path, &sam, body).await;
        assert_eq!(st, 404, "{method} {path}: {v}");
    }
    assert_eq!(s.message_count().await, 3, "nothing sent again");
    let (st, v) = s
        .call(
            "POST",
            &format!("/api/v1/admin/messages/{sams}/unread-again"),
            &sam,
            Value::Null,
        )
        .await;
    assert_eq!(st, 200, "its own: {v}");
    let (st, v) = s
        .call(
            "POST",
            &format!("/api/v1/admin/messages/{admins}/unread-again"),
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, 200, "an admin's: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_addressed_shows_messages_within_the_recipient_set_but_not_to_change() {
    let Scene {
        s,
        sam,
        admins,
        admins_to_bob,
        sams,
    } = scene(true).await;
    let (_, v) = s
        .call("GET", "/api/v1/admin/messages", &sam, Value::Null)
        .await;
    let mut ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = [admins.as_str(), sams.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "{v}");
    for tail in READS {
        let path = format!("/api/v1/admin/messages/{admins}{tail}");
        let (st, body) = s.raw("GET", &path, &sam, None).await;
        assert_eq!(st, 200, "{path}: {body}");
        let path = format!("/api/v1/admin/messages/{admins_to_bob}{tail}");
        let (st, body) = s.raw("GET", &path, &sam, None).await;
        assert_eq!(st, 404, "{path}: {body}");
    }
    let path = format!("/api/v1/admin/messages/{admins}/unread-again");
    let (st, v) = s.call("POST", &path, &sam, Value::Null).await;
    assert_eq!(st, 403, "{v}");
    assert_eq!(s.message_count().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_speaks_under_its_own_name_unless_allowed_another() {
    let s = start().await;
    s.user("alice", &["staff"]).await;
    let sam = account(&s, "sam", "sender", Some(json!({"targets": ["all"]}))).await;
    let ceo = json!({"to": ["all"], "severity": "info", "title": "t", "body": "", "sender": "CEO Office"});
    let (st, m) = s
        .call("POST", "/api/v1/admin/messages", &sam, ceo.clone())
        .await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["sender"], "sam");
    let (_, m) = s.send(ceo.clone()).await;
    assert_eq!(m["sender"], "CEO Office", "an admin chooses");

    let (st, v) = s
        .call(
            "PATCH",
            "/api/v1/admin/accounts/sam",
            ADMIN,
            json!({"limits": {"targets": ["all"], "any_sender": true}}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["limits"]["any_sender"], true);
    let (_, m) = s.call("POST", "/api/v1/admin/messages", &sam, ceo).await;
    assert_eq!(m["sender"], "CEO Office", "allowed: {m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_cannot_list_hosts_or_the_fleet() {
    let s = start().await;
    let alice = s.user("alice", &["staff"]).await;
    let (st, _, _) = s.poll(&alice, "pc-alice", None).await;
    assert_eq!(st, 200);
    let sam = account(&s, "sam", "sender", Some(json!({"targets": ["all"]}))).await;
    for path in ["/api/v1/admin/hosts", "/api/v1/admin/fleet"] {
        let (st, body) = s.raw("GET", path, &sam, None).await;
        assert_eq!(st, 403, "{path}: {body}");
        assert!(!body.contains("pc-alice"), "{body}");
        let (st, body) = s.raw("GET", path, ADMIN, None).await;
        assert_eq!(st, 200, "{path}: {body}");
        assert!(body.contains("pc-alice"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_tokens_are_listed_and_revoked() {
    let s = start().await;
    let t1 = account(&s, "ada", "admin", None).await;
    let (_, v) = s
        .call(
            "POST",
            "/api/v1/admin/accounts/ada/token",
            ADMIN,
            Value::Null,
        )
        .await;
    let t2 = v["token"].as_str().unwrap().to_owned();
    let (st, _) = s
        .call("GET", "/api/v1/admin/whoami", &t1, Value::Null)
        .await;
    assert_eq!(st, 200);

    let (st, list) = s
        .call(
            "GET",
            "/api/v1/admin/accounts/ada/tokens",
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains(&t1) && !text.contains(&t2), "{text}");
    let used: Vec<&Value> = list
        .iter()
        .filter(|t| !t["last_used_at"].is_null())
        .collect();
    assert_eq!(used.len(), 1, "t1 was used, t2 not: {list:?}");
    let t1_id = used[0]["id"].as_str().unwrap().to_owned();

    // Through the CLI, as `accounts token list|revoke`.
    let out = cli_ok(&s, ADMIN, &["accounts", "token", "list", "ada"]).await;
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&t1_id), "{out}");
    cli_ok(&s, ADMIN, &["accounts", "token", "revoke", "ada", &t1_id]).await;
    let (st, _) = s
        .call("GET", "/api/v1/admin/whoami", &t1, Value::Null)
        .await;
    assert_eq!(st, 401, "a revoked token");
    let (st, _) = s
        .call("GET", "/api/v1/admin/whoami", &t2, Value::Null)
        .await;
    assert_eq!(st, 200, "the other one");

    let path = format!("/api/v1/admin/accounts/ada/tokens/{t1_id}");
    let (st, v) = s.call("DELETE", &path, ADMIN, Value::Null).await;
    assert_eq!(st, 404, "{v}");
    let (st, v) = s
        .call(
            "DELETE",
            "/api/v1/admin/accounts/ada/tokens/nothex",
            ADMIN,
            Value::Null,
        )
        .await;
    assert_eq!(st, 400, "{v}");
    let lines = audit(&s, "action=token-revoke").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["target"], "ada");
    assert!(lines[0]["detail"].as_str().unwrap().contains(&t1_id));

    // The description lists the new routes, for clients and the fuzzer.
    let (st, doc) = s.raw("GET", "/api/v1/openapi.json", "", None).await;
    assert_eq!(st, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let paths = &doc["paths"];
    assert!(paths["/api/v1/admin/accounts/{name}/tokens"]["get"].is_object());
    assert!(paths["/api/v1/admin/accounts/{name}/tokens/{id}"]["delete"].is_object());
    let limits = &doc["components"]["schemas"]["SenderLimits"]["properties"];
    assert!(limits["read_addressed"].is_object() && limits["any_sender"].is_object());

    // Only an admin sees or revokes tokens.
    let sam = account(&s, "sam", "sender", Some(json!({"targets": ["all"]}))).await;
    let (st, _) = s
        .call(
            "GET",
            "/api/v1/admin/accounts/ada/tokens",
            &sam,
            Value::Null,
        )
        .await;
    assert_eq!(st, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_revokes_tokens_and_sessions_unless_told_to_keep_tokens() {
    let s = start().await;
    let token = account(&s, "ada", "admin", None).await;
    let r = sign_in(&s, "ada", "correct horse battery").await;
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = |s: &TestServer| {
        s.http
            .get(format!("{}/api/v1/console/session", s.url))
            .header("cookie", cookie.clone())
            .send()
    };
    assert_eq!(session(&s).await.unwrap().status().as_u16(), 200);

    let (st, v) = s
        .call(
            "PATCH",
            "/api/v1/admin/accounts/ada",
            ADMIN,
            json!({"password": "another long password"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = s
        .call("GET", "/api/v1/admin/whoami", &token, Value::Null)
        .await;
    assert_eq!(st, 401, "the token outlived the password");
    assert_eq!(session(&s).await.unwrap().status().as_u16(), 401);
    let lines = audit(&s, "action=account-change").await;
    assert!(
        lines[0]["detail"]
            .as_str()
            .unwrap()
            .contains("1 API token(s) revoked"),
        "{lines:?}"
    );

    let (_, v) = s
        .call(
            "POST",
            "/api/v1/admin/accounts/ada/token",
            ADMIN,
            Value::Null,
        )
        .await;
    let kept = v["token"].as_str().unwrap().to_owned();
    let (st, v) = s
        .call(
            "PATCH",
            "/api/v1/admin/accounts/ada",
            ADMIN,
            json!({"password": "yet another password", "keep_tokens": true}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = s
        .call("GET", "/api/v1/admin/whoami", &kept, Value::Null)
        .await;
    assert_eq!(st, 200, "kept as asked");
}

/// Every admin route refuses a caller without a token, and a sender where
/// the document says only an admin may call it, in the guard's words; a
/// path shared by both kinds of route answers each method by its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_admin_route_answers_a_sender_as_its_document_says() {
    let s = start().await;
    let sam = account(&s, "sam", "sender", Some(json!({"targets": ["all"]}))).await;
    let (st, doc) = s.call("GET", "/api/v1/openapi.json", "", Value::Null).await;
    assert_eq!(st, 200);
    let mut admins_only = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin/") {
            continue;
        }
        let called: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "x" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            let (st, v) = s.call(&method, &called, "", Value::Null).await;
            assert_eq!(st, 401, "{method} {called} without a token: {v}");
            let refused = op["responses"]["403"]["description"]
                .as_str()
                .is_some_and(|d| d.to_lowercase().contains("not an admin"));
            let (st, v) = s.call(&method, &called, &sam, Value::Null).await;
            let words = format!("sam: the sender role cannot {method} {path}");
            if refused {
                admins_only += 1;
                assert_eq!((st, one_line_error(&v)), (403, words.as_str()), "{v}");
            } else {
                assert!(st != 403 || !one_line_error(&v).contains(&words), "{v}");
            }
        }
    }
    assert!(admins_only > 30, "{admins_only}");

    // One path, two roles.
    let (st, v) = s
        .call("GET", "/api/v1/admin/users", &sam, Value::Null)
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .call(
            "POST",
            "/api/v1/admin/users",
            &sam,
            json!({"name": "eve", "groups": []}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = s
        .call("GET", "/api/v1/admin/templates", &sam, Value::Null)
        .await;
    assert_eq!(st, 200, "{v}");
    let template = json!({"title": "t", "severity": "info", "receipts": "none", "body": "b"});
    let (st, v) = s
        .call("PUT", "/api/v1/admin/templates/t", &sam, template.clone())
        .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = s
        .call("PUT", "/api/v1/admin/templates/t", ADMIN, template)
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .call("GET", "/api/v1/admin/templates", ADMIN, Value::Null)
        .await;
    assert_eq!((st, v[0]["name"].as_str()), (200, Some("t")), "{v}");
    let (st, v) = s
        .call("DELETE", "/api/v1/admin/templates/t", &sam, Value::Null)
        .await;
    assert_eq!(st, 403, "{v}");
}
