//! Inbound push, the agent's side of the decision: whether a call that
//! reached the listener is the server's, fresh and new, and how many bad
//! calls an address may make before it is no longer heard. Pure: the
//! listener (`listener`) passes in the bytes, the keys and the time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use herald_protocol::{
    nonce_is_well_formed, verify, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, INBOUND_PATH,
    INBOUND_WINDOW_SECS,
};

/// Longest request head the listener reads; a real call is about 300 bytes.
pub const MAX_HEAD: usize = 4096;
/// Nonces remembered at most; the server calls an agent a few times a day.
const MAX_NONCES: usize = 10_000;

/// What the listener needs from the last poll answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    pub secret: Option<String>,
    /// Server time minus local time.
    pub clock_offset_ms: i64,
}

impl Keys {
    pub fn server_now(&self, local_now: DateTime<Utc>) -> DateTime<Utc> {
        local_now + chrono::Duration::milliseconds(self.clock_offset_ms)
    }
}

/// Why a call was turned away. The caller is told only "rejected"; the
/// exchange log gets this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("not a Herald call: {0}")]
    NotACall(String),
    #[error("it carried a body; calls never carry content")]
    HasBody,
    #[error("no signing key yet (no poll answer has given one)")]
    NoSecret,
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("bad signature (forged, or signed with another key)")]
    Forged,
    #[error("stale: signed {0} s away from the server's time")]
    Stale(i64),
    #[error("signed before this agent started listening (a replay)")]
    BeforeStart,
    #[error("nonce already used (a replay)")]
    Replayed,
    #[error("too many calls to remember")]
    Flooded,
}

/// The parts of a request that matter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub signature: Option<String>,
}

/// Reads a request head. `Ok(None)`: not complete yet, read more.
pub fn parse_head(buf: &[u8]) -> Result<Option<Call>, Rejection> {
    let mut headers = [httparse::EMPTY_HEADER; 24];
    let mut req = httparse::Request::new(&mut headers);
    let status = req
        .parse(buf)
        .map_err(|e| Rejection::NotACall(format!("bad HTTP: {e}")))?;
    if status.is_partial() {
        return if buf.len() >= MAX_HEAD {
            Err(Rejection::NotACall("request head too long".into()))
        } else {
            Ok(None)
        };
    }
    let method = req.method.unwrap_or("");
    let path = req.path.unwrap_or("");
    if method != "POST" || path != INBOUND_PATH {
        return Err(Rejection::NotACall(format!(
            "{} {}",
            method,
            path.chars().take(60).collect::<String>()
        )));
    }
    let mut call = Call::default();
    for h in req.headers.iter() {
        let value = || String::from_utf8_lossy(h.value).trim().to_owned();
        let name = h.name.to_ascii_lowercase();
        match name.as_str() {
            "content-length" if value() != "0" => return Err(Rejection::HasBody),
            "transfer-encoding" => return Err(Rejection::HasBody),
            n if n == HEADER_TIMESTAMP => call.timestamp = Some(value()),
            n if n == HEADER_NONCE => call.nonce = Some(value()),
            n if n == HEADER_SIGNATURE => call.signature = Some(value()),
            _ => {}
        }
    }
    Ok(Some(call))
}

/// Remembers what has been accepted, to refuse it a second time.
#[derive(Debug)]
pub struct Guard {
    host: String,
    /// Server time, in seconds, when listening began: anything signed
    /// earlier was meant for an earlier run and may have been captured.
    not_before: i64,
    seen: HashMap<String, i64>,
}

impl Guard {
    pub fn new(host: &str, started: DateTime<Utc>) -> Self {
        Guard {
            host: host.to_owned(),
            not_before: started.timestamp(),
            seen: HashMap::new(),
        }
    }

    /// Accepts a call at most once. Nothing is remembered of a rejected one.
    pub fn check(
        &mut self,
        call: &Call,
        secret: Option<&str>,
        server_now: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let secret = secret.ok_or(Rejection::NoSecret)?;
        let ts = call
            .timestamp
            .as_deref()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or(Rejection::Malformed("timestamp"))?;
        let nonce = call
            .nonce
            .as_deref()
            .filter(|n| nonce_is_well_formed(n))
            .ok_or(Rejection::Malformed("nonce"))?;
        let signature = call
            .signature
            .as_deref()
            .ok_or(Rejection::Malformed("signature"))?;
        // Authenticity first: an unsigned caller learns nothing of our clock.
        if !verify(secret, ts, nonce, &self.host, signature) {
            return Err(Rejection::Forged);
        }
        let now = server_now.timestamp();
        let age = now.saturating_sub(ts);
        if age.abs() > INBOUND_WINDOW_SECS {
            return Err(Rejection::Stale(age));
        }
        if ts < self.not_before {
            return Err(Rejection::BeforeStart);
        }
        // A nonce older than the window cannot come back: its call is stale.
        self.seen
            .retain(|_, &mut t| t >= now - 2 * INBOUND_WINDOW_SECS);
        if self.seen.contains_key(nonce) {
            return Err(Rejection::Replayed);
        }
        if self.seen.len() >= MAX_NONCES {
            return Err(Rejection::Flooded);
        }
        // As sent: the signature covers the exact text, so a replay repeats it.
        self.seen.insert(nonce.to_owned(), ts);
        Ok(())
    }
}

/// What the limiter says of a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admit,
    /// The address (or everyone together) has used up its rejections; this
    /// is the first refusal, to be logged once.
    Trip,
    /// Refused again; not logged, so that a flood cannot fill the log.
    Drop,
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at: Instant,
    tripped: bool,
}

impl Bucket {
    fn full(capacity: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            at: now,
            tripped: false,
        }
    }

    fn refill(&mut self, capacity: f64, every: Duration, now: Instant) {
        let gained = now.saturating_duration_since(self.at).as_secs_f64() / every.as_secs_f64();
        self.tokens = (self.tokens + gained).min(capacity);
        self.at = now;
    }
}

/// Token buckets charged only by rejected calls: the server's own calls
/// never use them up, while a prober runs dry after a few tries.
#[derive(Debug, Clone)]
pub struct Limiter {
    per_ip: HashMap<IpAddr, Bucket>,
    global: Bucket,
}

/// Rejections an address may make in a burst, then one per `IP_EVERY`.
const IP_BURST: f64 = 10.0;
const IP_EVERY: Duration = Duration::from_secs(6);
/// The same for all addresses together, against a spread-out flood.
const ALL_BURST: f64 = 20.0;
const ALL_EVERY: Duration = Duration::from_secs(3);
const MAX_TRACKED: usize = 4096;

impl Limiter {
    pub fn new(now: Instant) -> Self {
        Limiter {
            per_ip: HashMap::new(),
            global: Bucket::full(ALL_BURST, now),
        }
    }

    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> Admission {
        self.global.refill(ALL_BURST, ALL_EVERY, now);
        let b = self
            .per_ip
            .entry(ip)
            .or_insert_with(|| Bucket::full(IP_BURST, now));
        b.refill(IP_BURST, IP_EVERY, now);
        let (ip_ok, all_ok) = (b.tokens >= 1.0, self.global.tokens >= 1.0);
        if ip_ok && all_ok {
            b.tripped = false;
            self.global.tripped = false;
            return Admission::Admit;
        }
        let tripped = if ip_ok {
            &mut self.global.tripped
        } else {
            &mut b.tripped
        };
        if std::mem::replace(tripped, true) {
            Admission::Drop
        } else {
            Admission::Trip
        }
    }

    /// Charges a rejected call to its address and to everyone.
    pub fn charge(&mut self, ip: IpAddr, now: Instant) {
        self.global.tokens = (self.global.tokens - 1.0).max(0.0);
        if let Some(b) = self.per_ip.get_mut(&ip) {
            b.tokens = (b.tokens - 1.0).max(0.0);
        }
        if self.per_ip.len() > MAX_TRACKED {
            // Forget addresses that have nothing held against them.
            self.per_ip.retain(|_, b| {
                b.refill(IP_BURST, IP_EVERY, now);
                b.tokens < IP_BURST
            });
        }
    }
}

pub mod listener;

#[cfg(test)]
mod tests;
