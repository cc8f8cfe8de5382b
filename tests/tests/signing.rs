//! Signed messages: the real server signs every revision with its key file,
//! and the real agents that know the key refuse what it did not sign, from
//! a row altered in the database or an answer rewritten on the way, and
//! tell the server with a "rejected" receipt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use herald_e2e::{Agent, Server};
use serde_json::Value;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn verifying(server: &Server, url: &str, user: &str, host: &str, key: &str) -> Agent {
    let token = server.add_user(user, &[]);
    let mut agent = Agent::new(url, token.trim(), host);
    agent.env.push(("HERALD_SERVER_KEY".into(), key.into()));
    agent
}

/// Runs SQL on the server's database behind its back.
fn sql(server: &Server, statements: &[&str]) {
    let db = server.db_location();
    if db.starts_with("postgres") {
        for s in statements {
            let out = std::process::Command::new("psql")
                .args(["-qAt", "-v", "ON_ERROR_STOP=1", &db, "-c", s])
                .output()
                .unwrap();
            assert!(out.status.success(), "{s}: {}", text(&out.stderr));
        }
    } else {
        let conn = rusqlite::Connection::open(&db).unwrap();
        for s in statements {
            conn.execute_batch(s).unwrap();
        }
    }
}

/// What an attacker with one row of the database does: a new revision with
/// another title and body, and a change stamp so that every agent polls it.
fn tamper(server: &Server, id: &str) {
    sql(
        server,
        &[
            &format!(
                "UPDATE messages SET revision = revision + 1, title = 'Call this number', \
                 body = 'evil' WHERE id = '{id}'"
            ),
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'change_seq'",
            "UPDATE change_stamps SET seq = (SELECT CAST(value AS BIGINT) FROM meta \
             WHERE key = 'change_seq') WHERE scope = 'all'",
        ],
    );
}

fn titles(agent: &Agent) -> Vec<String> {
    agent
        .all()
        .iter()
        .map(|m| m["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn report(server: &Server, id: &str) -> String {
    server.ok(&["report", id])
}

#[test]
fn a_message_altered_in_the_database_is_refused_by_every_agent() {
    let server = Server::start();
    let key = server.public_key();
    let alice = verifying(&server, &server.url, "alice", "pc-a", &key);
    let bob = verifying(&server, &server.url, "bob", "pc-b", &key);
    let id = server.send(
        "all",
        "info",
        "Maintenance tonight",
        &["--body", "at 22:00"],
    );
    for a in [&alice, &bob] {
        a.sync();
        assert_eq!(titles(a), vec!["Maintenance tonight"]);
    }
    tamper(&server, &id);
    for a in [&alice, &bob] {
        a.sync();
        // Nothing of the altered revision is stored or shown; what the
        // agent had stays as it was.
        assert_eq!(titles(a), vec!["Maintenance tonight"]);
        assert!(!a.ok(&["queue", "--json"]).contains("Call this number"));
        // The next poll asks again (a fixed message would come), and
        // refuses again, without storing anything either.
        a.sync();
        assert_eq!(titles(a), vec!["Maintenance tonight"]);
    }
    let r = report(&server, &id);
    assert!(r.contains("2 rejected"), "{r}");
    assert_eq!(r.matches("\trejected ").count(), 2, "{r}");
    let csv = server.ok(&["report", &id, "--csv"]);
    assert!(csv.lines().next().unwrap().contains("rejected_at"), "{csv}");
    assert_eq!(csv.matches(",pc-").count(), 2, "{csv}");
}

/// A proxy on loopback that rewrites the titles in poll answers, as a
/// TLS-ending proxy in the hands of an attacker would.
fn rewriting_proxy(upstream: &str) -> String {
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let _ = relay(conn, &upstream);
            });
        }
    });
    url
}

fn relay(mut client: TcpStream, upstream: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut path = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if path.is_empty() {
            path = line.split(' ').nth(1).unwrap_or_default().to_owned();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") || lower.starts_with("accept-encoding:") {
            continue;
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(&head)?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    let (status_head, payload) = answer.split_at(split);
    let mut payload = payload.to_vec();
    if path.starts_with("/api/v1/poll") {
        if let Ok(mut v) = serde_json::from_slice::<Value>(&payload) {
            if let Some(ms) = v["messages"].as_array_mut() {
                for m in ms {
                    m["title"] = Value::from("Call this number");
                }
            }
            payload = serde_json::to_vec(&v).unwrap();
        }
    }
    let status_head = text(status_head);
    let mut out = String::new();
    for line in status_head.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:") || lower.starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    ));
    client.write_all(out.as_bytes())?;
    client.write_all(&payload)?;
    client.flush()
}

#[test]
fn a_poll_answer_rewritten_on_the_way_is_refused() {
    let server = Server::start();
    let key = server.public_key();
    let proxy = rewriting_proxy(&server.url);
    let alice_token = server.add_user("alice", &[]);
    let mut alice = Agent::new(&proxy, alice_token.trim(), "pc-a");
    alice.env.push(("HERALD_SERVER_KEY".into(), key.clone()));
    // An agent that knows no key believes the proxy: the attack works.
    let token = server.add_user("bob", &[]);
    let bob = Agent::new(&proxy, token.trim(), "pc-b");
    let id = server.send("all", "alert", "Fire drill at 3", &[]);
    alice.sync();
    bob.sync();
    assert_eq!(titles(&bob), vec!["Call this number"]);
    assert!(titles(&alice).is_empty(), "{:?}", titles(&alice));
    // The next contact delivers the "rejected" receipt.
    alice.sync();
    assert!(titles(&alice).is_empty(), "{:?}", titles(&alice));
    let r = report(&server, &id);
    assert!(r.contains("1 rejected"), "{r}");
    // Straight to the server, the same agent takes the message.
    let mut direct = Agent::new(&server.url, alice_token.trim(), "pc-a");
    direct.env = alice.env.clone();
    direct.env.push((
        "HERALD_DATA_DIR".into(),
        alice.data_dir().display().to_string(),
    ));
    direct.sync();
    assert_eq!(titles(&direct), vec!["Fire drill at 3"]);
}

#[test]
fn an_agent_that_enrolled_verifies_with_the_key_it_was_given() {
    let server = Server::start();
    let enroll_key = server.ok(&["enroll", "create"]).trim().to_owned();
    let mut agent = Agent::new(&server.url, "", "pc-a");
    agent.env.push(("HERALD_ENROLL_KEY".into(), enroll_key));
    let id = server.send("all", "info", "Welcome", &[]);
    agent.sync();
    assert_eq!(titles(&agent), vec!["Welcome"]);
    let kept = std::fs::read_to_string(agent.data_dir().join("server-keys.json")).unwrap();
    assert!(kept.contains(&server.public_key()), "{kept}");
    tamper(&server, &id);
    agent.sync();
    agent.sync();
    assert_eq!(titles(&agent), vec!["Welcome"]);
    let r = report(&server, &id);
    assert!(r.contains("1 rejected"), "{r}");
}

#[test]
fn after_a_key_rotation_an_agent_that_knew_the_old_key_accepts_the_new() {
    let mut server = Server::start();
    let old = server.public_key();
    let alice = verifying(&server, &server.url, "alice", "pc-a", &old);
    let first = server.send("all", "info", "Before the rotation", &[]);
    alice.sync();
    let out = server.local(&["key", "rotate", "--grace-days", "7"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("re-signed 1 messages"),
        "{}",
        text(&out.stdout)
    );
    server.restart();
    let new = server.public_key();
    assert_ne!(new, old);
    server.send("all", "info", "After the rotation", &[]);
    alice.sync();
    let mut got = titles(&alice);
    got.sort();
    assert_eq!(got, vec!["After the rotation", "Before the rotation"]);
    // A new agent that knows only the old key takes the re-signed message
    // too, through the certificate that comes with it.
    let bob = verifying(&server, &server.url, "bob", "pc-b", &old);
    bob.sync();
    let mut got = titles(&bob);
    got.sort();
    assert_eq!(got, vec!["After the rotation", "Before the rotation"]);
    assert!(!report(&server, &first).contains("1 rejected"));
}
