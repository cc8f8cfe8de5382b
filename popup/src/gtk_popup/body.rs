//! The message body: the block model from `herald_views::body`, a label
//! per block, indented by the lists and quotes around it, in a viewport
//! that scrolls. The markup is the emitter's own (every piece of text
//! escaped, links only http, https and mailto): nothing in it loads or
//! runs, and a link opens outside only when the user follows it.

use gtk::prelude::*;
use gtk::{glib, TextDirection};
use herald_views::body::{parse, to_pango, PangoBlock, PangoKind};

use super::bidi;
use super::window::{wrapping, SIDE};

/// Indentation per list level; the marker sits at the end of it.
const LIST_INDENT: i32 = 26;
/// Space under a block, as the page's paragraphs have; less in a list.
const GAP: i32 = 10;
const LIST_GAP: i32 = 4;

/// The viewport and the column of blocks in it. A block reads the way its
/// own text does, or `message` when it has no letter: a right-to-left
/// paragraph is aligned right, a list item's bullet is on its right.
pub fn build(markdown: &str, message: TextDirection) -> (gtk::ScrolledWindow, gtk::Box) {
    let column = gtk::Box::new(gtk::Orientation::Vertical, 0);
    column.set_margin_start(SIDE);
    column.set_margin_end(SIDE);
    column.set_margin_bottom(4);
    for block in to_pango(&parse(markdown)) {
        let row = row(&block);
        let text = bidi::markup_text(&block.markup).unwrap_or_default();
        bidi::set(&row, bidi::of(&text).unwrap_or(message));
        column.add(&row);
    }
    let scroller = gtk::ScrolledWindow::new(None::<&gtk::Adjustment>, None::<&gtk::Adjustment>);
    scroller.set_policy(gtk::PolicyType::Never, gtk::PolicyType::Automatic);
    scroller.set_propagate_natural_height(true);
    // GTK would put the viewport itself in the Tab order when nothing in
    // it takes the focus: Tab must come back to the button, and the window
    // scrolls the body with the keys when the button has the focus.
    scroller.set_can_focus(false);
    scroller.add(&column);
    // A link reached with Tab is scrolled into view.
    column.set_focus_vadjustment(&scroller.vadjustment());
    (scroller, column)
}

/// A block with its quote bars and list marker in front.
fn row(block: &PangoBlock) -> gtk::Widget {
    let content = content(block);
    let nested = block.list_depth > 0 || block.quote_depth > 0;
    let gap = if block.list_depth > 0 { LIST_GAP } else { GAP };
    if !nested {
        content.set_margin_bottom(gap);
        return content;
    }
    let row = gtk::Box::new(gtk::Orientation::Horizontal, 0);
    for _ in 0..block.quote_depth {
        let bar = gtk::Separator::new(gtk::Orientation::Vertical);
        bar.style_context().add_class("quote");
        row.add(&bar);
    }
    if block.list_depth > 0 {
        let depth = i32::try_from(block.list_depth).unwrap_or(i32::MAX);
        let marker = gtk::Label::new(block.marker.as_deref());
        marker.set_widget_name("marker");
        marker.set_xalign(1.0);
        marker.set_yalign(0.0);
        marker.set_size_request(depth.saturating_mul(LIST_INDENT).saturating_sub(6), -1);
        marker.set_margin_end(6);
        marker.set_valign(gtk::Align::Start);
        row.add(&marker);
    }
    content.set_margin_bottom(gap);
    content.set_hexpand(true);
    row.add(&content);
    row.upcast()
}

fn content(block: &PangoBlock) -> gtk::Widget {
    match block.kind {
        PangoKind::Rule => {
            let rule = gtk::Separator::new(gtk::Orientation::Horizontal);
            rule.set_margin_top(6);
            rule.set_valign(gtk::Align::Center);
            rule.upcast()
        }
        PangoKind::Code => {
            let frame = gtk::Frame::new(None);
            frame.style_context().add_class("code");
            let code = label(&block.markup);
            code.set_margin_start(8);
            code.set_margin_end(8);
            code.set_margin_top(6);
            code.set_margin_bottom(6);
            frame.add(&code);
            frame.upcast()
        }
        PangoKind::Heading(_) => {
            let heading = label(&block.markup);
            heading.set_margin_top(6);
            heading.upcast()
        }
        PangoKind::Paragraph => label(&block.markup).upcast(),
    }
}

/// One block's text. It can be selected with the mouse, but only a block
/// with links takes the focus: Tab goes from link to link and back to the
/// button, and Enter or Space on the button always answers.
fn label(markup: &str) -> gtk::Label {
    let label = wrapping("");
    label.set_widget_name("block");
    label.set_markup(markup);
    label.set_yalign(0.0);
    label.set_selectable(true);
    // The emitter escapes `<` in text: an element here is one of its links.
    label.set_can_focus(markup.contains("<a "));
    label.connect_activate_link(|_, uri| {
        crate::links::open_outside(uri);
        // GTK would open it itself otherwise.
        glib::Propagation::Stop
    });
    label
}
