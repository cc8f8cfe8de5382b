//! Both ends of the exchange on two real SQLite files, bundle by bundle:
//! what goes down and up, and that duplicates, late, lost and forged
//! bundles change nothing they should not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use herald_protocol::{NewMessage, Receipt, ReceiptKind, Severity, Transport};

use crate::domain::directory;
use crate::domain::sites::bundle;
use crate::domain::sites::exchange_flow::{self, Received};
use crate::domain::sites::exchange_guard::Refusals;
use crate::store::sql::Conn;
use crate::{domain::messages, domain::messages::poll, domain::sites, store::db};

struct Ends {
    _dir: tempfile::TempDir,
    central: Conn,
    relay: Conn,
    site_key: ed25519_dalek::SigningKey,
    refusals: Refusals,
}

fn ends() -> Ends {
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
    Ends {
        _dir: dir,
        central,
        relay,
        site_key: bundle::signing_key(&keys.site_key).unwrap(),
        refusals: Refusals::default(),
    }
}

fn send(conn: &Conn, to: &str, title: &str) -> String {
    let new = NewMessage {
        to: vec![to.to_owned()],
        exclude: vec![],
        severity: Severity::Alert,
        title: title.to_owned(),
        body: "body".to_owned(),
        sender: None,
        valid_from: None,
        valid_until: None,
        receipt: None,
        now: None,
        extras: Default::default(),
        sound: None,
    };
    messages::create(conn, new, "admin-token", Utc::now())
        .unwrap()
        .id
}

fn down(e: &Ends) -> String {
    exchange_flow::central_seal(&e.central, "plant-a", Utc::now())
        .unwrap()
        .1
}

fn up(e: &Ends) -> String {
    exchange_flow::relay_seal(&e.relay, "plant-a", &e.site_key, Utc::now())
        .unwrap()
        .1
}

fn titles(conn: &Conn) -> Vec<String> {
    messages::list(conn)
        .unwrap()
        .into_iter()
        .map(|m| m.title)
        .collect()
}

#[test]
fn a_message_goes_down_and_its_read_receipt_comes_up() {
    let e = ends();
    let id = send(&e.central, "all", "fire drill");
    let r = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &down(&e),
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert!(matches!(r, Received::Applied { .. }), "{r:?}");
    assert_eq!(titles(&e.relay), ["fire drill"]);

    // ann, known only at the site, reads it there.
    directory::add_user(&e.relay, "ann", &[], Utc::now()).unwrap();
    let id_of_ann: i64 = e
        .relay
        .query_row("SELECT id FROM users WHERE name = 'ann'", [], |r| r.get(0))
        .unwrap();
    let user = directory::User {
        id: id_of_ann,
        name: "ann".into(),
        disabled: false,
        host_proven: true,
    };
    let read = Receipt {
        message_id: id.clone(),
        revision: 1,
        kind: ReceiptKind::Read,
        at: Utc::now(),
        answer: None,
        lang: None,
    };
    let a = poll::record_receipts(&e.relay, &user, "pc-ann", &[read], Utc::now()).unwrap();
    assert_eq!(a.recorded, 1);

    let r = exchange_flow::central_receive(&e.central, &up(&e), Utc::now(), &e.refusals).unwrap();
    assert!(matches!(r, Received::Applied { .. }), "{r:?}");
    let receipts = messages::receipts(&e.central, &id).unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        (receipts[0].user.as_str(), receipts[0].host.as_str()),
        ("ann", "pc-ann")
    );
    // ann and her computer are known centrally now: user:ann reaches her.
    assert!(directory::recipient_exists(&e.central, "user", "ann").unwrap());
    assert!(directory::list_hosts(&e.central)
        .unwrap()
        .iter()
        .any(|h| h.name == "pc-ann"));
    send(&e.central, "user:ann", "for ann");
    exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &down(&e),
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert_eq!(titles(&e.relay), ["fire drill", "for ann"]);
}

#[test]
fn a_lost_bundle_costs_nothing_and_a_repeated_or_late_one_changes_nothing() {
    let e = ends();
    send(&e.central, "all", "one");
    let _lost = down(&e);
    send(&e.central, "all", "two");
    let second = down(&e);
    let r = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &second,
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert!(matches!(r, Received::Applied { number: 2, .. }), "{r:?}");
    assert_eq!(titles(&e.relay), ["one", "two"]);
    // The same again is a replay: refused. The lost one turning up late
    // (never seen) is already held.
    let again = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &second,
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    // The same bundle twice (mail may deliver it twice): a copy, harmless.
    assert!(matches!(again, Received::Copy { .. }), "{again:?}");
    assert!(!again.is_rejected());
    let late = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &_lost,
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert!(matches!(late, Received::Held { number: 1, .. }), "{late:?}");
    assert_eq!(titles(&e.relay), ["one", "two"]);

    // A withdrawal goes down as a change of the message.
    let id = messages::list(&e.central).unwrap()[0].id.clone();
    messages::withdraw(&e.central, &id, Utc::now()).unwrap();
    exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &down(&e),
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert!(messages::get(&e.relay, &id).unwrap().withdrawn_at.is_some());
}

#[test]
fn an_acknowledged_bundle_is_not_sent_again() {
    let e = ends();
    send(&e.central, "all", "old");
    exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &down(&e),
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    exchange_flow::central_receive(&e.central, &up(&e), Utc::now(), &e.refusals).unwrap();
    // Acknowledged: what changed before the bundle (less the margin) stays home.
    let p = sites::require(&e.central, "plant-a").unwrap();
    assert_eq!(p.acked, 1);
    let later = Utc::now() + Duration::minutes(5);
    let d = crate::domain::sites::exchange::down_for(&e.central, "plant-a", p.acked_as_of, later)
        .unwrap();
    // The margin still carries it a minute; five minutes later it is gone.
    let d_later = crate::domain::sites::exchange::down_for(
        &e.central,
        "plant-a",
        p.acked_as_of + Duration::minutes(5).num_milliseconds(),
        later,
    )
    .unwrap();
    assert_eq!(d.messages.len(), 1);
    assert!(d_later.messages.is_empty());
}

#[test]
fn a_forged_bundle_is_refused_logged_and_changes_nothing() {
    let e = ends();
    send(&e.central, "all", "real");
    let forged_key = bundle::generate_key();
    let forged = exchange_flow::relay_seal(&e.relay, "plant-a", &forged_key, Utc::now())
        .unwrap()
        .1;
    let r = exchange_flow::central_receive(&e.central, &forged, Utc::now(), &e.refusals).unwrap();
    assert!(r.is_rejected(), "{r:?}");
    let p = sites::require(&e.central, "plant-a").unwrap();
    assert_eq!(p.applied, 0);
    let log = crate::domain::sites::exchange_log::list(&e.central, false, 10).unwrap();
    assert_eq!(log[0].outcome, "rejected");
    assert!(log[0].detail.contains("signature"), "{}", log[0].detail);

    // A bundle down signed by someone else is refused by the relay too.
    let real = down(&e);
    let (head, _) = real.split_once("SIGNATURE\n").unwrap();
    let zeros = "A".repeat(86) + "==";
    let text = format!(
        "{head}SIGNATURE\n{}\n{}\nEND HERALD-BUNDLE\n",
        &zeros[..64],
        &zeros[64..]
    );
    let r = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &text,
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert!(
        matches!(&r, Received::Rejected { reason, .. } if reason.contains("signature does not verify")),
        "{r:?}"
    );
    assert!(titles(&e.relay).is_empty());
}

fn refused_lines(conn: &Conn) -> Vec<herald_protocol::ExchangeLogLine> {
    crate::domain::sites::exchange_log::list(conn, false, 1000)
        .unwrap()
        .into_iter()
        .filter(|l| l.outcome == "rejected")
        .collect()
}

#[test]
fn a_replayed_bundle_is_refused_both_ways_and_changes_nothing() {
    let e = ends();
    send(&e.central, "all", "first");
    let d = down(&e);
    let r = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &d,
        Utc::now(),
        &e.refusals,
    )
    .unwrap();
    assert!(matches!(r, Received::Applied { .. }), "{r:?}");
    let u = up(&e);
    let r = exchange_flow::central_receive(&e.central, &u, Utc::now(), &e.refusals).unwrap();
    assert!(matches!(r, Received::Applied { .. }), "{r:?}");
    let before = sites::require(&e.central, "plant-a").unwrap();

    let r = exchange_flow::central_receive(&e.central, &u, Utc::now(), &e.refusals).unwrap();
    assert!(matches!(&r, Received::Copy { .. }), "{r:?}");
    assert!(r.line().contains("replayed"), "{}", r.line());
    let after = sites::require(&e.central, "plant-a").unwrap();
    assert_eq!(before.last_received, after.last_received);
    assert_eq!(
        after.last_error, None,
        "anyone can post: the site is not failing"
    );

    // Down: a mailbox copy of the central server's bundle, mailed again.
    let relay_refusals = Refusals::default();
    let r = exchange_flow::relay_receive(
        &e.relay,
        "plant-a",
        &e.site_key,
        &d,
        Utc::now(),
        &relay_refusals,
    )
    .unwrap();
    assert!(matches!(&r, Received::Copy { .. }), "{r:?}");
    let central = sites::require(&e.relay, "plant-a").unwrap();
    assert_eq!(central.last_error, None, "a copy says nothing is wrong");
}

#[test]
fn a_bundle_made_more_than_a_day_ago_is_refused() {
    let e = ends();
    let day_old = Utc::now() - bundle::WINDOW - Duration::minutes(1);
    let old = exchange_flow::relay_seal(&e.relay, "plant-a", &e.site_key, day_old)
        .unwrap()
        .1;
    let r = exchange_flow::central_receive(&e.central, &old, Utc::now(), &e.refusals).unwrap();
    assert!(
        matches!(&r, Received::Rejected { reason, .. } if reason.contains("stale")),
        "{r:?}"
    );
    assert_eq!(sites::require(&e.central, "plant-a").unwrap().applied, 0);
}

#[test]
fn refusals_write_one_trace_line_a_minute_per_site_counting_the_rest() {
    let e = ends();
    let forged_key = bundle::generate_key();
    let t = Utc::now();
    for i in 0..5 {
        let forged = exchange_flow::relay_seal(&e.relay, "plant-a", &forged_key, t)
            .unwrap()
            .1;
        let at = t + Duration::seconds(i);
        let r = exchange_flow::central_receive(&e.central, &forged, at, &e.refusals).unwrap();
        assert!(r.is_rejected(), "{r:?}");
    }
    assert_eq!(refused_lines(&e.central).len(), 1);
    let forged = exchange_flow::relay_seal(&e.relay, "plant-a", &forged_key, t)
        .unwrap()
        .1;
    let later = t + Duration::seconds(61);
    exchange_flow::central_receive(&e.central, &forged, later, &e.refusals).unwrap();
    let lines = refused_lines(&e.central);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].detail.contains("4 more refused"),
        "{}",
        lines[0].detail
    );
}

#[test]
fn nonces_are_kept_for_the_window_and_pruned_after() {
    let e = ends();
    let t = Utc::now();
    let seen =
        crate::domain::sites::exchange_guard::remember_nonce(&e.central, "plant-a", "n1", t, t)
            .unwrap();
    assert_eq!(seen, Ok(()));
    let again =
        crate::domain::sites::exchange_guard::remember_nonce(&e.central, "plant-a", "n1", t, t)
            .unwrap();
    assert_eq!(again, Err(bundle::BundleError::Replayed));
    let count = |c: &Conn| -> i64 {
        c.query_row("SELECT COUNT(*) FROM bundle_nonces", [], |r| r.get(0))
            .unwrap()
    };
    let next_day = t + bundle::WINDOW + Duration::seconds(1);
    crate::domain::sites::exchange_guard::remember_nonce(
        &e.central, "plant-a", "n2", next_day, next_day,
    )
    .unwrap()
    .unwrap();
    assert_eq!(count(&e.central), 1, "n1 went once past the window");
}
