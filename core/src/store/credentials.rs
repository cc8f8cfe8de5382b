//! Tokens the agent got by signing in, kept per server and host. The store
//! is the user's own file, as a token in their config file would be.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{to_ms, Store};
use crate::error::StoreError;

/// A token from signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    pub token: String,
    /// How it was got: `enroll`.
    pub via: String,
}

impl Store {
    pub fn credential(&self, server: &str, host: &str) -> Result<Option<Credential>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT user_name, token, via FROM credentials WHERE server = ?1 AND host = ?2",
                [server, host],
                |r| {
                    Ok(Credential {
                        user: r.get(0)?,
                        token: r.get(1)?,
                        via: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Keeps a new token, replacing any earlier one for the server and host.
    pub fn save_credential(
        &self,
        server: &str,
        host: &str,
        c: &Credential,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO credentials(server, host, user_name, token, via, obtained_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![server, host, c.user, c.token, c.via, to_ms(now)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_is_per_server_and_host_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let c = Credential {
            user: "ann".into(),
            token: "t1".into(),
            via: "enroll".into(),
        };
        store
            .save_credential("https://a", "pc", &c, Utc::now())
            .unwrap();
        assert_eq!(
            store.credential("https://a", "pc").unwrap(),
            Some(c.clone())
        );
        assert_eq!(store.credential("https://b", "pc").unwrap(), None);
        assert_eq!(store.credential("https://a", "pc2").unwrap(), None);
        let c2 = Credential {
            token: "t2".into(),
            ..c
        };
        store
            .save_credential("https://a", "pc", &c2, Utc::now())
            .unwrap();
        assert_eq!(store.credential("https://a", "pc").unwrap(), Some(c2));
    }
}
