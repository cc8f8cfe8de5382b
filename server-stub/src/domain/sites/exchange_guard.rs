//! What keeps the exchange from being a way in: the nonces of bundles
//! received (a replayed bundle is refused), and a limit on how often a
//! refused bundle writes to the trace, since anyone can post one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::sites::bundle::{self, BundleError};
use crate::error::Error;
use crate::store::db::to_ms;
use crate::store::sql::{params, Conn};

/// At most one trace line per site for refused bundles in this time.
pub const REFUSAL_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Remembers a bundle's nonce from `peer`, made at `created`; a nonce seen
/// before is a replay. Nonces of bundles past the window go first: such a
/// bundle is refused for its age before its nonce is looked at.
pub fn remember_nonce(
    conn: &Conn,
    peer: &str,
    nonce: &str,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Result<(), BundleError>, Error> {
    conn.execute(
        "DELETE FROM bundle_nonces WHERE created < ?1",
        [to_ms(now - bundle::WINDOW)],
    )?;
    let n = conn.execute(
        "INSERT INTO bundle_nonces(peer, nonce, created) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
        params![peer, nonce, to_ms(created)],
    )?;
    Ok(if n == 0 {
        Err(BundleError::Replayed)
    } else {
        Ok(())
    })
}

/// A server's guards on bundles coming in, shared by its requests.
#[derive(Debug)]
pub struct Guard {
    pub refusals: Refusals,
    /// Bundles of registered sites read at once: each may be large, and
    /// their names are no secret.
    pub reading: tokio::sync::Semaphore,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            refusals: Refusals::default(),
            reading: tokio::sync::Semaphore::new(2),
        }
    }
}

/// Per site, when the last refusal was written to the trace and how many
/// were not written since. In memory: it only spares the trace and the
/// database's writer, and an instance that restarts writes one line more.
/// Only registered sites come in, so it stays as small as their list.
#[derive(Debug, Default)]
pub struct Refusals {
    sites: Mutex<HashMap<String, Slot>>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    written: DateTime<Utc>,
    unwritten: u64,
}

impl Refusals {
    /// `Some(n)` if a refusal for `site` may go to the trace now, `n` being
    /// how many were left out since the last line; `None` if it is left out.
    pub fn admit(&self, site: &str, now: DateTime<Utc>) -> Option<u64> {
        let mut sites = self.sites.lock();
        let key = site.to_lowercase();
        match sites.get_mut(&key) {
            Some(slot) if now - slot.written < REFUSAL_EVERY => {
                slot.unwritten += 1;
                None
            }
            Some(slot) => {
                let n = slot.unwritten;
                *slot = Slot {
                    written: now,
                    unwritten: 0,
                };
                Some(n)
            }
            None => {
                sites.insert(
                    key,
                    Slot {
                        written: now,
                        unwritten: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refusal_line_per_site_a_minute_counting_the_rest() {
        let r = Refusals::default();
        let t = Utc::now();
        assert_eq!(r.admit("plant-a", t), Some(0));
        assert_eq!(r.admit("Plant-A", t + chrono::Duration::seconds(1)), None);
        assert_eq!(r.admit("plant-a", t + chrono::Duration::seconds(59)), None);
        assert_eq!(r.admit("plant-b", t), Some(0));
        assert_eq!(r.admit("plant-a", t + REFUSAL_EVERY), Some(2));
        assert_eq!(r.admit("plant-a", t + REFUSAL_EVERY * 2), Some(0));
    }
}
