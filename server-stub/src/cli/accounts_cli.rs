//! `herald-server admin ...` and `herald-server audit`: administrators'
//! accounts and what they did, through the admin API.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use herald_protocol::{
    AccountEdit, AccountInfo, AccountToken, AccountTokenInfo, AuditEntry, NewAccount, Role,
    SenderLimits, Severity,
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
        /// A sender may read, besides its own messages, those addressed
        /// within its targets (and their reports).
        #[arg(long, requires = "targets")]
        read_addressed: bool,
        /// A sender may choose the display sender (otherwise its messages
        /// show its account name).
        #[arg(long, requires = "targets")]
        any_sender: bool,
        /// A sender may ask for answers ("I am safe" / "I need help").
        #[arg(long, requires = "targets")]
        answers: bool,
        /// A sender may send alerts fullscreen (with alert among its
        /// severities).
        #[arg(long, requires = "targets")]
        fullscreen: bool,
        /// With a new password, keep the account's API tokens (by default
        /// they are revoked with its sessions).
        #[arg(long)]
        keep_tokens: bool,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// An account's API tokens: `token NAME` (or `token new NAME`) prints
    /// a new one (for HERALD_ADMIN_TOKEN); `token list NAME`, `token
    /// revoke NAME ID`.
    #[command(args_conflicts_with_subcommands = true)]
    Token {
        name: Option<String>,
        #[command(subcommand)]
        cmd: Option<TokenCmd>,
    },
}

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Print a new API token for the account.
    New { name: String },
    /// The account's tokens: id, created, last used; never the secrets.
    List {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke one token by the id `list` shows; it stops working at once.
    Revoke { name: String, id: String },
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
        if l.read_addressed {
            line.push_str("\treads addressed");
        }
        if l.any_sender {
            line.push_str("\tany sender");
        }
        if l.answers {
            line.push_str("\tasks for answers");
        }
        if l.fullscreen {
            line.push_str("\tfullscreen");
        }
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
            read_addressed,
            any_sender,
            answers,
            fullscreen,
            keep_tokens,
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
                    read_addressed,
                    any_sender,
                    answers,
                    fullscreen,
                }),
                password: password.read()?,
                disabled: match (disable, enable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                keep_tokens,
            };
            let path = format!("/api/v1/admin/accounts/{}", seg(&name));
            let a: AccountInfo = c.call(Method::PATCH, &path, Some(&edit)).await?;
            println!("{}", show(&a));
        }
        AdminCmd::Token { name, cmd } => match (name, cmd) {
            (Some(name), None) | (None, Some(TokenCmd::New { name })) => {
                let path = format!("/api/v1/admin/accounts/{}/token", seg(&name));
                let t: AccountToken = c.call(Method::POST, &path, NONE).await?;
                println!("{}", t.token);
            }
            (None, Some(TokenCmd::List { name, json })) => {
                let path = format!("/api/v1/admin/accounts/{}/tokens", seg(&name));
                let all: Vec<AccountTokenInfo> = c.call(Method::GET, &path, NONE).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&all)?);
                } else {
                    for t in &all {
                        println!(
                            "{}\tcreated {}\tlast used {}",
                            t.id,
                            t.created_at.to_rfc3339(),
                            t.last_used_at
                                .map_or_else(|| "never".to_owned(), |u| u.to_rfc3339())
                        );
                    }
                }
            }
            (None, Some(TokenCmd::Revoke { name, id })) => {
                let path = format!("/api/v1/admin/accounts/{}/tokens/{}", seg(&name), seg(&id));
                c.call_empty(Method::DELETE, &path, NONE).await?;
                println!("revoked {id}");
            }
            _ => anyhow::bail!("give an account name, or new, list or revoke"),
        },
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
    for e in &lines {
        println!("{}", herald_server::domain::admins::audit::cli_line(e));
    }
    Ok(())
}
