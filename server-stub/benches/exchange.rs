//! A site that was cut off for a while catches up: how long the central
//! server takes to make the bundle down and the relay to apply it, how long
//! the relay takes to make the bundle up and the central server to apply
//! it, and how big each is. Real SQLite files in a temporary directory.
//! `cargo bench -p herald-server --bench exchange [-- MESSAGES RECEIPTS]`
//! (defaults 1000 and 20000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::Utc;
use herald_protocol::{NewMessage, Receipt, ReceiptKind, Severity, Transport};
use herald_server::domain::directory;
use herald_server::domain::messages::{self, poll};
use herald_server::domain::sites::{self, bundle, exchange_flow};
use herald_server::store::db;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let n_messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let n_receipts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let central = db::open(&dir.path().join("central.db")).unwrap();
    let relay = db::open(&dir.path().join("relay.db")).unwrap();
    let now = Utc::now();
    let keys = sites::add(&central, "plant-a", Transport::Https, None, 3600, now).unwrap();
    sites::ensure_central(
        &relay,
        "plant-a",
        Transport::Https,
        None,
        &keys.central_key,
        now,
    )
    .unwrap();
    let site_key = bundle::signing_key(&keys.site_key).unwrap();

    let body = "The mail server goes down at 18:00 for maintenance. ".repeat(8);
    central.execute_batch("BEGIN").unwrap();
    let mut ids = Vec::new();
    for i in 0..n_messages {
        let new = NewMessage {
            to: vec!["all".into()],
            exclude: vec![],
            severity: Severity::Warning,
            title: format!("Notice {i}"),
            body: body.clone(),
            sender: None,
            valid_from: None,
            valid_until: None,
            receipt: None,
            now: Some(false),
            extras: Default::default(),
            sound: None,
        };
        ids.push(messages::create(&central, new, "bench", now).unwrap().id);
    }
    central.execute_batch("COMMIT").unwrap();

    let t = Instant::now();
    let (_, down) = exchange_flow::central_seal(&central, "plant-a", Utc::now()).unwrap();
    let seal_down = t.elapsed();
    let t = Instant::now();
    let r = exchange_flow::relay_receive(
        &relay,
        "plant-a",
        &site_key,
        &down,
        Utc::now(),
        &Default::default(),
    )
    .unwrap();
    let apply_down = t.elapsed();
    assert!(!r.is_rejected(), "{r:?}");

    // Receipts from users of the site, spread over the messages.
    let users = n_receipts.div_ceil(n_messages).max(1);
    relay.execute_batch("BEGIN").unwrap();
    let mut made = 0;
    for u in 0..users {
        let name = format!("user{u}");
        directory::add_user(&relay, &name, &[], now).unwrap();
        let id: i64 = relay
            .query_row("SELECT id FROM users WHERE name = ?1", [&name], |r| {
                r.get(0)
            })
            .unwrap();
        let user = directory::User {
            id,
            name,
            disabled: false,
            host_proven: true,
        };
        let batch: Vec<Receipt> = ids
            .iter()
            .take(n_receipts - made)
            .map(|m| Receipt {
                message_id: m.clone(),
                revision: 1,
                kind: ReceiptKind::Read,
                at: now,
                answer: None,
                lang: None,
            })
            .collect();
        made += batch.len();
        poll::record_receipts(&relay, &user, &format!("pc-{u}"), &batch, now).unwrap();
    }
    relay.execute_batch("COMMIT").unwrap();

    let t = Instant::now();
    let (_, up) = exchange_flow::relay_seal(&relay, "plant-a", &site_key, Utc::now()).unwrap();
    let seal_up = t.elapsed();
    let t = Instant::now();
    let r = exchange_flow::central_receive(&central, &up, Utc::now(), &Default::default()).unwrap();
    let apply_up = t.elapsed();
    assert!(!r.is_rejected(), "{r:?}");

    let kib = |s: &str| s.len() as f64 / 1024.0;
    println!(
        "down: {n_messages} messages, {:.0} KiB: made in {:.0} ms, applied in {:.0} ms",
        kib(&down),
        seal_down.as_secs_f64() * 1e3,
        apply_down.as_secs_f64() * 1e3
    );
    println!("up:   {made} receipts from {users} users and hosts, {:.0} KiB: made in {:.0} ms, applied in {:.0} ms",
        kib(&up), seal_up.as_secs_f64() * 1e3, apply_up.as_secs_f64() * 1e3);
}
