//! Sealing a bundle's body to the receiver: anonymous public-key
//! encryption to an ed25519 key, as its X25519 (Montgomery) form. A fresh
//! key pair per bundle; the shared secret, with both public keys, hashed
//! into a ChaCha20-Poly1305 key. Who sent it is the bundle's signature's
//! job, not this.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Domain separation: this key is for nothing else.
const LABEL: &[u8] = b"herald bundle seal v1";
const POINT: usize = 32;
const NONCE: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("too short to be sealed")]
    Short,
    #[error("sealed to another key, or changed on the way")]
    WrongKeyOrChanged,
    #[error("a degenerate key")]
    Degenerate,
}

fn key(shared: &MontgomeryPoint, ephemeral: &MontgomeryPoint, to: &MontgomeryPoint) -> Key {
    let mut h = Sha256::new();
    h.update(LABEL);
    h.update(shared.as_bytes());
    h.update(ephemeral.as_bytes());
    h.update(to.as_bytes());
    Key::from(<[u8; 32]>::from(h.finalize()))
}

/// `plain` sealed to `to`: the ephemeral public key, the nonce, then the
/// ciphertext with its tag.
pub fn to(to: &VerifyingKey, plain: &[u8]) -> Vec<u8> {
    let to = to.to_montgomery();
    let secret: [u8; 32] = rand::random();
    let ephemeral = MontgomeryPoint::mul_base_clamped(secret);
    let shared = to.mul_clamped(secret);
    let nonce: [u8; NONCE] = rand::random();
    let cipher = ChaCha20Poly1305::new(&key(&shared, &ephemeral, &to));
    // Encrypting to memory cannot fail short of running out of it.
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plain)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(POINT + NONCE + sealed.len());
    out.extend_from_slice(ephemeral.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// What `to` sealed for `me`.
pub fn open(me: &SigningKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < POINT + NONCE {
        return Err(SealError::Short);
    }
    let (point, rest) = sealed.split_at(POINT);
    let (nonce, ciphertext) = rest.split_at(NONCE);
    let mut bytes = [0u8; POINT];
    bytes.copy_from_slice(point);
    let ephemeral = MontgomeryPoint(bytes);
    let shared = ephemeral.mul_clamped(me.to_scalar_bytes());
    // A low-order point gives a secret anyone knows.
    if shared.as_bytes() == &[0u8; POINT] {
        return Err(SealError::Degenerate);
    }
    let mine = me.verifying_key().to_montgomery();
    ChaCha20Poly1305::new(&key(&shared, &ephemeral, &mine))
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .map_err(|_| SealError::WrongKeyOrChanged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_receivers_key_opens_it_and_a_changed_byte_is_refused() {
        let site = crate::domain::sites::bundle::generate_key();
        let other = crate::domain::sites::bundle::generate_key();
        let plain = b"Evacuate hall 3";
        let sealed = to(&site.verifying_key(), plain);
        assert!(!sealed.windows(plain.len()).any(|w| w == plain));
        assert_eq!(open(&site, &sealed).unwrap(), plain);
        assert_eq!(open(&other, &sealed), Err(SealError::WrongKeyOrChanged));
        let mut changed = sealed.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert_eq!(open(&site, &changed), Err(SealError::WrongKeyOrChanged));
        assert_eq!(open(&site, &sealed[..20]), Err(SealError::Short));
        // Each seal is new: the same text twice looks different.
        assert_ne!(to(&site.verifying_key(), plain), sealed);
    }
}
