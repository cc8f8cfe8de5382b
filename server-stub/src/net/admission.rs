//! Which connections the server takes. Open sockets are what a server runs
//! out of first, and a client that opens many and says nothing (slowloris)
//! would otherwise take them all: the total is capped, and so is each
//! client's share. Near the total cap a few slots stay for the requests an
//! operator needs to see and mend the server (health, admin).
//!
//! A client is an IPv4 address or an IPv6 /64, the block one machine or
//! one home is given: an IPv6 client has billions of addresses to spread
//! its sockets over. A trusted proxy (`--trusted-proxy`) is not capped as
//! one client: every client behind it comes through its few addresses, and
//! capping them would cap the whole site. The proxy limits its own clients;
//! the total cap still holds.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::{ClientBlock, ConnLimits, TrustedProxies};

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max_connections` are open.
    Full,
    /// The client has `max_per_client` open.
    Client(ClientBlock),
}

/// A connection taken: `Reserved` ones may only serve health and admin
/// requests.
#[derive(Debug)]
pub enum Admitted {
    Any(Slot),
    Reserved(Slot),
}

/// Counts of open connections, and the caps they are held to.
pub struct Tracker {
    limits: ConnLimits,
    proxies: Arc<TrustedProxies>,
    open: Mutex<Open>,
    warn_full: Throttle,
    warn_client: Throttle,
    warn_reserved: Throttle,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<ClientBlock, usize>,
}

impl Tracker {
    pub fn new(limits: ConnLimits, proxies: Arc<TrustedProxies>) -> Arc<Tracker> {
        Arc::new(Tracker {
            limits,
            proxies,
            open: Mutex::default(),
            warn_full: Throttle::default(),
            warn_client: Throttle::default(),
            warn_reserved: Throttle::default(),
        })
    }

    pub fn limits(&self) -> &ConnLimits {
        &self.limits
    }

    /// Takes a slot for a connection from `peer`, or says why not (and
    /// warns, now and then, that a cap is reached).
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refused> {
        let block = (!self.proxies.trusts(peer)).then(|| ClientBlock::of(peer));
        let (total, reserved) = {
            let mut open = self.open.lock();
            if open.total >= self.limits.max_connections {
                drop(open);
                self.warn_refused(Refused::Full);
                return Err(Refused::Full);
            }
            if let Some(b) = block {
                let mine = open.by_client.entry(b).or_insert(0);
                if *mine >= self.limits.max_per_client {
                    drop(open);
                    self.warn_refused(Refused::Client(b));
                    return Err(Refused::Client(b));
                }
                *mine += 1;
            }
            let reserved = open.total >= self.limits.unreserved();
            open.total += 1;
            (open.total, reserved)
        };
        let slot = Slot {
            tracker: Arc::clone(self),
            block,
        };
        if reserved {
            if let Some(skipped) = self.warn_reserved.due() {
                tracing::warn!(
                    open = total,
                    cap = self.limits.max_connections,
                    reserved = self.limits.reserved,
                    refused_since_last_warning = skipped,
                    "connections near the cap: new ones serve only health checks and admins"
                );
            }
            Ok(Admitted::Reserved(slot))
        } else {
            Ok(Admitted::Any(slot))
        }
    }

    fn warn_refused(&self, why: Refused) {
        match why {
            Refused::Full => {
                if let Some(skipped) = self.warn_full.due() {
                    tracing::warn!(
                        cap = self.limits.max_connections,
                        refused_since_last_warning = skipped,
                        "connection cap reached: new connections are refused (--max-connections)"
                    );
                }
            }
            Refused::Client(b) => {
                if let Some(skipped) = self.warn_client.due() {
                    tracing::warn!(
                        client = %b,
                        cap = self.limits.max_per_client,
                        refused_since_last_warning = skipped,
                        "a client has as many connections as one may: its new ones are refused (--max-connections-per-client)"
                    );
                }
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().total
    }

    fn release(&self, block: Option<ClientBlock>) {
        let mut open = self.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(b) = block {
            if let Some(n) = open.by_client.get_mut(&b) {
                *n -= 1;
                if *n == 0 {
                    open.by_client.remove(&b);
                }
            }
        }
    }
}

/// A connection's place in the counts, given back when it is dropped.
pub struct Slot {
    tracker: Arc<Tracker>,
    block: Option<ClientBlock>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").field("block", &self.block).finish()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.tracker.release(self.block);
    }
}

/// One warning per period, however many refusals: a flood must not fill
/// the log.
struct Throttle {
    last: Mutex<Option<Instant>>,
    skipped: std::sync::atomic::AtomicU64,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            last: Mutex::new(None),
            skipped: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

const WARN_EVERY: Duration = Duration::from_secs(10);

impl Throttle {
    /// `Some(skipped since the last warning)` when it is time to warn.
    fn due(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let mut last = self.last.lock();
        let now = Instant::now();
        if last.is_some_and(|l| now.duration_since(l) < WARN_EVERY) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.skipped.swap(0, Ordering::Relaxed))
    }
}

/// The answer to a connection refused before anything was read from it.
pub const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 10\r\ncontent-length: 60\r\nconnection: close\r\n\r\n{\"error\":\"the server has too many connections; retry later\"}";

/// Whether a request, by its request line, may use a reserved slot: the
/// health check, the admin API, the console and its sign-in. `line` is
/// the request line without its end.
pub fn reserved_for(line: &[u8]) -> bool {
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return false;
    };
    let path = target.split(|b| *b == b'?').next().unwrap_or_default();
    if path == b"/api/v1/health" {
        return method == b"GET" || method == b"HEAD";
    }
    path == b"/admin"
        || path.starts_with(b"/admin/")
        || path.starts_with(b"/api/v1/admin/")
        || path.starts_with(b"/api/v1/console/")
}

/// The request line in `buf`, once it is all there.
pub fn request_line(buf: &[u8]) -> Option<&[u8]> {
    let end = buf.iter().position(|b| *b == b'\n')?;
    let line = &buf[..end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn tracker(total: usize, per_client: usize, reserved: usize) -> Arc<Tracker> {
        let proxies = TrustedProxies::new(vec!["10.9.0.0/16".parse().unwrap()]);
        Tracker::new(
            ConnLimits {
                max_connections: total,
                max_per_client: per_client,
                reserved,
                ..ConnLimits::default()
            },
            Arc::new(proxies),
        )
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_64() {
        assert_eq!(
            ClientBlock::of(ip("192.0.2.1")),
            ClientBlock::of(ip("::ffff:192.0.2.1"))
        );
        assert_ne!(
            ClientBlock::of(ip("192.0.2.1")),
            ClientBlock::of(ip("192.0.2.2"))
        );
        assert_eq!(
            ClientBlock::of(ip("2001:db8:1:2::1")),
            ClientBlock::of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            ClientBlock::of(ip("2001:db8:1:2::1")),
            ClientBlock::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientBlock::of(ip("2001:db8:1:2::9")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(ClientBlock::of(ip("192.0.2.1")).to_string(), "192.0.2.1");
    }

    #[test]
    fn each_client_gets_its_share_and_a_slot_comes_back_when_dropped() {
        let t = tracker(100, 2, 0);
        let a1 = t.admit(ip("192.0.2.1")).unwrap();
        let _a2 = t.admit(ip("192.0.2.1")).unwrap();
        assert!(matches!(t.admit(ip("192.0.2.1")), Err(Refused::Client(_))));
        // Another address, and another /64, are counted apart.
        assert!(t.admit(ip("192.0.2.2")).is_ok());
        let _v6 = t.admit(ip("2001:db8::1")).unwrap();
        let _v6b = t.admit(ip("2001:db8::2")).unwrap();
        assert!(t.admit(ip("2001:db8::ffff:3")).is_err(), "the same /64");
        assert!(t.admit(ip("2001:db8:0:1::1")).is_ok());
        drop(a1);
        assert!(t.admit(ip("192.0.2.1")).is_ok());
        // Every slot above was dropped but three.
        assert_eq!(t.open(), 3);
    }

    #[test]
    fn a_trusted_proxy_is_not_capped_as_one_client_but_counts_in_the_total() {
        let t = tracker(5, 2, 0);
        let held: Vec<_> = (0..5).map(|_| t.admit(ip("10.9.0.1")).unwrap()).collect();
        assert_eq!(t.admit(ip("10.9.0.1")).unwrap_err(), Refused::Full);
        drop(held);
        assert_eq!(t.open(), 0);
    }

    #[test]
    fn the_last_slots_are_reserved_and_none_beyond_the_cap() {
        let t = tracker(4, 10, 2);
        let a = t.admit(ip("192.0.2.1")).unwrap();
        let b = t.admit(ip("192.0.2.2")).unwrap();
        assert!(matches!(a, Admitted::Any(_)) && matches!(b, Admitted::Any(_)));
        let c = t.admit(ip("192.0.2.3")).unwrap();
        let _d = t.admit(ip("192.0.2.4")).unwrap();
        assert!(matches!(c, Admitted::Reserved(_)));
        assert_eq!(t.admit(ip("192.0.2.5")).unwrap_err(), Refused::Full);
        drop(a);
        assert!(matches!(
            t.admit(ip("192.0.2.5")),
            Ok(Admitted::Reserved(_))
        ));
    }

    #[test]
    fn reserved_slots_serve_health_and_admins_only() {
        for ok in [
            "GET /api/v1/health HTTP/1.1",
            "GET /api/v1/health?x=1 HTTP/1.1",
            "POST /api/v1/admin/messages HTTP/1.1",
            "GET /admin HTTP/1.1",
            "GET /admin/console.js HTTP/1.1",
            "POST /api/v1/console/signin HTTP/1.1",
        ] {
            assert!(reserved_for(ok.as_bytes()), "{ok}");
        }
        for no in [
            "POST /api/v1/poll HTTP/1.1",
            "GET /api/v1/push?host=a HTTP/1.1",
            "POST /api/v1/health HTTP/1.1",
            "GET /administrator HTTP/1.1",
            "GET /api/v1/adminx HTTP/1.1",
            "GET",
            "",
        ] {
            assert!(!reserved_for(no.as_bytes()), "{no}");
        }
        assert_eq!(
            request_line(b"GET / HTTP/1.1\r\nHost"),
            Some(b"GET / HTTP/1.1".as_slice())
        );
        assert_eq!(request_line(b"GET / HTTP/1.1\r"), None);
    }

    #[test]
    fn the_cap_leaves_room_for_the_servers_own_files() {
        let mut l = ConnLimits::default();
        assert!(l.fit_open_files(1024));
        assert_eq!(l.max_connections, 768);
        let mut l = ConnLimits::default();
        assert!(!l.fit_open_files(1 << 20));
        assert_eq!(l.max_connections, 50_000);
    }

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }

    #[test]
    fn warnings_come_once_a_period() {
        let t = Throttle::default();
        assert_eq!(t.due(), Some(0));
        assert_eq!(t.due(), None);
        assert_eq!(t.due(), None);
        *t.last.lock() = Some(Instant::now() - WARN_EVERY);
        assert_eq!(t.due(), Some(2));
    }
}
