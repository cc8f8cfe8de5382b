//! The popup's layout in other scripts and at scale 2: the real
//! herald-popup on a virtual screen, its layout figures
//! (`HERALD_POPUP_DEBUG_LAYOUT=1`) checked label by label, so that no text
//! is cut, right-to-left text reads from the right and a scaled screen
//! gets the same layout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::popup::{labels, request, window, Label, Popup};
use herald_e2e::{gui, press, wait_window, xdotool, xprop};

/// The window's width in logical pixels (the popup's `WIDTH`).
const WIDTH: i32 = 460;

const HEBREW_TITLE: &str =
    "\u{5ea}\u{5e8}\u{5d2}\u{5d9}\u{5dc} \u{5e4}\u{5d9}\u{5e0}\u{5d5}\u{5d9} \u{5d0}\u{5e9}";
const ARABIC_BODY: &str = "\u{63a}\u{627}\u{62f}\u{631}\u{648}\u{627} \u{627}\u{644}\u{645}\u{628}\u{646}\u{649} \
    \u{645}\u{646} **\u{623}\u{642}\u{631}\u{628} \u{645}\u{62e}\u{631}\u{62c}**.\n\n\
    - \u{62e}\u{630}\u{648}\u{627} \u{627}\u{644}\u{62f}\u{631}\u{62c}\n\
    - \u{627}\u{62a}\u{628}\u{639}\u{648}\u{627} [\u{627}\u{644}\u{62e}\u{631}\u{64a}\u{637}\u{629}](https://intranet.example/map)\n\n\
    > \u{62a}\u{62c}\u{645}\u{639}\u{648}\u{627} \u{641}\u{64a} \u{627}\u{644}\u{645}\u{648}\u{642}\u{641}.";

/// The popup for `request`, laid out with `env`: its window's X id, the
/// screen's size and the popup's layout figures, once Escape has closed it.
fn laid_out(request: &serde_json::Value, env: &[(&str, &str)]) -> (String, String) {
    let title = request["title"].as_str().unwrap();
    let popup = Popup::start(request, env);
    let w = wait_window(title);
    fits_the_screen(&w);
    let icons = xprop(&w, "_NET_WM_ICON");
    press(&w, &["Escape"]);
    let ended = popup.ended();
    assert_eq!(ended.stdout, "cancelled", "{}", ended.stderr);
    (ended.stderr, icons)
}

fn fits_the_screen(w: &str) {
    let screen = xdotool(&["getdisplaygeometry"]);
    let (sw, sh) = screen.split_once(' ').unwrap();
    let (sw, sh): (i32, i32) = (sw.parse().unwrap(), sh.trim().parse().unwrap());
    let g = xdotool(&["getwindowgeometry", "--shell", w]);
    let n = |key: &str| -> i32 {
        g.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (x, y, width, height) = (n("X"), n("Y"), n("WIDTH"), n("HEIGHT"));
    assert!(
        x >= 0 && y >= 0 && x + width <= sw && y + height <= sh,
        "the window leaves the {sw}x{sh} screen: {g}"
    );
}

/// Every label got the room it needs and its text lies inside that room,
/// whole: nothing is cut or cut short.
fn nothing_cut(labels: &[Label], stderr: &str) {
    assert!(labels.len() >= 6, "too few labels: {stderr}");
    for l in labels {
        let (w, h, _, _) = l.alloc;
        let (tx, ty, tw, th) = l.text;
        assert!(w >= l.need.0 && h >= l.need.1, "too little room: {l:?}");
        // A pixel either side for the rounding of the text's position.
        assert!(
            tx >= -1 && ty >= -1 && tx + tw <= w + 1 && ty + th <= h + 1,
            "the text leaves its room: {l:?}"
        );
        assert!(!l.ellipsized, "cut short: {l:?}");
    }
}

#[test]
fn right_to_left_text_reads_from_the_right_and_nothing_is_cut() {
    let Some(_screen) = gui() else { return };
    let req = request("alert", HEBREW_TITLE, ARABIC_BODY, "En");
    let (stderr, _) = laid_out(&req, &[]);
    let all = labels(&stderr);
    nothing_cut(&all, &stderr);
    assert_eq!(window(&stderr).size.0, WIDTH, "{stderr}");
    let blocks: Vec<&Label> = all.iter().filter(|l| l.kind == "block").collect();
    assert_eq!(blocks.len(), 4, "{stderr}");
    for l in blocks
        .iter()
        .copied()
        .chain(all.iter().filter(|l| l.kind == "title"))
    {
        assert!(l.rtl, "not right to left: {l:?}");
        let (w, ..) = l.alloc;
        let (tx, _, tw, _) = l.text;
        assert!((tx + tw - w).abs() <= 1, "not aligned right: {l:?}");
        assert!(tx > w / 4, "a short line spans its room: {l:?}");
    }
    // The bullets are on the right of their items.
    let markers: Vec<&Label> = all.iter().filter(|l| l.kind == "marker").collect();
    assert_eq!(markers.len(), 2, "{stderr}");
    for (marker, item) in markers.iter().zip(&blocks[1..3]) {
        assert!(
            marker.alloc.2 >= item.alloc.2 + item.alloc.0,
            "{marker:?} {item:?}"
        );
    }
    // The banner follows the message; the locale's words do not.
    let banner = all.iter().find(|l| l.kind == "banner").unwrap();
    assert!(banner.rtl && banner.alloc.2 > WIDTH / 2, "{banner:?}");
    assert!(
        all.iter().filter(|l| l.kind == "meta").all(|l| !l.rtl),
        "{stderr}"
    );
}

#[test]
fn cjk_text_wraps_between_characters_within_the_width() {
    let Some(_screen) = gui() else { return };
    let title = "\u{30e1}\u{30fc}\u{30eb}\u{30b5}\u{30fc}\u{30d0}\u{30fc}\u{306e}\u{30e1}\u{30f3}\u{30c6}\u{30ca}\u{30f3}\u{30b9}\u{306f}\u{672c}\u{65e5}\u{5341}\u{516b}\u{6642}\u{304b}\u{3089}\u{5341}\u{516b}\u{6642}\u{4e09}\u{5341}\u{5206}\u{307e}\u{3067}\u{884c}\u{308f}\u{308c}\u{307e}\u{3059}\u{306e}\u{3067}\u{3054}\u{6ce8}\u{610f}\u{304f}\u{3060}\u{3055}\u{3044}";
    // One unbroken run of characters, three times the width: no space to
    // wrap at.
    let run: String = "\u{4e0b}\u{66f8}\u{304d}\u{3092}\u{4fdd}\u{5b58}\u{3057}\u{3066}\u{304f}\u{3060}\u{3055}\u{3044}".repeat(8);
    let body = format!(
        "{run}\n\n- \u{4e0b}\u{66f8}\u{304d}\u{3092}\u{4fdd}\u{5b58}\u{3059}\u{308b}\n- {run}"
    );
    let (stderr, _) = laid_out(&request("warning", title, &body, "En"), &[]);
    let all = labels(&stderr);
    nothing_cut(&all, &stderr);
    assert_eq!(window(&stderr).size.0, WIDTH, "{stderr}");
    let title = all.iter().find(|l| l.kind == "title").unwrap();
    assert!(
        title.text.3 > 30,
        "the long title is on one line: {title:?}"
    );
    let blocks: Vec<&Label> = all.iter().filter(|l| l.kind == "block").collect();
    assert_eq!(blocks.len(), 3, "{stderr}");
    assert!(
        blocks[0].text.3 >= 3 * 17,
        "the run did not wrap: {:?}",
        blocks[0]
    );
    assert!(blocks.iter().all(|l| !l.rtl), "{stderr}");
}

#[test]
fn at_scale_2_the_layout_is_the_same_and_the_icons_are_drawn_for_it() {
    let Some(_screen) = gui() else { return };
    let req = request(
        "info",
        "New VPN client",
        "The new VPN client is installed on your computer. See the \
         [guide](https://intranet.example/vpn) for what changes.\n\n- Nothing to do\n- Nothing to restart",
        "En",
    );
    let (one, _) = laid_out(&req, &[]);
    let (two, icons) = laid_out(&req, &[("GDK_SCALE", "2")]);
    let (w1, w2) = (window(&one), window(&two));
    assert_eq!((w1.scale, w2.scale), (1, 2), "{two}");
    assert_eq!((w1.size, w1.body), (w2.size, w2.body), "{one}\n{two}");
    let (l1, l2) = (labels(&one), labels(&two));
    nothing_cut(&l2, &two);
    assert_eq!(l1.len(), l2.len(), "{one}\n{two}");
    for (a, b) in l1.iter().zip(&l2) {
        assert_eq!((a.alloc, &a.says), (b.alloc, &b.says), "{one}\n{two}");
    }
    // The window manager gets the icon drawn at each size, not one it
    // would blow up: 64 pixels for a 32-pixel slot at scale 2.
    for size in [16, 32, 64] {
        assert!(
            icons.contains(&format!("Icon ({size} x {size})")),
            "{icons}"
        );
    }
}
