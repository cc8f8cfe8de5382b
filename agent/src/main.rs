//! `herald-agent`: the per-user agent and its command line.
//!
//! # Layers
//!
//! A layer uses only the layers below it, and no two modules use each
//! other in a circle (`run`'s tasks under `run/` may use `run`);
//! `tests/tests/layers.rs` (herald-e2e) checks every `crate::` and
//! `super::` path against this list. Bottom first:
//!
//! 1. `cli`, `input` — the command line, and what the main loop takes in.
//! 2. `notice`, `popup_process`, `behind`, `tray_ui`, `control_socket`,
//!    `machine_config` — the agent's ways in and out: notifications, the
//!    popup process and the notification that raises it where it may be
//!    behind, the tray, the control socket, what the installer writes.
//! 3. `commands` — the one-shot subcommands and the context they share.
//! 4. `run`, `test_connection` — the running agent's loop and its tasks;
//!    the connection test.

#[cfg(target_os = "linux")]
mod behind;
mod cli;
mod commands;
mod control_socket;
mod input;
mod machine_config;
mod notice;
mod popup_process;
mod run;
mod test_connection;
mod tray_ui;

use anyhow::Result;
use clap::Parser;
use herald_core::control::Request;

fn main() {
    let cli = cli::Cli::parse();
    let is_run = matches!(cli.command, cli::Command::Run { .. });
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if is_run { "info" } else { "warn" })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log redirected to a file gets no colour codes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = dispatch(cli) {
        eprintln!("herald-agent: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(cli: cli::Cli) -> Result<()> {
    // The installer runs this before any user config or store exists.
    if let cli::Command::MachineConfig { action } = cli.command {
        return machine_config::run(action);
    }
    let ctx = commands::Context::new(&cli)?;
    match cli.command {
        cli::Command::Sync { json } => commands::sync(&ctx, json),
        cli::Command::Enroll => commands::enroll(&ctx),
        cli::Command::Queue { all, json } => commands::queue(&ctx, all, json),
        cli::Command::Ack { id, answer } => commands::ack(&ctx, &id, answer),
        cli::Command::Cancel { id } => commands::cancel(&ctx, &id),
        cli::Command::Status { json } => commands::status(&ctx, json),
        cli::Command::Log { json, oldest_first } => commands::log(&ctx, json, oldest_first),
        cli::Command::Run { headless } => run::run(&ctx, headless),
        cli::Command::Autostart { action } => commands::autostart(action),
        cli::Command::CheckNow => commands::control(&ctx, &Request::CheckNow),
        cli::Command::History => commands::history(&ctx),
        cli::Command::ShowWaiting => commands::control(&ctx, &Request::ShowWaiting),
        cli::Command::TestConnection { json } => test_connection::run(&ctx, json),
        cli::Command::MachineConfig { .. } => Ok(()),
    }
}
