//! Bundles: what a site relay and the central server send each other, by
//! HTTPS or by mail. A bundle is JSON, signed with the sender's ed25519
//! key and numbered per direction, in a text form that survives mail: a
//! magic line, base64 in short lines, the signature likewise, an end line.
//!
//! The body is sealed to the receiver's key (X25519 from its ed25519 key,
//! then ChaCha20-Poly1305), so that a copy in a mailbox or a proxy's log
//! tells nothing of the messages, receipts or users it carries; the
//! envelope (site, direction, numbers, time) stays readable, to pick the
//! key that checks it.
//!
//! Numbering makes a bundle's arrival idempotent: each side applies only a
//! number above the highest it applied, and each bundle carries everything
//! the other side has not acknowledged, so a newer bundle holds all an
//! older, lost or late one held.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The first line of every bundle; in a mailbox, what tells Herald's mail
/// from any other.
pub const MAGIC: &str = "HERALD-BUNDLE 1";
const SIGNATURE: &str = "SIGNATURE";
const END: &str = "END HERALD-BUNDLE";
/// Base64 lines short enough for any mail transport to pass as they are
/// (7bit, under 76 characters with the line end).
const LINE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the central server to a site.
    Down,
    /// From a site to the central server.
    Up,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Down => "down",
            Direction::Up => "up",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle<T> {
    pub site: String,
    pub direction: Direction,
    /// Numbered from 1 per site and direction.
    pub number: i64,
    /// The highest number of the other direction the sender has applied.
    pub ack: i64,
    /// With `nonce`, what makes a bundle good once and for a day only: a
    /// copy taken from a mailbox or the wire cannot be posted again later
    /// (see `check_fresh`).
    pub created: DateTime<Utc>,
    /// Random, made with the bundle; the receiver keeps the nonces it saw
    /// for `WINDOW` and refuses any it sees again. Empty in bundles from
    /// Herald versions before nonces: those are refused.
    #[serde(default)]
    pub nonce: String,
    /// The sender's Herald version, for the version warning.
    pub sender_version: String,
    pub body: T,
}

/// How long a bundle is good for after it was made. Bundles are made for
/// each exchange, so a day covers a long mail delay; the seen nonces are
/// kept as long.
pub const WINDOW: chrono::Duration = chrono::Duration::hours(24);
/// How far ahead of the receiver's clock a sender's clock may be.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a Herald bundle: {0}")]
    NotABundle(String),
    #[error("the signature does not verify with the key this site was registered with")]
    BadSignature,
    #[error("the bundle's content is unreadable: {0}")]
    Malformed(String),
    #[error("a bundle for site {found:?}, {direction}, where site {expected:?} was expected")]
    Misdirected {
        expected: String,
        found: String,
        direction: &'static str,
    },
    #[error("not a key: {0}")]
    BadKey(String),
    #[error("a stale bundle: {0}")]
    Stale(String),
    #[error("a replayed bundle: one with this nonce was received before")]
    Replayed,
    #[error("the bundle's body cannot be opened with this side's key: {0}")]
    Unsealed(String),
}

/// A new random nonce for a bundle.
pub fn new_nonce() -> String {
    B64.encode(rand::random::<[u8; 16]>())
}

/// Whether a verified bundle is still good at `now`: made within `WINDOW`
/// (and not ahead of our clock by more than `CLOCK_SKEW`), with a nonce.
/// A bundle without one comes from a Herald made before nonces; relays and
/// the central server are upgraded together, so it is refused rather than
/// let through unprotected.
pub fn check_fresh<T>(b: &Bundle<T>, now: DateTime<Utc>) -> Result<(), BundleError> {
    if b.nonce.is_empty() {
        return Err(BundleError::Stale(format!(
            "it has no nonce: made by an older Herald ({}); upgrade the relay and the \
             central server together",
            b.sender_version
        )));
    }
    if b.created < now - WINDOW {
        return Err(BundleError::Stale(format!(
            "made at {}, more than {} hours ago",
            b.created.to_rfc3339(),
            WINDOW.num_hours()
        )));
    }
    if b.created > now + CLOCK_SKEW {
        return Err(BundleError::Stale(format!(
            "made at {}, ahead of this server's clock ({}): set the clocks right",
            b.created.to_rfc3339(),
            now.to_rfc3339()
        )));
    }
    Ok(())
}

/// The bundle in its text form: its body sealed to `to`, the whole
/// signed with `key`.
pub fn seal<T: Serialize>(
    bundle: &Bundle<T>,
    key: &SigningKey,
    to: &VerifyingKey,
) -> Result<String, BundleError> {
    let malformed = |e: serde_json::Error| BundleError::Malformed(e.to_string());
    let mut value = serde_json::to_value(bundle).map_err(malformed)?;
    let body = serde_json::to_vec(&value["body"]).map_err(malformed)?;
    value["body"] =
        serde_json::json!({ SEALED: B64.encode(crate::domain::sites::seal::to(to, &body)) });
    let json = serde_json::to_vec(&value).map_err(malformed)?;
    let signature = key.sign(&json);
    let mut text = String::new();
    text.push_str(MAGIC);
    text.push('\n');
    push_lines(&mut text, &B64.encode(&json));
    text.push_str(SIGNATURE);
    text.push('\n');
    push_lines(&mut text, &B64.encode(signature.to_bytes()));
    text.push_str(END);
    text.push('\n');
    Ok(text)
}

fn push_lines(text: &mut String, encoded: &str) {
    for chunk in encoded.as_bytes().chunks(LINE) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push('\n');
    }
}

/// The signed JSON and its signature, from a bundle's text anywhere in
/// `text` (a mail's body, with whatever a mailer put around it).
fn extract(text: &str) -> Result<(Vec<u8>, Signature), BundleError> {
    let mut lines = text.lines().map(str::trim);
    if !lines.any(|l| l == MAGIC) {
        return Err(BundleError::NotABundle(format!("no {MAGIC:?} line")));
    }
    let mut content = String::new();
    let mut signature = String::new();
    let mut in_signature = false;
    for line in lines {
        match line {
            SIGNATURE => in_signature = true,
            END if in_signature => return decode(&content, &signature),
            _ if in_signature => signature.push_str(line),
            _ => content.push_str(line),
        }
    }
    Err(BundleError::Malformed(
        "cut short: no signature, or no end line".into(),
    ))
}

fn decode(content: &str, signature: &str) -> Result<(Vec<u8>, Signature), BundleError> {
    let json = B64
        .decode(content.as_bytes())
        .map_err(|e| BundleError::Malformed(format!("content: {e}")))?;
    let sig: [u8; 64] = B64
        .decode(signature.as_bytes())
        .map_err(|e| BundleError::Malformed(format!("signature: {e}")))?
        .try_into()
        .map_err(|_| BundleError::Malformed("the signature is not 64 bytes".into()))?;
    Ok((json, Signature::from_bytes(&sig)))
}

/// Whether `text` holds a bundle at all (a mail that does not is left alone).
pub fn is_bundle(text: &str) -> bool {
    text.lines().any(|l| l.trim() == MAGIC)
}

#[derive(Deserialize)]
struct Header {
    site: String,
    direction: Direction,
}

/// The site and direction a bundle says it is for, before its signature is
/// checked: to pick the key that checks it. Nothing else may be trusted.
pub fn peek(text: &str) -> Result<(String, Direction), BundleError> {
    let (json, _) = extract(text)?;
    let h: Header =
        serde_json::from_slice(&json).map_err(|e| BundleError::Malformed(e.to_string()))?;
    Ok((h.site, h.direction))
}

/// The field a sealed body is in.
const SEALED: &str = "sealed";

/// The bundle, if `from` signed it and it is for `site` in `direction`;
/// its body opened with `me`, the receiver's key.
pub fn open<T: DeserializeOwned>(
    text: &str,
    from: &VerifyingKey,
    me: &SigningKey,
    site: &str,
    direction: Direction,
) -> Result<Bundle<T>, BundleError> {
    let (json, signature) = extract(text)?;
    from.verify_strict(&json, &signature)
        .map_err(|_| BundleError::BadSignature)?;
    let malformed = |e: serde_json::Error| BundleError::Malformed(e.to_string());
    let mut value: serde_json::Value = serde_json::from_slice(&json).map_err(malformed)?;
    let sealed = value["body"][SEALED]
        .as_str()
        .ok_or_else(|| {
            BundleError::Unsealed(
                "its body is not sealed: made by an older Herald; upgrade the relay and the \
                 central server together"
                    .into(),
            )
        })?
        .to_owned();
    let sealed = B64
        .decode(sealed.as_bytes())
        .map_err(|e| BundleError::Malformed(format!("sealed body: {e}")))?;
    let body = crate::domain::sites::seal::open(me, &sealed)
        .map_err(|e| BundleError::Unsealed(e.to_string()))?;
    value["body"] = serde_json::from_slice(&body).map_err(malformed)?;
    let bundle: Bundle<T> = serde_json::from_value(value).map_err(malformed)?;
    if !bundle.site.eq_ignore_ascii_case(site) || bundle.direction != direction {
        return Err(BundleError::Misdirected {
            expected: site.to_owned(),
            found: bundle.site,
            direction: bundle.direction.as_str(),
        });
    }
    Ok(bundle)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Apply,
    /// A bundle at or below the highest applied: a duplicate, or one that
    /// arrived after a newer one that held all it held.
    AlreadyHeld,
}

pub fn arrival(number: i64, last_applied: i64) -> Arrival {
    if number > last_applied {
        Arrival::Apply
    } else {
        Arrival::AlreadyHeld
    }
}

pub fn generate_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

/// A secret key as text, for a config file.
pub fn key_text(key: &SigningKey) -> String {
    B64.encode(key.to_bytes())
}

pub fn public_text(key: &VerifyingKey) -> String {
    B64.encode(key.to_bytes())
}

fn key_bytes(text: &str) -> Result<[u8; 32], BundleError> {
    B64.decode(text.trim())
        .map_err(|e| BundleError::BadKey(e.to_string()))?
        .try_into()
        .map_err(|_| BundleError::BadKey("not 32 bytes".into()))
}

pub fn signing_key(text: &str) -> Result<SigningKey, BundleError> {
    Ok(SigningKey::from_bytes(&key_bytes(text)?))
}

pub fn verifying_key(text: &str) -> Result<VerifyingKey, BundleError> {
    VerifyingKey::from_bytes(&key_bytes(text)?).map_err(|e| BundleError::BadKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(number: i64) -> Bundle<Vec<String>> {
        Bundle {
            site: "plant-a".into(),
            direction: Direction::Up,
            number,
            ack: 3,
            created: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            nonce: "bm9uY2U=".into(),
            sender_version: "0.1.0".into(),
            body: vec!["x".repeat(300)],
        }
    }

    #[test]
    fn a_sealed_bundle_opens_with_its_key_and_survives_mail_line_endings() {
        let (key, me) = (generate_key(), generate_key());
        let text = seal(&sample(4), &key, &me.verifying_key()).unwrap();
        assert!(text.lines().all(|l| l.len() < 74), "{text}");
        let mailed = format!("Hello\r\n\r\n{}\r\n-- \r\n", text.replace('\n', "\r\n"));
        assert!(is_bundle(&mailed));
        assert_eq!(peek(&mailed).unwrap(), ("plant-a".into(), Direction::Up));
        let back: Bundle<Vec<String>> =
            open(&mailed, &key.verifying_key(), &me, "plant-a", Direction::Up).unwrap();
        assert_eq!(back, sample(4));
    }

    #[test]
    fn the_body_is_readable_by_its_receiver_only() {
        let (key, me) = (generate_key(), generate_key());
        let mut b = sample(4);
        b.body = vec!["Evacuate hall 3".into()];
        let text = seal(&b, &key, &me.verifying_key()).unwrap();
        let (json, _) = extract(&text).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert!(!json.contains("Evacuate"), "{json}");
        assert!(
            json.contains("plant-a"),
            "the envelope stays readable: {json}"
        );
        let err = open::<Vec<String>>(
            &text,
            &key.verifying_key(),
            &generate_key(),
            "plant-a",
            Direction::Up,
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::Unsealed(_)), "{err}");
        // A body in clear, as an older Herald made it, is refused.
        let plain = serde_json::to_vec(&b).unwrap();
        let signature = key.sign(&plain);
        let mut old = format!("{MAGIC}\n");
        push_lines(&mut old, &B64.encode(&plain));
        old.push_str(&format!("{SIGNATURE}\n"));
        push_lines(&mut old, &B64.encode(signature.to_bytes()));
        old.push_str(&format!("{END}\n"));
        let err = open::<Vec<String>>(&old, &key.verifying_key(), &me, "plant-a", Direction::Up)
            .unwrap_err();
        assert!(err.to_string().contains("upgrade"), "{err}");
    }

    #[test]
    fn another_key_or_a_changed_byte_is_refused() {
        let (key, me) = (generate_key(), generate_key());
        let to = me.verifying_key();
        let text = seal(&sample(1), &key, &to).unwrap();
        let other = generate_key().verifying_key();
        assert_eq!(
            open::<Vec<String>>(&text, &other, &me, "plant-a", Direction::Up).unwrap_err(),
            BundleError::BadSignature
        );
        // A forged bundle: the same header, other content, the old signature.
        let mut forged = sample(1);
        forged.body = vec!["evil".into()];
        let forged_text = seal(&forged, &generate_key(), &to).unwrap();
        let (forged_head, _) = forged_text.split_once(SIGNATURE).unwrap();
        let (_, real_sig) = text.split_once(SIGNATURE).unwrap();
        let spliced = format!("{forged_head}{SIGNATURE}{real_sig}");
        assert_eq!(
            open::<Vec<String>>(
                &spliced,
                &key.verifying_key(),
                &me,
                "plant-a",
                Direction::Up
            )
            .unwrap_err(),
            BundleError::BadSignature
        );
    }

    #[test]
    fn a_bundle_for_another_site_or_direction_is_refused() {
        let (key, me) = (generate_key(), generate_key());
        let text = seal(&sample(1), &key, &me.verifying_key()).unwrap();
        let from = key.verifying_key();
        let err = open::<Vec<String>>(&text, &from, &me, "plant-b", Direction::Up).unwrap_err();
        assert!(matches!(err, BundleError::Misdirected { .. }), "{err}");
        let err = open::<Vec<String>>(&text, &from, &me, "plant-a", Direction::Down).unwrap_err();
        assert!(matches!(err, BundleError::Misdirected { .. }), "{err}");
    }

    #[test]
    fn a_bundle_is_fresh_for_a_day_with_a_nonce_only() {
        let b = sample(1);
        assert_eq!(check_fresh(&b, b.created), Ok(()));
        assert_eq!(check_fresh(&b, b.created + WINDOW), Ok(()));
        let late = check_fresh(&b, b.created + WINDOW + chrono::Duration::seconds(1));
        assert!(matches!(late, Err(BundleError::Stale(_))), "{late:?}");
        let early = check_fresh(&b, b.created - CLOCK_SKEW - chrono::Duration::seconds(1));
        assert!(matches!(early, Err(BundleError::Stale(_))), "{early:?}");
        // A bundle from before nonces: no `nonce` in its JSON at all.
        let mut json = serde_json::to_value(&b).unwrap();
        json.as_object_mut().unwrap().remove("nonce");
        let old: Bundle<Vec<String>> = serde_json::from_value(json).unwrap();
        let err = check_fresh(&old, b.created).unwrap_err();
        assert!(err.to_string().contains("upgrade"), "{err}");
        assert_ne!(new_nonce(), new_nonce());
    }

    #[test]
    fn text_without_a_bundle_is_not_one() {
        assert!(!is_bundle("Subject: lunch\n\nsee you at noon"));
        assert!(matches!(
            peek("see you at noon"),
            Err(BundleError::NotABundle(_))
        ));
        assert!(matches!(
            peek(&format!("{MAGIC}\nAAAA\n")),
            Err(BundleError::Malformed(_))
        ));
    }

    #[test]
    fn only_a_number_above_the_last_applied_is_applied() {
        assert_eq!(arrival(1, 0), Arrival::Apply);
        assert_eq!(arrival(5, 3), Arrival::Apply);
        assert_eq!(arrival(3, 3), Arrival::AlreadyHeld);
        assert_eq!(arrival(2, 3), Arrival::AlreadyHeld);
    }

    #[test]
    fn keys_round_trip_as_text() {
        let key = generate_key();
        let back = signing_key(&key_text(&key)).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
        let public = verifying_key(&public_text(&key.verifying_key())).unwrap();
        assert_eq!(public, key.verifying_key());
        assert!(signing_key("short").is_err());
    }
}
