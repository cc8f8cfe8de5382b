//! The server's message-signing key: a file beside the database (never in
//! it, so that a copy or a hostile row of the database cannot sign), shared
//! by every instance on that database, and the signatures it makes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use herald_protocol::signing::{self as sig, KeyCert, MessageSignature, SiteCert, Trust};
use herald_protocol::{Message, MessageInfo};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::sql::{params, Conn};

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
    fn made(&self, m: &Message) -> bool {
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
pub fn default_path(db: &crate::db::Location, data_dir: &Path) -> PathBuf {
    match db {
        crate::db::Location::Sqlite(file) => file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(KEY_FILE),
        crate::db::Location::Postgres(_) => data_dir.join(KEY_FILE),
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

/// What the agent receives of a message row.
pub fn as_sent(i: &MessageInfo, signature: Option<MessageSignature>) -> Message {
    Message {
        id: i.id.clone(),
        revision: i.revision,
        severity: i.severity,
        title: i.title.clone(),
        body: i.body.clone(),
        sender: i.sender.clone(),
        valid_from: i.valid_from,
        valid_until: i.valid_until,
        receipt: i.receipt,
        revised_at: i.revised_at,
        signature,
    }
}

/// Signs the message's current revision, as stored, with the installed key.
pub fn sign_stored(conn: &Conn, info: &MessageInfo) -> Result<(), Error> {
    let Some(signer) = current() else {
        return Ok(());
    };
    store(conn, &signer, info)
}

fn store(conn: &Conn, signer: &Signer, info: &MessageInfo) -> Result<(), Error> {
    let s = signer.sign(&as_sent(info, None));
    let json = serde_json::to_string(&s).map_err(|e| Error::Internal(e.to_string()))?;
    conn.execute(
        "UPDATE messages SET signature = ?2, signing_key = ?3 WHERE id = ?1 AND revision = ?4",
        params![info.id, json, s.key, info.revision],
    )?;
    Ok(())
}

/// The stored signature of a row, from its JSON; unreadable counts as none.
pub fn parse_stored(json: Option<String>) -> Option<MessageSignature> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

/// How re-signing went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resigned {
    pub signed: u64,
    /// Signed by no key of this file (altered, or from before signing
    /// began): left as they are, and agents refuse them.
    pub refused: u64,
}

/// Re-signs with the current key every message still valid that an older
/// key of this file signed; with `adopt_unsigned` (a new key file: messages
/// from before signing began), also those with no signature at all. At a
/// relay, what the central server signed (`passed_through`) stays as it is.
pub fn resign(
    conn: &Conn,
    signer: &Signer,
    passed_through: &Trust,
    adopt_unsigned: bool,
    now: DateTime<Utc>,
) -> Result<Resigned, Error> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM messages
         WHERE withdrawn_at IS NULL AND valid_until > ?1
           AND (signing_key IS NULL OR signing_key <> ?2)",
        crate::messages::COLUMNS
    ))?;
    let rows = stmt.query_map(params![crate::db::to_ms(now), signer.key_id()], |r| {
        Ok((
            crate::messages::row_to_info(r)?,
            crate::messages::row_signature_json(r)?,
        ))
    })?;
    let rows: Vec<(MessageInfo, Option<String>)> = rows.collect::<Result<_, _>>()?;
    drop(stmt);
    let mut out = Resigned::default();
    let mut passed_through = passed_through.clone();
    for (info, stored) in rows {
        let ok = match stored {
            None => adopt_unsigned,
            Some(json) => {
                let sent = as_sent(&info, parse_stored(Some(json)));
                if passed_through.verify(&sent, now).is_ok() {
                    continue;
                }
                signer.made(&sent)
            }
        };
        if ok {
            store(conn, signer, &info)?;
            out.signed += 1;
        } else {
            tracing::warn!(message = %info.id, revision = info.revision,
                "not re-signed: its stored signature is not this server's (altered in the database?)");
            out.refused += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_made_once_private_and_rotates_with_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let now = Utc::now();
        let (first, made) = load_or_create(&path, now).unwrap();
        assert!(made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, made) = load_or_create(&path, now).unwrap();
        assert!(!made);
        assert_eq!(again.public(), first.public());

        let second = rotate(&path, Duration::days(30), now).unwrap();
        assert_ne!(second.public(), first.public());
        assert_eq!(load(&path).unwrap().public(), second.public());
        assert_eq!(
            second.valid_keys(now),
            vec![second.public_hex(), first.public_hex()]
        );
        assert_eq!(
            second.valid_keys(now + Duration::days(31)),
            vec![second.public_hex()]
        );
        // An agent that knew the first key accepts the second's signature.
        let mut trust = Trust::new(&[first.public()]);
        let m = as_sent(&sample(), None);
        let signed = Message {
            signature: Some(second.sign(&m)),
            ..m
        };
        assert_eq!(trust.verify(&signed, now), Ok(()));
    }

    fn sample() -> MessageInfo {
        let now = Utc::now();
        MessageInfo {
            id: "m".into(),
            revision: 1,
            severity: herald_protocol::Severity::Info,
            title: "t".into(),
            body: "b".into(),
            sender: "s".into(),
            to: Vec::new(),
            exclude: Vec::new(),
            valid_from: now,
            valid_until: now + Duration::hours(1),
            receipt: herald_protocol::ReceiptPolicy::Read,
            created_at: now,
            revised_at: now,
            withdrawn_at: None,
            immediate: false,
            created_by: "admin".into(),
        }
    }
}
