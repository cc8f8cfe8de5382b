//! The server keys this agent trusts to sign messages: configured (machine
//! or user config, `server_key`), learned at enrollment, or certified by a
//! key already trusted (a rotation). Kept in a file beside the store.
//! At a site relay's agents a key reads `KEY@SITE`: the central server's
//! key, which may also vouch for that site's relay (`SiteCert`).

use std::path::{Path, PathBuf};

use herald_protocol::signing::{self, Trust};

/// The file beside the store.
pub const TRUST_FILE: &str = "server-keys.json";

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "bad server_key '{key}': {reason} (give the 64 hex digits 'herald-server key show' prints)"
    )]
    BadKey { key: String, reason: String },
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Where the trusted keys of the store at `store` are kept.
pub fn file_of(store: &Path) -> PathBuf {
    store
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(TRUST_FILE)
}

/// Configured keys, checked: several may be given, separated by commas or
/// spaces (the keys valid during a rotation), each `KEY` or `KEY@SITE`.
pub fn parse_configured(text: &str) -> Result<Vec<String>, TrustError> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            signing::parse_trusted(k)
                .map(|_| k.to_ascii_lowercase())
                .map_err(|e| TrustError::BadKey {
                    key: k.to_owned(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

/// The keys kept in `file`, with `configured` added.
pub fn load(file: &Path, configured: &[String]) -> Result<Trust, TrustError> {
    let mut trust = match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| TrustError::Read {
            path: file.display().to_string(),
            reason: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Trust::default(),
        Err(e) => {
            return Err(TrustError::Read {
                path: file.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    for k in configured {
        let (key, site) = signing::parse_trusted(k).map_err(|e| TrustError::BadKey {
            key: k.clone(),
            reason: e.to_string(),
        })?;
        let hex = signing::key_hex(&key);
        // A key kept already keeps its expiry, unless its site changed.
        if !trust.keys.iter().any(|t| t.key == hex && t.site == site) {
            trust.add_for(&key, site.as_deref());
        }
    }
    Ok(trust)
}

/// Keeps `trust` in `file`, whole or not at all.
pub fn save(file: &Path, trust: &Trust) -> Result<(), TrustError> {
    let failed = |e: &dyn std::fmt::Display| TrustError::Write {
        path: file.display().to_string(),
        reason: e.to_string(),
    };
    let text = serde_json::to_string_pretty(trust).map_err(|e| failed(&e))?;
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| failed(&e))?;
    std::fs::rename(&tmp, file).map_err(|e| failed(&e))
}

/// Says at start whether messages are verified, and with which keys.
pub fn log_standing(store: &Path, configured: &[String]) {
    match load(&file_of(store), configured) {
        Ok(t) if t.is_empty() => {
            tracing::warn!("messages are not verified: no server key configured")
        }
        Ok(t) => tracing::info!(
            keys = t.keys.len(),
            "messages are verified with the server's key"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "the server keys cannot be read: every message will be refused until fixed")
        }
    }
}

/// Adds keys the server gave at enrollment, unless keys are trusted
/// already: then a server (or someone in between) could not swap them.
pub fn remember_enrolled(file: &Path, keys: &[String]) -> Result<bool, TrustError> {
    let mut trust = load(file, &[])?;
    if !trust.is_empty() || keys.is_empty() {
        return Ok(false);
    }
    for k in parse_configured(&keys.join(","))? {
        if let Ok((key, site)) = signing::parse_trusted(&k) {
            trust.add_for(&key, site.as_deref());
        }
    }
    save(file, &trust)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_keys_are_checked_and_enrollment_never_replaces_trust() {
        assert!(matches!(
            parse_configured("abc"),
            Err(TrustError::BadKey { .. })
        ));
        let k1 = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
        assert_eq!(
            parse_configured(&format!(" {k1} ,")).unwrap(),
            vec![k1.to_owned()]
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(TRUST_FILE);
        assert!(load(&file, &[]).unwrap().is_empty());
        assert!(remember_enrolled(&file, &[k1.to_owned()]).unwrap());
        let other = hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[9; 32])
                .verifying_key()
                .as_bytes(),
        );
        assert!(!remember_enrolled(&file, &[other]).unwrap());
        let t = load(&file, &[]).unwrap();
        assert_eq!(t.keys.len(), 1);
        assert_eq!(t.keys[0].key, k1);
        assert_eq!(t.keys[0].site, None);
        // A relay's agent: the central key, which vouches for its site.
        let t = load(&file, &[format!("{k1}@plant-a")]).unwrap();
        assert_eq!(t.keys.len(), 1);
        assert_eq!(t.keys[0].site.as_deref(), Some("plant-a"));
        let relay_agent = dir.path().join("relay-agent.json");
        assert!(remember_enrolled(&relay_agent, &[format!("{k1}@Plant-A")]).unwrap());
        let t = load(&relay_agent, &[]).unwrap();
        assert_eq!(t.keys[0].site.as_deref(), Some("plant-a"));
    }
}
