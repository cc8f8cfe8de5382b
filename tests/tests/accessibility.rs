//! The popup as a screen reader meets it: the real herald-popup on a
//! virtual screen, read through AT-SPI from at-spi2-core's registry on
//! the session's accessibility bus, as Orca reads it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::atspi::{A11y, Node, FOCUSABLE, FOCUSED, IS_DEFAULT, SHOWING};
use herald_e2e::gui;
use herald_e2e::popup::{request, Popup};

const BODY: &str = "Leave the building by the **nearest exit**. Do not use the lifts.\n\n\
                    - Take the stairs\n\
                    - See the [map](https://intranet.example/map)";

/// How long a popup may take to appear in the registry.
const REGISTERED: Duration = Duration::from_secs(30);

/// The first node under `app` of `role` whose text or name passes `is`.
fn find(a11y: &A11y, app: &Node, role: &str, is: impl Fn(&str) -> bool) -> Option<Node> {
    a11y.tree(app).into_iter().find(|n| {
        a11y.role(n) == role && (is(&a11y.name(n)) || a11y.text(n).is_some_and(|t| is(&t)))
    })
}

#[test]
fn a_screen_reader_finds_the_title_the_body_and_the_read_button_and_can_press_it() {
    let Some(_screen) = gui() else { return };
    let a11y = A11y::connect();
    let popup = Popup::start(&request("alert", "Fire drill", BODY, "En"), &[]);
    let app = a11y.application(popup.pid(), REGISTERED);
    // The tree fills in as the window is built: wait for its last widget.
    let mut button = None;
    herald_e2e::wait_for(
        "the read button in the accessibility tree",
        Duration::from_secs(30),
        || {
            button = find(&a11y, &app, "push button", |n| {
                n == "I have read the message"
            });
            button.is_some()
        },
    );
    let button = button.unwrap();
    let tree = a11y.dump(&app);

    // The window: announced as an alert (a screen reader reads its text
    // when it opens), named by the severity and the title.
    let windows = a11y.children(&app);
    assert_eq!(windows.len(), 1, "{tree}");
    assert_eq!(a11y.role(&windows[0]), "alert", "{tree}");
    assert_eq!(a11y.name(&windows[0]), "Alert - Fire drill", "{tree}");
    assert!(
        find(&a11y, &app, "label", |t| t == "Fire drill").is_some(),
        "{tree}"
    );

    // The body's text, a list item and a link, as text a reader can walk
    // through (the label's Text interface), not only a name; the labels of
    // an alert that are showing are what Orca reads when it opens.
    for sentence in [
        "Leave the building by the nearest exit. Do not use the lifts.",
        "Take the stairs",
    ] {
        let label = find(&a11y, &app, "label", |t| t == sentence)
            .unwrap_or_else(|| panic!("no label '{sentence}' in\n{tree}"));
        assert_eq!(a11y.text(&label).as_deref(), Some(sentence));
        assert!(
            a11y.has_state(&label, SHOWING),
            "'{sentence}' is not showing"
        );
    }
    let with_link = find(&a11y, &app, "label", |t| t == "See the map")
        .unwrap_or_else(|| panic!("no label with the link in\n{tree}"));
    let links = a11y.links(&with_link);
    assert_eq!(links.len(), 1, "{tree}");
    assert_eq!(links[0].text, "map");
    assert_eq!(links[0].uri, "https://intranet.example/map");
    assert!(
        a11y.has_state(&with_link, FOCUSABLE),
        "the link cannot take the focus"
    );

    // The read button: the default one, with the focus, so that the
    // reader says it first, and operable by the reader.
    assert!(a11y.has_state(&button, IS_DEFAULT), "{tree}");
    assert!(a11y.has_state(&button, FOCUSED), "{tree}");
    let actions = a11y.actions(&button);
    let click = actions
        .iter()
        .position(|a| a == "click")
        .unwrap_or_else(|| panic!("{actions:?}"));
    a11y.do_action(&button, i32::try_from(click).unwrap());
    let ended = popup.ended();
    assert_eq!(ended.stdout, "read", "{}", ended.stderr);
    assert!(ended.success, "{}", ended.stderr);
}

#[test]
fn the_window_is_named_in_the_message_language() {
    let Some(_screen) = gui() else { return };
    let a11y = A11y::connect();
    let popup = Popup::start(&request("warning", "Maintenance", "Ce soir.", "Fr"), &[]);
    let app = a11y.application(popup.pid(), REGISTERED);
    let mut window = None;
    herald_e2e::wait_for("the popup's window", Duration::from_secs(30), || {
        window = a11y.children(&app).into_iter().next();
        window.is_some()
    });
    let window = window.unwrap();
    assert_eq!(a11y.name(&window), "Avertissement - Maintenance");
    let mut button = None;
    herald_e2e::wait_for("the read button", Duration::from_secs(30), || {
        button = find(&a11y, &app, "push button", |n| n == "J'ai lu le message");
        button.is_some()
    });
}
