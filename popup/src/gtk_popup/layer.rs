//! Where the window goes on screen, and what the agent is told of it. On
//! X11 the window asks to stay above the others and the window manager
//! obeys. On Wayland an ordinary window cannot stay on top or take the
//! focus: where the compositor offers wlr-layer-shell (sway and other
//! wlroots desktops, KDE Plasma), the popup goes on the overlay layer,
//! above every window, full-screen ones too, with the keyboard. Elsewhere
//! (GNOME) it stays an ordinary window, and the agent, told so, adds a
//! notification that the user can click to raise it.

use gtk::prelude::*;
use gtk_layer_shell::{Edge, KeyboardMode, Layer, LayerShell};
use herald_protocol::Severity;

use super::place::MARGIN;

/// How the window was put on screen; the agent reads it on standard error
/// (`herald-popup: placed: WORD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// An X server (XWayland included): keep-above works.
    X11,
    /// The overlay layer of a Wayland compositor.
    LayerShell,
    /// An ordinary Wayland window: it may open behind others.
    WaylandPlain,
}

impl Placement {
    pub fn word(self) -> &'static str {
        match self {
            Placement::X11 => "x11",
            Placement::LayerShell => "layer-shell",
            Placement::WaylandPlain => "wayland-plain",
        }
    }
}

/// What a window is for, which decides its anchors and its keyboard.
#[derive(Clone, Copy)]
pub enum Role<'a> {
    /// The popup, centred (an alert) or in the bottom-right corner.
    Popup(Severity),
    /// A fullscreen message's card: it covers `monitor` and holds the
    /// keyboard.
    Card(&'a gtk::gdk::Monitor),
    /// The dark cover of another monitor, which never takes the keyboard.
    Cover(&'a gtk::gdk::Monitor),
}

/// Puts the window on the overlay layer where that is possible. Must run
/// before the window is realized: the layer surface replaces the ordinary
/// one. `HERALD_POPUP_LAYER_SHELL=0` keeps an ordinary window even where
/// the layer exists (what a GNOME session gets, for the tests).
pub fn put(window: &gtk::Window, role: Role) -> Placement {
    let wayland =
        gtk::gdk::Display::default().is_some_and(|d| d.type_().name() == "GdkWaylandDisplay");
    if !wayland {
        return Placement::X11;
    }
    let refused = std::env::var_os("HERALD_POPUP_LAYER_SHELL").is_some_and(|v| v == "0");
    if refused || !gtk_layer_shell::is_supported() {
        return Placement::WaylandPlain;
    }
    window.init_layer_shell();
    window.set_layer(Layer::Overlay);
    window.set_namespace("herald-popup");
    match role {
        Role::Popup(severity) => popup(window, severity),
        Role::Card(monitor) | Role::Cover(monitor) => {
            window.set_monitor(monitor);
            for edge in [Edge::Top, Edge::Bottom, Edge::Left, Edge::Right] {
                window.set_anchor(edge, true);
            }
            // Over the panels too: the whole monitor.
            window.set_exclusive_zone(-1);
            window.set_keyboard_mode(if matches!(role, Role::Card(_)) {
                KeyboardMode::Exclusive
            } else {
                KeyboardMode::None
            });
        }
    }
    Placement::LayerShell
}

fn popup(window: &gtk::Window, severity: Severity) {
    // An alert holds the keyboard until it is answered, as a modal dialog
    // would; a warning or a notice takes the focus when it comes but lets
    // the user click back to their work.
    window.set_keyboard_mode(if severity == Severity::Alert {
        KeyboardMode::Exclusive
    } else {
        KeyboardMode::OnDemand
    });
    // Neither anchored edge nor margin: the compositor centres the surface,
    // where an alert belongs. Others sit in the bottom-right corner.
    if severity != Severity::Alert {
        for edge in [Edge::Bottom, Edge::Right] {
            window.set_anchor(edge, true);
            window.set_layer_shell_margin(edge, MARGIN);
        }
    }
}
