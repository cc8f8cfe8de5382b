//! Which way the text reads. Pango lays out each paragraph by its own
//! letters, but a GTK widget aligns and orders its children by its own
//! direction, the locale's: an Arabic or Hebrew paragraph in an English
//! desktop would stay on the left, its list bullet too. Each block takes
//! the direction of its first strong letter, as HTML's `dir="auto"` does,
//! and a block without one (a number, a rule) the message's.

use gtk::pango;
use gtk::prelude::*;
use gtk::TextDirection;

/// The direction of the text's first strong letter, if it has one.
pub fn of(text: &str) -> Option<TextDirection> {
    match pango::find_base_dir(text) {
        pango::Direction::Rtl | pango::Direction::WeakRtl => Some(TextDirection::Rtl),
        pango::Direction::Ltr | pango::Direction::WeakLtr => Some(TextDirection::Ltr),
        _ => None,
    }
}

/// The message's direction: its title's, or its body's when the title has
/// no letter, or the desktop's.
pub fn of_message(title: &str, body: &str) -> TextDirection {
    of(title)
        .or_else(|| of(body))
        .unwrap_or_else(gtk::Widget::default_direction)
}

/// The plain text of Pango markup; none if it does not parse (the
/// emitter's own markup always does).
pub fn markup_text(markup: &str) -> Option<String> {
    pango::parse_markup(markup, '\0')
        .ok()
        .map(|(_, text, _)| text.to_string())
}

/// Sets the direction of a widget and of everything in it: a GTK 3 widget
/// does not take its parent's, only the desktop's default.
pub fn set(widget: &impl IsA<gtk::Widget>, dir: TextDirection) {
    if widget.direction() != dir {
        // GTK 3 keeps the start and end margins as left and right, by the
        // direction when they were set: they are set again for the new one.
        let (start, end) = (widget.margin_start(), widget.margin_end());
        widget.set_direction(dir);
        widget.set_margin_start(start);
        widget.set_margin_end(end);
    }
    if let Some(container) = widget.dynamic_cast_ref::<gtk::Container>() {
        container.forall(|child| set(child, dir));
    }
}
