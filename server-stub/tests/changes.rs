//! Change stamps for a message to more users than one statement stamps, on
//! a SQLite file or, with HERALD_TEST_PG, on PostgreSQL: every member's
//! next poll sees the change, a member of two of its groups included, and
//! no one else's does. Needs no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use herald_server::domain::{changes, directory, messages};
use herald_server::store::db;
use herald_server::store::pool::Db;
use herald_server::store::sql::Conn;

fn user_id(conn: &Conn, name: &str) -> i64 {
    conn.query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
        .unwrap()
}

/// Past two statements' worth of stamps, with a remainder.
const MEMBERS: usize = 1201;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_a_large_group_stamps_every_member() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_at(&common::location(dir.path())).unwrap();
    let now = chrono::Utc::now();
    // The first 300 are in both groups the message names.
    let (before, seq) = db
        .write(move |c| {
            for i in 0..MEMBERS {
                let mut groups = vec!["big".to_owned()];
                if i < 300 {
                    groups.push("also".to_owned());
                }
                directory::add_user(c, &format!("u{i}"), &groups, now)?;
            }
            directory::add_user(c, "outsider", &["other".to_owned()], now)?;
            let before = db::change_seq(c)?;
            let new = serde_json::from_value(serde_json::json!({
                "to": ["group:big", "group:also"],
                "severity": "alert",
                "title": "Fire drill",
                "body": "Now."
            }))
            .unwrap();
            messages::create(c, new, "admin-token", now)?;
            Ok((before, db::change_seq(c)?))
        })
        .await
        .unwrap();
    assert!(seq > before);
    db.read(|c| {
        for i in 0..MEMBERS {
            let id = user_id(c, &format!("u{i}"));
            assert_eq!(
                changes::latest_for(c, id, "pc-1").unwrap(),
                seq,
                "member u{i} would not see the message at its next poll"
            );
        }
        let outsider = user_id(c, "outsider");
        assert!(changes::latest_for(c, outsider, "pc-1").unwrap() < seq);
        Ok(())
    })
    .unwrap();
}
