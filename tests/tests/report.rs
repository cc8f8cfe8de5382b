//! A message's receipts report through the real server, agents and CLI:
//! who of those addressed displayed and read it, where and when; its CSV;
//! the message again to exactly those who have not read it; revisions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::{Agent, Server};
use serde_json::Value;

#[test]
fn the_report_follows_receipts_and_the_unread_get_it_again() {
    let server = Server::start();
    let mut pcs = Vec::new();
    for (name, host) in [
        ("alice", "pc-a"),
        ("bob", "pc-b"),
        ("carol", "pc-c"),
        ("dave", "pc-d"),
    ] {
        let token = server.add_user(name, &["staff"]);
        pcs.push(Agent::new(&server.url, &token, host));
    }
    let id = server.send(
        "group:staff",
        "warning",
        "Quarterly update",
        &["--exclude", "user:dave", "--receipt", "both"],
    );
    let id = id.trim();
    for pc in &pcs {
        pc.sync();
    }
    pcs[0].ok(&["ack", id]);
    pcs[0].sync();

    let report: Value = serde_json::from_str(&server.ok(&["report", id, "--json"])).unwrap();
    assert_eq!(report["addressed"], 3);
    assert_eq!(report["read"], 1);
    assert_eq!(report["displayed"], 1);
    let users = report["users"].as_array().unwrap();
    let names: Vec<&str> = users.iter().map(|u| u["user"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(users[0]["read"]["host"], "pc-a");
    assert!(users[1]["read"].is_null() && users[1]["displayed"].is_null());
    let text = server.ok(&["report", id]);
    assert!(
        text.starts_with("3 addressed, 1 displayed (33%), 1 read (33%)"),
        "{text}"
    );
    let csv = server.ok(&["report", id, "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        // alice's own token only claims pc-a.
        lines[1].starts_with("alice,true,") && lines[1].contains(",pc-a (unproven),"),
        "{csv}"
    );
    // The answer columns stay empty for a message without answers.
    assert_eq!(lines[2], "bob,true,,,,,,,,,,,,");

    // Again, to exactly bob and carol: not alice, who read it, nor dave.
    let again = server.ok(&["again", id]);
    let again = again.trim();
    let info: Vec<Value> = serde_json::from_str(&server.ok(&["list", "--json"])).unwrap();
    let sent = info.iter().find(|m| m["id"] == again).unwrap();
    assert_eq!(sent["to"], serde_json::json!(["user:bob", "user:carol"]));
    for pc in &pcs {
        pc.sync();
    }
    let has_again = |pc: &Agent| pc.all().iter().any(|m| m["id"] == again);
    assert!(!has_again(&pcs[0]) && has_again(&pcs[1]) && has_again(&pcs[2]) && !has_again(&pcs[3]));

    // A new revision must be read again: alice's read is of revision 1.
    server.ok(&["edit", id, "--title", "Quarterly update (corrected)"]);
    let report: Value = serde_json::from_str(&server.ok(&["report", id, "--json"])).unwrap();
    assert_eq!(report["read"], 0);
    assert_eq!(report["users"][0]["read_earlier"], 1);
    let revs = server.ok(&["revisions", id]);
    let revs: Vec<&str> = revs.lines().collect();
    assert_eq!(revs.len(), 2, "{revs:?}");
    assert!(
        revs[0].starts_with("r1\t") && revs[0].ends_with("\tadmin-token\tsent"),
        "{revs:?}"
    );
    assert!(
        revs[1].ends_with("title \"Quarterly update\" -> \"Quarterly update (corrected)\""),
        "{revs:?}"
    );

    // Once everyone has read it, there is no one to send it to.
    server.ok(&["edit", again, "--title", "x"]);
    for pc in &pcs[1..3] {
        pc.sync();
        pc.ok(&["ack", again]);
        pc.sync();
    }
    let out = server.admin(&["again", again]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("everyone addressed has read"));
}
