//! The popup on Linux: a native GTK 3 window, no web engine. The body is
//! the message's block model as Pango markup, a label per block, so
//! nothing in it can load or run; the window fits its text up to a share
//! of the screen, then the body scrolls.
//!
//! Keyboard: the read button (or the first answer) has the focus and is
//! the default (Enter or Space), Tab reaches the other answers and the
//! links and comes back to it, Escape and the close box cancel (but for a
//! fullscreen message that asks for an answer), Page Up and Page Down
//! scroll the body. A fullscreen message covers every monitor (`cover`);
//! an alert that rings plays the desktop's warning sound (`sound`).

mod answers;
mod bidi;
mod body;
mod control;
mod cover;
mod debug;
mod layer;
mod logo;
mod place;
mod sign;
mod sound;
mod window;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{anyhow, Result};
use gtk::glib;
use gtk::prelude::*;
use herald_views::popup::{Outcome, PopupRequest};

/// Shows the message and waits for the user; the outcome goes to standard
/// output. An error means no window could be opened.
pub fn show(req: &PopupRequest) -> Result<()> {
    gtk::init().map_err(|e| anyhow!("cannot open a window (is there a display?): {e}"))?;
    let end = Rc::new(End::default());
    let popup = window::build(req, &end)?;
    let (placed, covers) = if req.fullscreen {
        cover::spread(&popup)
    } else {
        let placed = layer::put(&popup.window, layer::Role::Popup(req.severity));
        place::fit_and_place(&popup, req.severity, placed == layer::Placement::LayerShell);
        (placed, Vec::new())
    };
    if req.ring {
        sound::ring_when_mapped(&popup.window);
    }
    watch_parent(&end);
    trace_first_frame(&popup.window);
    control::listen(&popup.window);
    // The covers first: the card's window comes last, on top, with the
    // keyboard.
    for c in &covers {
        c.show_all();
    }
    popup.window.show_all();
    popup.window.present();
    // The agent reads it: an ordinary Wayland window may be behind others,
    // and then the agent adds a notification that raises it.
    eprintln!("herald-popup: placed: {}", placed.word());
    gtk::main();
    if end.orphaned.get() {
        std::process::exit(3);
    }
    Ok(())
}

/// For bench/popup (`HERALD_POPUP_TRACE=FILE`): appends the wall-clock
/// time (µs since the epoch) at which the first frame was drawn, which no
/// X event tells another process. The mark is taken when the main loop is
/// next idle, so the whole frame is on screen by then.
fn trace_first_frame(window: &gtk::Window) {
    let Some(file) = std::env::var_os("HERALD_POPUP_TRACE") else {
        return;
    };
    let pending = Cell::new(true);
    window.connect_draw(move |_, _| {
        if pending.replace(false) {
            let file = file.clone();
            glib::idle_add_local_once(move || {
                let us = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros());
                let line = format!("{us} drawn {}\n", std::process::id());
                let written = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)
                    .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
                if let Err(e) = written {
                    eprintln!("herald-popup: cannot write the trace: {e}");
                }
            });
        }
        glib::Propagation::Proceed
    });
}

/// How the popup ends: the first of the user's answer and the agent's
/// disappearance, once.
#[derive(Default)]
pub struct End {
    done: Cell<bool>,
    orphaned: Cell<bool>,
}

impl End {
    pub fn answer(&self, outcome: Outcome) {
        if !self.done.replace(true) {
            crate::answer(outcome);
            gtk::main_quit();
        }
    }

    fn orphan(&self) {
        if !self.done.replace(true) {
            // Nobody would hear the answer, and the agent that restarts
            // shows the message again: a second window of the same message
            // must not be left behind.
            eprintln!("herald-popup: the agent is gone; closing");
            self.orphaned.set(true);
            gtk::main_quit();
        }
    }
}

/// Ends the popup when the agent that started it is gone: the popup is
/// then handed to another parent. The agent names itself, as it may
/// already be gone when this runs.
fn watch_parent(end: &Rc<End>) {
    let parent = std::env::var("HERALD_AGENT_PID")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(std::os::unix::process::parent_id);
    let end = Rc::clone(end);
    glib::timeout_add_local(Duration::from_millis(300), move || {
        if std::os::unix::process::parent_id() == parent {
            return glib::ControlFlow::Continue;
        }
        end.orphan();
        glib::ControlFlow::Break
    });
}
