//! `herald-server directory sync|status`: reads the company directory here
//! and has the server apply it (or say what would change, `--dry-run`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use herald_protocol::{DirectoryDiff, DirectorySnapshot, DirectoryStatus};
use herald_server::config::{LdapSettings, Schema, ServerConfig};
use reqwest::Method;

use crate::client::AdminClient;

#[derive(Subcommand)]
pub enum DirectoryCmd {
    /// Read users and groups from LDAP / Active Directory and apply them.
    Sync(Box<SyncArgs>),
    /// The last sync's outcome.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct SyncArgs {
    /// A server config file whose [directory] section gives the settings;
    /// flags win over it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// ldap://host:389 or ldaps://host:636.
    #[arg(long)]
    pub url: Option<String>,
    #[arg(long)]
    pub bind_dn: Option<String>,
    /// A file holding the bind password.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    #[arg(long)]
    pub base_dn: Option<String>,
    /// ad (default) or openldap: the default filters and attributes.
    #[arg(long, value_enum)]
    pub schema: Option<Schema>,
    #[arg(long)]
    pub user_filter: Option<String>,
    #[arg(long)]
    pub group_filter: Option<String>,
    /// The attribute holding account names (sAMAccountName, uid).
    #[arg(long)]
    pub user_attr: Option<String>,
    /// Users matching this are disabled (AD: by userAccountControl).
    #[arg(long)]
    pub disabled_filter: Option<String>,
    /// The CA (PEM) that signed the directory's certificate, instead of
    /// the system's roots.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Upgrade ldap:// with StartTLS.
    #[arg(long)]
    pub starttls: bool,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

pub fn load_config(path: &std::path::Path) -> Result<ServerConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("bad config file {}", path.display()))
}

fn settings(a: &SyncArgs) -> Result<LdapSettings> {
    let from_file = match &a.config {
        Some(p) => load_config(p)?.directory,
        None => None,
    };
    let need = |flag: Option<String>, file: Option<String>, name: &str| {
        flag.or(file)
            .with_context(|| format!("give --{name} (or it in the config file's [directory])"))
    };
    let f = from_file.as_ref();
    Ok(LdapSettings {
        url: need(a.url.clone(), f.map(|f| f.url.clone()), "url")?,
        bind_dn: need(a.bind_dn.clone(), f.map(|f| f.bind_dn.clone()), "bind-dn")?,
        password_file: a
            .password_file
            .clone()
            .or_else(|| f.map(|f| f.password_file.clone()))
            .context("give --password-file (or it in the config file's [directory])")?,
        base_dn: need(a.base_dn.clone(), f.map(|f| f.base_dn.clone()), "base-dn")?,
        schema: a.schema.or(f.map(|f| f.schema)).unwrap_or_default(),
        user_filter: a
            .user_filter
            .clone()
            .or(f.and_then(|f| f.user_filter.clone())),
        group_filter: a
            .group_filter
            .clone()
            .or(f.and_then(|f| f.group_filter.clone())),
        user_attr: a.user_attr.clone().or(f.and_then(|f| f.user_attr.clone())),
        disabled_filter: a
            .disabled_filter
            .clone()
            .or(f.and_then(|f| f.disabled_filter.clone())),
        interval_secs: None,
        ca_file: a.ca_file.clone().or(f.and_then(|f| f.ca_file.clone())),
        starttls: a.starttls || f.is_some_and(|f| f.starttls),
    })
}

pub async fn run(cmd: DirectoryCmd, c: &AdminClient) -> Result<()> {
    match cmd {
        DirectoryCmd::Sync(a) => {
            let s = settings(&a)?;
            let snap: DirectorySnapshot = herald_server::outbound::ldap::fetch(&s).await?;
            let path = format!("/api/v1/admin/directory/snapshot?dry_run={}", a.dry_run);
            let diff: DirectoryDiff = c.call(Method::POST, &path, Some(&snap)).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
            } else {
                print_diff(&diff, snap.users.len(), snap.groups.len());
            }
        }
        DirectoryCmd::Status { json } => {
            let st: DirectoryStatus = c
                .call(Method::GET, "/api/v1/admin/directory/status", None::<&()>)
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                let at = st.at.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
                let ok = if st.ok { "ok" } else { "FAILED" };
                println!("{at}\t{ok}\t{}", st.summary);
            }
        }
    }
    Ok(())
}

fn print_diff(d: &DirectoryDiff, users: usize, groups: usize) {
    let verb = if d.dry_run { "would" } else { "did" };
    println!("directory: {users} users, {groups} groups");
    let lines: [(&str, &Vec<String>); 10] = [
        ("add user", &d.users_added),
        ("adopt local user", &d.users_adopted),
        ("disable user", &d.users_disabled),
        ("enable user", &d.users_enabled),
        ("add group", &d.groups_added),
        ("adopt local group", &d.groups_adopted),
        ("remove group", &d.groups_removed),
        ("add member", &d.members_added),
        ("remove member", &d.members_removed),
        ("skip", &d.skipped),
    ];
    for (what, names) in lines {
        for n in names {
            println!("{verb} {what}: {n}");
        }
    }
    if d.is_empty() {
        println!("nothing to change");
    }
}
