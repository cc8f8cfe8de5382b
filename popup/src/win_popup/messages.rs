//! The window procedure: the buttons' and the close box's answers, the
//! default button, the body's notifications (its height, a click on a
//! link), the colours of the static controls, painting, a change of DPI
//! or of the monitors, and the agent's end.

use herald_views::popup::Outcome;
use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{
    GetSysColor, GetSysColorBrush, InvalidateRect, SetBkMode, SetTextColor, COLOR_WINDOW,
    COLOR_WINDOWTEXT, HDC, TRANSPARENT,
};
use windows_sys::Win32::UI::Controls::NMHDR;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DefWindowProcW, PostQuitMessage, SetWindowPos, DC_HASDEFID, DM_GETDEFID, DM_SETDEFID, IDCANCEL,
    SWP_NOACTIVATE, SWP_NOZORDER, WM_CLOSE, WM_COMMAND, WM_CTLCOLORBTN, WM_CTLCOLORSTATIC,
    WM_DESTROY, WM_DISPLAYCHANGE, WM_DPICHANGED, WM_ERASEBKGND, WM_LBUTTONUP, WM_NOTIFY, WM_PAINT,
};

use super::buttons;
use super::layout::Fonts;
use super::richedit::{self, EnLink, ReqResize};
use super::window::{cover, relayout, set_fonts};
use super::{paint, with, Popup, WM_ORPHANED};

/// `HERALD_POPUP_DEBUG_LAYOUT=1`: the tests' report on standard error.
pub fn debug() -> bool {
    std::env::var_os("HERALD_POPUP_DEBUG_LAYOUT").is_some_and(|v| v == "1")
}

/// The window moved to a monitor of another DPI (or the user changed the
/// scale): new fonts and layout, at the place Windows suggests.
fn dpi_changed(p: &Popup, dpi: u32, suggested: &RECT) {
    p.dpi.set(dpi);
    let fonts = Fonts::new(dpi);
    set_fonts(&p.controls, &fonts);
    p.fonts.replace(fonts).delete();
    if p.req.fullscreen {
        // Still over every monitor, whatever Windows suggests.
        cover(p);
        // SAFETY: our window.
        unsafe { InvalidateRect(p.hwnd, std::ptr::null(), 1) };
        return;
    }
    let (w, h) = relayout(p);
    // SAFETY: our window.
    unsafe {
        SetWindowPos(
            p.hwnd,
            std::ptr::null_mut(),
            suggested.left,
            suggested.top,
            w,
            h,
            SWP_NOZORDER | SWP_NOACTIVATE,
        );
        InvalidateRect(p.hwnd, std::ptr::null(), 1);
    }
}

pub unsafe extern "system" fn window_proc(
    hwnd: HWND,
    msg: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> LRESULT {
    let handled = with(|p| handle(p, msg, wparam, lparam)).flatten();
    match handled {
        Some(result) => result,
        None => DefWindowProcW(hwnd, msg, wparam, lparam),
    }
}

/// The popup's messages; `None` leaves one to the default procedure.
unsafe fn handle(p: &Popup, msg: u32, wparam: WPARAM, lparam: LPARAM) -> Option<LRESULT> {
    match msg {
        WM_COMMAND => {
            let id = (wparam & 0xffff) as i32;
            match buttons::outcome(&p.controls.buttons, id) {
                Some(o) => p.finish(o),
                // The dialog manager's Cancel, where no button says so.
                None if id == IDCANCEL && p.req.cancellable() => p.finish(Outcome::Cancelled),
                None => {}
            }
            Some(0)
        }
        // Enter answers with the default button, wherever the dialog
        // manager would look for one; it moves with the focus.
        DM_GETDEFID => Some(((DC_HASDEFID as isize) << 16) | p.default_id.get() as isize),
        DM_SETDEFID => {
            let id = wparam as i32;
            if buttons::outcome(&p.controls.buttons, id).is_some() {
                p.default_id.set(id);
                buttons::set_default(&p.controls.buttons, id);
            }
            Some(1)
        }
        WM_NOTIFY => {
            let header = &*(lparam as *const NMHDR);
            if header.hwndFrom != p.controls.body {
                return None;
            }
            match header.code {
                richedit::EN_REQUESTRESIZE => {
                    let r = &*(lparam as *const ReqResize);
                    let rc = r.rc;
                    p.wanted.set(rc.bottom - rc.top);
                }
                richedit::EN_LINK => {
                    let link = &*(lparam as *const EnLink);
                    let (what, at) = (link.msg, link.chrg.min);
                    if what == WM_LBUTTONUP {
                        if let Some(l) = richedit::link_at(&p.links, at) {
                            if debug() {
                                eprintln!("herald-popup: link clicked -> {}", l.target);
                            }
                            crate::links::open_outside(&l.target);
                        }
                    }
                }
                _ => {}
            }
            Some(0)
        }
        WM_CTLCOLORSTATIC | WM_CTLCOLORBTN => {
            let dc = wparam as HDC;
            let meta = lparam == p.controls.from as isize || lparam == p.controls.valid as isize;
            SetTextColor(
                dc,
                if meta {
                    paint::META
                } else {
                    GetSysColor(COLOR_WINDOWTEXT)
                },
            );
            SetBkMode(dc, TRANSPARENT as i32);
            Some(GetSysColorBrush(COLOR_WINDOW) as LRESULT)
        }
        WM_PAINT => {
            paint::paint(p);
            Some(0)
        }
        // Fullscreen, WM_PAINT covers every pixel: no white flash first.
        WM_ERASEBKGND if p.req.fullscreen => Some(1),
        WM_DISPLAYCHANGE if p.req.fullscreen => {
            cover(p);
            InvalidateRect(p.hwnd, std::ptr::null(), 1);
            Some(0)
        }
        WM_DPICHANGED => {
            let suggested = *(lparam as *const RECT);
            dpi_changed(p, (wparam & 0xffff) as u32, &suggested);
            Some(0)
        }
        // The close box, Alt+F4, the task bar's Close: a fullscreen
        // message that asks for an answer waits for one.
        WM_CLOSE => {
            if p.req.cancellable() {
                p.finish(Outcome::Cancelled);
            }
            Some(0)
        }
        WM_ORPHANED => {
            p.orphan();
            Some(0)
        }
        WM_DESTROY => {
            PostQuitMessage(0);
            Some(0)
        }
        _ => None,
    }
}
