//! Lines from the agent after the message, on the same standard input.
//! One is known: `activate [TOKEN]`, sent when the user clicked "Open" in
//! the notification that stands for a popup the desktop may keep behind
//! other windows (GNOME on Wayland). The token is the one the
//! notification server handed out with the click (xdg-activation): with
//! it, the compositor lets the window come to the front and take the focus.

use std::sync::mpsc::{self, TryRecvError};
use std::time::Duration;

use gtk::glib;
use gtk::prelude::*;

/// How often the main loop looks for a line: a click on a notification
/// needs no quicker answer, and the popup stays idle in between.
const POLL: Duration = Duration::from_millis(200);

pub fn listen(window: &gtk::Window) {
    let (tx, rx) = mpsc::channel::<String>();
    // Blocking reads, off the main loop: GTK objects stay on its thread.
    // The message was read from the same buffered standard input, so what
    // followed it is still there.
    let reader = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = reader {
        eprintln!("herald-popup: cannot read further lines from the agent: {e}");
        return;
    }
    let window = window.clone();
    glib::timeout_add_local(POLL, move || loop {
        match rx.try_recv() {
            Ok(line) => obey(&window, &line),
            Err(TryRecvError::Empty) => return glib::ControlFlow::Continue,
            // The agent closed its end: nothing more will come.
            Err(TryRecvError::Disconnected) => return glib::ControlFlow::Break,
        }
    });
}

fn obey(window: &gtk::Window, line: &str) {
    let mut words = line.split_whitespace();
    match words.next() {
        Some("activate") => {
            if let Some(token) = words.next() {
                // GTK 3.24 hands it to the compositor at the next present
                // (xdg_activation_v1.activate): tests/tests/wayland.rs.
                window.set_startup_id(token);
            }
            window.present();
            eprintln!("herald-popup: activated");
        }
        Some(other) => eprintln!("herald-popup: unknown line from the agent: {other}"),
        None => {}
    }
}
