//! `herald-popup`: reads one message (JSON) on standard input, shows it in a
//! window, prints `read` or `cancelled` and exits. The agent starts one per
//! message shown, so whatever draws the popup lives only while it is on
//! screen.
//!
//! On Linux the window is native GTK 3: the body is laid out from the
//! message's block model as Pango markup, with no web engine. On Windows it
//! is a web page in WebView2, or a native dialog when the runtime is
//! missing, so that the message still reaches the user.

use std::io::Write;

#[cfg(windows)]
use anyhow::Context;
use anyhow::Result;
use herald_views::popup::{Outcome, PopupRequest};
use serde::Deserialize as _;

#[cfg(target_os = "linux")]
mod gtk_popup;
#[cfg(windows)]
mod icon;
#[cfg(any(target_os = "linux", windows))]
mod links;
#[cfg(windows)]
mod native;
#[cfg(windows)]
mod web;
#[cfg(windows)]
mod webview;

fn main() {
    if let Err(e) = run() {
        eprintln!("herald-popup: {e:#}");
        std::process::exit(1);
    }
}

/// The answer the agent reads: one word on standard output.
pub fn answer(o: Outcome) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", o.as_str());
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

/// The web view when the WebView2 runtime is there and works; the native
/// dialog otherwise (or when `HERALD_POPUP_NATIVE=1`).
#[cfg(windows)]
fn show(req: &PopupRequest) -> Result<()> {
    let forced = std::env::var_os("HERALD_POPUP_NATIVE").is_some_and(|v| v == "1");
    if forced {
        eprintln!("herald-popup: native dialog (HERALD_POPUP_NATIVE=1)");
    } else {
        match wry::webview_version() {
            Ok(_) => match web::show(req) {
                Ok(()) => return Ok(()),
                Err(e) => eprintln!("herald-popup: {e:#}; showing the native dialog"),
            },
            Err(e) => {
                eprintln!("herald-popup: no WebView2 runtime ({e}); showing the native dialog")
            }
        }
    }
    let view = herald_views::popup::NativeView::new(req);
    let outcome = native::show(&view, req.severity).context("the native dialog failed")?;
    answer(outcome);
    Ok(())
}

#[cfg(not(any(target_os = "linux", windows)))]
fn show(_req: &PopupRequest) -> Result<()> {
    anyhow::bail!("no popup on this platform")
}
