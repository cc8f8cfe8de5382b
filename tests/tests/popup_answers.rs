//! A message that asks for an answer, and a fullscreen one: the real
//! herald-popup on the virtual X screen, its buttons read through AT-SPI
//! as a screen reader reads them, xdotool playing the user and the screen
//! read back pixel by pixel. (Two monitors: tests/tests/two_monitors.rs
//! on X11, tests/tests/wayland.rs on sway, as Xvfb gives GTK only one.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::atspi::{A11y, Node, FOCUSED, IS_DEFAULT};
use herald_e2e::popup::{request, root_pixels, Popup};
use herald_e2e::{gui, press, wait_for, wait_window};
use serde_json::{json, Value};

const ANSWERS: [&str; 3] = ["I am safe", "I need help", "I am not on site"];

/// The dark that covers a monitor around a fullscreen message's card.
const COVER: [u8; 3] = [0x20, 0x21, 0x24];

fn asking(title: &str, fullscreen: bool) -> Value {
    let mut r = request(
        "alert",
        title,
        "Leave the building by the **nearest exit**.",
        "En",
    );
    r["answers"] = json!(ANSWERS);
    r["fullscreen"] = json!(fullscreen);
    r
}

fn push_button(a11y: &A11y, app: &Node, name: &str) -> Option<Node> {
    a11y.tree(app)
        .into_iter()
        .find(|n| a11y.role(n) == "push button" && a11y.name(n) == name)
}

#[test]
fn three_answers_are_push_buttons_and_tab_then_enter_chooses_the_second() {
    let Some(_screen) = gui() else { return };
    let a11y = A11y::connect();
    let popup = Popup::start(&asking("Are you safe?", false), &[]);
    let app = a11y.application(popup.pid(), Duration::from_secs(30));
    let mut buttons = Vec::new();
    wait_for(
        "the answers in the accessibility tree",
        Duration::from_secs(30),
        || {
            buttons = ANSWERS
                .iter()
                .filter_map(|a| push_button(&a11y, &app, a))
                .collect();
            buttons.len() == ANSWERS.len()
        },
    );
    let tree = a11y.dump(&app);
    assert!(
        push_button(&a11y, &app, "I have read the message").is_none(),
        "the read button is there beside the answers:\n{tree}"
    );
    // The first answer is the default, with the focus.
    assert!(a11y.has_state(&buttons[0], IS_DEFAULT), "{tree}");
    assert!(a11y.has_state(&buttons[0], FOCUSED), "{tree}");
    let w = wait_window("Are you safe?");
    press(&w, &["Tab", "Return"]);
    let ended = popup.ended();
    assert_eq!(ended.stdout, "answer 2", "{}", ended.stderr);
    assert!(ended.success, "{}", ended.stderr);
    // Side by side, in their order, as the layout says.
    let says: Vec<String> = herald_e2e::popup::labels(&ended.stderr)
        .into_iter()
        .filter(|l| l.kind == "button")
        .map(|l| l.says)
        .collect();
    assert_eq!(says, ANSWERS, "{}", ended.stderr);
}

#[test]
fn a_fullscreen_message_that_asks_for_an_answer_covers_the_screen_and_escape_does_not_close_it() {
    let Some(_screen) = gui() else { return };
    let mut popup = Popup::start(&asking("Evacuation roll call", true), &[]);
    let w = wait_window("Evacuation roll call");
    std::thread::sleep(Duration::from_millis(500));
    let (width, height, pixels) = root_pixels();
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = (y * width + x) * 3;
        [pixels[i], pixels[i + 1], pixels[i + 2]]
    };
    // The corners are dark, the middle is the card (white around its text).
    for (x, y) in [
        (2, 2),
        (width - 3, 2),
        (2, height - 3),
        (width - 3, height - 3),
    ] {
        assert_eq!(at(x, y), COVER, "({x}, {y}) is not covered");
    }
    let white = pixels
        .chunks_exact(3)
        .filter(|p| *p == [0xff, 0xff, 0xff])
        .count();
    assert!(
        white > 20_000,
        "no card on the screen ({white} white pixels)"
    );

    press(&w, &["Escape"]);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        popup.running(),
        "Escape closed a message that asks for an answer"
    );
    press(&w, &["Return"]);
    let ended = popup.ended();
    assert_eq!(ended.stdout, "answer 1", "{}", ended.stderr);
}

#[test]
fn a_fullscreen_message_without_answers_can_be_cancelled_and_a_plain_alert_covers_nothing() {
    let Some(_screen) = gui() else { return };
    let mut r = request("alert", "Fire drill", "Leave the building.", "En");
    r["fullscreen"] = json!(true);
    let popup = Popup::start(&r, &[]);
    let w = wait_window("Fire drill");
    press(&w, &["Escape"]);
    let ended = popup.ended();
    assert_eq!(ended.stdout, "cancelled", "{}", ended.stderr);

    // The same alert, not fullscreen: a window in the middle, the screen
    // around it as it was.
    let popup = Popup::start(&asking("Roll call", false), &[]);
    let w = wait_window("Roll call");
    std::thread::sleep(Duration::from_millis(500));
    let (width, height, pixels) = root_pixels();
    let covered = pixels.chunks_exact(3).filter(|p| *p == COVER).count();
    assert!(
        covered < width * height / 100,
        "{covered} pixels covered by a message that is not fullscreen"
    );
    press(&w, &["Escape"]);
    assert_eq!(popup.ended().stdout, "cancelled");
}

#[test]
fn long_answers_stack_and_wrap_and_an_arabic_one_reads_from_the_right() {
    let Some(_screen) = gui() else { return };
    let mut r = request("warning", "Where are you today", "Pick one.", "En");
    r["answers"] = json!([
        "I am working from home today and will not come to the office",
        "\u{623}\u{646}\u{627} \u{628}\u{62e}\u{64a}\u{631}",
        "I need help evacuating the third floor east wing",
    ]);
    let popup = Popup::start(&r, &[]);
    let w = wait_window("Where are you today");
    press(&w, &["Escape"]);
    let ended = popup.ended();
    assert_eq!(ended.stdout, "cancelled", "{}", ended.stderr);
    let buttons: Vec<_> = herald_e2e::popup::labels(&ended.stderr)
        .into_iter()
        .filter(|l| l.kind == "button")
        .collect();
    assert_eq!(buttons.len(), 3, "{}", ended.stderr);
    for pair in buttons.windows(2) {
        // One under another, as wide as each other.
        assert_eq!(pair[0].alloc.0, pair[1].alloc.0, "{pair:?}");
        assert!(pair[1].alloc.3 > pair[0].alloc.3, "{pair:?}");
    }
    for b in &buttons {
        assert!(!b.ellipsized && b.need.1 <= b.alloc.1, "cut: {b:?}");
    }
    assert!(
        buttons[0].alloc.1 > buttons[2].alloc.1,
        "the long answer did not wrap"
    );
    assert!(buttons[1].rtl && !buttons[0].rtl);
    // The window ends below the last button, with no blank band.
    let window = herald_e2e::popup::window(&ended.stderr);
    let (_, h, _, y) = buttons[2].alloc;
    assert!(
        window.size.1 - (y + h) < 40,
        "{:?} below {:?}",
        window,
        buttons[2]
    );
}
