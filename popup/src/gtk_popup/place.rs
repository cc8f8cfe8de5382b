//! The window's size and place: as tall as its text needs, up to a share
//! of the monitor, the body scrolling beyond; alerts in the middle of the
//! screen, where they cannot be missed, others in the bottom-right corner,
//! where notifications usually appear.

use std::cell::Cell;
use std::rc::Rc;

use gtk::gdk;
use gtk::prelude::*;
use herald_protocol::Severity;

use super::window::{Popup, WIDTH};

/// How tall the window may grow before its body scrolls, as a share of
/// the monitor's work area.
const MAX_SHARE: f64 = 0.7;
/// The least height a body that scrolls gets, whatever is around it: a
/// few lines, never a slit under a long title.
pub const MIN_BODY: i32 = 120;
/// Distance from the work area's edges for popups placed in a corner.
pub const MARGIN: i32 = 24;

/// Sizes the window, and moves it unless it is `layered`: a layer surface
/// is placed by its anchors (`layer::put`), and GTK cannot move it.
pub fn fit_and_place(popup: &Popup, severity: Severity, layered: bool) {
    let Some(area) = work_area() else {
        return;
    };
    fit(popup, &area);
    if layered {
        return;
    }
    let placed = Rc::new(Cell::new(place(&popup.window, &area, severity)));
    // The window manager may have its own idea of the size (a font, a
    // theme): once mapped, the real size decides.
    let debug = std::env::var_os("HERALD_POPUP_DEBUG_LAYOUT").is_some_and(|v| v == "1");
    let scroller = popup.scroller.clone();
    popup.window.connect_map_event(move |w, _| {
        if w.size() != placed.get() {
            placed.set(place(w, &area, severity));
        }
        if debug {
            super::debug::report(w, &scroller, &area);
        }
        gtk::glib::Propagation::Proceed
    });
}

/// The primary monitor's work area (without panels), in logical pixels.
fn work_area() -> Option<gdk::Rectangle> {
    let display = gdk::Display::default()?;
    let monitor = display.primary_monitor().or_else(|| display.monitor(0))?;
    Some(monitor.workarea())
}

/// Gives the body the height of its text, within what is left of the
/// maximum once the banner, title and footer have theirs, but never less
/// than `MIN_BODY` when it has that much to show. The window is not
/// resizable, so GTK gives it its minimum size: the body's minimum is the
/// height it gets.
pub fn fit(popup: &Popup, area: &gdk::Rectangle) {
    let max = (f64::from(area.height()) * MAX_SHARE) as i32;
    let around: i32 = popup
        .around
        .iter()
        .map(|w| w.preferred_height_for_width(WIDTH).0)
        .sum();
    let wanted = popup.body.preferred_height_for_width(WIDTH).1;
    let height = wanted.min((max - around).max(MIN_BODY));
    popup.scroller.set_min_content_height(height);
    popup.scroller.set_max_content_height(height);
}

/// Moves the window for the size it will have; returns that size. The
/// gravity makes the window manager put the frame, not the inside, at the
/// point asked for.
fn place(window: &gtk::Window, area: &gdk::Rectangle, severity: Severity) -> (i32, i32) {
    let (size, _) = window.preferred_size();
    let (w, h) = (size.width, size.height);
    let (x, y, gravity) = if severity == Severity::Alert {
        (
            area.x() + (area.width() - w) / 2,
            area.y() + (area.height() - h) / 2,
            gdk::Gravity::Center,
        )
    } else {
        (
            area.x() + area.width() - w - MARGIN,
            area.y() + area.height() - h - MARGIN,
            gdk::Gravity::SouthEast,
        )
    };
    window.set_gravity(gravity);
    window.move_(x.max(area.x()), y.max(area.y()));
    (w, h)
}
