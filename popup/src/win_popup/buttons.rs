//! The buttons under the footer: "I have read the message"; or one per
//! answer the message asks for, in order, the first the default; or
//! "Close" for a message shown again from the history. Each says what it
//! answers, so that a click, Space, Enter on the focused one and Alt with
//! an underlined letter all end the same way.

use herald_views::popup::{Outcome, PopupRequest, PopupText};
use windows_sys::Win32::Foundation::{HWND, RECT};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    GetWindowLongW, GetWindowRect, GetWindowTextW, SendMessageW, BM_SETSTYLE, BS_DEFPUSHBUTTON,
    BS_MULTILINE, BS_PUSHBUTTON, GWL_STYLE, IDCANCEL, IDOK, WINDOW_STYLE, WS_CHILD, WS_TABSTOP,
    WS_VISIBLE,
};

use super::child;

/// The most buttons a popup has: one per answer at most.
pub const MAX: usize = herald_protocol::MAX_ANSWERS;
/// Answer n (1-based) is the control FIRST_ANSWER_ID + n - 1: far from
/// IDOK and IDCANCEL, which the dialog manager gives their own meaning.
const FIRST_ANSWER_ID: i32 = 1000;

#[derive(Clone)]
pub struct Button {
    pub hwnd: HWND,
    pub id: i32,
    pub outcome: Outcome,
    /// As given to the control: `&` before the accelerator, `&&` for `&`.
    pub label: String,
}

/// The buttons' labels, control ids and answers, in order.
pub fn specs(req: &PopupRequest, text: &PopupText) -> Vec<(String, i32, Outcome)> {
    let Some(read) = &text.read_label else {
        return vec![(escape(&text.close_label), IDCANCEL, Outcome::Cancelled)];
    };
    if req.answers.is_empty() {
        // Alt and the first letter read, as the underline shows.
        return vec![(format!("&{}", escape(read)), IDOK, Outcome::Read)];
    }
    if req.answers.len() > MAX {
        eprintln!(
            "herald-popup: {} answers, the first {MAX} shown",
            req.answers.len()
        );
    }
    let answers = &req.answers[..req.answers.len().min(MAX)];
    accelerated(answers)
        .into_iter()
        .zip(1u8..)
        .zip(FIRST_ANSWER_ID..)
        .map(|((label, n), id)| (label, id, Outcome::Answered(n)))
        .collect()
}

/// Creates the buttons, the first the default.
///
/// # Safety
/// `parent` is this thread's live window.
pub unsafe fn create(parent: HWND, specs: Vec<(String, i32, Outcome)>) -> Vec<Button> {
    let answers = specs
        .iter()
        .any(|(_, _, o)| matches!(o, Outcome::Answered(_)));
    specs
        .into_iter()
        .enumerate()
        .map(|(i, (label, id, outcome))| {
            let kind = if i == 0 {
                BS_DEFPUSHBUTTON
            } else {
                BS_PUSHBUTTON
            };
            // An answer as long as the window is wide wraps in its button.
            let wrap = if answers { BS_MULTILINE } else { 0 };
            let style: WINDOW_STYLE = WS_CHILD | WS_VISIBLE | WS_TABSTOP | (kind | wrap) as u32;
            Button {
                hwnd: child(parent, "BUTTON", &label, style, id),
                id,
                outcome,
                label,
            }
        })
        .collect()
}

/// Buttons of these sizes left to right, in rows `width` wide, `gap`
/// apart, all as tall as the tallest: their places from (0, 0), and the
/// rows' height.
pub fn flow(sizes: &[(i32, i32)], width: i32, gap: i32) -> ([RECT; MAX], i32) {
    let mut out = [RECT::default(); MAX];
    let h = sizes.iter().map(|s| s.1).max().unwrap_or(0);
    let (mut x, mut y) = (0, 0);
    for (r, &(w, _)) in out.iter_mut().zip(sizes) {
        if x > 0 && x + w > width {
            x = 0;
            y += h + gap;
        }
        *r = RECT {
            left: x,
            top: y,
            right: x + w,
            bottom: y + h,
        };
        x += w + gap;
    }
    (out, if sizes.is_empty() { 0 } else { y + h })
}

/// What the button with control id `id` answers.
pub fn outcome(buttons: &[Button], id: i32) -> Option<Outcome> {
    buttons.iter().find(|b| b.id == id).map(|b| b.outcome)
}

/// Makes `id` the default button (DM_SETDEFID, sent by the dialog manager
/// as Tab moves the focus among them), the others plain.
pub fn set_default(buttons: &[Button], id: i32) {
    for b in buttons {
        let kind = if b.id == id {
            BS_DEFPUSHBUTTON
        } else {
            BS_PUSHBUTTON
        };
        // SAFETY: our control; BM_SETSTYLE keeps the other style bits
        // only as given, so they are given again.
        unsafe {
            let rest = GetWindowLongW(b.hwnd, GWL_STYLE) as u32 & !0xf;
            SendMessageW(b.hwnd, BM_SETSTYLE, (rest | kind as u32) as usize, 1);
        }
    }
}

/// The labels with `&` before the first letter of each that no other
/// starts with: Alt and that letter answer.
fn accelerated(labels: &[String]) -> Vec<String> {
    let first = |l: &str| {
        l.chars()
            .find(|c| c.is_alphanumeric())
            .map(|c| c.to_lowercase().collect::<String>())
    };
    let firsts: Vec<Option<String>> = labels.iter().map(|l| first(l)).collect();
    labels
        .iter()
        .zip(&firsts)
        .map(|(label, f)| {
            let mut escaped = escape(label);
            let unique = f.is_some() && firsts.iter().filter(|o| *o == f).count() == 1;
            if unique {
                if let Some(at) = escaped.find(|c: char| c.is_alphanumeric()) {
                    escaped.insert(at, '&');
                }
            }
            escaped
        })
        .collect()
}

/// A text as a button shows it literally.
fn escape(s: &str) -> String {
    s.replace('&', "&&")
}

/// A label as the button draws it: `&&` is `&`, a lone `&` marks the
/// accelerator and is not drawn.
pub fn shown(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars();
    while let Some(c) = chars.next() {
        if c != '&' {
            out.push(c);
        } else if let Some(next) = chars.next() {
            out.push(next);
        }
    }
    out
}

/// For the tests (`HERALD_POPUP_DEBUG_LAYOUT=1`): each button's text and
/// place, read back from the control, and which one is the default.
pub fn report(buttons: &[Button]) {
    for b in buttons {
        let mut text = [0u16; 256];
        let mut r = RECT::default();
        // SAFETY: our control, a buffer whose length is passed, a RECT on
        // the stack.
        let (n, style) = unsafe {
            GetWindowRect(b.hwnd, &mut r);
            (
                GetWindowTextW(b.hwnd, text.as_mut_ptr(), text.len() as i32),
                GetWindowLongW(b.hwnd, GWL_STYLE) as u32,
            )
        };
        let n = usize::try_from(n).unwrap_or(0).min(text.len());
        let text = String::from_utf16_lossy(&text[..n]);
        match b.outcome {
            // The line the locale test reads.
            Outcome::Read | Outcome::Cancelled => eprintln!("herald-popup: button {text:?}"),
            Outcome::Answered(k) => eprintln!(
                "herald-popup: answer {k} {text:?} {}x{}+{}+{}{}",
                r.right - r.left,
                r.bottom - r.top,
                r.left,
                r.top,
                if style & 0xf == BS_DEFPUSHBUTTON as u32 {
                    " default"
                } else {
                    ""
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_first_letter_no_other_label_shares_is_the_accelerator() {
        let labels = strings(&["I am safe", "i need help", "Not on site", "« Élan »", "R&D"]);
        assert_eq!(
            accelerated(&labels),
            [
                "I am safe",
                "i need help",
                "&Not on site",
                "« &Élan »",
                "&R&&D"
            ]
        );
        assert_eq!(shown("&R&&D"), "R&D");
        assert_eq!(shown("« &Élan »"), "« Élan »");
    }

    #[test]
    fn buttons_wrap_to_rows_of_one_height() {
        let (r, h) = flow(&[(200, 32), (200, 40), (120, 32)], 426, 8);
        let at = |i: usize| {
            (
                r[i].left,
                r[i].top,
                r[i].right - r[i].left,
                r[i].bottom - r[i].top,
            )
        };
        assert_eq!(
            (at(0), at(1), at(2)),
            ((0, 0, 200, 40), (208, 0, 200, 40), (0, 48, 120, 40))
        );
        assert_eq!(h, 88);
        assert_eq!(flow(&[], 426, 8).1, 0);
    }
}
