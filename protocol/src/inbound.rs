//! The inbound push call, for networks that forbid long-lived connections:
//! the server opens a short HTTP call to an agent that listens, saying only
//! "check now". The call carries no content; it proves it comes from the
//! server with an HMAC-SHA256, under a secret the server handed to that
//! agent in a poll answer, over a timestamp, a nonce and the agent's host.
//! A captured call is worth nothing elsewhere (the host is signed), later
//! (the timestamp) or twice (the nonce).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `POST` with an empty body and the three headers below.
pub const INBOUND_PATH: &str = "/herald/v1/check";
/// Unix seconds, server clock.
pub const HEADER_TIMESTAMP: &str = "x-herald-timestamp";
/// 32 to 64 hex digits, never reused.
pub const HEADER_NONCE: &str = "x-herald-nonce";
/// Hex HMAC-SHA256 of [`signed_text`].
pub const HEADER_SIGNATURE: &str = "x-herald-signature";
/// A call signed further than this from the agent's idea of the server's
/// clock is stale.
pub const INBOUND_WINDOW_SECS: i64 = 30;

/// What is signed. The version prefix keeps a future format from ever
/// verifying as this one.
pub fn signed_text(timestamp: i64, nonce: &str, host: &str) -> String {
    format!("herald-check-v1\n{timestamp}\n{nonce}\n{host}")
}

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

/// The signature header's value.
pub fn sign(secret: &str, timestamp: i64, nonce: &str, host: &str) -> String {
    let mut m = mac(secret);
    m.update(signed_text(timestamp, nonce, host).as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Checks a signature in constant time.
pub fn verify(secret: &str, timestamp: i64, nonce: &str, host: &str, signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(signed_text(timestamp, nonce, host).as_bytes());
    m.verify_slice(&sig).is_ok()
}

/// Whether a nonce has the shape the server gives it.
pub fn nonce_is_well_formed(nonce: &str) -> bool {
    (32..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_binds_secret_time_nonce_and_host() {
        let n = "0123456789abcdef0123456789abcdef";
        let s = sign("k", 1_700_000_000, n, "pc-1");
        assert_eq!(s.len(), 64);
        assert!(verify("k", 1_700_000_000, n, "pc-1", &s));
        assert!(!verify("other", 1_700_000_000, n, "pc-1", &s));
        assert!(!verify("k", 1_700_000_001, n, "pc-1", &s));
        assert!(!verify(
            "k",
            1_700_000_000,
            &n.replace('0', "1"),
            "pc-1",
            &s
        ));
        assert!(!verify("k", 1_700_000_000, n, "pc-2", &s));
        assert!(!verify("k", 1_700_000_000, n, "pc-1", "zz"));
        assert!(!verify("k", 1_700_000_000, n, "pc-1", ""));
    }

    #[test]
    fn nonce_shape() {
        assert!(nonce_is_well_formed(&"a".repeat(32)));
        assert!(!nonce_is_well_formed(&"a".repeat(31)));
        assert!(!nonce_is_well_formed(&"g".repeat(32)));
        assert!(!nonce_is_well_formed(&"a".repeat(65)));
    }
}
