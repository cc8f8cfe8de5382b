//! `herald-server site ...`, `exchange ...` and `prefs ...`: the
//! multi-site exchange from the command line, through the running server.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use herald_protocol::steps::Report;
use herald_protocol::{
    Deleted, ExchangeLogLine, ExchangeReport, LogDeletion, NewSite, Pref, SiteInfo, SiteKeys,
    Transport, PREF_KEYS,
};
use reqwest::Method;

use crate::client::{seg, AdminClient};

const NONE: Option<&()> = None;

#[derive(Subcommand)]
pub enum SiteCmd {
    /// Register a site relay; prints the [relay] section for its server
    /// (it holds the site's secret key: shown this once).
    Add {
        name: String,
        #[arg(long, value_enum, default_value = "https")]
        transport: TransportArg,
        /// The relay's mailbox, where its bundles are mailed (mail only).
        #[arg(long)]
        mail: Option<String>,
        /// How often the site should exchange, in minutes: beyond twice
        /// that it shows as overdue.
        #[arg(long, default_value_t = 60)]
        every_minutes: u64,
        #[arg(long)]
        json: bool,
    },
    /// Each site: its last exchange, state and version warning.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Forget a site; its users and hosts stay known.
    Remove { name: String },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TransportArg {
    Https,
    Mail,
}

#[derive(Args)]
pub struct ExchangeArgs {
    #[command(subcommand)]
    pub cmd: Option<ExchangeCmd>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum ExchangeCmd {
    /// Check the way to the other side step by step (DNS, TCP, TLS,
    /// sign-in, a test mail sent and read back; or HTTPS and the site key).
    Test {
        #[arg(long)]
        json: bool,
    },
    /// The trace of exchanges, newest first.
    Log(LogArgs),
}

#[derive(Args)]
pub struct LogArgs {
    #[command(subcommand)]
    pub cmd: Option<LogCmd>,
    #[arg(long)]
    pub oldest_first: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum LogCmd {
    /// Delete lines (by id, older than a time, or all) after a confirmation.
    Delete {
        ids: Vec<i64>,
        /// Every line older than this (RFC 3339).
        #[arg(long, conflicts_with = "all")]
        before: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        all: bool,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
    /// The whole trace, oldest first, to stdout or a file.
    Export {
        #[arg(value_enum)]
        format: ExportFormat,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Subcommand)]
pub enum PrefsCmd {
    /// Set a preference for all sites, or one (--site). Keys: poll-interval,
    /// push, max-dnd, language, min-agent-version.
    Set {
        key: String,
        value: String,
        #[arg(long)]
        site: Option<String>,
    },
    /// Remove a preference; the server's own setting applies again.
    Unset {
        key: String,
        #[arg(long)]
        site: Option<String>,
    },
    /// Every preference set.
    Show {
        #[arg(long)]
        json: bool,
    },
}

pub async fn site(cmd: SiteCmd, c: &AdminClient, server: &str) -> Result<()> {
    match cmd {
        SiteCmd::Add {
            name,
            transport,
            mail,
            every_minutes,
            json,
        } => {
            let transport = match transport {
                TransportArg::Https => Transport::Https,
                TransportArg::Mail => Transport::Mail,
            };
            let new = NewSite {
                name,
                transport,
                mail_address: mail,
                every_secs: Some(every_minutes.saturating_mul(60)),
            };
            let keys: SiteKeys = c
                .call(Method::POST, "/api/v1/admin/sites", Some(&new))
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                print!("{}", relay_section(&keys, transport, server));
            }
        }
        SiteCmd::List { json } => {
            let sites: Vec<SiteInfo> = c.call(Method::GET, "/api/v1/admin/sites", NONE).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sites)?);
                return Ok(());
            }
            for s in &sites {
                let last = s
                    .last_exchange
                    .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
                println!(
                    "{}\t{}\t{}\tlast exchange {last}\tsent #{} applied #{} acked #{}\t{} users, {} hosts",
                    s.name,
                    s.transport.as_str(),
                    s.state.as_str(),
                    s.sent,
                    s.applied,
                    s.acked,
                    s.users,
                    s.hosts
                );
                if let Some(w) = &s.version_warning {
                    println!("\tversion: {w}");
                }
                if let Some(e) = &s.last_error {
                    println!("\tlast error: {e}");
                }
            }
        }
        SiteCmd::Remove { name } => {
            c.call_empty(
                Method::DELETE,
                &format!("/api/v1/admin/sites/{}", seg(&name)),
                NONE,
            )
            .await?;
        }
    }
    Ok(())
}

/// The relay's config section, ready to paste.
fn relay_section(keys: &SiteKeys, transport: Transport, server: &str) -> String {
    let mut out = format!(
        "# The [relay] section of server.toml at site {site}. It holds the\n\
         # site's secret key: keep the file readable by the server only.\n\
         [relay]\n\
         site = \"{site}\"\n\
         key = \"{key}\"\n\
         central_key = \"{central}\"\n\
         transport = \"{t}\"\n",
        site = keys.site,
        key = keys.site_key,
        central = keys.central_key,
        t = transport.as_str(),
    );
    match transport {
        Transport::Https => {
            out.push_str(&format!("central_url = \"{server}\"\n"));
        }
        Transport::Mail => {
            let to = keys
                .central_mail
                .as_deref()
                .unwrap_or("ADDRESS OF THE CENTRAL SERVER'S [mail]");
            out.push_str(&format!(
                "central_mail = \"{to}\"\n\n\
                 # And the site's own mailbox:\n\
                 # [mail]\n\
                 # address = \"...\"\n\
                 # smtp_host = \"...\"  smtp_user, smtp_password, smtp_security = \"starttls\"\n\
                 # imap_host = \"...\"  imap_user, imap_password, imap_security = \"tls\"\n"
            ));
        }
    }
    out
}

pub async fn exchange(args: ExchangeArgs, c: &AdminClient) -> Result<()> {
    match args.cmd {
        None => {
            let r: ExchangeReport = c.call(Method::POST, "/api/v1/admin/exchange", NONE).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                for l in &r.lines {
                    println!("{l}");
                }
            }
            if !r.ok {
                bail!("the exchange did not complete (see above and `herald-server exchange log`)");
            }
        }
        Some(ExchangeCmd::Test { json }) => {
            let r: Report = c
                .call(Method::POST, "/api/v1/admin/exchange/test", NONE)
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                for l in r.lines() {
                    println!("{l}");
                }
            }
            if let Some(s) = r.failed() {
                bail!("the exchange test failed at {}", s.step);
            }
        }
        Some(ExchangeCmd::Log(a)) => log(a, c).await?,
    }
    Ok(())
}

async fn lines(c: &AdminClient, oldest_first: bool) -> Result<Vec<ExchangeLogLine>> {
    c.call(
        Method::GET,
        &format!("/api/v1/admin/exchange/log?oldest_first={oldest_first}"),
        NONE,
    )
    .await
}

async fn log(a: LogArgs, c: &AdminClient) -> Result<()> {
    match a.cmd {
        None => {
            let l = lines(c, a.oldest_first).await?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&l)?);
            } else {
                for line in &l {
                    let number = line.number.map(|n| format!("#{n}")).unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{}\t{number}\t{}\t{}",
                        line.id,
                        line.at.to_rfc3339(),
                        line.site,
                        line.event,
                        line.outcome,
                        line.detail
                    );
                }
            }
        }
        Some(LogCmd::Export { format, output }) => {
            let l = lines(c, true).await?;
            let text = match format {
                ExportFormat::Csv => herald_server::domain::sites::exchange_log::to_csv(&l),
                ExportFormat::Json => serde_json::to_string_pretty(&l)? + "\n",
            };
            match output {
                Some(p) => std::fs::write(&p, text)
                    .with_context(|| format!("cannot write {}", p.display()))?,
                None => print!("{text}"),
            }
        }
        Some(LogCmd::Delete {
            ids,
            before,
            all,
            yes,
        }) => {
            let what = if all {
                "every line of the exchange log".to_owned()
            } else if let Some(b) = before {
                format!("the exchange log's lines older than {}", b.to_rfc3339())
            } else if !ids.is_empty() {
                format!("{} line(s) of the exchange log", ids.len())
            } else {
                bail!("say which lines: ids, --before TIME or --all");
            };
            if !yes && !confirm(&format!("Delete {what}?"))? {
                println!("nothing deleted");
                return Ok(());
            }
            let d: Deleted = c
                .call(
                    Method::POST,
                    "/api/v1/admin/exchange/log/delete",
                    Some(&LogDeletion { ids, before, all }),
                )
                .await?;
            println!("{} line(s) deleted", d.deleted);
        }
    }
    Ok(())
}

/// Asks on the terminal; anything but y or yes is no, and so is no answer.
fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

pub async fn prefs(cmd: PrefsCmd, c: &AdminClient) -> Result<()> {
    match cmd {
        PrefsCmd::Set { key, value, site } => {
            c.call_empty(
                Method::PUT,
                "/api/v1/admin/prefs",
                Some(&Pref { site, key, value }),
            )
            .await?;
        }
        PrefsCmd::Unset { key, site } => {
            c.call_empty(
                Method::POST,
                "/api/v1/admin/prefs/unset",
                Some(&serde_json::json!({ "site": site, "key": key })),
            )
            .await?;
        }
        PrefsCmd::Show { json } => {
            let p: Vec<Pref> = c.call(Method::GET, "/api/v1/admin/prefs", NONE).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
                return Ok(());
            }
            if p.is_empty() {
                println!("no preference set; known are:");
                for (k, what) in PREF_KEYS {
                    println!("  {k}\t{what}");
                }
            }
            for pref in &p {
                println!(
                    "{}\t{}\t{}",
                    pref.site.as_deref().unwrap_or("(all sites)"),
                    pref.key,
                    pref.value
                );
            }
        }
    }
    Ok(())
}
