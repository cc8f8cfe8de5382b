//! For the tests (`HERALD_POPUP_DEBUG_LAYOUT=1`): the figures a screen
//! capture cannot give without reading pixels. One line for the window
//! (its size, the body's height, the work area, the scale) and one per
//! label: the room it got against the room it needs for that width,
//! where its text lies in that room, which way it reads, and whether it
//! was cut short.

use gtk::prelude::*;
use gtk::{gdk, glib};

pub fn report(window: &gtk::Window, scroller: &gtk::ScrolledWindow, area: &gdk::Rectangle) {
    let (w, h) = window.size();
    let (x, y) = window.position();
    eprintln!(
        "herald-popup: layout window {w}x{h}+{x}+{y} body {} work area {}x{}+{}+{} scale {}",
        scroller.allocated_height(),
        area.width(),
        area.height(),
        area.x(),
        area.y(),
        window.scale_factor()
    );
    // After the allocation that follows the map, which runs before idle
    // callbacks do.
    let window = window.clone();
    glib::idle_add_local_once(move || walk(window.upcast_ref(), false));
}

fn walk(widget: &gtk::Widget, in_button: bool) {
    if let Some(label) = widget.downcast_ref::<gtk::Label>() {
        label_line(label, in_button);
    }
    if let Some(container) = widget.downcast_ref::<gtk::Container>() {
        let in_button = in_button || widget.is::<gtk::Button>();
        container.forall(|child| walk(child, in_button));
    }
}

fn label_line(label: &gtk::Label, in_button: bool) {
    if !label.is_visible() {
        return;
    }
    let Some(layout) = label.layout() else {
        return;
    };
    let a = label.allocation();
    // GTK's sizes include the margins; the allocation does not.
    let (side, ends) = (
        label.margin_start() + label.margin_end(),
        label.margin_top() + label.margin_bottom(),
    );
    let need_w = label.preferred_width().0 - side;
    let need_h = label.preferred_height_for_width(a.width() + side).0 - ends;
    let (_, text) = layout.pixel_extents();
    // The offsets are where the label draws its layout, in the coordinates
    // its allocation is in.
    let (ox, oy) = label.layout_offsets();
    let kind = if in_button {
        "button".to_owned()
    } else {
        label.widget_name().to_string()
    };
    let dir = match label.direction() {
        gtk::TextDirection::Rtl => "rtl",
        _ => "ltr",
    };
    let says: String = label
        .text()
        .chars()
        .take(40)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    eprintln!(
        "herald-popup: label kind={kind} alloc={}x{}+{}+{} need={need_w}x{need_h} \
         text={},{},{},{} dir={dir} xalign={:.2} ellipsized={} says={says}",
        a.width(),
        a.height(),
        a.x(),
        a.y(),
        ox + text.x() - a.x(),
        oy + text.y() - a.y(),
        text.width(),
        text.height(),
        label.xalign(),
        layout.is_ellipsized(),
    );
}
