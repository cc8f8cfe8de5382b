//! `herald-history`: every message the user received, from the agent's store.
//! It only reads, so it can run beside the agent (the store is in WAL mode).

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Parser;
use herald_agent::store::{ReceiptStatus, Store, StoredMessage};
use herald_agent::{config, schedule};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "herald-history",
    version,
    about = "Every message this user received"
)]
struct Cli {
    /// Where the per-user store lives.
    #[arg(long, env = "HERALD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Entry {
    #[serde(flatten)]
    message: StoredMessage,
    receipts: Vec<ReceiptStatus>,
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("herald-history: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let dir = cli
        .data_dir
        .or_else(config::default_data_dir)
        .context("no data directory on this system: give --data-dir or HERALD_DATA_DIR")?;
    let path = config::store_path(&dir);
    let store =
        Store::open(&path).with_context(|| format!("cannot open the store {}", path.display()))?;
    let now = store.sync_state()?.server_now(Utc::now());
    let mut entries = Vec::new();
    for m in store.messages()? {
        let receipts = store.receipts_of(&m.id)?;
        let state = schedule::effective_state(&m, now);
        entries.push(Entry {
            message: StoredMessage { state, ..m },
            receipts,
        });
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("no messages received yet");
    }
    for e in entries {
        let m = &e.message;
        let receipt = match (
            e.receipts.is_empty(),
            e.receipts.iter().all(|r| r.sent_at.is_some()),
        ) {
            (true, _) => "no receipt",
            (false, true) => "receipt delivered",
            (false, false) => "receipt pending",
        };
        println!(
            "{}  {:<7}  {:<9}  {:<17}  received {}  valid {} .. {}  {}",
            m.id,
            m.severity,
            m.state,
            receipt,
            m.received_at.format("%Y-%m-%d %H:%M"),
            m.valid_from.format("%Y-%m-%d %H:%M"),
            m.valid_until.format("%Y-%m-%d %H:%M"),
            m.title
        );
    }
    Ok(())
}
