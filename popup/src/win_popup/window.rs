//! The window and its controls: a frame that only moves and closes, above
//! the other windows (or, fullscreen, no frame over every monitor); the
//! title, the body, the sender and validity lines and the buttons as
//! standard controls (so UI Automation reads them without help), in the
//! order a screen reader and Tab meet them; their fonts and layout.

use anyhow::{bail, Result};
use herald_views::popup::{PopupRequest, PopupText};
use windows_sys::Win32::Foundation::{HWND, LPARAM, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{GetSysColorBrush, COLOR_WINDOW};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::SystemServices::{SS_EDITCONTROL, SS_LEFT, SS_NOPREFIX};
use windows_sys::Win32::UI::Input::KeyboardAndMouse::SetFocus;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    AdjustWindowRectEx, CreateWindowExW, LoadCursorW, RegisterClassW, SendMessageW,
    SetForegroundWindow, SetWindowPos, ShowWindow, HWND_TOPMOST, ICON_BIG, ICON_SMALL, IDC_ARROW,
    SWP_NOACTIVATE, SWP_NOZORDER, SW_SHOW, WINDOW_EX_STYLE, WINDOW_STYLE, WM_SETFONT, WM_SETICON,
    WNDCLASSW, WS_CAPTION, WS_CHILD, WS_CLIPCHILDREN, WS_EX_CONTROLPARENT, WS_EX_DLGMODALFRAME,
    WS_EX_TOPMOST, WS_POPUP, WS_SYSMENU, WS_VISIBLE,
};

use super::buttons::{self, Button};
use super::fullscreen;
use super::layout::{self, Fonts, Texts};
use super::richedit;
use super::{child, dpi, paint, wide, with, Popup};

const BODY_ID: i32 = 102;
// A caption and a close box, but no minimize or maximize, and no sizing
// border: an alert cannot be put out of sight without an answer.
const STYLE: WINDOW_STYLE = WS_POPUP | WS_CAPTION | WS_SYSMENU;
const EX_STYLE: WINDOW_EX_STYLE = WS_EX_TOPMOST | WS_EX_DLGMODALFRAME | WS_EX_CONTROLPARENT;
// Fullscreen: nothing to move, nothing to close; the window paints the
// backdrop around its children, not over them.
const FULL_STYLE: WINDOW_STYLE = WS_POPUP | WS_CLIPCHILDREN;
const FULL_EX_STYLE: WINDOW_EX_STYLE = WS_EX_TOPMOST | WS_EX_CONTROLPARENT;

fn styles(fullscreen: bool) -> (WINDOW_STYLE, WINDOW_EX_STYLE) {
    if fullscreen {
        (FULL_STYLE, FULL_EX_STYLE)
    } else {
        (STYLE, EX_STYLE)
    }
}

#[derive(Clone)]
pub struct Controls {
    pub title: HWND,
    pub body: HWND,
    pub from: HWND,
    pub valid: HWND,
    /// Read, or one per answer, or Close; the first is the default.
    pub buttons: Vec<Button>,
}

pub fn build(req: &PopupRequest) -> Result<Popup> {
    let text = PopupText::new(req);
    // SAFETY: see the module comment in mod.rs; every string passed is
    // NUL-terminated and outlives its call.
    unsafe {
        let instance = GetModuleHandleW(std::ptr::null());
        let class = wide("HeraldPopup");
        let wc = WNDCLASSW {
            style: 0,
            lpfnWndProc: Some(super::messages::window_proc),
            cbClsExtra: 0,
            cbWndExtra: 0,
            hInstance: instance,
            hIcon: std::ptr::null_mut(),
            hCursor: LoadCursorW(std::ptr::null_mut(), IDC_ARROW),
            hbrBackground: GetSysColorBrush(COLOR_WINDOW),
            lpszMenuName: std::ptr::null(),
            lpszClassName: class.as_ptr(),
        };
        if RegisterClassW(&wc) == 0 {
            bail!("cannot register the popup's window class");
        }
        // The name a window list and a screen reader give: "Alert - Title".
        let name = wide(&text.name());
        let (style, ex_style) = styles(req.fullscreen);
        let hwnd = CreateWindowExW(
            ex_style,
            class.as_ptr(),
            name.as_ptr(),
            style,
            0,
            0,
            100,
            100,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            instance,
            std::ptr::null(),
        );
        if hwnd.is_null() {
            bail!("cannot create the popup window");
        }
        let icon = paint::icon();
        if !icon.is_null() {
            SendMessageW(hwnd, WM_SETICON, ICON_BIG as usize, icon as LPARAM);
            SendMessageW(hwnd, WM_SETICON, ICON_SMALL as usize, icon as LPARAM);
        }
        let dpi = dpi::for_window(hwnd);
        let fonts = Fonts::new(dpi);
        let statik = WS_CHILD | WS_VISIBLE | SS_LEFT | SS_NOPREFIX | SS_EDITCONTROL;
        // Created in reading order: the title just before the body also
        // gives the body its accessible name.
        let title = child(hwnd, "STATIC", &text.title, statik, 101);
        // The control's default format is the body font, not bold: wine's
        // default is its bold system font, which the RTF would inherit.
        let (body, links) = richedit::create(hwnd, fonts.text, &req.body_markdown, BODY_ID);
        if body.is_null() {
            bail!("cannot create the RichEdit control");
        }
        let from = child(hwnd, "STATIC", &text.from_line, statik, 103);
        let valid = child(hwnd, "STATIC", &text.valid_line, statik, 104);
        // Shown again from the history, the one button only closes, and
        // closing is what it answers: nothing to acknowledge.
        let buttons = buttons::create(hwnd, buttons::specs(req, &text));
        let default_id = buttons.first().map_or(0, |b| b.id);
        let controls = Controls {
            title,
            body,
            from,
            valid,
            buttons,
        };
        set_fonts(&controls, &fonts);
        Ok(Popup {
            hwnd,
            req: req.clone(),
            text,
            controls,
            links,
            dpi: dpi.into(),
            fonts: fonts.into(),
            layout: Default::default(),
            wanted: 0.into(),
            default_id: default_id.into(),
            outcome: None.into(),
            orphaned: false.into(),
        })
    }
}

pub(super) fn set_fonts(c: &Controls, f: &Fonts) {
    let buttons = c.buttons.iter().map(|b| (b.hwnd, f.text));
    for (control, font) in [(c.title, f.title), (c.from, f.meta), (c.valid, f.meta)]
        .into_iter()
        .chain(buttons)
    {
        // SAFETY: our controls and fonts.
        unsafe { SendMessageW(control, WM_SETFONT, font as WPARAM, 1) };
    }
}

/// Sizes and places the window, shows it, gives the first button the
/// focus and rings if asked to.
pub fn fit_and_show(hwnd: HWND) {
    with(|p| {
        let area = layout::work_area(hwnd);
        if p.req.fullscreen {
            cover(p);
        } else {
            let (w, h) = relayout(p);
            let (x, y) = layout::position(p.req.severity, &area, (w, h), p.dpi.get());
            // SAFETY: our window.
            unsafe { SetWindowPos(hwnd, std::ptr::null_mut(), x, y, w, h, SWP_NOZORDER) };
        }
        // SAFETY: our window and button.
        unsafe {
            ShowWindow(hwnd, SW_SHOW);
            SetForegroundWindow(hwnd);
            if let Some(first) = p.controls.buttons.first() {
                SetFocus(first.hwnd);
            }
        }
        if p.req.ring {
            super::ring();
        }
        if super::messages::debug() {
            super::report::report(p, &area);
        }
    });
}

/// Fullscreen: lays the card out and puts the window over every monitor,
/// above the other topmost windows that came before it.
pub(super) fn cover(p: &Popup) {
    let screen = fullscreen::virtual_screen();
    relayout(p);
    // SAFETY: our window.
    unsafe {
        SetWindowPos(
            p.hwnd,
            HWND_TOPMOST,
            screen.left,
            screen.top,
            screen.right - screen.left,
            screen.bottom - screen.top,
            SWP_NOACTIVATE,
        );
    }
}

/// Lays the controls out at the window's DPI; returns the window's size,
/// frame included.
pub(super) fn relayout(p: &Popup) -> (i32, i32) {
    let dpi = p.dpi.get();
    let c = &p.controls;
    let inner = dpi::scale(layout::WIDTH, dpi) - 2 * dpi::scale(layout::SIDE, dpi);
    // SAFETY: our controls; EM_REQUESTRESIZE answers at once, through
    // WM_NOTIFY, which sets `wanted`.
    unsafe {
        richedit::zoom(c.body, dpi, dpi::for_system());
        SetWindowPos(
            c.body,
            std::ptr::null_mut(),
            0,
            0,
            inner,
            30_000,
            SWP_NOZORDER,
        );
        SendMessageW(c.body, richedit::EM_REQUESTRESIZE, 0, 0);
    }
    let full = p.req.fullscreen;
    let chrome = frame(0, 0, full);
    let area = if full {
        fullscreen::primary_monitor()
    } else {
        layout::work_area(p.hwnd)
    };
    let labels: Vec<String> = c.buttons.iter().map(|b| buttons::shown(&b.label)).collect();
    let texts = Texts {
        title: &p.text.title,
        from: &p.text.from_line,
        valid: &p.text.valid_line,
        buttons: &labels,
    };
    let mut l = layout::compute(
        p.hwnd,
        &p.fonts.get(),
        &texts,
        dpi,
        p.wanted.get(),
        layout::max_client_height(&area, chrome.1),
    );
    let screen = fullscreen::virtual_screen();
    if full {
        let (x, y) = fullscreen::card_origin(&screen, &area, (l.width, l.height));
        l = l.at(x, y);
    }
    let buttons = c.buttons.iter().map(|b| b.hwnd).zip(l.buttons);
    for (control, r) in [
        (c.title, l.title),
        (c.body, l.body),
        (c.from, l.from),
        (c.valid, l.valid),
    ]
    .into_iter()
    .chain(buttons)
    {
        // SAFETY: our controls.
        unsafe {
            SetWindowPos(
                control,
                std::ptr::null_mut(),
                r.left,
                r.top,
                r.right - r.left,
                r.bottom - r.top,
                SWP_NOZORDER | SWP_NOACTIVATE,
            );
        }
    }
    p.layout.set(l);
    if full {
        (screen.right - screen.left, screen.bottom - screen.top)
    } else {
        frame(l.width, l.height, false)
    }
}

/// The window's size for a client area of `w` by `h`.
fn frame(w: i32, h: i32, fullscreen: bool) -> (i32, i32) {
    let (style, ex_style) = styles(fullscreen);
    let mut r = RECT {
        left: 0,
        top: 0,
        right: w,
        bottom: h,
    };
    // SAFETY: a RECT on the stack.
    unsafe { AdjustWindowRectEx(&mut r, style, 0, ex_style) };
    (r.right - r.left, r.bottom - r.top)
}
