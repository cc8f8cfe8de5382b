//! Push streams read by hand, as a plain SSE client would: what a stream
//! is sent, event by event, without an agent in between. And the admin
//! API over a bare socket, for tests that make a thousand users.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One event read off a stream, and when.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub id: Option<String>,
    pub data: String,
    pub at: Instant,
}

/// A stream being read on a thread of its own.
pub struct Stream {
    events: Arc<Mutex<Vec<Event>>>,
    socket: TcpStream,
}

fn addr(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// Opens a push stream asking for changes, as `token` at `host`.
pub fn open(url: &str, token: &str, host: &str) -> Stream {
    let mut socket = TcpStream::connect(addr(url)).expect("connect");
    write!(
        socket,
        "GET /api/v1/push?host={host}&changes=1 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .expect("request");
    let events = Arc::new(Mutex::new(Vec::new()));
    let (mut rd, seen) = (socket.try_clone().expect("clone"), events.clone());
    std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            let mut body_at = None;
            while let Ok(n) = rd.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let start = match body_at {
                    Some(s) => s,
                    None => match buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(p) => {
                            body_at = Some(p + 4);
                            p + 4
                        }
                        None => continue,
                    },
                };
                let text = String::from_utf8_lossy(&buf[start..]).into_owned();
                let Some(end) = text.rfind("\n\n") else {
                    continue;
                };
                let mut got = Vec::new();
                for block in text[..end].split("\n\n") {
                    let mut e = Event {
                        name: String::new(),
                        id: None,
                        data: String::new(),
                        at: Instant::now(),
                    };
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event: ") {
                            e.name = v.to_owned();
                        } else if let Some(v) = line.strip_prefix("id: ") {
                            e.id = Some(v.to_owned());
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            e.data = v.to_owned();
                        }
                    }
                    if !e.name.is_empty() {
                        got.push(e);
                    }
                }
                seen.lock().unwrap().extend(got);
                buf.drain(..start + end + 2);
                body_at = Some(0);
            }
        })
        .expect("a reader thread");
    Stream { events, socket }
}

impl Stream {
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// The changes it was sent, as JSON.
    pub fn changes(&self) -> Vec<Value> {
        self.events()
            .iter()
            .filter(|e| e.name == "change")
            .map(|e| serde_json::from_str(&e.data).expect("a change's JSON"))
            .collect()
    }

    /// The titles of the messages it was sent.
    pub fn titles(&self) -> Vec<String> {
        self.changes()
            .iter()
            .filter_map(|c| c["message"]["title"].as_str().map(str::to_owned))
            .collect()
    }

    /// The stops it was sent: (message id, reason).
    pub fn stops(&self) -> Vec<(String, String)> {
        self.changes()
            .iter()
            .filter(|c| c["stopped"].is_object())
            .map(|c| {
                let s = &c["stopped"];
                (
                    s["id"].as_str().unwrap_or_default().to_owned(),
                    s["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Waits for the `ready` event.
    pub fn wait_ready(&self) {
        crate::wait_for("the stream's ready event", Duration::from_secs(10), || {
            self.events().iter().any(|e| e.name == "ready")
        });
    }

    /// When it got a message titled `title`, if it did.
    pub fn got_at(&self, title: &str) -> Option<Instant> {
        self.events()
            .iter()
            .find(|e| e.name == "change" && e.data.contains(&format!("\"title\":\"{title}\"")))
            .map(|e| e.at)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

/// A request to the admin API (or any) on a bare socket: the status and
/// the answer's JSON.
pub fn request(url: &str, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let mut s = TcpStream::connect(addr(url)).expect("connect");
    let body = body.to_string();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .and_then(|b| {
            // A chunked answer: the JSON is between the chunk sizes.
            let start = b.find(['{', '['])?;
            let end = b.rfind(['}', ']'])?;
            serde_json::from_str(&b[start..=end]).ok()
        })
        .unwrap_or(Value::Null);
    (status, json)
}
