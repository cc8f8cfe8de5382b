//! Message signatures: the server signs every message revision with an
//! Ed25519 key kept outside its database, and agents that know the key
//! refuse anything it did not sign. Both sides use the canonical form here.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Message;

/// Prefixes every signed message revision, so that no other signed bytes
/// (a key certificate, a relay's bundle) can pass for one.
pub const MESSAGE_DOMAIN: &[u8] = b"herald message revision\0";
/// Prefixes every key certificate.
pub const CERT_DOMAIN: &[u8] = b"herald signing key certificate\0";
/// Prefixes every certificate of a site relay's key: a different domain,
/// so that a site's certificate can never pass for a rotation.
pub const SITE_CERT_DOMAIN: &[u8] = b"herald site key certificate\0";
/// The version of both canonical forms.
pub const CANONICAL_VERSION: u8 = 1;

/// How a message revision was signed, as the agent receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageSignature {
    /// The fingerprint of the key that signed (`key_id`).
    pub key: String,
    /// The Ed25519 signature of `canonical(message)`, hex: what agents
    /// that predate languages and answers check, over the default version.
    pub sig: String,
    /// When the message has extras (other languages, answers, fullscreen,
    /// a sound): the signature of `canonical_full(message)`, hex, which
    /// agents that know extras check instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<String>,
    /// Certificates from older keys to this one, oldest first, so that an
    /// agent that knows an older key can come to trust this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<KeyCert>,
    /// When a site relay signed: the central server's certificate of the
    /// relay's key, good for that site's agents only. Not covered by `sig`:
    /// the relay attaches its newest when it serves the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteCert>,
}

/// A site relay's signing key, certified by the central server for the
/// agents of that site, until a date: the central server renews it at each
/// exchange, and a site it drops stops being believed when it lapses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteCert {
    /// The site's name, as the central server registered it.
    pub site: String,
    /// The relay's public key, hex.
    pub key: String,
    /// The fingerprint of the central key that signed.
    pub signed_by: String,
    pub valid_until: DateTime<Utc>,
    /// Ed25519 signature by the central key of `site_cert_bytes`, hex.
    pub sig: String,
    /// Certificates from older central keys to the one that signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<KeyCert>,
}

/// A new signing key, vouched for by the key before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyCert {
    /// The new public key, hex.
    pub key: String,
    /// The fingerprint of the older key that signed this certificate.
    pub signed_by: String,
    /// Until when the older key's signatures stay good.
    pub old_valid_until: DateTime<Utc>,
    /// Ed25519 signature by the older key of `cert_bytes`, hex.
    pub sig: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the message is not signed")]
    Missing,
    #[error("signed by key {0}, which this agent does not trust")]
    UnknownKey(String),
    #[error("signed by key {0}, whose validity ended at {1}")]
    ExpiredKey(String, DateTime<Utc>),
    #[error("the signature does not match the message")]
    Mismatch,
    #[error("signed by site {0}'s relay, which this agent does not belong to")]
    OtherSite(String),
    #[error("signed by a site relay whose certificate ended at {0}")]
    ExpiredSiteCert(DateTime<Utc>),
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

/// The bytes a message revision's signature covers: every field the agent
/// shows or acts on, each length-prefixed so that no two messages share
/// an encoding.
pub fn canonical(m: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(MESSAGE_DOMAIN.len() + 128 + m.body.len());
    out.extend_from_slice(MESSAGE_DOMAIN);
    out.push(CANONICAL_VERSION);
    put_str(&mut out, &m.id);
    out.extend_from_slice(&m.revision.to_be_bytes());
    put_str(&mut out, m.severity.as_str());
    put_str(&mut out, &m.title);
    put_str(&mut out, &m.body);
    put_str(&mut out, &m.sender);
    out.extend_from_slice(&m.valid_from.timestamp_millis().to_be_bytes());
    out.extend_from_slice(&m.valid_until.timestamp_millis().to_be_bytes());
    put_str(&mut out, m.receipt.as_str());
    out.extend_from_slice(&m.revised_at.timestamp_millis().to_be_bytes());
    out
}

/// The version of the canonical form that covers the extras.
pub const CANONICAL_FULL_VERSION: u8 = 2;

/// Whether a message carries anything `canonical` does not cover.
pub fn has_extras(m: &Message) -> bool {
    !m.extras.is_plain() || !m.sound.is_none()
}

/// `canonical`'s fields under another version, then every extra: the
/// default language, each translation with its answers, the answers,
/// the display and the sound. Counts are prefixed as lengths are.
pub fn canonical_full(m: &Message) -> Vec<u8> {
    let mut out = canonical(m);
    out[MESSAGE_DOMAIN.len()] = CANONICAL_FULL_VERSION;
    let x = &m.extras;
    put_str(&mut out, x.lang.as_deref().unwrap_or(""));
    put_list(&mut out, &x.answers);
    out.extend_from_slice(&(x.translations.len() as u32).to_be_bytes());
    for t in &x.translations {
        put_str(&mut out, &t.lang);
        put_str(&mut out, &t.title);
        put_str(&mut out, &t.body);
        put_list(&mut out, &t.answers);
    }
    put_str(&mut out, x.display.as_str());
    put_str(&mut out, m.sound.as_str());
    out
}

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    out.extend_from_slice(&(items.len() as u32).to_be_bytes());
    for s in items {
        put_str(out, s);
    }
}

/// The bytes a key certificate's signature covers.
pub fn cert_bytes(new_key: &[u8; 32], signed_by: &str, old_valid_until: DateTime<Utc>) -> Vec<u8> {
    let mut out = Vec::with_capacity(CERT_DOMAIN.len() + 64);
    out.extend_from_slice(CERT_DOMAIN);
    out.push(CANONICAL_VERSION);
    out.extend_from_slice(new_key);
    put_str(&mut out, signed_by);
    out.extend_from_slice(&old_valid_until.timestamp_millis().to_be_bytes());
    out
}

/// The bytes a site certificate's signature covers. Site names compare
/// without case, as everywhere in Herald, so the lower-case form is signed.
pub fn site_cert_bytes(
    site: &str,
    key: &[u8; 32],
    signed_by: &str,
    valid_until: DateTime<Utc>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(SITE_CERT_DOMAIN.len() + 96);
    out.extend_from_slice(SITE_CERT_DOMAIN);
    out.push(CANONICAL_VERSION);
    put_str(&mut out, &site.to_ascii_lowercase());
    out.extend_from_slice(key);
    put_str(&mut out, signed_by);
    out.extend_from_slice(&valid_until.timestamp_millis().to_be_bytes());
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Fields are bounded far below 4 GiB (MAX_BODY_BYTES).
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A key's short fingerprint: the first 8 bytes of its SHA-256, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// A public key as configs and the trust file write it.
pub fn key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// A public key as written in configs: 64 hex digits.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, SignatureError> {
    let malformed = |reason: String| SignatureError::Malformed {
        what: "public key",
        reason,
    };
    let bytes = hex::decode(text.trim()).map_err(|e| malformed(e.to_string()))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| malformed("not 32 bytes (64 hex digits)".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| malformed(e.to_string()))
}

fn parse_sig(text: &str) -> Result<ed25519_dalek::Signature, SignatureError> {
    let malformed = |reason: String| SignatureError::Malformed {
        what: "signature",
        reason,
    };
    let bytes = hex::decode(text).map_err(|e| malformed(e.to_string()))?;
    let bytes: [u8; 64] = bytes
        .try_into()
        .map_err(|_| malformed("not 64 bytes".into()))?;
    Ok(ed25519_dalek::Signature::from_bytes(&bytes))
}

/// Signs a message revision with `key`; `chain` leads from older keys to it.
pub fn sign(m: &Message, key: &SigningKey, chain: &[KeyCert]) -> MessageSignature {
    MessageSignature {
        key: key_id(&key.verifying_key()),
        sig: hex::encode(key.sign(&canonical(m)).to_bytes()),
        full: has_extras(m).then(|| hex::encode(key.sign(&canonical_full(m)).to_bytes())),
        chain: chain.to_vec(),
        site: None,
    }
}

/// Certifies a site relay's key with the central key, for that site's
/// agents until `valid_until`; `chain` leads from older central keys.
pub fn certify_site(
    central: &SigningKey,
    chain: &[KeyCert],
    site: &str,
    relay: &VerifyingKey,
    valid_until: DateTime<Utc>,
) -> SiteCert {
    let signed_by = key_id(&central.verifying_key());
    let sig = central.sign(&site_cert_bytes(
        site,
        relay.as_bytes(),
        &signed_by,
        valid_until,
    ));
    SiteCert {
        site: site.to_ascii_lowercase(),
        key: hex::encode(relay.as_bytes()),
        signed_by,
        valid_until,
        sig: hex::encode(sig.to_bytes()),
        chain: chain.to_vec(),
    }
}

/// A site name as an agent's config may give it after a key (`KEY@SITE`).
fn check_site(site: &str) -> Result<String, SignatureError> {
    let ok = !site.is_empty()
        && site.len() <= 64
        && site
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(site.to_ascii_lowercase())
    } else {
        Err(SignatureError::Malformed {
            what: "site name",
            reason: format!("'{site}': letters, digits, '.', '_' and '-' only, at most 64"),
        })
    }
}

/// A trusted key as configured: `KEY` (64 hex digits), or `KEY@SITE` for
/// the agents of a site relay: the central server's key, which may also
/// vouch for that site's relay.
pub fn parse_trusted(text: &str) -> Result<(VerifyingKey, Option<String>), SignatureError> {
    match text.trim().split_once('@') {
        Some((key, site)) => Ok((parse_public_key(key)?, Some(check_site(site.trim())?))),
        None => Ok((parse_public_key(text)?, None)),
    }
}

/// Certifies `new` with `old`, whose signatures stay good until `old_valid_until`.
pub fn certify(old: &SigningKey, new: &VerifyingKey, old_valid_until: DateTime<Utc>) -> KeyCert {
    let signed_by = key_id(&old.verifying_key());
    let sig = old.sign(&cert_bytes(new.as_bytes(), &signed_by, old_valid_until));
    KeyCert {
        key: hex::encode(new.as_bytes()),
        signed_by,
        old_valid_until,
        sig: hex::encode(sig.to_bytes()),
    }
}

/// A key the agent trusts, and until when (a key retired by a rotation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// Hex.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// The site whose relay this key may vouch for (see `SiteCert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// The keys an agent trusts. Grows only through certificates signed by a
/// key it already trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    pub keys: Vec<TrustedKey>,
}

impl Trust {
    pub fn new(keys: &[VerifyingKey]) -> Self {
        let mut t = Trust::default();
        for k in keys {
            t.add(k);
        }
        t
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a key (again: a key given anew by configuration loses any expiry).
    pub fn add(&mut self, key: &VerifyingKey) {
        self.add_for(key, None);
    }

    /// Adds a key that may also vouch for the relay of `site`.
    pub fn add_for(&mut self, key: &VerifyingKey, site: Option<&str>) {
        let hex = hex::encode(key.as_bytes());
        let site = site.map(str::to_ascii_lowercase);
        match self.keys.iter_mut().find(|k| k.key == hex) {
            Some(k) => {
                k.valid_until = None;
                k.site = site;
            }
            None => self.keys.push(TrustedKey {
                key: hex,
                valid_until: None,
                site,
            }),
        }
    }

    fn find(&self, id: &str) -> Option<(VerifyingKey, Option<DateTime<Utc>>)> {
        self.find_entry(id).map(|(k, e)| (k, e.valid_until))
    }

    fn find_entry(&self, id: &str) -> Option<(VerifyingKey, &TrustedKey)> {
        self.keys.iter().find_map(|k| {
            let key = parse_public_key(&k.key).ok()?;
            (key_id(&key) == id).then_some((key, k))
        })
    }

    /// Follows certificates from a trusted key; true when it learned a key.
    pub fn learn(&mut self, chain: &[KeyCert]) -> bool {
        let mut learned = false;
        for cert in chain {
            let Ok(new) = parse_public_key(&cert.key) else {
                continue;
            };
            if self.find(&key_id(&new)).is_some() {
                continue;
            }
            let Some((old, _)) = self.find(&cert.signed_by) else {
                continue;
            };
            let Ok(sig) = parse_sig(&cert.sig) else {
                continue;
            };
            let bytes = cert_bytes(new.as_bytes(), &cert.signed_by, cert.old_valid_until);
            if old.verify(&bytes, &sig).is_ok() {
                let old_hex = hex::encode(old.as_bytes());
                let mut site = None;
                if let Some(k) = self.keys.iter_mut().find(|k| k.key == old_hex) {
                    k.valid_until = Some(cert.old_valid_until);
                    site = k.site.clone();
                }
                // The central server's new key vouches for the same site.
                self.keys.push(TrustedKey {
                    key: cert.key.clone(),
                    valid_until: None,
                    site,
                });
                learned = true;
            }
        }
        learned
    }

    /// Whether `m` carries a good signature by a key trusted at `now`, or
    /// by a site relay's key that a trusted key certified for this agent's
    /// site. Learns keys from the chains first.
    pub fn verify(&mut self, m: &Message, now: DateTime<Utc>) -> Result<(), SignatureError> {
        let s = m.signature.as_ref().ok_or(SignatureError::Missing)?;
        self.learn(&s.chain);
        let key = match (self.find(&s.key), &s.site) {
            (Some((key, until)), _) => {
                if let Some(until) = until.filter(|u| *u <= now) {
                    return Err(SignatureError::ExpiredKey(s.key.clone(), until));
                }
                key
            }
            (None, Some(cert)) => self.certified(cert, &s.key, now)?,
            (None, None) => return Err(SignatureError::UnknownKey(s.key.clone())),
        };
        // A message with extras must have them signed: `sig` alone covers
        // only the default version.
        let (bytes, sig) = if has_extras(m) {
            let full = s.full.as_deref().ok_or(SignatureError::Mismatch)?;
            (canonical_full(m), full)
        } else {
            (canonical(m), s.sig.as_str())
        };
        key.verify(&bytes, &parse_sig(sig)?)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// The relay key `cert` certifies, if it is the one that signed
    /// (`signer`), for a site one of our keys may vouch for, and good at
    /// `now`. The relay's key is never kept: it cannot certify anything.
    fn certified(
        &mut self,
        cert: &SiteCert,
        signer: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifyingKey, SignatureError> {
        self.learn(&cert.chain);
        let relay = parse_public_key(&cert.key)?;
        if key_id(&relay) != signer {
            return Err(SignatureError::UnknownKey(signer.to_owned()));
        }
        let (central, entry) = self
            .find_entry(&cert.signed_by)
            .ok_or_else(|| SignatureError::UnknownKey(cert.signed_by.clone()))?;
        if entry.site.as_deref() != Some(cert.site.to_ascii_lowercase().as_str()) {
            return Err(SignatureError::OtherSite(cert.site.clone()));
        }
        if let Some(until) = entry.valid_until.filter(|u| *u <= now) {
            return Err(SignatureError::ExpiredKey(cert.signed_by.clone(), until));
        }
        if cert.valid_until <= now {
            return Err(SignatureError::ExpiredSiteCert(cert.valid_until));
        }
        let bytes = site_cert_bytes(
            &cert.site,
            relay.as_bytes(),
            &cert.signed_by,
            cert.valid_until,
        );
        central
            .verify(&bytes, &parse_sig(&cert.sig)?)
            .map_err(|_| SignatureError::Mismatch)?;
        Ok(relay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReceiptPolicy, Severity};
    use chrono::TimeZone;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn message() -> Message {
        let t = |s: i64| Utc.timestamp_millis_opt(1_800_000_000_000 + s).unwrap();
        Message {
            id: "m1".into(),
            revision: 2,
            severity: Severity::Alert,
            title: "Fire drill".into(),
            body: "Leave by the **east** stairs.".into(),
            sender: "Facilities".into(),
            valid_from: t(0),
            valid_until: t(3_600_000),
            receipt: ReceiptPolicy::Both,
            revised_at: t(-5),
            signature: None,
            extras: crate::Extras::default(),
            sound: crate::Sound::None,
        }
    }

    fn with_extras() -> Message {
        let mut m = message();
        m.extras = crate::Extras {
            lang: Some("en".into()),
            translations: vec![crate::Translation {
                lang: "fr".into(),
                title: "Exercice".into(),
                body: "Sortez".into(),
                answers: vec!["Je suis dehors".into(), "J'ai besoin d'aide".into()],
            }],
            answers: vec!["I am out".into(), "I need help".into()],
            display: crate::Display::Fullscreen,
        };
        m.sound = crate::Sound::Alert;
        m
    }

    #[test]
    fn extras_are_signed_and_an_old_agent_checks_the_default_version() {
        let k = key(1);
        let mut m = with_extras();
        m.signature = Some(sign(&m, &k, &[]));
        assert!(m.signature.as_ref().unwrap().full.is_some());
        let mut trust = Trust::new(&[k.verifying_key()]);
        assert_eq!(trust.verify(&m, Utc::now()), Ok(()));
        // What an agent that predates extras receives still verifies.
        assert_eq!(
            trust.verify(&m.clone().without_extras(), Utc::now()),
            Ok(())
        );
        let changes: Vec<fn(&mut Message)> = vec![
            |m| m.extras.lang = Some("de".into()),
            |m| m.extras.answers[1] = "I am fine".into(),
            |m| m.extras.answers.pop().map(drop).unwrap_or(()),
            |m| m.extras.translations[0].title.push('!'),
            |m| m.extras.translations[0].answers[0].push('!'),
            |m| m.extras.translations[0].lang = "fr-CA".into(),
            |m| m.extras.display = crate::Display::Popup,
            |m| m.sound = crate::Sound::None,
            |m| m.title.push('!'),
        ];
        for change in changes {
            let mut bad = m.clone();
            change(&mut bad);
            assert_eq!(
                trust.verify(&bad, Utc::now()),
                Err(SignatureError::Mismatch)
            );
        }
        // Extras added to a message signed without them are refused.
        let mut plain = message();
        plain.signature = Some(sign(&plain, &k, &[]));
        plain.extras.answers = vec!["Yes".into(), "No".into()];
        assert_eq!(
            trust.verify(&plain, Utc::now()),
            Err(SignatureError::Mismatch)
        );
        // A plain message is signed as before: no second signature.
        assert_eq!(sign(&message(), &k, &[]).full, None);
    }

    #[test]
    fn the_canonical_form_and_signature_match_the_test_vector() {
        let m = message();
        let bytes = canonical(&m);
        assert!(bytes.starts_with(b"herald message revision\0\x01\0\0\0\x02m1\0\0\0\x02"));
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "ef22d580d232da1f7948f419c52d95d96ca90406cc4c6133f4c2dfdeb10f8e46"
        );
        let k = key(7);
        assert_eq!(
            hex::encode(k.verifying_key().as_bytes()),
            "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
        );
        let s = sign(&m, &k, &[]);
        assert_eq!(s.key, "fe812c12f3ab4ce6");
        assert_eq!(
            s.sig,
            "310e222082cbf4bbea830c005a0f55afdb7ca8efea0ac6b40e017e495a3635f3\
             1299be3c4489d5e8f2389242ce902659447c6c1efd6027cfc4b9cb88a849ba0d"
        );
    }

    #[test]
    fn a_signed_message_verifies_and_any_changed_field_does_not() {
        let k = key(1);
        let mut m = message();
        m.signature = Some(sign(&m, &k, &[]));
        let mut trust = Trust::new(&[k.verifying_key()]);
        assert_eq!(trust.verify(&m, Utc::now()), Ok(()));
        let changes: Vec<fn(&mut Message)> = vec![
            |m| m.title.push('!'),
            |m| m.body.clear(),
            |m| m.severity = Severity::Info,
            |m| m.revision += 1,
            |m| m.sender = "IT".into(),
            |m| m.receipt = ReceiptPolicy::None,
            |m| m.valid_until += chrono::Duration::days(1),
            |m| m.valid_from -= chrono::Duration::days(1),
            |m| m.revised_at += chrono::Duration::milliseconds(1),
            |m| m.id = "m2".into(),
        ];
        for change in changes {
            let mut bad = m.clone();
            change(&mut bad);
            assert_eq!(
                trust.verify(&bad, Utc::now()),
                Err(SignatureError::Mismatch)
            );
        }
        let mut unsigned = m.clone();
        unsigned.signature = None;
        assert_eq!(
            trust.verify(&unsigned, Utc::now()),
            Err(SignatureError::Missing)
        );
        let other = key(2);
        let mut forged = m.clone();
        forged.signature = Some(sign(&m, &other, &[]));
        assert!(matches!(
            trust.verify(&forged, Utc::now()),
            Err(SignatureError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_rotated_key_is_learned_from_its_certificate_only() {
        let (old, new) = (key(1), key(2));
        let grace = Utc::now() + chrono::Duration::days(30);
        let cert = certify(&old, &new.verifying_key(), grace);
        let mut m = message();
        m.signature = Some(sign(&m, &new, std::slice::from_ref(&cert)));
        let mut trust = Trust::new(&[old.verifying_key()]);
        assert_eq!(trust.verify(&m, Utc::now()), Ok(()));
        assert_eq!(trust.keys.len(), 2);
        assert_eq!(trust.keys[0].valid_until, Some(grace));
        // The old key's signatures lapse with the grace period.
        let mut by_old = message();
        by_old.signature = Some(sign(&by_old, &old, &[]));
        assert_eq!(trust.verify(&by_old, Utc::now()), Ok(()));
        assert!(matches!(
            trust.verify(&by_old, grace + chrono::Duration::seconds(1)),
            Err(SignatureError::ExpiredKey(..))
        ));
        // A certificate by a key nobody trusts teaches nothing.
        let stranger = key(3);
        let fake = certify(&stranger, &key(4).verifying_key(), grace);
        let mut trust = Trust::new(&[old.verifying_key()]);
        assert!(!trust.learn(&[fake]));
        // Nor one whose signature was tampered with.
        let mut bent = cert;
        bent.old_valid_until += chrono::Duration::days(1);
        assert!(!trust.learn(&[bent]));
    }

    #[test]
    fn a_relay_key_is_believed_for_its_own_site_only_with_a_live_certificate() {
        let (central, relay) = (key(1), key(5));
        let now = Utc::now();
        let month = now + chrono::Duration::days(30);
        let signed = |by: &SigningKey, cert: SiteCert| {
            let mut m = message();
            let mut s = sign(&m, by, &[]);
            s.site = Some(cert);
            m.signature = Some(s);
            m
        };
        let cert = certify_site(&central, &[], "Plant-A", &relay.verifying_key(), month);
        let m = signed(&relay, cert.clone());
        let at_site = || {
            let mut t = Trust::default();
            t.add_for(&central.verifying_key(), Some("plant-a"));
            t
        };
        let mut trust = at_site();
        assert_eq!(trust.verify(&m, now), Ok(()));
        assert_eq!(trust.keys.len(), 1, "the relay's key is never kept");
        // The central server's agents, and another site's, do not believe it.
        let mut central_agent = Trust::new(&[central.verifying_key()]);
        assert_eq!(
            central_agent.verify(&m, now),
            Err(SignatureError::OtherSite("plant-a".into()))
        );
        let mut other = Trust::default();
        other.add_for(&central.verifying_key(), Some("plant-b"));
        assert!(matches!(
            other.verify(&m, now),
            Err(SignatureError::OtherSite(_))
        ));
        // Nor past the certificate's end.
        assert_eq!(
            at_site().verify(&m, month),
            Err(SignatureError::ExpiredSiteCert(month))
        );
        // A certificate names the key that signs, and the central key signs it.
        let stranger = key(6);
        assert!(matches!(
            at_site().verify(&signed(&stranger, cert.clone()), now),
            Err(SignatureError::UnknownKey(_))
        ));
        let self_made = certify_site(&relay, &[], "plant-a", &relay.verifying_key(), month);
        assert!(matches!(
            at_site().verify(&signed(&relay, self_made), now),
            Err(SignatureError::UnknownKey(_))
        ));
        let mut moved = cert.clone();
        moved.site = "plant-b".into();
        let mut at_b = Trust::default();
        at_b.add_for(&central.verifying_key(), Some("plant-b"));
        assert_eq!(
            at_b.verify(&signed(&relay, moved), now),
            Err(SignatureError::Mismatch)
        );
        let mut longer = cert;
        longer.valid_until += chrono::Duration::days(1);
        assert_eq!(
            at_site().verify(&signed(&relay, longer), now),
            Err(SignatureError::Mismatch)
        );
        // A rotation certificate cannot pass for a site's.
        let rot = certify(&central, &relay.verifying_key(), month);
        let as_site = SiteCert {
            site: "plant-a".into(),
            key: rot.key,
            signed_by: rot.signed_by,
            valid_until: month,
            sig: rot.sig,
            chain: Vec::new(),
        };
        assert_eq!(
            at_site().verify(&signed(&relay, as_site), now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_site_certificate_by_a_rotated_central_key_is_followed_and_the_site_kept() {
        let (old, new, relay) = (key(1), key(2), key(5));
        let now = Utc::now();
        let rot = certify(&old, &new.verifying_key(), now + chrono::Duration::days(30));
        let cert = certify_site(
            &new,
            std::slice::from_ref(&rot),
            "plant-a",
            &relay.verifying_key(),
            now + chrono::Duration::days(30),
        );
        let mut m = message();
        let mut s = sign(&m, &relay, &[]);
        s.site = Some(cert);
        m.signature = Some(s);
        let mut trust = Trust::default();
        trust.add_for(&old.verifying_key(), Some("plant-a"));
        assert_eq!(trust.verify(&m, now), Ok(()));
        assert_eq!(trust.keys[1].site.as_deref(), Some("plant-a"));
    }

    #[test]
    fn a_configured_key_may_name_its_site() {
        let k = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
        assert_eq!(parse_trusted(k).unwrap().1, None);
        assert_eq!(
            parse_trusted(&format!("{k}@Plant-A")).unwrap().1.as_deref(),
            Some("plant-a")
        );
        assert!(parse_trusted(&format!("{k}@")).is_err());
        assert!(parse_trusted(&format!("{k}@a b")).is_err());
        assert!(parse_trusted("zz@plant-a").is_err());
    }
}
