//! The window around the body: the severity banner, the title, the sender
//! and validity lines and the answer buttons, styled as the web page was
//! (`herald_views::popup::page`), with a frame that only moves and closes.

use std::rc::Rc;

use anyhow::{Context, Result};
use gtk::atk::prelude::AtkObjectExt;
use gtk::atk::Role;
use gtk::gdk::keys::constants as key;
use gtk::prelude::*;
use gtk::{gdk, glib, pango};
use herald_protocol::Severity;
use herald_views::popup::{Outcome, PopupRequest, PopupText};

use super::{answers, bidi, body, logo, sign, End};

/// The window's width in logical pixels, as the web popup had it.
pub const WIDTH: i32 = 460;
/// Space on the left and right of the text (1.2em of 14px on the page).
pub const SIDE: i32 = 17;
/// A title longer than this many lines ends in an ellipsis: the server
/// caps titles at 200 characters, which fit, and the body keeps its room
/// whatever comes on standard input.
const TITLE_LINES: i32 = 8;
/// The same for the sender's line.
const FROM_LINES: i32 = 3;

const STYLE: &str = include_str!("style.css");

pub struct Popup {
    pub window: gtk::Window,
    /// The body's viewport, sized by `place::fit_and_place`.
    pub scroller: gtk::ScrolledWindow,
    pub body: gtk::Box,
    /// Everything above and below the body, whose height the body yields to.
    pub around: Vec<gtk::Widget>,
}

pub fn build(req: &PopupRequest, end: &Rc<End>) -> Result<Popup> {
    let text = PopupText::new(req);
    style()?;
    let window = gtk::Window::new(gtk::WindowType::Toplevel);
    window.set_title(&req.title);
    window.style_context().add_class("herald-popup");
    // A message cannot be resized or blown up: it stays as it came until
    // the user answers it; and it stays above what the user was doing.
    window.set_resizable(false);
    window.set_keep_above(true);
    window.set_icon_list(&logo::icons());
    if req.fullscreen {
        // The window is the dark cover of its monitor, the message a card
        // in its middle (`cover`): no frame.
        window.set_decorated(false);
        window.style_context().add_class("fullscreen");
    } else {
        window.connect_realize(fixed_frame);
    }
    if let Some(a) = window.accessible() {
        a.set_name(&text.name());
        // As a message dialog is: a screen reader then reads the text in
        // the window when it opens, not only its name.
        a.set_role(Role::Alert);
    }

    let direction = bidi::of_message(&req.title, &req.body_markdown);
    let banner = banner(req.severity, &text);
    // The sign and the word sit at the side the message starts from.
    bidi::set(&banner, direction);
    let title = title(&text.title);
    title.set_direction(bidi::of(&text.title).unwrap_or(direction));
    let (scroller, body) = body::build(&req.body_markdown, direction);
    let (footer, answers) = footer(req, &text);

    let root = gtk::Box::new(gtk::Orientation::Vertical, 0);
    root.set_size_request(WIDTH, -1);
    root.style_context().add_class("card");
    if req.fullscreen {
        root.set_halign(gtk::Align::Center);
        root.set_valign(gtk::Align::Center);
    }
    root.add(&banner);
    root.add(&title);
    root.add(&scroller);
    root.add(&footer);
    window.add(&root);
    // Hidden widgets measure as nothing: shown now, they can be measured
    // before the window is.
    root.show_all();
    answers.fit(WIDTH - 2 * SIDE);

    for (i, (button, outcome)) in answers.buttons.iter().enumerate() {
        if i == 0 {
            button.set_can_default(true);
            button.grab_default();
            button.grab_focus();
        }
        let on_click = Rc::clone(end);
        let outcome = *outcome;
        button.connect_clicked(move |_| on_click.answer(outcome));
    }
    let cancellable = req.cancellable();
    let on_close = Rc::clone(end);
    window.connect_delete_event(move |_, _| {
        // A fullscreen message that asks for an answer waits for one.
        if cancellable {
            on_close.answer(Outcome::Cancelled);
        }
        glib::Propagation::Stop
    });
    keys(&window, end, cancellable, scroller.vadjustment());

    Ok(Popup {
        window,
        scroller,
        body,
        around: vec![banner.upcast(), title.upcast(), footer.upcast()],
    })
}

/// Escape cancels, if the message may be cancelled; Enter and Space press the focused button; the page keys scroll the body wherever the focus is,
/// and with the focus on the button (where they would do nothing) so do
/// the arrows, Home and End. In a label those move its cursor, as usual.
fn keys(window: &gtk::Window, end: &Rc<End>, cancellable: bool, body: gtk::Adjustment) {
    let end = Rc::clone(end);
    window.connect_key_press_event(move |w, e| {
        let k = e.keyval();
        if k == key::Escape {
            if cancellable {
                end.answer(Outcome::Cancelled);
            }
            return glib::Propagation::Stop;
        }
        let on_button = || w.focused_widget().is_some_and(|f| f.is::<gtk::Button>());
        // GTK's own bindings for these match key codes through the keymap,
        // and a virtual keyboard's keymap (wtype's, an on-screen keyboard's
        // on Wayland) may not list them: the key's name is enough.
        if matches!(k, key::Return | key::KP_Enter | key::ISO_Enter | key::space) && on_button() {
            if let Some(f) = w.focused_widget() {
                f.activate();
                return glib::Propagation::Stop;
            }
        }
        let step = match k {
            key::Page_Down => body.page_increment(),
            key::Page_Up => -body.page_increment(),
            key::Down if on_button() => body.step_increment(),
            key::Up if on_button() => -body.step_increment(),
            key::Home if on_button() => -body.upper(),
            key::End if on_button() => body.upper(),
            _ => return glib::Propagation::Proceed,
        };
        body.set_value(body.value() + step);
        glib::Propagation::Stop
    });
}

fn style() -> Result<()> {
    let provider = gtk::CssProvider::new();
    provider
        .load_from_data(STYLE.as_bytes())
        .context("the popup's style sheet")?;
    let screen = gdk::Screen::default().context("no screen")?;
    gtk::StyleContext::add_provider_for_screen(
        &screen,
        &provider,
        gtk::STYLE_PROVIDER_PRIORITY_APPLICATION,
    );
    Ok(())
}

/// GTK offers no way to take minimize and maximize away: the window asks
/// for a frame that only moves and closes, with the Motif hints every X
/// window manager reads, once it exists and before it is mapped.
fn fixed_frame(window: &gtk::Window) {
    if let Some(w) = window.window() {
        w.set_functions(gdk::WMFunction::MOVE | gdk::WMFunction::CLOSE);
        w.set_decorations(
            gdk::WMDecoration::BORDER | gdk::WMDecoration::TITLE | gdk::WMDecoration::MENU,
        );
    }
}

fn banner(severity: Severity, text: &PopupText) -> gtk::Box {
    let banner = gtk::Box::new(gtk::Orientation::Horizontal, 7);
    let class = match severity {
        Severity::Alert => "alert",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    banner.style_context().add_class("banner");
    banner.style_context().add_class(class);
    banner.add(&sign::new(severity));
    let word = gtk::Label::new(Some(&text.banner()));
    word.set_widget_name("banner");
    let attrs = pango::AttrList::new();
    attrs.insert(pango::AttrInt::new_weight(pango::Weight::Bold));
    // .03em, as the page spaces the word.
    attrs.insert(pango::AttrInt::new_letter_spacing(pango::SCALE / 2));
    word.set_attributes(Some(&attrs));
    banner.add(&word);
    banner
}

fn title(title: &str) -> gtk::Label {
    let label = wrapping(title);
    label.set_widget_name("title");
    let attrs = pango::AttrList::new();
    attrs.insert(pango::AttrFloat::new_scale(1.25));
    attrs.insert(pango::AttrInt::new_weight(pango::Weight::Bold));
    label.set_attributes(Some(&attrs));
    label.set_ellipsize(pango::EllipsizeMode::End);
    label.set_lines(TITLE_LINES);
    label.set_selectable(true);
    label.set_can_focus(false);
    label.set_margin_start(SIDE);
    label.set_margin_end(SIDE);
    label.set_margin_top(8);
    label.set_margin_bottom(8);
    label
}

/// The sender, the validity and the answer buttons.
fn footer(req: &PopupRequest, text: &PopupText) -> (gtk::Box, answers::Answers) {
    let footer = gtk::Box::new(gtk::Orientation::Vertical, 4);
    footer.style_context().add_class("footer");
    for (line, lines) in [(&text.from_line, FROM_LINES), (&text.valid_line, 1)] {
        let label = wrapping(line);
        let attrs = pango::AttrList::new();
        attrs.insert(pango::AttrFloat::new_scale(0.8));
        label.set_attributes(Some(&attrs));
        label.set_ellipsize(pango::EllipsizeMode::End);
        label.set_lines(lines);
        label.style_context().add_class("meta");
        label.set_widget_name("meta");
        footer.add(&label);
    }
    let answers = answers::build(req, text);
    footer.add(&answers.row);
    (footer, answers)
}

/// A label that wraps anywhere it must, left-aligned, and asks for no
/// width of its own: the window's width decides.
pub fn wrapping(text: &str) -> gtk::Label {
    let label = gtk::Label::new(Some(text));
    label.set_line_wrap(true);
    label.set_line_wrap_mode(pango::WrapMode::WordChar);
    label.set_xalign(0.0);
    label.set_max_width_chars(1);
    label
}
