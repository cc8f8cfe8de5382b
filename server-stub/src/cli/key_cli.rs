//! `herald-server key`: shows and rotates the message-signing key file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use clap::Subcommand;
use herald_server::domain::messages::signatures;
use herald_server::store::db::Location;
use herald_server::store::keyfile;

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Print the public key agents must be given (`server_key` in their
    /// config, SERVER_KEY of the MSI), and its fingerprint.
    Show(KeyArgs),
    /// Make a new key, certified by the current one; the current one stays
    /// valid for the grace period. Every still-valid message is re-signed
    /// with the new key. Restart every instance afterwards.
    Rotate {
        #[command(flatten)]
        key: KeyArgs,
        /// How long the old key's signatures stay good, in days.
        #[arg(long, default_value_t = keyfile::DEFAULT_GRACE_DAYS)]
        grace_days: i64,
    },
}

#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The key file (default: as `serve` finds it).
    #[arg(long, env = "HERALD_SIGNING_KEY", value_name = "PATH")]
    pub signing_key: Option<PathBuf>,
    /// The database (default: HERALD_DB, else server.db in the data directory).
    #[arg(long, env = "HERALD_DB")]
    pub db: Option<String>,
}

impl KeyArgs {
    fn locate(&self, data_dir: &Path) -> (Location, PathBuf) {
        let db = self.db.as_deref().map_or_else(
            || Location::Sqlite(data_dir.join("server.db")),
            Location::parse,
        );
        let path = self
            .signing_key
            .clone()
            .unwrap_or_else(|| keyfile::default_path(&db, data_dir));
        (db, path)
    }
}

pub async fn run(cmd: KeyCmd, data_dir: &Path) -> Result<()> {
    match cmd {
        KeyCmd::Show(args) => {
            let (db, path) = args.locate(data_dir);
            let s = keyfile::load(&path)?;
            print_key(&s);
            for k in s.valid_keys(Utc::now()).iter().skip(1) {
                println!("also valid (rotated out, in its grace period): {k}");
            }
            // At a site relay, agents trust the central server's key, which
            // vouches for this relay's: say what to give them instead.
            let exists = !matches!(&db, Location::Sqlite(p) if !p.exists());
            let central = exists
                .then(|| herald_server::store::migrate::open(&db).ok())
                .flatten()
                .and_then(|conn| {
                    herald_server::domain::messages::relay_keys::keys_for_agents(&conn).ok()
                })
                .unwrap_or_default();
            if !central.is_empty() {
                println!(
                    "this server is a site relay: give its agents the central server's key instead:"
                );
                println!("server_key: {}", central.join(","));
            }
        }
        KeyCmd::Rotate { key, grace_days } => {
            anyhow::ensure!(
                (0..=3650).contains(&grace_days),
                "--grace-days must be between 0 and 3650"
            );
            let (db, path) = key.locate(data_dir);
            let old = keyfile::load(&path)?;
            let new = keyfile::rotate(&path, Duration::days(grace_days), Utc::now())?;
            println!(
                "rotated: the old key {} stays valid for {grace_days} days",
                old.key_id()
            );
            print_key(&new);
            let conn = herald_server::store::migrate::open(&db)
                .with_context(|| format!("cannot open {db} to re-sign its messages"))?;
            let done = herald_server::domain::messages::relay_keys::central_trust(&conn)
                .and_then(|central| signatures::resign(&conn, &new, &central, false, Utc::now()))
                .with_context(|| format!("cannot re-sign the messages in {db}"))?;
            println!(
                "re-signed {} messages; {} left as they were (not signed by this server's keys)",
                done.signed, done.refused
            );
            println!("restart every instance so that they sign with the new key");
        }
    }
    Ok(())
}

fn print_key(s: &keyfile::Signer) {
    println!("public key: {}", s.public_hex());
    println!("fingerprint: {}", s.key_id());
}
