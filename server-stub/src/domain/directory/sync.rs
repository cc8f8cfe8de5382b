//! Applies a snapshot of the company directory to Herald's users, groups
//! and memberships, in one transaction: the directory is the authority for
//! what came from it, local users and groups of the same name are adopted,
//! and users disabled or gone in the directory are kept, disabled, so that
//! their agents learn their messages no longer apply. Applying the same
//! snapshot twice changes nothing the second time.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::sql::{params, Conn, OptionalExtension};
use chrono::{DateTime, Utc};
use herald_protocol::{DirectoryDiff, DirectorySnapshot, DirectoryStatus};

use crate::domain::changes::{self, Scope};
use crate::domain::directory::check_name;
use crate::error::Error;
use crate::store::db::{self, from_ms, to_ms};
use crate::tokens;

struct Current {
    id: i64,
    name: String,
    source: String,
    disabled: bool,
}

/// Applies `snap` (or only computes what it would change, for a dry run).
pub fn apply(
    conn: &Conn,
    snap: &DirectorySnapshot,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<DirectoryDiff, Error> {
    let mut diff = DirectoryDiff {
        dry_run,
        ..DirectoryDiff::default()
    };
    let (users, groups) = usable(snap, &mut diff.skipped);
    let tx = db::Atomic::begin(conn)?;
    let mut touched = BTreeSet::new();

    let mut current = current_users(&tx)?;
    for (key, (name, disabled)) in &users {
        match current.get(key) {
            None => {
                tx.execute(
                    "INSERT INTO users(name, token_hash, created_at, source, disabled)
                     VALUES (?1, ?2, ?3, 'directory', ?4)",
                    params![
                        name,
                        tokens::hash_token(&tokens::new_token()),
                        to_ms(now),
                        disabled
                    ],
                )?;
                diff.users_added.push(name.clone());
            }
            Some(u) => {
                if u.source != "directory" {
                    tx.execute(
                        "UPDATE users SET source = 'directory' WHERE id = ?1",
                        [u.id],
                    )?;
                    diff.users_adopted.push(u.name.clone());
                }
                if u.disabled != *disabled {
                    set_disabled(&tx, u.id, *disabled)?;
                    touched.insert(u.id);
                    let list = if *disabled {
                        &mut diff.users_disabled
                    } else {
                        &mut diff.users_enabled
                    };
                    list.push(u.name.clone());
                }
            }
        }
    }
    for (key, u) in &current {
        if u.source == "directory" && !u.disabled && !users.contains_key(key) {
            set_disabled(&tx, u.id, true)?;
            touched.insert(u.id);
            diff.users_disabled.push(u.name.clone());
        }
    }
    current = current_users(&tx)?;

    let existing = current_groups(&tx)?;
    for (key, (name, _)) in &groups {
        match existing.get(key) {
            None => {
                tx.execute(
                    "INSERT INTO groups(name, source) VALUES (?1, 'directory')",
                    [name],
                )?;
                diff.groups_added.push(name.clone());
            }
            Some((_, gname, source)) if source != "directory" => {
                tx.execute(
                    "UPDATE groups SET source = 'directory' WHERE name = ?1",
                    [gname],
                )?;
                diff.groups_adopted.push(gname.clone());
            }
            Some(_) => {}
        }
    }
    for (key, (id, name, source)) in &existing {
        if source == "directory" && !groups.contains_key(key) {
            for uid in members_of(&tx, *id)? {
                touched.insert(uid);
            }
            tx.execute("DELETE FROM groups WHERE id = ?1", [id])?;
            diff.groups_removed.push(name.clone());
        }
    }

    let ids = current_groups(&tx)?;
    for (key, (gname, wanted)) in &groups {
        let Some((gid, _, _)) = ids.get(key) else {
            continue;
        };
        let have: BTreeSet<i64> = members_of(&tx, *gid)?.into_iter().collect();
        let want: BTreeSet<i64> = wanted
            .iter()
            .filter_map(|u| current.get(u).map(|c| c.id))
            .collect();
        let name_of = |id: &i64| {
            current
                .values()
                .find(|c| c.id == *id)
                .map_or_else(|| id.to_string(), |c| c.name.clone())
        };
        for uid in want.difference(&have) {
            tx.execute(
                "INSERT INTO memberships(group_id, user_id) VALUES (?1, ?2)",
                params![gid, uid],
            )?;
            touched.insert(*uid);
            diff.members_added.push(format!("{gname}:{}", name_of(uid)));
        }
        for uid in have.difference(&want) {
            tx.execute(
                "DELETE FROM memberships WHERE group_id = ?1 AND user_id = ?2",
                params![gid, uid],
            )?;
            touched.insert(*uid);
            diff.members_removed
                .push(format!("{gname}:{}", name_of(uid)));
        }
    }

    if !touched.is_empty() {
        let scopes: Vec<Scope> = touched.iter().map(|id| Scope::User(*id)).collect();
        changes::record(&tx, &scopes)?;
    }
    if dry_run {
        // Dropping the transaction undoes everything.
        return Ok(diff);
    }
    record_outcome(&tx, true, &summary(&diff), now)?;
    tx.commit()?;
    Ok(diff)
}

/// Users (by folded name: name, disabled) and groups (folded name: name,
/// folded member names) Herald can take; the rest goes to `skipped`.
#[allow(clippy::type_complexity)]
fn usable(
    snap: &DirectorySnapshot,
    skipped: &mut Vec<String>,
) -> (
    BTreeMap<String, (String, bool)>,
    BTreeMap<String, (String, BTreeSet<String>)>,
) {
    let mut users = BTreeMap::new();
    for u in &snap.users {
        if let Err(e) = check_name("user", &u.name) {
            skipped.push(e.to_string());
        } else if users
            .insert(u.name.to_lowercase(), (u.name.clone(), u.disabled))
            .is_some()
        {
            skipped.push(format!("user '{}' appears twice", u.name));
        }
    }
    let mut groups = BTreeMap::new();
    for g in &snap.groups {
        if let Err(e) = check_name("group", &g.name) {
            skipped.push(e.to_string());
            continue;
        }
        let members = g
            .members
            .iter()
            .map(|m| m.to_lowercase())
            .filter(|m| users.contains_key(m))
            .collect();
        if groups
            .insert(g.name.to_lowercase(), (g.name.clone(), members))
            .is_some()
        {
            skipped.push(format!("group '{}' appears twice", g.name));
        }
    }
    (users, groups)
}

fn current_users(c: &Conn) -> Result<BTreeMap<String, Current>, Error> {
    let mut stmt = c.prepare("SELECT id, name, source, disabled FROM users")?;
    let rows = stmt.query_map([], |r| {
        Ok(Current {
            id: r.get(0)?,
            name: r.get(1)?,
            source: r.get(2)?,
            disabled: r.get(3)?,
        })
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let u = row?;
        out.insert(u.name.to_lowercase(), u);
    }
    Ok(out)
}

fn current_groups(c: &Conn) -> Result<BTreeMap<String, (i64, String, String)>, Error> {
    let mut stmt = c.prepare("SELECT id, name, source FROM groups")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (id, name, source): (i64, String, String) = row?;
        out.insert(name.to_lowercase(), (id, name, source));
    }
    Ok(out)
}

fn members_of(c: &Conn, group: i64) -> Result<Vec<i64>, Error> {
    let mut stmt = c.prepare("SELECT user_id FROM memberships WHERE group_id = ?1")?;
    let rows = stmt.query_map([group], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn set_disabled(c: &Conn, id: i64, disabled: bool) -> Result<(), Error> {
    c.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![id, disabled],
    )?;
    if disabled {
        // Nothing is pushed to them any more: their inbound keys go.
        c.execute("DELETE FROM push_listeners WHERE user_id = ?1", [id])?;
    }
    Ok(())
}

/// One line for logs and `directory status`.
pub fn summary(d: &DirectoryDiff) -> String {
    if d.is_empty() {
        return format!("up to date ({} skipped)", d.skipped.len());
    }
    format!(
        "users +{} adopted {} disabled {} enabled {}; groups +{} adopted {} -{}; members +{} -{}; {} skipped",
        d.users_added.len(),
        d.users_adopted.len(),
        d.users_disabled.len(),
        d.users_enabled.len(),
        d.groups_added.len(),
        d.groups_adopted.len(),
        d.groups_removed.len(),
        d.members_added.len(),
        d.members_removed.len(),
        d.skipped.len()
    )
}

/// Keeps the outcome of a sync, good or failed, for `directory status`.
pub fn record_outcome(c: &Conn, ok: bool, summary: &str, now: DateTime<Utc>) -> Result<(), Error> {
    c.execute(
        "INSERT INTO directory_syncs(at, ok, summary) VALUES (?1, ?2, ?3)",
        params![to_ms(now), ok, summary],
    )?;
    // A sync every few minutes for years: keep the recent ones.
    c.execute(
        "DELETE FROM directory_syncs WHERE id <= (SELECT MAX(id) FROM directory_syncs) - 100",
        [],
    )?;
    Ok(())
}

pub fn status(c: &Conn) -> Result<DirectoryStatus, Error> {
    let last = c
        .query_row(
            "SELECT at, ok, summary FROM directory_syncs ORDER BY id DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(match last {
        Some((at, ok, summary)) => DirectoryStatus {
            at: Some(from_ms(at)),
            ok,
            summary,
        },
        None => DirectoryStatus {
            at: None,
            ok: false,
            summary: "never synced".into(),
        },
    })
}
