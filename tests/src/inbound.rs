//! Inbound push from outside the server: raw calls to an agent's listener,
//! signed or not, from a chosen loopback source address, and a recorder
//! that captures a call the real server makes.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use herald_protocol::{sign, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, INBOUND_PATH};

use crate::Agent;

impl Agent {
    /// Where the running agent takes inbound calls, from `status`.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        let st = self.status();
        let state = st["push_state"].as_str()?;
        let rest = state.strip_prefix("listening on ")?;
        rest.split(' ').next()?.parse().ok()
    }

    /// The key the server gave this agent for its calls, from the store.
    pub fn push_secret(&self) -> Option<String> {
        let conn = rusqlite::Connection::open(self.data_dir().join("agent.db")).ok()?;
        conn.query_row("SELECT push_secret FROM sync_state", [], |r| r.get(0))
            .ok()
            .flatten()
    }
}

/// A `POST` to the inbound path, signed as the server would sign it, with
/// an optional body (which a real call never has).
pub fn signed_call(key: &str, timestamp: i64, nonce: &str, host: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {INBOUND_PATH} HTTP/1.1\r\nHost: agent\r\n{HEADER_TIMESTAMP}: {timestamp}\r\n\
         {HEADER_NONCE}: {nonce}\r\n{HEADER_SIGNATURE}: {}\r\nContent-Length: {}\r\n\r\n{body}",
        sign(key, timestamp, nonce, host),
        body.len()
    )
    .into_bytes()
}

/// Sends raw request bytes from `from` (a loopback address) and returns the
/// answer's status code, or "" if the connection was closed unanswered.
pub fn call(to: SocketAddr, from: IpAddr, request: &[u8]) -> String {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&SocketAddr::new(from, 0).into()).unwrap();
    sock.connect_timeout(&to.into(), Duration::from_secs(2))
        .unwrap();
    let mut stream: TcpStream = sock.into();
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let _ = stream.write_all(request);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .map(str::to_owned)
        .unwrap_or_default()
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Listens on a loopback port and hands over the first request it gets,
/// byte for byte, after answering it "204".
pub struct Recorder {
    pub addr: SocketAddr,
    got: mpsc::Receiver<Vec<u8>>,
}

impl Recorder {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, got) = mpsc::channel();
        std::thread::spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            conn.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = conn.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            let _ = tx.send(buf);
        });
        Recorder { addr, got }
    }

    pub fn wait(&self, timeout: Duration) -> Vec<u8> {
        self.got
            .recv_timeout(timeout)
            .expect("no call reached the recorder")
    }
}

/// Points the server's record of `user`'s listener at `addr`, as if the
/// agent had polled from there: the server's next call goes to `addr`.
pub fn redirect_listener(server_db: &std::path::Path, user: &str, addr: SocketAddr) {
    let update = "UPDATE push_listeners SET ip = ?1, port = ?2
                  WHERE user_id = (SELECT id FROM users WHERE name = ?3)";
    let marker = server_db.with_file_name("postgres-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        // The same update through psql, for a server on PostgreSQL.
        let sql = update
            .replace("?1", &format!("'{}'", addr.ip()))
            .replace("?2", &addr.port().to_string())
            .replace("?3", &format!("'{user}'"));
        let out = std::process::Command::new("psql")
            .args(["-At", url.trim(), "-c", &sql])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(said.trim(), "UPDATE 1", "no listener registered for {user}");
        return;
    }
    let conn = rusqlite::Connection::open(server_db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let n = conn
        .execute(
            update,
            rusqlite::params![addr.ip().to_string(), addr.port(), user],
        )
        .unwrap();
    assert_eq!(n, 1, "no listener registered for {user}");
}
