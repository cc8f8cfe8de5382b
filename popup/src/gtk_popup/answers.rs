//! The buttons the user answers with: "I have read the message", or the
//! message's own answers (2 to 5, in the shown language) in their order,
//! or, for a message shown again from the history, "Close". The first is
//! the default and has the focus; Tab goes from one to the next.

use gtk::prelude::*;
use herald_views::popup::{Outcome, PopupRequest, PopupText};

use super::bidi;

/// Space between two buttons, side by side or one above the other.
const GAP: i32 = 8;

pub struct Answers {
    /// The buttons in a row; `fit` may stack them.
    pub row: gtk::Box,
    /// Each button and what it answers, the default first.
    pub buttons: Vec<(gtk::Button, Outcome)>,
}

pub fn build(req: &PopupRequest, text: &PopupText) -> Answers {
    let choices: Vec<(String, Outcome)> = match &text.read_label {
        // Shown again from the history, it only closes, and closing is
        // what it answers: nothing to acknowledge.
        None => vec![(text.close_label.clone(), Outcome::Cancelled)],
        Some(read) if req.answers.is_empty() => vec![(read.clone(), Outcome::Read)],
        Some(_) => (1u8..)
            .zip(&req.answers)
            .map(|(n, label)| (label.clone(), Outcome::Answered(n)))
            .collect(),
    };
    let row = gtk::Box::new(gtk::Orientation::Horizontal, GAP);
    row.set_margin_top(5);
    let buttons = choices
        .into_iter()
        .map(|(label, outcome)| {
            let button = gtk::Button::with_label(&label);
            button.style_context().add_class("answer");
            // A label reads its own way (an Arabic answer in an English
            // desktop), as the body's blocks do.
            if let Some(dir) = bidi::of(&label) {
                if let Some(child) = button.child() {
                    bidi::set(&child, dir);
                }
            }
            row.add(&button);
            (button, outcome)
        })
        .collect();
    row.set_halign(gtk::Align::Start);
    Answers { row, buttons }
}

impl Answers {
    /// Stacks the buttons, each as wide as the room, when side by side
    /// they would need more than `width`. Runs once the window's widgets
    /// are shown, so that they can be measured.
    pub fn fit(&self, width: i32) {
        if self.buttons.len() < 2 || self.row.preferred_width().1 <= width {
            return;
        }
        self.row.set_orientation(gtk::Orientation::Vertical);
        self.row.set_halign(gtk::Align::Fill);
        for (button, _) in &self.buttons {
            if let Some(label) = button.child().and_then(|c| c.downcast::<gtk::Label>().ok()) {
                // A long answer wraps rather than widen the window.
                label.set_line_wrap(true);
                label.set_max_width_chars(1);
                label.set_justify(gtk::Justification::Center);
            }
        }
        // Measured once more, stacked: GTK 3 otherwise keeps the sizes it
        // measured side by side, and the window takes its height from them
        // (a blank band below the buttons).
        let _ = self.row.preferred_height_for_width(width);
    }
}
