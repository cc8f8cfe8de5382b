//! `herald-history`: every message the user received, and the exchange
//! log, from the agent's store. A window by default; `--list` prints to the
//! terminal and `--export-log` writes the log for scripts. It can run
//! beside the agent: the store is in WAL mode and reads are short.

mod icon;
mod page;
mod webview;
mod window;
mod words;

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Parser, ValueEnum};
use herald_core::config;
use herald_core::history::{self, HistoryRow, ReceiptStanding};
use herald_core::store::{LogOrder, Store};

#[derive(Parser)]
#[command(
    name = "herald-history",
    version,
    about = "Every message this user received, and the exchange log"
)]
struct Cli {
    /// Where the per-user store lives.
    #[arg(long, env = "HERALD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print the messages instead of opening the window.
    #[arg(long)]
    list: bool,
    /// Print the messages as JSON (implies --list).
    #[arg(long)]
    json: bool,
    /// Write the exchange log in this format instead of opening the window.
    #[arg(long, value_enum)]
    export_log: Option<Format>,
    /// With --export-log: the file to write (default: standard output).
    #[arg(long, requires = "export_log")]
    output: Option<PathBuf>,
    /// With --export-log: oldest entries first.
    #[arg(long)]
    oldest_first: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
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
        .clone()
        .or_else(config::default_data_dir)
        .context("no data directory on this system: give --data-dir or HERALD_DATA_DIR")?;
    let path = config::store_path(&dir);
    let store =
        Store::open(&path).with_context(|| format!("cannot open the store {}", path.display()))?;
    if let Some(format) = cli.export_log {
        return export(&store, format, &cli);
    }
    if cli.list || cli.json {
        return list(&store, cli.json);
    }
    window::run(dir, store)
}

fn export(store: &Store, format: Format, cli: &Cli) -> Result<()> {
    let order = if cli.oldest_first {
        LogOrder::OldestFirst
    } else {
        LogOrder::NewestFirst
    };
    let entries = store.exchange_log(order)?;
    let text = match format {
        Format::Csv => history::log_csv(&entries),
        Format::Json => history::log_json(&entries)?,
    };
    match &cli.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn list(store: &Store, json: bool) -> Result<()> {
    let now = store.sync_state()?.server_now(Utc::now());
    let rows = history::rows(store, now, &herald_core::languages::desktop_languages())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no messages received yet");
    }
    for m in rows {
        print_row(&m);
    }
    Ok(())
}

fn print_row(m: &HistoryRow) {
    let receipt = match m.receipt {
        ReceiptStanding::None => "no receipt",
        ReceiptStanding::Pending => "receipt pending",
        ReceiptStanding::Delivered => "receipt delivered",
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
