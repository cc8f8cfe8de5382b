//! Behind a load balancer the TCP peer is the balancer. The client's own
//! address matters: inbound push calls go back to it, and the audit log and
//! the sign-in limiter record it. It is read from `X-Forwarded-For` only
//! when the request came through a proxy the operator named; otherwise a
//! client could name any address, and aim inbound calls at another machine.
//! The proxies are `config::TrustedProxies`; what they vouch for is read
//! here.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::{Cidr, TrustedProxies};

impl TrustedProxies {
    pub fn new(blocks: Vec<Cidr>) -> Self {
        TrustedProxies(blocks)
    }

    /// Whether the client reached a trusted proxy over HTTPS, as its
    /// `X-Forwarded-Proto` says: the proxy terminated TLS, and the server's
    /// cookies must still be `Secure`. From anyone else the header is not
    /// believed.
    pub fn forwarded_https(&self, peer: SocketAddr, headers: &HeaderMap) -> bool {
        if !self.trusts(peer.ip()) {
            return false;
        }
        // With several proxies the first (the client's side) is leftmost.
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted
    /// proxy; then the nearest address in `X-Forwarded-For` that is not a
    /// trusted proxy itself. The port is unknown then, and 0.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if self.0.is_empty() || !self.trusts(peer.ip()) {
            return peer;
        }
        // Each proxy appends the address it got the request from; only the
        // entries our own proxies appended can be believed, so walk from
        // the right and stop at the first one they did not vouch for.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                // A garbled entry: nothing left of it can be believed.
                return peer;
            };
            if !self.trusts(ip) {
                return SocketAddr::new(ip, 0);
            }
        }
        peer
    }
}

/// `192.0.2.7`, `2001:db8::1`, `[2001:db8::1]:443` or `192.0.2.7:5000`.
fn parse_entry(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(
            c.contains("::ffff:10.1.0.9".parse().unwrap()),
            "IPv4-mapped"
        );
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.1".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0/8", "nginx", "::1/129", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_forwarded_address_counts_only_through_a_trusted_proxy() {
        let trusted = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let lb = peer("10.0.0.5:40000");
        // Through the balancer: the client it saw.
        assert_eq!(
            trusted.client(lb, &headers(&["198.51.100.4"])).ip(),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // A client that sends its own header gets its lie ignored: the
        // balancer appends the real address last.
        assert_eq!(
            trusted
                .client(lb, &headers(&["192.0.2.99, 198.51.100.4"]))
                .ip(),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // Two of our proxies in a row, and headers split over lines.
        assert_eq!(
            trusted
                .client(lb, &headers(&["198.51.100.4", "10.0.0.9"]))
                .ip(),
            "198.51.100.4".parse::<IpAddr>().unwrap()
        );
        // Not from a trusted proxy: the peer, whatever the header says.
        let direct = peer("203.0.113.8:5555");
        assert_eq!(trusted.client(direct, &headers(&["10.0.0.1"])), direct);
        // Nothing trusted at all (the default): the peer.
        assert_eq!(
            TrustedProxies::default().client(lb, &headers(&["198.51.100.4"])),
            lb
        );
        // HTTPS at the proxy counts only from the proxy.
        let mut h = headers(&["198.51.100.4"]);
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(trusted.forwarded_https(lb, &h));
        assert!(!trusted.forwarded_https(direct, &h));
        assert!(!TrustedProxies::default().forwarded_https(lb, &h));
        h.insert("x-forwarded-proto", "http".parse().unwrap());
        assert!(!trusted.forwarded_https(lb, &h));
        // Garbled or missing: the peer.
        assert_eq!(trusted.client(lb, &headers(&["unknown"])), lb);
        assert_eq!(trusted.client(lb, &HeaderMap::new()), lb);
        assert_eq!(
            trusted.client(lb, &headers(&["[2001:db8::1]:443"])).ip(),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
