//! `herald-server enroll ...` and `herald-server host revoke`: keys that
//! let agents sign in by themselves, and logging a computer out.

use anyhow::Result;
use clap::Subcommand;
use herald_protocol::{EnrollKeyCreated, EnrollKeyInfo, HostRevoked, NewEnrollKey};
use reqwest::Method;

use crate::client::AdminClient;

#[derive(Subcommand)]
pub enum EnrollCmd {
    /// Create a key; prints it (only this once). Give it to the agents as
    /// the MSI's ENROLL_KEY, `enroll_key` in a config file or HERALD_ENROLL_KEY.
    Create {
        /// When it stops enrolling (RFC 3339 or +30d); never by default.
        #[arg(long)]
        expires: Option<String>,
        /// Host names it may enroll, with * and ? (`pc-*`); any by default.
        #[arg(long)]
        hosts: Option<String>,
    },
    /// List keys, revoked ones too.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop a key enrolling; agents it enrolled stay signed in.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub enum HostCmd {
    /// Log out the agents on a computer that signed in; they must enroll
    /// again.
    Revoke { name: String },
}

const NONE: Option<&()> = None;

pub async fn enroll(cmd: EnrollCmd, c: &AdminClient) -> Result<()> {
    match cmd {
        EnrollCmd::Create { expires, hosts } => {
            let created: EnrollKeyCreated = c
                .call(
                    Method::POST,
                    "/api/v1/admin/enroll-keys",
                    Some(&NewEnrollKey { expires, hosts }),
                )
                .await?;
            println!("{}", created.key);
            eprintln!(
                "key {} (hosts: {}, expires: {})",
                created.id,
                created.hosts.as_deref().unwrap_or("any"),
                created
                    .expires_at
                    .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
            );
        }
        EnrollCmd::List { json } => {
            let keys: Vec<EnrollKeyInfo> = c
                .call(Method::GET, "/api/v1/admin/enroll-keys", NONE)
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
                return Ok(());
            }
            for k in keys {
                let state = match (k.revoked_at, k.expires_at) {
                    (Some(t), _) => format!("revoked {}", t.to_rfc3339()),
                    (None, Some(t)) if t <= chrono::Utc::now() => {
                        format!("expired {}", t.to_rfc3339())
                    }
                    (None, Some(t)) => format!("expires {}", t.to_rfc3339()),
                    (None, None) => "active".to_owned(),
                };
                println!(
                    "{}\t{}\thosts {}\t{} enrolled",
                    k.id,
                    state,
                    k.hosts.as_deref().unwrap_or("*"),
                    k.enrolled
                );
            }
        }
        EnrollCmd::Revoke { id } => {
            let path = format!("/api/v1/admin/enroll-keys/{}", crate::client::seg(&id));
            c.call_empty(Method::DELETE, &path, NONE).await?;
            println!("key {id} revoked; agents it enrolled stay signed in");
        }
    }
    Ok(())
}

pub async fn host(cmd: HostCmd, c: &AdminClient) -> Result<()> {
    match cmd {
        HostCmd::Revoke { name } => {
            let path = format!("/api/v1/admin/hosts/{}/revoke", crate::client::seg(&name));
            let r: HostRevoked = c.call(Method::POST, &path, NONE).await?;
            println!("{}: {} signed-in agent token(s) revoked", r.host, r.tokens);
        }
    }
    Ok(())
}
