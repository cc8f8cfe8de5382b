//! Message signatures: each revision signed as stored with the installed
//! key (`store::keyfile`), the stored signature read back, and re-signing
//! when the key changes.

use chrono::{DateTime, Utc};
use herald_protocol::signing::{MessageSignature, Trust};
use herald_protocol::{Message, MessageInfo};

use crate::domain::messages;
use crate::error::Error;
use crate::store::keyfile::{current, Signer};
use crate::store::sql::{params, Conn};

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
        extras: i.extras.clone(),
        sound: i.sound,
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
        messages::COLUMNS
    ))?;
    let rows = stmt.query_map(
        params![crate::store::db::to_ms(now), signer.key_id()],
        |r| Ok((messages::row_to_info(r)?, messages::row_signature_json(r)?)),
    )?;
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
    use crate::store::keyfile::{load, load_or_create, rotate, KEY_FILE};
    use chrono::Duration;

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
            extras: Default::default(),
            sound: Default::default(),
        }
    }
}
