//! `herald-server`: runs the server, and administers a running one over HTTP.

mod accounts_cli;
mod cli;
mod client;
mod directory_cli;
mod enroll_cli;
mod key_cli;
mod messages_cli;
mod report_cli;
mod site_cli;
mod versions;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, Command, ServeArgs};
use herald_server::store::db::Location;
use herald_server::store::migrate;

fn main() {
    // The matches are kept: `send` and `edit` read their versions by
    // position, which the derived struct does not keep.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    init_tracing(matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    if let Err(e) = runtime.block_on(run(cli, &sub)) {
        fail(&e);
    }
}

fn fail(e: &anyhow::Error) -> ! {
    eprintln!("herald-server: error: {e:#}");
    std::process::exit(1)
}

fn init_tracing(serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log redirected to a file gets no colour codes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn run(cli: Cli, sub: &clap::ArgMatches) -> Result<()> {
    let data_dir = match &cli.data_dir {
        Some(d) => d.clone(),
        None => default_data_dir()?,
    };
    match cli.command {
        Command::Serve(args) => serve(args, cli.admin_token, &data_dir).await,
        Command::Backup { to, db } => {
            let db = db.map_or_else(
                || Location::Sqlite(data_dir.join("server.db")),
                |d| Location::parse(&d),
            );
            let s = herald_server::store::backup::backup(&db, &to)
                .with_context(|| format!("cannot back up {db}"))?;
            println!(
                "{}: {} bytes, schema {}, {} users, {} messages",
                to.display(),
                s.bytes,
                s.schema_version,
                s.users,
                s.messages
            );
            Ok(())
        }
        Command::Migrate { from, to } => {
            let (from, to) = (Location::parse(&from), Location::parse(&to));
            if from == to {
                anyhow::bail!("--from and --to are the same database");
            }
            if let Location::Sqlite(path) = &from {
                // Opening a missing file would make an empty one to copy.
                anyhow::ensure!(path.exists(), "no database at {}", path.display());
            }
            let source = migrate::open(&from).with_context(|| format!("cannot open {from}"))?;
            let dest = migrate::open(&to).with_context(|| format!("cannot open {to}"))?;
            let copied = migrate::copy(&source, &dest)
                .with_context(|| format!("cannot copy {from} to {to}"))?;
            for (table, rows) in &copied {
                println!("{table}: {rows} rows");
            }
            println!("copied {from} to {to}");
            Ok(())
        }
        Command::Key(cmd) => key_cli::run(cmd, &data_dir).await,
        other => {
            let token = match cli.admin_token {
                Some(t) => t,
                None => read_admin_token(&data_dir)?,
            };
            let client = client::AdminClient::new(&cli.server, &token, cli.server_ca.as_deref())?;
            cli::run_admin(other, sub, &client).await
        }
    }
}

fn default_data_dir() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("herald-server"))
        .context("no data directory on this system: give --data-dir or HERALD_SERVER_DATA_DIR")
}

const TOKEN_FILE: &str = "admin-token";

fn read_admin_token(data_dir: &Path) -> Result<String> {
    let path = data_dir.join(TOKEN_FILE);
    let token = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no admin token: set HERALD_ADMIN_TOKEN or --admin-token (and none saved in {})",
            path.display()
        )
    })?;
    Ok(token.trim().to_owned())
}

/// The admin token: the one given, which every instance then takes; else
/// the one saved in the data dir, if the database has none or the same;
/// else the database's (this instance then has no copy of it in clear);
/// else a new one, saved in the data dir (readable by its owner only).
/// Returns the token's hash and whether the database must take it.
fn admin_token(
    given: Option<String>,
    data_dir: &Path,
    stored: Option<String>,
) -> Result<(String, bool)> {
    use herald_server::tokens::hash_token;
    if let Some(t) = given.filter(|t| !t.trim().is_empty()) {
        let hash = hash_token(t.trim());
        let changed = stored.as_deref() != Some(hash.as_str());
        return Ok((hash, changed));
    }
    if let Ok(t) = read_admin_token(data_dir) {
        if !t.is_empty() {
            let hash = hash_token(&t);
            match stored {
                None => return Ok((hash, true)),
                Some(s) if s == hash => return Ok((hash, false)),
                Some(s) => {
                    eprintln!(
                        "herald-server: the token in {} is not the database's admin token; \
                         the database's stands (another instance set it)",
                        data_dir.display()
                    );
                    return Ok((s, false));
                }
            }
        }
    }
    if let Some(s) = stored {
        return Ok((s, false));
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let token = herald_server::tokens::new_token();
    let path = data_dir.join(TOKEN_FILE);
    write_private(&path, &token)
        .with_context(|| format!("cannot save the admin token in {}", path.display()))?;
    eprintln!("herald-server: new admin token saved in {}", path.display());
    Ok((hash_token(&token), true))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

async fn serve(args: ServeArgs, token: Option<String>, data_dir: &Path) -> Result<()> {
    let location = match &args.db {
        Some(s) => Location::parse(s),
        None => Location::Sqlite(data_dir.join("server.db")),
    };
    let db = herald_server::store::pool::Db::open_with_writers(&location, args.db_writers.into())
        .with_context(|| format!("cannot open the database {location}"))?;
    let stored = db
        .read(|c| herald_server::store::db::meta(c, herald_server::http::guard::TOKEN_HASH_KEY))
        .context("cannot read the admin token's hash")?;
    let (token_hash, store) = admin_token(token, data_dir, stored)?;
    if store {
        let hash = token_hash.clone();
        db.write(move |c| {
            herald_server::store::db::set_meta(c, herald_server::http::guard::TOKEN_HASH_KEY, &hash)
        })
        .await
        .context("cannot keep the admin token's hash in the database")?;
    }
    signing_key(&args, &location, data_dir, &db).await?;
    let policy = herald_server::AgentPolicy {
        poll_interval_secs: args.poll_interval.max(1),
        min_agent_version: args.min_agent_version,
        push: args.push.into(),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(herald_server::net::tls::acceptor(cert, key)?),
        _ => None,
    };
    let config_path = args.config.clone().or_else(|| {
        let p = data_dir.join("server.toml");
        p.exists().then_some(p)
    });
    let config = match &config_path {
        Some(p) => directory_cli::load_config(p)?,
        None => herald_server::config::ServerConfig::default(),
    };
    if let Some(kt) = &args.keytab {
        let realms = if args.kerberos_realms.is_empty() {
            herald_krb::keytab_realms(kt).context("--keytab")?
        } else {
            args.kerberos_realms.clone()
        };
        tracing::info!(keytab = %kt.display(), ?realms, "Kerberos sign-in on");
        herald_server::http::agent::kerberos::set_keytab(kt.clone(), realms);
    }
    if !args.trusted_proxies.is_empty() {
        tracing::info!(proxies = ?args.trusted_proxies, "X-Forwarded-For believed from these");
    }
    let setup = herald_server::state::exchange::ExchangeSetup {
        relay: config.relay,
        mail: config.mail,
        ..Default::default()
    };
    setup.check().map_err(|e| {
        anyhow::anyhow!(
            "{e} (in {})",
            config_path
                .as_deref()
                .map_or_else(String::new, |p| p.display().to_string())
        )
    })?;
    if let Some(r) = &setup.relay {
        let r = r.clone();
        db.write(move |c| {
            herald_server::domain::sites::ensure_central(
                c,
                &r.site,
                r.transport,
                r.central_mail.as_deref(),
                &r.central_key,
                chrono::Utc::now(),
            )
        })
        .await
        .context("cannot record the central server for this relay")?;
    }
    let every = setup.relay.as_ref().and_then(|r| r.every_secs);
    let limits = conn_limits(&args.connections)?;
    let state = herald_server::AppState::with_admin_hash(db, token_hash, policy)
        .with_secure_cookies(tls.is_some())
        .with_trusted_proxies(herald_server::config::TrustedProxies::new(
            args.trusted_proxies,
        ))
        .with_exchange(setup)
        .with_trust_claimed_hosts(args.trust_claimed_hosts)
        .with_conn_limits(limits);
    if args.trust_claimed_hosts {
        tracing::warn!(
            "--trust-claimed-hosts: every agent's claimed computer name is believed; any user can receive messages to host:NAME and slip past host exclusions by claiming a name"
        );
    }
    state.reload_prefs().await;
    if let Some(secs) = every {
        tracing::info!(
            every_secs = secs,
            "exchanging with the central server on a schedule"
        );
        tokio::spawn(herald_server::jobs::exchange::every(state.clone(), secs));
    }
    if let Some(dir) = config.directory {
        tracing::info!(url = %dir.url, every_secs = dir.interval().as_secs(), "directory sync on");
        tokio::spawn(herald_server::jobs::directory::sync_forever(
            state.clone(),
            dir,
        ));
    }
    let listener = herald_server::net::connections::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Tests and scripts read this line to learn the port when given port 0.
    println!("herald-server listening on {scheme}://{addr}");
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "serving plain HTTP beyond this computer: agents' tokens cross the network in clear; give --tls-cert and --tls-key"
        );
    }
    tracing::info!(db = %location, "serving");
    herald_server::serve(listener, tls, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// The connection limits asked for, with the cap lowered to what the
/// limit on open files allows (raised first as far as the system lets).
fn conn_limits(args: &cli::ConnArgs) -> Result<herald_server::config::ConnLimits> {
    let mut limits = args.limits()?;
    let asked = limits.max_connections;
    if let Some(files) = herald_server::net::open_files::raise() {
        if limits.fit_open_files(files) {
            tracing::warn!(
                asked,
                cap = limits.max_connections,
                open_files = files,
                "the limit on open files allows fewer connections than --max-connections; raise it (ulimit -n, LimitNOFILE=) for more"
            );
        }
    }
    if limits.reserved >= limits.max_connections {
        limits.reserved = limits.max_connections / 2;
    }
    tracing::info!(
        max_connections = limits.max_connections,
        per_client = limits.max_per_client,
        reserved = limits.reserved,
        "connection caps"
    );
    Ok(limits)
}

/// Loads the message-signing key (making it at first start) for every
/// revision this instance makes. A new key adopts the messages made before
/// signing began; a rotated one takes over what the old key signed.
async fn signing_key(
    args: &ServeArgs,
    location: &Location,
    data_dir: &Path,
    db: &herald_server::store::pool::Db,
) -> Result<()> {
    use herald_server::domain::messages::signatures;
    use herald_server::store::keyfile;
    let path = args
        .signing_key
        .clone()
        .unwrap_or_else(|| keyfile::default_path(location, data_dir));
    let (signer, made) = keyfile::load_or_create(&path, chrono::Utc::now())
        .with_context(|| format!("cannot load the message-signing key {}", path.display()))?;
    if made {
        tracing::info!(path = %path.display(), "new message-signing key made");
    }
    tracing::info!(key = %signer.public_hex(), fingerprint = %signer.key_id(),
        "signing messages (agents verify them with this public key)");
    let for_db = signer.clone();
    let done = db
        .write(move |c| {
            let central = herald_server::domain::messages::relay_keys::central_trust(c)?;
            signatures::resign(c, &for_db, &central, made, chrono::Utc::now())
        })
        .await
        .context("cannot re-sign the messages")?;
    if done.signed > 0 || done.refused > 0 {
        tracing::info!(
            signed = done.signed,
            refused = done.refused,
            "messages (re-)signed with the current key"
        );
    }
    keyfile::install(signer);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use herald_server::tokens::hash_token;

    #[test]
    fn connection_limits_come_from_the_flags_and_bad_ones_are_refused() {
        let serve = |args: &[&str]| {
            let mut argv = vec!["herald-server", "serve"];
            argv.extend_from_slice(args);
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Serve(s) => s.connections.limits(),
                _ => unreachable!(),
            }
        };
        let defaults = serve(&[]).unwrap();
        assert_eq!(defaults, herald_server::config::ConnLimits::default());
        let small = serve(&[
            "--max-connections=40",
            "--max-connections-per-client=3",
            "--reserved-connections=2",
            "--head-timeout=2",
            "--body-timeout=5",
            "--close-grace=1",
        ])
        .unwrap();
        assert_eq!(
            (small.max_connections, small.max_per_client, small.reserved),
            (40, 3, 2)
        );
        assert_eq!(small.body_timeout, std::time::Duration::from_secs(5));
        let e = serve(&["--max-connections=10", "--reserved-connections=10"]).unwrap_err();
        assert!(
            e.to_string().contains("fewer than --max-connections"),
            "{e}"
        );
        assert!(Cli::try_parse_from(["herald-server", "serve", "--head-timeout=0"]).is_err());
    }

    #[test]
    fn the_database_keeps_one_admin_token_for_every_instance() {
        let first = tempfile::tempdir().unwrap();
        // The first instance makes a token, saves it, and stores its hash.
        let (hash, store) = admin_token(None, first.path(), None).unwrap();
        let saved = read_admin_token(first.path()).unwrap();
        assert_eq!((hash.as_str(), store), (hash_token(&saved).as_str(), true));
        // A second instance, with a data dir of its own, takes the
        // database's and makes no token of its own.
        let second = tempfile::tempdir().unwrap();
        assert_eq!(
            admin_token(None, second.path(), Some(hash.clone())).unwrap(),
            (hash.clone(), false)
        );
        assert!(read_admin_token(second.path()).is_err());
        // A stale token in a data dir gives way to the database's.
        std::fs::write(second.path().join(TOKEN_FILE), "old").unwrap();
        assert_eq!(
            admin_token(None, second.path(), Some(hash.clone())).unwrap(),
            (hash.clone(), false)
        );
        // A token given replaces it for all.
        assert_eq!(
            admin_token(Some("new".into()), second.path(), Some(hash)).unwrap(),
            (hash_token("new"), true)
        );
    }
}
