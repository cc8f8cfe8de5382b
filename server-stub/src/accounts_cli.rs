//! `herald-server admin ...` and `herald-server audit`: administrators'
//! accounts and what they did, through the admin API.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use herald_protocol::{
    AccountEdit, AccountInfo, AccountToken, AuditEntry, NewAccount, Role, SenderLimits, Severity,
};
use reqwest::Method;

use crate::client::{seg, AdminClient};

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create an account (the first one with the static admin token).
    Add {
        name: String,
        #[arg(long, default_value = "admin")]
        role: Role,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// List accounts, with senders' limits.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change an account's role, limits, password or state.
    Set {
        name: String,
        #[arg(long)]
        role: Option<Role>,
        /// A sender's targets: user:NAME, group:NAME, host:NAME or all,
        /// comma-separated. Give --targets to set the limits.
        #[arg(long, value_delimiter = ',')]
        targets: Option<Vec<String>>,
        /// A sender's severities, comma-separated (default: all but alert).
        #[arg(long, value_delimiter = ',', requires = "targets")]
        severities: Vec<Severity>,
        /// A sender may ask for read receipts.
        #[arg(long, requires = "targets")]
        receipts: bool,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Print a new API token for the account (for HERALD_ADMIN_TOKEN).
    Token { name: String },
}

/// A password for the console, never on the command line, where other
/// users of the machine could read it.
#[derive(Args)]
pub struct PasswordArgs {
    /// Read the password from standard input.
    #[arg(long, conflicts_with = "password_file")]
    password_stdin: bool,
    /// Read the password from this file's first line.
    #[arg(long)]
    password_file: Option<PathBuf>,
}

impl PasswordArgs {
    fn read(&self) -> Result<Option<String>> {
        let text = if self.password_stdin {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from standard input")?;
            s
        } else if let Some(p) = &self.password_file {
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the password from {}", p.display()))?
        } else {
            return Ok(None);
        };
        Ok(Some(text.lines().next().unwrap_or("").to_owned()))
    }
}

#[derive(Args)]
pub struct AuditArgs {
    #[arg(long)]
    actor: Option<String>,
    /// sign-in, sign-in-failed, send, edit, withdraw, account-add,
    /// account-change, token, api
    #[arg(long)]
    action: Option<String>,
    /// Text in the target or detail.
    #[arg(long)]
    q: Option<String>,
    /// RFC 3339.
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    limit: Option<u32>,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    #[arg(long)]
    csv: bool,
}

const NONE: Option<&()> = None;

fn show(a: &AccountInfo) -> String {
    let mut line = format!(
        "{}\t{}\t{}\t{}",
        a.name,
        a.role,
        if a.disabled { "disabled" } else { "enabled" },
        if a.has_password {
            "password"
        } else {
            "tokens only"
        }
    );
    if let Some(l) = &a.limits {
        let sev: Vec<&str> = l.severities.iter().map(|s| s.as_str()).collect();
        line.push_str(&format!(
            "\tto {}\tseverities {}\treceipts {}",
            if l.targets.is_empty() {
                "nobody".to_owned()
            } else {
                l.targets.join(",")
            },
            if sev.is_empty() {
                "info,warning".to_owned()
            } else {
                sev.join(",")
            },
            if l.receipts { "yes" } else { "no" }
        ));
    }
    line
}

pub async fn admin(cmd: AdminCmd, c: &AdminClient) -> Result<()> {
    match cmd {
        AdminCmd::Add {
            name,
            role,
            password,
        } => {
            let new = NewAccount {
                name,
                role,
                password: password.read()?,
            };
            let a: AccountInfo = c
                .call(Method::POST, "/api/v1/admin/accounts", Some(&new))
                .await?;
            println!("{}", show(&a));
        }
        AdminCmd::List { json } => {
            let all: Vec<AccountInfo> = c.call(Method::GET, "/api/v1/admin/accounts", NONE).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for a in &all {
                    println!("{}", show(a));
                }
            }
        }
        AdminCmd::Set {
            name,
            role,
            targets,
            severities,
            receipts,
            disable,
            enable,
            password,
        } => {
            let edit = AccountEdit {
                role,
                limits: targets.map(|targets| SenderLimits {
                    targets,
                    severities,
                    receipts,
                }),
                password: password.read()?,
                disabled: match (disable, enable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            let path = format!("/api/v1/admin/accounts/{}", seg(&name));
            let a: AccountInfo = c.call(Method::PATCH, &path, Some(&edit)).await?;
            println!("{}", show(&a));
        }
        AdminCmd::Token { name } => {
            let path = format!("/api/v1/admin/accounts/{}/token", seg(&name));
            let t: AccountToken = c.call(Method::POST, &path, NONE).await?;
            println!("{}", t.token);
        }
    }
    Ok(())
}

pub async fn audit(a: AuditArgs, c: &AdminClient) -> Result<()> {
    let mut query = Vec::new();
    for (k, v) in [
        ("actor", a.actor),
        ("action", a.action),
        ("q", a.q),
        ("since", a.since),
        ("limit", a.limit.map(|l| l.to_string())),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", seg(&v)));
        }
    }
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    if a.csv {
        print!(
            "{}",
            c.text(Method::GET, &format!("/api/v1/admin/audit.csv{query}"))
                .await?
        );
        return Ok(());
    }
    let lines: Vec<AuditEntry> = c
        .call(Method::GET, &format!("/api/v1/admin/audit{query}"), NONE)
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(());
    }
    for e in lines {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            e.at.to_rfc3339(),
            e.actor,
            e.source,
            e.action,
            e.target,
            e.detail
        );
    }
    Ok(())
}
