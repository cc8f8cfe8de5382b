//! The server's message-signing key: a file beside the database (never in
//! it, so that a copy or a hostile row of the database cannot sign), shared
//! by every instance on that database. The signatures it makes are
//! `domain::messages::signatures`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use herald_protocol::signing::{self as sig, KeyCert, MessageSignature, SiteCert, Trust};
use herald_protocol::Message;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::db::Location;

/// The key file's name when no path is given.
pub const KEY_FILE: &str = "signing-key";
/// How long a rotated-out key stays good when not told otherwise.
pub const DEFAULT_GRACE_DAYS: i64 = 30;

/// The key file: the current secret key, the public keys before it, and the
/// certificates that lead from the first to the current.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    /// Hex.
    secret: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    retired: Vec<Retired>,
    #[serde(default)]
    chain: Vec<KeyCert>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Retired {
    /// Hex.
    key: String,
    valid_until: DateTime<Utc>,
}

/// The loaded key: what signs, and what else is still valid.
#[derive(Debug, Clone)]
pub struct Signer {
    key: SigningKey,
    retired: Vec<(VerifyingKey, DateTime<Utc>)>,
    chain: Vec<KeyCert>,
}

impl Signer {
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.public().as_bytes())
    }

    pub fn key_id(&self) -> String {
        sig::key_id(&self.public())
    }

    /// The public keys agents may trust now, current first (hex).
    pub fn valid_keys(&self, now: DateTime<Utc>) -> Vec<String> {
        std::iter::once(self.public_hex())
            .chain(
                self.retired
                    .iter()
                    .filter(|(_, until)| *until > now)
                    .map(|(k, _)| hex::encode(k.as_bytes())),
            )
            .collect()
    }

    pub fn sign(&self, m: &Message) -> MessageSignature {
        sig::sign(m, &self.key, &self.chain)
    }

    /// Certifies a site relay's key for that site's agents until `until`.
    pub fn certify_site(&self, site: &str, relay: &VerifyingKey, until: DateTime<Utc>) -> SiteCert {
        sig::certify_site(&self.key, &self.chain, site, relay, until)
    }

    /// Whether a stored signature is this file's own work (by the current
    /// key or one retired), so that re-signing it vouches for nothing new.
    pub(crate) fn made(&self, m: &Message) -> bool {
        let mut keys: Vec<VerifyingKey> = vec![self.public()];
        keys.extend(self.retired.iter().map(|(k, _)| *k));
        Trust::new(&keys)
            .verify(m, DateTime::<Utc>::MIN_UTC)
            .is_ok()
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("signing key {}", path.display()), e)
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Internal(format!("signing key {}: {why}", path.display()))
}

/// Loads the key file, or makes one (readable by its owner only) when there
/// is none. Returns whether it was made.
pub fn load_or_create(path: &Path, now: DateTime<Utc>) -> Result<(Signer, bool), Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((parse(path, &text)?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let file = KeyFile {
                version: 1,
                secret: hex::encode(new_key().to_bytes()),
                created_at: now,
                retired: Vec::new(),
                chain: Vec::new(),
            };
            write(path, &file, true)?;
            Ok((parse(path, &serialize(&file)?)?, true))
        }
        Err(e) => Err(io(path, e)),
    }
}

pub fn load(path: &Path) -> Result<Signer, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    parse(path, &text)
}

fn new_key() -> SigningKey {
    SigningKey::from_bytes(&rand::random::<[u8; 32]>())
}

fn parse(path: &Path, text: &str) -> Result<Signer, Error> {
    let file: KeyFile = serde_json::from_str(text).map_err(|e| bad(path, e))?;
    if file.version != 1 {
        return Err(bad(path, format!("unknown version {}", file.version)));
    }
    let secret: [u8; 32] = hex::decode(file.secret.trim())
        .map_err(|e| bad(path, e))?
        .try_into()
        .map_err(|_| bad(path, "the secret key is not 32 bytes"))?;
    let retired = file
        .retired
        .iter()
        .map(|r| {
            sig::parse_public_key(&r.key)
                .map(|k| (k, r.valid_until))
                .map_err(|e| bad(path, e))
        })
        .collect::<Result<_, _>>()?;
    Ok(Signer {
        key: SigningKey::from_bytes(&secret),
        retired,
        chain: file.chain,
    })
}

fn serialize(file: &KeyFile) -> Result<String, Error> {
    serde_json::to_string_pretty(file).map_err(|e| Error::Internal(e.to_string()))
}

/// Writes whole or not at all, owner-only; `new` refuses to replace a file
/// another instance made at the same moment.
fn write(path: &Path, file: &KeyFile, new: bool) -> Result<(), Error> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(serialize(file)?.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io(&tmp, e))?;
    if new {
        // A hard link fails if the name exists: the first instance wins.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        return linked.map_err(|e| io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Makes a new current key, certified by the old one, whose signatures
/// stay good for `grace`. Returns the new signer.
pub fn rotate(path: &Path, grace: Duration, now: DateTime<Utc>) -> Result<Signer, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let mut file: KeyFile = serde_json::from_str(&text).map_err(|e| bad(path, e))?;
    let old = parse(path, &text)?;
    let new = new_key();
    let until = now
        .checked_add_signed(grace)
        .ok_or_else(|| bad(path, "grace period out of range"))?;
    file.chain
        .push(sig::certify(&old.key, &new.verifying_key(), until));
    file.retired.retain(|r| r.valid_until > now);
    file.retired.push(Retired {
        key: old.public_hex(),
        valid_until: until,
    });
    file.secret = hex::encode(new.to_bytes());
    file.created_at = now;
    write(path, &file, false)?;
    parse(path, &serialize(&file)?)
}

/// Where the key file is by default: beside a SQLite database, else in
/// the data directory.
pub fn default_path(db: &Location, data_dir: &Path) -> PathBuf {
    match db {
        Location::Sqlite(file) => file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(KEY_FILE),
        Location::Postgres(_) => data_dir.join(KEY_FILE),
    }
}

static CURRENT: RwLock<Option<Arc<Signer>>> = RwLock::new(None);

/// Makes `signer` sign every revision this process makes from now on.
pub fn install(signer: Signer) {
    let mut slot = CURRENT.write().unwrap_or_else(|p| p.into_inner());
    *slot = Some(Arc::new(signer));
}

/// The installed signer, if this process signs.
pub fn current() -> Option<Arc<Signer>> {
    CURRENT.read().unwrap_or_else(|p| p.into_inner()).clone()
}
