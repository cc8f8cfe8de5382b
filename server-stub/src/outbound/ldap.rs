//! Reads users and groups from LDAP or Active Directory into a complete
//! snapshot, nested groups flattened. Anything short of a complete read (no
//! connection, a failed bind, a search stopped at a size or time limit)
//! is an error, and nothing is applied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use herald_protocol::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use crate::config::{LdapSettings, Schema};

impl LdapSettings {
    fn user_filter(&self) -> String {
        self.user_filter
            .clone()
            .unwrap_or_else(|| match self.schema {
                Schema::Ad => "(&(objectCategory=person)(objectClass=user))".into(),
                Schema::Openldap => "(objectClass=inetOrgPerson)".into(),
            })
    }

    fn group_filter(&self) -> String {
        self.group_filter
            .clone()
            .unwrap_or_else(|| match self.schema {
                Schema::Ad => "(objectClass=group)".into(),
                Schema::Openldap => {
                    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))".into()
                }
            })
    }

    fn user_attr(&self) -> String {
        self.user_attr.clone().unwrap_or_else(|| match self.schema {
            Schema::Ad => "sAMAccountName".into(),
            Schema::Openldap => "uid".into(),
        })
    }

    fn disabled_filter(&self) -> Option<String> {
        self.disabled_filter.clone().or(match self.schema {
            // The ACCOUNTDISABLE bit, by the bitwise-AND matching rule.
            Schema::Ad => Some("(userAccountControl:1.2.840.113556.1.4.803:=2)".into()),
            Schema::Openldap => None,
        })
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs.unwrap_or(900).max(60))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("cannot read the bind password from {path}: {source}")]
    Password {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot use the directory's CA file {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("cannot reach the directory at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the directory refused the bind as {dn}: {reason}")]
    Bind { dn: String, reason: String },
    #[error("the directory search for {what} failed: {reason}; nothing was applied")]
    Search { what: &'static str, reason: String },
}

const TIMEOUT: Duration = Duration::from_secs(30);
const PAGE: i32 = 500;

/// A TLS client trusting only `ca`. ldap3 speaks rustls 0.21, hence
/// that version's types here.
fn trusting(ca: &std::path::Path) -> Result<std::sync::Arc<rustls021::ClientConfig>, LdapError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let err = |reason: String| LdapError::Ca {
        path: ca.display().to_string(),
        reason,
    };
    let mut roots = rustls021::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| err(e.to_string()))? {
        let cert = cert.map_err(|e| err(e.to_string()))?;
        roots
            .add(&rustls021::Certificate(cert.to_vec()))
            .map_err(|e| err(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(err("no PEM certificate in it".into()));
    }
    Ok(std::sync::Arc::new(
        rustls021::ClientConfig::builder()
            .with_safe_defaults()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// Reads the whole directory the settings describe.
pub async fn fetch(s: &LdapSettings) -> Result<DirectorySnapshot, LdapError> {
    let password =
        std::fs::read_to_string(&s.password_file).map_err(|source| LdapError::Password {
            path: s.password_file.display().to_string(),
            source,
        })?;
    let password = password.trim_end_matches(['\r', '\n']);
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(TIMEOUT)
        .set_starttls(s.starttls);
    if let Some(ca) = &s.ca_file {
        settings = settings.set_config(trusting(ca)?);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &s.url)
        .await
        .map_err(|e| LdapError::Connect {
            url: s.url.clone(),
            reason: e.to_string(),
        })?;
    ldap3::drive!(conn);
    ldap.with_timeout(TIMEOUT)
        .simple_bind(&s.bind_dn, password)
        .await
        .and_then(ldap3::LdapResult::success)
        .map_err(|e| LdapError::Bind {
            dn: s.bind_dn.clone(),
            reason: e.to_string(),
        })?;

    let user_attr = s.user_attr();
    let users = search(
        &mut ldap,
        &s.base_dn,
        &s.user_filter(),
        &[&user_attr],
        "users",
    )
    .await?;
    let disabled: HashSet<String> = match s.disabled_filter() {
        Some(f) => {
            let filter = format!("(&{}{f})", s.user_filter());
            search(&mut ldap, &s.base_dn, &filter, &["1.1"], "disabled users")
                .await?
                .into_iter()
                .map(|e| e.dn.to_lowercase())
                .collect()
        }
        None => HashSet::new(),
    };
    let groups = search(
        &mut ldap,
        &s.base_dn,
        &s.group_filter(),
        &["cn", "member", "uniqueMember"],
        "groups",
    )
    .await?;
    let _ = ldap.unbind().await;
    Ok(snapshot(&users, &user_attr, &disabled, &groups))
}

async fn search(
    ldap: &mut ldap3::Ldap,
    base: &str,
    filter: &str,
    attrs: &[&str],
    what: &'static str,
) -> Result<Vec<SearchEntry>, LdapError> {
    let failed = |e: ldap3::LdapError| {
        let limit = match &e {
            ldap3::LdapError::LdapResult { result } => match result.rc {
                3 => Some("the directory's time limit"),
                4 => Some("the directory's size limit"),
                11 => Some("an administrative limit of the directory"),
                _ => None,
            },
            _ => None,
        };
        let reason = match limit {
            Some(l) => format!(
                "stopped by {l} ({e}): raise it for the bind account, or narrow the base DN or filter"
            ),
            None => e.to_string(),
        };
        LdapError::Search { what, reason }
    };
    // Paged, so that Active Directory's 1,000-entry pages are no limit; a
    // size limit the server still enforces ends the sync.
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(PAGE)),
    ];
    let mut stream = ldap
        .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs.to_vec())
        .await
        .map_err(failed)?;
    let mut out = Vec::new();
    while let Some(entry) = stream.next().await.map_err(failed)? {
        out.push(SearchEntry::construct(entry));
    }
    stream.finish().await.success().map_err(failed)?;
    Ok(out)
}

/// Builds the snapshot: account names by DN, and each group's users,
/// through nested groups (cycles included) at any depth.
fn snapshot(
    users: &[SearchEntry],
    user_attr: &str,
    disabled: &HashSet<String>,
    groups: &[SearchEntry],
) -> DirectorySnapshot {
    let attr = |e: &SearchEntry, name: &str| -> Vec<String> {
        e.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut by_dn: HashMap<String, String> = HashMap::new();
    let mut out_users = Vec::new();
    for u in users {
        if let Some(name) = attr(u, user_attr).into_iter().next() {
            let dn = u.dn.to_lowercase();
            out_users.push(DirectoryUser {
                name: name.clone(),
                disabled: disabled.contains(&dn),
            });
            by_dn.insert(dn, name);
        }
    }
    let mut group_members: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for g in groups {
        let Some(name) = attr(g, "cn").into_iter().next() else {
            continue;
        };
        let mut members: Vec<String> = attr(g, "member");
        members.extend(attr(g, "uniqueMember"));
        let members = members.into_iter().map(|m| m.to_lowercase()).collect();
        group_members.insert(g.dn.to_lowercase(), (name, members));
    }
    let out_groups = group_members
        .iter()
        .map(|(dn, (name, _))| {
            let mut found = BTreeSet::new();
            let mut seen = HashSet::from([dn.clone()]);
            let mut todo = vec![dn.clone()];
            while let Some(g) = todo.pop() {
                let Some((_, members)) = group_members.get(&g) else {
                    continue;
                };
                for m in members {
                    if let Some(user) = by_dn.get(m) {
                        found.insert(user.clone());
                    } else if group_members.contains_key(m) && seen.insert(m.clone()) {
                        todo.push(m.clone());
                    }
                }
            }
            DirectoryGroup {
                name: name.clone(),
                members: found.into_iter().collect(),
            }
        })
        .collect();
    DirectorySnapshot {
        users: out_users,
        groups: out_groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn nested_groups_are_flattened_and_cycles_end() {
        let users = [
            entry("uid=a,o=x", &[("uid", &["alice"])]),
            entry("uid=b,o=x", &[("uid", &["bob"])]),
        ];
        let groups = [
            entry(
                "cn=top,o=x",
                &[("cn", &["top"]), ("member", &["cn=mid,o=x", "UID=A,O=X"])],
            ),
            entry(
                "cn=mid,o=x",
                &[("cn", &["mid"]), ("member", &["uid=b,o=x", "cn=top,o=x"])],
            ),
            entry("cn=empty,o=x", &[("cn", &["empty"])]),
        ];
        let disabled = HashSet::from(["uid=b,o=x".to_owned()]);
        let snap = snapshot(&users, "uid", &disabled, &groups);
        let get = |n: &str| {
            snap.groups
                .iter()
                .find(|g| g.name == n)
                .unwrap()
                .members
                .clone()
        };
        assert_eq!(get("top"), ["alice", "bob"]);
        assert_eq!(get("mid"), ["alice", "bob"]);
        assert!(get("empty").is_empty());
        assert!(snap.users.iter().any(|u| u.name == "bob" && u.disabled));
        assert!(snap.users.iter().any(|u| u.name == "alice" && !u.disabled));
    }
}
