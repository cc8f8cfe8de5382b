//! The push stream from the agent's side: one long-lived `GET` of Server-
//! Sent Events that carries the changes themselves (`change`), hints to
//! poll (`check`) and heartbeats.

use std::time::Duration;

use herald_protocol::{
    PushReady, PushedChange, MAX_PUSH_EVENT_BYTES, PUSH_CHANGES_PARAM, PUSH_EVENT_CHANGE,
    PUSH_EVENT_CHECK, PUSH_EVENT_READY, PUSH_HEARTBEAT_SECS, PUSH_PATH,
};

use super::{reconnect_delay, PushEvent};
use crate::sync::Endpoint;

/// With no byte for this long (three heartbeats) the stream is dead.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(3 * PUSH_HEARTBEAT_SECS);

/// One thing read off an SSE stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Event {
        name: String,
        id: Option<String>,
        data: String,
    },
    Comment,
}

/// Incremental SSE parser: bytes in, complete items out. An event of more
/// than `MAX_PUSH_EVENT_BYTES` is an error, not a memory leak.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
    held: usize,
}

impl SseParser {
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, String> {
        let mut out = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                if self.held + self.line.len() >= MAX_PUSH_EVENT_BYTES {
                    return Err("malformed push stream: event too long".into());
                }
                self.line.push(b);
                continue;
            }
            let line = String::from_utf8_lossy(&self.line)
                .trim_end_matches('\r')
                .to_owned();
            self.line.clear();
            if line.is_empty() {
                self.held = 0;
                let (id, data) = (self.id.take(), self.data.take());
                if let Some(name) = self.event.take() {
                    let data = data.unwrap_or_default();
                    out.push(SseItem::Event { name, id, data });
                } else if let Some(data) = data {
                    // An event with data but no name is a "message" event.
                    out.push(SseItem::Event {
                        name: "message".into(),
                        id,
                        data,
                    });
                }
                continue;
            }
            self.held += line.len();
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match field {
                "" => out.push(SseItem::Comment),
                "event" => self.event = Some(value.trim().to_owned()),
                "id" => self.id = Some(value.to_owned()),
                "data" => match &mut self.data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Holds one stream open until it fails; reports events through `report`.
/// `last` is the id of the last event read, sent as `Last-Event-ID` so
/// that the server resumes after it, and kept up to date. Returns why it
/// ended.
pub async fn hold(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    last: &mut Option<String>,
    report: &mut impl FnMut(PushEvent),
) -> String {
    let url = format!("{}{PUSH_PATH}", endpoint.server);
    let mut req = http
        .get(&url)
        .query(&[("host", endpoint.host.as_str()), (PUSH_CHANGES_PARAM, "1")])
        .bearer_auth(&endpoint.token)
        .header("accept", "text/event-stream");
    if let Some(id) = last.as_deref() {
        req = req.header("last-event-id", id);
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => return crate::sync::unreachable(&endpoint.server, &e).to_string(),
    };
    if !resp.status().is_success() {
        return format!("the server answered {}", resp.status());
    }
    let mut resp = resp;
    let mut parser = SseParser::default();
    let mut connected = false;
    loop {
        let chunk = match tokio::time::timeout(SILENCE_LIMIT, resp.chunk()).await {
            Err(_) => return format!("no heartbeat for {} s", SILENCE_LIMIT.as_secs()),
            Ok(Err(e)) => return format!("stream broken: {}", crate::sync::chain(&e)),
            Ok(Ok(None)) => return "the server closed the stream".into(),
            Ok(Ok(Some(c))) => c,
        };
        let items = match parser.feed(&chunk) {
            Ok(i) => i,
            Err(e) => return e,
        };
        for item in items {
            let SseItem::Event { name, id, data } = item else {
                // Heartbeats only prove the line is alive.
                continue;
            };
            let event = match name.as_str() {
                PUSH_EVENT_READY if !connected => {
                    connected = true;
                    let ready: PushReady = serde_json::from_str(&data).unwrap_or_default();
                    if ready.resumed {
                        PushEvent::Resumed
                    } else {
                        PushEvent::Connected
                    }
                }
                PUSH_EVENT_CHECK => PushEvent::Hint,
                PUSH_EVENT_CHANGE => match serde_json::from_str::<PushedChange>(&data) {
                    Ok(change) => PushEvent::Change(Box::new(change)),
                    Err(e) => {
                        // A poll brings what it was.
                        tracing::warn!(error = %e, "a pushed change this agent cannot read");
                        PushEvent::Hint
                    }
                },
                // Unknown events only prove the line is alive.
                _ => continue,
            };
            if id.is_some() {
                *last = id;
            }
            report(event);
        }
    }
}

/// A stream that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(30);

/// Holds the stream for as long as `report` wants news: reconnects with
/// backoff and jitter, and reports each loss with the delay before the
/// next try. Returns when `report` answers `false` (nobody listens).
pub async fn hold_forever(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    mut report: impl FnMut(PushEvent) -> bool,
) {
    let mut failures = 0u32;
    let mut listening = true;
    let mut last = None;
    while listening {
        let started = std::time::Instant::now();
        let reason = hold(http, endpoint, &mut last, &mut |event| {
            listening &= report(event)
        })
        .await;
        if !listening {
            return;
        }
        if started.elapsed() >= STABLE {
            failures = 0;
        }
        let delay = reconnect_delay(failures, rand::random());
        failures = failures.saturating_add(1);
        let lost = PushEvent::Lost(format!(
            "{reason}; reconnecting in {:.1} s",
            delay.as_secs_f64()
        ));
        if !report(lost) {
            return;
        }
        tokio::time::sleep(delay).await;
    }
}

/// The HTTP client for the stream: no overall timeout (the stream is meant
/// to last), a connect timeout, TCP keepalive, and the same trust as the
/// polls.
pub fn client(endpoint: &Endpoint) -> Result<reqwest::Client, crate::SyncError> {
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Duration::from_secs(30))
        .user_agent(concat!("herald-agent/", env!("CARGO_PKG_VERSION")));
    crate::tls::trust(builder, endpoint.server_ca.as_ref())?
        .build()
        .map_err(|e| crate::sync::unreachable(&endpoint.server, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, id: Option<&str>, data: &str) -> SseItem {
        SseItem::Event {
            name: name.into(),
            id: id.map(str::to_owned),
            data: data.into(),
        }
    }

    #[test]
    fn parses_events_across_chunks_and_comments() {
        let mut p = SseParser::default();
        assert_eq!(p.feed(b"event: ready\r\nda").unwrap(), []);
        assert_eq!(
            p.feed(b"ta: \r\n\r\n:heartbeat\n\nid: a:1\nevent: check\ndata:\n\n")
                .unwrap(),
            [
                event("ready", None, ""),
                SseItem::Comment,
                event("check", Some("a:1"), "")
            ]
        );
        assert_eq!(
            p.feed(b"id: a:2\nevent: change\ndata: {\"x\":\ndata: 1}\n\n")
                .unwrap(),
            [event("change", Some("a:2"), "{\"x\":\n1}")]
        );
    }

    #[test]
    fn a_runaway_event_is_an_error_not_a_memory_leak() {
        let mut p = SseParser::default();
        let line = vec![b'x'; 1024 * 1024];
        let mut fed = Ok(Vec::new());
        for _ in 0..5 {
            fed = p
                .feed(b"data: ")
                .and_then(|_| p.feed(&line))
                .and_then(|_| p.feed(b"\n"));
            if fed.is_err() {
                break;
            }
        }
        assert!(fed.is_err(), "five lines of 1 MiB in one event were taken");
    }

    #[test]
    fn reconnect_backs_off_to_a_minute_with_jitter() {
        assert_eq!(reconnect_delay(0, 0.0), Duration::from_millis(500));
        assert_eq!(reconnect_delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(reconnect_delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(reconnect_delay(30, 1.0), Duration::from_secs(60));
        assert_eq!(reconnect_delay(30, 0.0), Duration::from_secs(30));
    }
}
