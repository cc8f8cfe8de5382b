//! `herald-popup`: reads one message (JSON) on standard input, shows it in a
//! window, prints `read` or `cancelled` and exits. The agent starts one per
//! message shown, so whatever draws the popup lives only while it is on
//! screen.
//!
//! The window is native and links no web engine: GTK 3 on Linux, the body
//! laid out from the message's block model as Pango markup; Win32 on
//! Windows, the body the same model as RTF in a RichEdit control.

use std::io::Write;

use anyhow::Result;
use herald_views::popup::{Outcome, PopupRequest};
use serde::Deserialize as _;

#[cfg(target_os = "linux")]
mod gtk_popup;
#[cfg(any(target_os = "linux", windows))]
mod links;
#[cfg(windows)]
mod win_popup;

fn main() {
    if let Err(e) = run() {
        eprintln!("herald-popup: {e:#}");
        std::process::exit(1);
    }
}

/// The answer the agent reads: one word on standard output.
pub fn answer(o: Outcome) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", o.line());
    let _ = out.flush();
}

/// The message is one JSON value on standard input. The agent may keep the
/// pipe open after it, for control lines (`gtk_popup::control`); a caller
/// that closes it right away (a script, a test) works the same.
fn run() -> Result<()> {
    let mut json = serde_json::Deserializer::from_reader(std::io::stdin());
    let req = PopupRequest::deserialize(&mut json).map_err(|e| {
        if e.is_io() {
            anyhow::Error::new(e).context("cannot read the message on standard input")
        } else {
            anyhow::Error::new(e).context("the message on standard input is malformed")
        }
    })?;
    show(&req)
}

#[cfg(target_os = "linux")]
fn show(req: &PopupRequest) -> Result<()> {
    gtk_popup::show(req)
}

#[cfg(windows)]
fn show(req: &PopupRequest) -> Result<()> {
    win_popup::show(req)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn show(_req: &PopupRequest) -> Result<()> {
    anyhow::bail!("no popup on this platform")
}
