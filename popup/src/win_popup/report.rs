//! `HERALD_POPUP_DEBUG_LAYOUT=1`: what the tests cannot read from the
//! window's geometry or pixels, read from the window and its controls and
//! printed on standard error.

use windows_sys::Win32::Foundation::RECT;
use windows_sys::Win32::UI::WindowsAndMessaging::GetWindowRect;

use super::fullscreen::{self, geometry};
use super::{buttons, richedit, Popup};

/// For the tests (`HERALD_POPUP_DEBUG_LAYOUT=1`): what the window's
/// geometry cannot tell.
pub fn report(p: &Popup, area: &RECT) {
    let mut r = RECT::default();
    // SAFETY: our window.
    unsafe { GetWindowRect(p.hwnd, &mut r) };
    let l = p.layout.get();
    eprintln!(
        "herald-popup: layout window {}x{}+{}+{} body {} wanted {} title {} work area {}x{}+{}+{} dpi {}",
        r.right - r.left,
        r.bottom - r.top,
        r.left,
        r.top,
        l.body.bottom - l.body.top,
        p.wanted.get(),
        l.title.bottom - l.title.top,
        area.right - area.left,
        area.bottom - area.top,
        area.left,
        area.top,
        p.dpi.get()
    );
    if p.req.fullscreen {
        eprintln!(
            // The card in screen coordinates, as the window's.
            "herald-popup: fullscreen window {} virtual screen {} card {}",
            geometry(&r),
            geometry(&fullscreen::virtual_screen()),
            geometry(&RECT {
                left: l.card.left + r.left,
                top: l.card.top + r.top,
                right: l.card.right + r.left,
                bottom: l.card.bottom + r.top,
            })
        );
    }
    // For a test that makes this popup the process another one watches.
    eprintln!("herald-popup: pid {}", std::process::id());
    // For the locale and answers tests: the buttons' words, read back.
    buttons::report(&p.controls.buttons);
    // SAFETY: our control.
    unsafe { richedit::report(p.controls.body, &p.links) };
}
