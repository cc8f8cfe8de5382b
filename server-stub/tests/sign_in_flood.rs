//! A flood of wrong console sign-ins: each costs an argon2 check, slow on
//! purpose. It must not take the threads agents' polls and receipts need:
//! run on the database's readers it once held them up for 11 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_does_not_delay_agents_polls_and_receipts() {
    let s = start().await;
    let (status, v) = s
        .call(
            "POST",
            "/api/v1/admin/accounts",
            ADMIN,
            json!({"name": "ada", "role": "admin", "password": "a long right password"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let alice = s.user("alice", &[]).await;
    let (_, m) = s
        .send(json!({"to": ["user:alice"], "severity": "info", "title": "t", "body": "", "receipt": "both"}))
        .await;
    let id = m["id"].as_str().unwrap().to_owned();

    let flood: Vec<_> = (0..40)
        .map(|i| {
            let url = format!("{}/api/v1/console/signin", s.url);
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({"name": format!("guess{i}"), "password": "not the password"}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Every sign-in of the flood is in the server and checking.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let began = Instant::now();
    let (status, polled, _) = s.poll(&alice, "pc-1", None).await;
    assert_eq!(status, 200, "{polled}");
    let polled_in = began.elapsed();
    let batch = json!({"host": "pc-1", "receipts": [
        {"message_id": id, "revision": 1, "kind": "displayed", "at": "2026-01-01T00:00:00Z"}]});
    let began = Instant::now();
    let (status, recorded) = s.call("POST", "/api/v1/receipts", &alice, batch).await;
    assert_eq!(status, 200, "{recorded}");
    let receipts_in = began.elapsed();
    // Generous: the bug was a stall of many seconds, not a slow answer.
    assert!(
        polled_in < Duration::from_secs(2) && receipts_in < Duration::from_secs(2),
        "behind the sign-in flood a poll took {polled_in:?} and receipts {receipts_in:?}"
    );

    eprintln!("behind 40 wrong sign-ins: poll {polled_in:?}, receipts {receipts_in:?}");
    // The rest of the flood would take a minute in a debug build.
    for f in flood {
        f.abort();
    }
}
