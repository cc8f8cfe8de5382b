//! Tokens: generated at random, stored only as hashes, checked on every
//! call (the bearer token of a request is read by `http::extract`).

use rand::Rng;
use sha2::{Digest, Sha256};

/// A new secret token: 32 random bytes, hex.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A short random identifier, easy to type: no 0/o, 1/l/i.
pub fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Text safe in a file name: letters, digits, '-' and '_' only.
pub fn safe_file_part(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(64)
        .collect()
}
