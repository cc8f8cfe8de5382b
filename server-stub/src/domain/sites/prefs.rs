//! Central preferences for agents: set at the central server for all sites
//! or one, carried down to the relays, and applied there on top of the
//! relay's own settings. At a relay the table holds what the central
//! server last sent, under the site's name.

use std::collections::BTreeMap;

use herald_protocol::{Pref, PushMode, Settings, PREF_KEYS};

use crate::config::AgentPolicy;

use crate::error::Error;
use crate::store::sql::{params, Conn};

/// A value checked for its key, in the form it is kept.
pub fn check(key: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    let bad = |what: &str| Err(Error::bad(format!("{key}: {what}, not {value:?}")));
    match key {
        "poll-interval" => match value.parse::<u64>() {
            Ok(n) if (5..=86_400).contains(&n) => Ok(n.to_string()),
            _ => bad("seconds from 5 to 86400"),
        },
        "push" => match value {
            "off" | "stream" | "inbound" => Ok(value.to_owned()),
            _ => bad("off, stream or inbound"),
        },
        "max-dnd" => match value.parse::<u64>() {
            Ok(n) if n <= 7 * 24 * 60 => Ok(n.to_string()),
            _ => bad("minutes, at most a week (10080)"),
        },
        "language" => match value {
            "en" | "fr" | "de" => Ok(value.to_owned()),
            _ => bad("en, fr or de"),
        },
        "min-agent-version" => {
            if !value.is_empty() && value.split('.').all(|p| p.parse::<u64>().is_ok()) {
                Ok(value.to_owned())
            } else {
                bad("a dotted version such as 1.2.0")
            }
        }
        _ => {
            let known: Vec<&str> = PREF_KEYS.iter().map(|(k, _)| *k).collect();
            Err(Error::bad(format!(
                "no preference {key:?}: known are {}",
                known.join(", ")
            )))
        }
    }
}

fn scope(site: Option<&str>) -> &str {
    site.map(str::trim).unwrap_or("")
}

pub fn set(conn: &Conn, pref: &Pref) -> Result<(), Error> {
    let value = check(&pref.key, &pref.value)?;
    let site = scope(pref.site.as_deref());
    if !site.is_empty() {
        crate::domain::sites::require(conn, site)?;
    }
    conn.execute(
        "INSERT INTO prefs(site, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(site, key) DO UPDATE SET value = excluded.value",
        params![site, pref.key, value],
    )?;
    Ok(())
}

/// Whether there was one to remove.
pub fn unset(conn: &Conn, site: Option<&str>, key: &str) -> Result<bool, Error> {
    let n = conn.execute(
        "DELETE FROM prefs WHERE site = ?1 AND key = ?2",
        params![scope(site), key],
    )?;
    Ok(n > 0)
}

/// Every preference set, for all sites (no site) and per site.
pub fn list(conn: &Conn) -> Result<Vec<Pref>, Error> {
    let mut stmt = conn.prepare("SELECT site, key, value FROM prefs ORDER BY site, key")?;
    let rows = stmt.query_map([], |r| {
        let site: String = r.get(0)?;
        Ok(Pref {
            site: (!site.is_empty()).then_some(site),
            key: r.get(1)?,
            value: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What applies at `site`: the site's own on top of those for all.
pub fn effective(conn: &Conn, site: Option<&str>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for p in list(conn)? {
        match (&p.site, site) {
            (None, _) => {
                out.entry(p.key).or_insert(p.value);
            }
            (Some(s), Some(want)) if s.eq_ignore_ascii_case(want) => {
                out.insert(p.key, p.value);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// At a relay: the central server's preferences replace the last ones.
/// Returns whether anything changed.
pub fn replace_received(
    conn: &Conn,
    site: &str,
    prefs: &BTreeMap<String, String>,
) -> Result<bool, Error> {
    let before = effective(conn, Some(site))?;
    // Checked again here: a value this version does not know is dropped,
    // not applied half-understood.
    let prefs: BTreeMap<String, String> = prefs
        .iter()
        .filter_map(|(k, v)| check(k, v).ok().map(|v| (k.clone(), v)))
        .collect();
    if before == prefs {
        return Ok(false);
    }
    conn.execute("DELETE FROM prefs", [])?;
    for (k, v) in &prefs {
        conn.execute(
            "INSERT INTO prefs(site, key, value) VALUES (?1, ?2, ?3)",
            params![site, k, v],
        )?;
    }
    Ok(true)
}

/// What the preferences add to the settings agents get, beyond the
/// server's own configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub max_dnd_minutes: Option<u64>,
    pub language: Option<String>,
    pub origins: BTreeMap<String, String>,
}

impl Extras {
    pub fn decorate(&self, s: &mut Settings) {
        s.max_dnd_minutes = self.max_dnd_minutes;
        s.language.clone_from(&self.language);
        s.origins.clone_from(&self.origins);
    }
}

/// The server's own policy with the preferences on top, each marked as
/// coming from `origin`. A value that does not parse is left out.
pub fn apply(
    base: &AgentPolicy,
    prefs: &BTreeMap<String, String>,
    origin: &str,
) -> (AgentPolicy, Extras) {
    let mut policy = base.clone();
    let mut extras = Extras::default();
    for (key, value) in prefs {
        let taken = match key.as_str() {
            "poll-interval" => value.parse().map(|n| policy.poll_interval_secs = n).is_ok(),
            "push" => match value.as_str() {
                "off" => Some(PushMode::Off),
                "stream" => Some(PushMode::Stream),
                "inbound" => Some(PushMode::Inbound),
                _ => None,
            }
            .map(|m| policy.push = m)
            .is_some(),
            "max-dnd" => value
                .parse()
                .map(|n| extras.max_dnd_minutes = Some(n))
                .is_ok(),
            "language" => {
                extras.language = Some(value.clone());
                true
            }
            "min-agent-version" => {
                policy.min_agent_version = Some(value.clone());
                true
            }
            _ => false,
        };
        if taken {
            extras.origins.insert(key.clone(), origin.to_owned());
        }
    }
    (policy, extras)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_for_their_key() {
        assert_eq!(check("poll-interval", " 30 ").unwrap(), "30");
        assert!(check("poll-interval", "2").is_err());
        assert!(check("push", "sometimes").is_err());
        assert_eq!(check("language", "fr").unwrap(), "fr");
        assert!(check("language", "xx").is_err());
        assert!(check("min-agent-version", "1.2.x").is_err());
        assert!(check("colour", "red")
            .unwrap_err()
            .to_string()
            .contains("known are"));
    }

    #[test]
    fn preferences_override_the_server_s_own_and_say_so() {
        let base = AgentPolicy {
            poll_interval_secs: 300,
            min_agent_version: None,
            push: PushMode::Stream,
        };
        let prefs = BTreeMap::from([
            ("poll-interval".to_owned(), "30".to_owned()),
            ("language".to_owned(), "fr".to_owned()),
            ("push".to_owned(), "sideways".to_owned()),
        ]);
        let (policy, extras) = apply(&base, &prefs, "central server");
        assert_eq!(policy.poll_interval_secs, 30);
        assert_eq!(policy.push, PushMode::Stream);
        assert_eq!(extras.language.as_deref(), Some("fr"));
        assert_eq!(extras.origins.len(), 2);
        assert_eq!(extras.origins["poll-interval"], "central server");
        let mut s = Settings::default();
        extras.decorate(&mut s);
        assert_eq!(s.language.as_deref(), Some("fr"));
    }

    #[test]
    fn a_site_s_own_value_wins_over_the_one_for_all() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::db::open(&dir.path().join("s.db")).unwrap();
        let now = chrono::Utc::now();
        crate::domain::sites::add(
            &conn,
            "plant-a",
            herald_protocol::Transport::Https,
            None,
            3600,
            now,
        )
        .unwrap();
        let pref = |site: Option<&str>, key: &str, value: &str| Pref {
            site: site.map(str::to_owned),
            key: key.into(),
            value: value.into(),
        };
        set(&conn, &pref(None, "poll-interval", "60")).unwrap();
        set(&conn, &pref(None, "language", "de")).unwrap();
        set(&conn, &pref(Some("plant-a"), "poll-interval", "300")).unwrap();
        assert!(set(&conn, &pref(Some("nowhere"), "language", "fr")).is_err());
        let a = effective(&conn, Some("plant-a")).unwrap();
        assert_eq!(a["poll-interval"], "300");
        assert_eq!(a["language"], "de");
        assert_eq!(
            effective(&conn, Some("plant-b")).unwrap()["poll-interval"],
            "60"
        );
        assert!(unset(&conn, Some("plant-a"), "poll-interval").unwrap());
        assert!(!unset(&conn, Some("plant-a"), "poll-interval").unwrap());
        assert_eq!(
            effective(&conn, Some("plant-a")).unwrap()["poll-interval"],
            "60"
        );
    }
}
