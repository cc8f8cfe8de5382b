//! A fullscreen message: every monitor goes dark until the message is read
//! or answered. The popup's window covers the primary monitor (or the
//! first) with the message as a card in its middle; every other monitor
//! gets a dark window of its own, which never takes the keyboard. On X11
//! each window asks to stay above the others and is moved and sized to its
//! monitor, which works with no window manager too; on Wayland with
//! wlr-layer-shell each is an overlay surface anchored to the four edges of
//! its output (`layer::Role`).

use gtk::gdk;
use gtk::glib;
use gtk::prelude::*;
use herald_protocol::Severity;

use super::layer::{self, Placement, Role};
use super::window::Popup;
use super::{debug, place};

/// Makes the popup's window cover its monitor; returns how it was placed
/// and the windows that cover the other monitors, to be shown with it.
pub fn spread(popup: &Popup) -> (Placement, Vec<gtk::Window>) {
    let monitors = monitors();
    let Some(card) = card_monitor(&monitors) else {
        // No monitor to cover: the card alone, wherever it is put.
        let placed = layer::put(&popup.window, Role::Popup(Severity::Alert));
        return (placed, Vec::new());
    };
    let placed = layer::put(&popup.window, Role::Card(&monitors[card]));
    let area = monitors[card].geometry();
    place::fit(popup, &area);
    cover(&popup.window, &monitors[card], placed);
    let debug = std::env::var_os("HERALD_POPUP_DEBUG_LAYOUT").is_some_and(|v| v == "1");
    if debug {
        eprintln!("herald-popup: monitors {}", monitors.len());
        let scroller = popup.scroller.clone();
        popup.window.connect_map_event(move |w, _| {
            debug::report(w, &scroller, &area);
            glib::Propagation::Proceed
        });
    }
    let others = monitors
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != card)
        .map(|(_, m)| {
            let w = gtk::Window::new(gtk::WindowType::Toplevel);
            w.style_context().add_class("herald-popup");
            w.style_context().add_class("fullscreen");
            w.set_decorated(false);
            // The card's window keeps the keyboard: a click on the dark
            // cover does not take it away.
            w.set_accept_focus(false);
            w.set_focus_on_map(false);
            // Closing a cover would uncover a monitor: only the message's
            // answer ends them all.
            w.connect_delete_event(|_, _| glib::Propagation::Stop);
            let placed = layer::put(&w, Role::Cover(m));
            cover(&w, m, placed);
            w
        })
        .collect();
    (placed, others)
}

/// The monitors GDK knows, in its order.
fn monitors() -> Vec<gdk::Monitor> {
    let Some(display) = gdk::Display::default() else {
        return Vec::new();
    };
    (0..display.n_monitors())
        .filter_map(|i| display.monitor(i))
        .collect()
}

/// Where the card goes: the primary monitor, or the first.
fn card_monitor(monitors: &[gdk::Monitor]) -> Option<usize> {
    if monitors.is_empty() {
        return None;
    }
    Some(monitors.iter().position(|m| m.is_primary()).unwrap_or(0))
}

/// Sizes and places `window` over the whole of `monitor`, above the others.
fn cover(window: &gtk::Window, monitor: &gdk::Monitor, placed: Placement) {
    let area = monitor.geometry();
    window.set_resizable(false);
    window.set_keep_above(true);
    window.set_skip_taskbar_hint(true);
    window.set_skip_pager_hint(true);
    // The window is not resizable: its size is the least it asks for.
    window.set_size_request(area.width(), area.height());
    if placed == Placement::LayerShell {
        // The anchors size and place a layer surface.
        return;
    }
    window.set_gravity(gdk::Gravity::NorthWest);
    window.move_(area.x(), area.y());
    // A window manager is told to make it fullscreen on that monitor, over
    // its panels; with none (a bare X server) the move and the size above
    // already cover the monitor.
    let Some(display) = monitor.display() else {
        return;
    };
    let index = (0..display.n_monitors()).find(|&i| display.monitor(i).as_ref() == Some(monitor));
    if let (Some(index), Some(screen)) = (index, gdk::Screen::default()) {
        window.fullscreen_on_monitor(&screen, index);
    }
}
