//! Reads the realms out of a keytab file (MIT's format, version 0x502,
//! which `ktutil`, `kadmin` and Windows' `ktpass` all write), so the
//! server takes users only from the realm its own key belongs to.

use std::path::Path;

use crate::KrbError;

/// The realms of the keys in the keytab at `path`, without repeats.
pub fn realms(path: &Path) -> Result<Vec<String>, KrbError> {
    let bytes = std::fs::read(path)
        .map_err(|e| KrbError::Failed(format!("cannot read the keytab {}: {e}", path.display())))?;
    realms_of(&bytes)
        .ok_or_else(|| KrbError::Failed(format!("{} is not a keytab", path.display())))
        .and_then(|r| {
            if r.is_empty() {
                Err(KrbError::Failed(format!(
                    "the keytab {} holds no key",
                    path.display()
                )))
            } else {
                Ok(r)
            }
        })
}

fn realms_of(bytes: &[u8]) -> Option<Vec<String>> {
    let mut rest = bytes.strip_prefix(&[0x05, 0x02])?;
    let mut found: Vec<String> = Vec::new();
    while rest.len() >= 4 {
        let size = i32::from_be_bytes(rest[..4].try_into().ok()?);
        rest = &rest[4..];
        let len = usize::try_from(size.unsigned_abs()).ok()?;
        let entry = rest.get(..len)?;
        rest = &rest[len..];
        // A negative size marks a hole left by a deleted key.
        if size <= 0 {
            continue;
        }
        let realm_len = usize::from(u16::from_be_bytes(entry.get(2..4)?.try_into().ok()?));
        let realm = std::str::from_utf8(entry.get(4..4 + realm_len)?).ok()?;
        if !found.iter().any(|r| r == realm) {
            found.push(realm.to_owned());
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(realm: &str) -> Vec<u8> {
        let mut e = vec![0, 2];
        e.extend((realm.len() as u16).to_be_bytes());
        e.extend(realm.as_bytes());
        e.extend([0, 4]);
        e.extend(b"HTTP");
        e.extend([0; 20]);
        let mut out = (e.len() as i32).to_be_bytes().to_vec();
        out.extend(e);
        out
    }

    #[test]
    fn realms_are_read_holes_skipped_and_garbage_refused() {
        let mut kt = vec![0x05, 0x02];
        kt.extend(entry("EXAMPLE.COM"));
        kt.extend((-8i32).to_be_bytes());
        kt.extend([0; 8]);
        kt.extend(entry("EXAMPLE.COM"));
        kt.extend(entry("EU.EXAMPLE.COM"));
        assert_eq!(
            realms_of(&kt),
            Some(vec!["EXAMPLE.COM".to_owned(), "EU.EXAMPLE.COM".to_owned()])
        );
        assert_eq!(realms_of(b"not a keytab"), None);
        let mut cut = vec![0x05, 0x02];
        cut.extend(&entry("EXAMPLE.COM")[..10]);
        assert_eq!(realms_of(&cut), None);
    }
}
