//! The push stream from the agent's side: one long-lived `GET` of Server-
//! Sent Events that carries only "check now" hints and heartbeats.

use std::time::Duration;

use herald_protocol::{PUSH_EVENT_CHECK, PUSH_HEARTBEAT_SECS, PUSH_PATH};

use super::{reconnect_delay, PushEvent};
use crate::sync::Endpoint;

/// With no byte for this long (three heartbeats) the stream is dead.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(3 * PUSH_HEARTBEAT_SECS);
/// Longest line the parser holds; the server's lines are a few bytes.
const MAX_LINE: usize = 4096;

/// One thing read off an SSE stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    Event(String),
    Comment,
}

/// Incremental SSE parser: bytes in, complete items out.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: Option<String>,
}

impl SseParser {
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, String> {
        let mut out = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                if self.line.len() >= MAX_LINE {
                    return Err("malformed push stream: line too long".into());
                }
                self.line.push(b);
                continue;
            }
            let line = String::from_utf8_lossy(&self.line)
                .trim_end_matches('\r')
                .to_owned();
            self.line.clear();
            if line.is_empty() {
                if let Some(name) = self.event.take() {
                    out.push(SseItem::Event(name));
                }
            } else if line.starts_with(':') {
                out.push(SseItem::Comment);
            } else if let Some(name) = line.strip_prefix("event:") {
                self.event = Some(name.trim().to_owned());
            } else if line.starts_with("data") {
                // An event with data but no name is a "message" event.
                self.event.get_or_insert_with(|| "message".to_owned());
            }
        }
        Ok(out)
    }
}

/// Holds one stream open until it fails; reports events through `report`.
/// Returns why it ended.
pub async fn hold(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    report: &mut impl FnMut(PushEvent),
) -> String {
    let url = format!("{}{PUSH_PATH}", endpoint.server);
    let resp = match http
        .get(&url)
        .query(&[("host", &endpoint.host)])
        .bearer_auth(&endpoint.token)
        .header("accept", "text/event-stream")
        .send()
        .await
    {
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
            match item {
                SseItem::Event(name) if name == "ready" && !connected => {
                    connected = true;
                    report(PushEvent::Connected);
                }
                SseItem::Event(name) if name == PUSH_EVENT_CHECK => report(PushEvent::Hint),
                // Heartbeats and unknown events only prove the line is alive.
                _ => {}
            }
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
    while listening {
        let started = std::time::Instant::now();
        let reason = hold(http, endpoint, &mut |event| listening &= report(event)).await;
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

    #[test]
    fn parses_events_across_chunks_and_comments() {
        let mut p = SseParser::default();
        assert_eq!(p.feed(b"event: ready\r\nda").unwrap(), []);
        assert_eq!(
            p.feed(b"ta: \r\n\r\n:heartbeat\n\nevent: check\ndata:\n\n")
                .unwrap(),
            [
                SseItem::Event("ready".into()),
                SseItem::Comment,
                SseItem::Event("check".into())
            ]
        );
    }

    #[test]
    fn a_runaway_line_is_an_error_not_a_memory_leak() {
        let mut p = SseParser::default();
        assert!(p.feed(&vec![b'x'; MAX_LINE + 1]).is_err());
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
