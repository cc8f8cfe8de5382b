//! A computer's name is proven, not claimed: only a token bound to the
//! host (enrollment here; Kerberos with the machine's ticket) brings in
//! messages to `host:NAME`, and a host exclusion holds against every agent
//! that only claims a name. What agents report about themselves is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{start, start_trusting_claimed_hosts, start_with, TestServer, ADMIN};
use serde_json::{json, Value};

fn titles(v: &Value) -> Vec<String> {
    let mut t: Vec<String> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap().to_owned())
        .collect();
    t.sort();
    t
}

async fn send(s: &TestServer, to: &[&str], exclude: &[&str], title: &str) -> String {
    let (status, m) = s
        .send(json!({"to": to, "exclude": exclude, "severity": "info", "title": title, "body": ""}))
        .await;
    assert_eq!(status, 200, "{m}");
    m["id"].as_str().unwrap().to_owned()
}

async fn fleet(s: &TestServer) -> Vec<Value> {
    let (status, v) = s
        .call("GET", "/api/v1/admin/fleet", ADMIN, Value::Null)
        .await;
    assert_eq!(status, 200, "{v}");
    v["hosts"].as_array().unwrap().clone()
}

fn read(id: &str, host: &str) -> Value {
    json!({"host": host, "receipts": [{"message_id": id, "revision": 1, "kind": "read", "at": "2026-01-01T00:00:00Z"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_token_cannot_claim_someone_elses_computer() {
    let s = start().await;
    let alice = s.user("alice", &[]).await;
    s.user("ceo", &[]).await;
    let ceo = s.enroll("ceo", "ceo-pc").await;
    // The CEO's computer has polled: it is known, and proven.
    let (status, v, _) = s.poll(&ceo, "ceo-pc", None).await;
    assert_eq!(status, 200, "{v}");

    let secret = send(&s, &["host:ceo-pc"], &[], "Board minutes").await;
    let everyone = send(&s, &["all"], &[], "Canteen closed").await;

    // alice claims ceo-pc with her own token: not the host's message.
    let (status, v, _) = s.poll(&alice, "ceo-pc", None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(titles(&v), ["Canteen closed"], "{v}");
    // The enrolled agent on ceo-pc gets both.
    let (_, v, _) = s.poll(&ceo, "ceo-pc", None).await;
    assert_eq!(titles(&v), ["Board minutes", "Canteen closed"], "{v}");

    // She cannot read it in ceo-pc's name, and what she reads from there
    // is marked as only claimed.
    let (_, v) = s
        .call("POST", "/api/v1/receipts", &alice, read(&secret, "ceo-pc"))
        .await;
    assert_eq!(v["recorded"], 0, "{v}");
    assert_eq!(v["rejected"][0]["reason"], "no such message for this user");
    let (_, v) = s
        .call(
            "POST",
            "/api/v1/receipts",
            &alice,
            read(&everyone, "ceo-pc"),
        )
        .await;
    assert_eq!(v["recorded"], 1, "{v}");
    let receipts = s.receipts(&everyone).await;
    assert_eq!(
        (&receipts[0]["host"], &receipts[0]["host_proven"]),
        (&json!("ceo-pc"), &json!(false)),
        "{receipts}"
    );
    let report = s
        .raw(
            "GET",
            &format!("/api/v1/admin/messages/{everyone}/report.csv"),
            ADMIN,
            None,
        )
        .await
        .1;
    assert!(report.contains("ceo-pc (unproven)"), "{report}");

    // The fleet still shows the CEO on ceo-pc, proven.
    let hosts = fleet(&s).await;
    let pc = hosts.iter().find(|h| h["name"] == "ceo-pc").unwrap();
    assert_eq!(
        (&pc["last_user"], &pc["proven"]),
        (&json!("ceo"), &json!(true))
    );

    // A name nobody proved is shown as claimed.
    s.poll(&alice, "alice-laptop", None).await;
    let hosts = fleet(&s).await;
    let laptop = hosts.iter().find(|h| h["name"] == "alice-laptop").unwrap();
    assert_eq!(laptop["proven"], false, "{laptop}");
    let (_, listed) = s
        .call("GET", "/api/v1/admin/hosts", ADMIN, Value::Null)
        .await;
    let listed = listed.as_array().unwrap();
    assert!(listed
        .iter()
        .any(|h| h["name"] == "alice-laptop" && h["proven"] == false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_exclusion_holds_against_every_unproven_name() {
    let s = start().await;
    let alice = s.user("alice", &[]).await;
    s.user("bob", &[]).await;
    let kiosk = s.enroll("bob", "kiosk").await;
    let kiosk2 = s.enroll("bob", "kiosk2").await;
    // Hosts are addressed once known.
    s.poll(&kiosk, "kiosk", None).await;
    send(&s, &["all"], &["host:kiosk"], "Not for the kiosk").await;

    // Claiming another name does not slip past the exclusion.
    let (_, v, _) = s.poll(&alice, "kiosk2", None).await;
    assert!(titles(&v).is_empty(), "{v}");
    let (_, v, _) = s.poll(&alice, "desk-7", None).await;
    assert!(titles(&v).is_empty(), "{v}");
    // Proven names are judged by name.
    let (_, v, _) = s.poll(&kiosk, "kiosk", None).await;
    assert!(titles(&v).is_empty(), "{v}");
    let (_, v, _) = s.poll(&kiosk2, "kiosk2", None).await;
    assert_eq!(titles(&v), ["Not for the kiosk"], "{v}");
    // A user exclusion still works for everyone, proven or not.
    send(&s, &["all"], &["user:bob"], "Not for bob").await;
    let (_, v, _) = s.poll(&alice, "desk-7", None).await;
    assert_eq!(titles(&v), ["Not for bob"], "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusting_claimed_hosts_keeps_the_old_way() {
    let s = start_trusting_claimed_hosts().await;
    let alice = s.user("alice", &[]).await;
    let (_, first, _) = s.poll(&alice, "ceo-pc", None).await;
    s.poll(&alice, "kiosk", None).await;
    send(&s, &["host:ceo-pc"], &[], "Board minutes").await;
    send(&s, &["all"], &["host:kiosk"], "Not for the kiosk").await;
    let cursor = first["cursor"].as_str().unwrap();
    let (_, v, _) = s.poll(&alice, "ceo-pc", Some(cursor)).await;
    assert_eq!(titles(&v), ["Board minutes", "Not for the kiosk"], "{v}");
    let hosts = fleet(&s).await;
    assert!(hosts.iter().all(|h| h["proven"] == true), "{hosts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_agent_reports_is_bounded_and_its_first_version_kept() {
    let s = start().await;
    let ann = s.user("ann", &[]).await;
    let poll =
        |version: String| json!({"host": "pc-ann", "cursor": null, "agent_version": version});
    for bad in ["9".repeat(900_000), "1.0\n\u{1b}[8m".to_owned()] {
        let (status, v) = s.call("POST", "/api/v1/poll", &ann, poll(bad)).await;
        assert_eq!(status, 400, "{v}");
        assert!(common::one_line_error(&v).contains("agent_version"), "{v}");
    }
    let long_cursor =
        json!({"host": "pc-ann", "cursor": "c".repeat(10_000), "agent_version": "1.0"});
    let (status, _) = s.call("POST", "/api/v1/poll", &ann, long_cursor).await;
    assert_eq!(status, 400);
    assert!(
        fleet(&s).await.is_empty(),
        "a refused poll recorded its host"
    );

    // The version of the very first poll is on the fleet page.
    let (status, _) = s
        .call("POST", "/api/v1/poll", &ann, poll("2.5.0-rc.1".into()))
        .await;
    assert_eq!(status, 200);
    let hosts = fleet(&s).await;
    assert_eq!(hosts[0]["agent_version"], "2.5.0-rc.1", "{hosts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_cannot_register_listeners_without_end() {
    let s = start_with(herald_protocol::PushMode::Inbound).await;
    let ann = s.user("ann", &[]).await;
    for i in 0..40 {
        let (status, v, _) = s
            .poll_listening(&ann, &format!("pc-{i}"), None, Some(9000 + i))
            .await;
        assert_eq!(status, 200, "{v}");
    }
    let held: i64 = s
        .peek()
        .query_row("SELECT COUNT(*) FROM push_listeners", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        held,
        i64::try_from(herald_server::domain::directory::listeners::MAX_LISTENERS_PER_USER).unwrap()
    );
    // The newest are the ones kept.
    let newest: i64 = s
        .peek()
        .query_row(
            "SELECT COUNT(*) FROM push_listeners WHERE host = 'pc-39'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(newest, 1);
}
