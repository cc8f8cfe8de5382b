//! The window and its controls: a frame that only moves and closes, above
//! the other windows; the title, the body, the sender and validity lines
//! as standard controls (so UI Automation reads them without help), in
//! the order a screen reader and Tab meet them; their fonts and layout.

use anyhow::{bail, Result};
use herald_views::popup::{PopupRequest, PopupText};
use windows_sys::Win32::Foundation::{HWND, LPARAM, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{GetSysColorBrush, COLOR_WINDOW};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::SystemServices::{SS_EDITCONTROL, SS_LEFT, SS_NOPREFIX};
use windows_sys::Win32::UI::Input::KeyboardAndMouse::SetFocus;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    AdjustWindowRectEx, CreateWindowExW, GetWindowRect, GetWindowTextW, LoadCursorW,
    RegisterClassW, SendMessageW, SetForegroundWindow, SetWindowPos, ShowWindow, BS_DEFPUSHBUTTON,
    ICON_BIG, ICON_SMALL, IDCANCEL, IDC_ARROW, IDOK, SWP_NOACTIVATE, SWP_NOZORDER, SW_SHOW,
    WINDOW_EX_STYLE, WINDOW_STYLE, WM_SETFONT, WM_SETICON, WNDCLASSW, WS_CAPTION, WS_CHILD,
    WS_EX_CONTROLPARENT, WS_EX_DLGMODALFRAME, WS_EX_TOPMOST, WS_POPUP, WS_SYSMENU, WS_TABSTOP,
    WS_VISIBLE,
};

use super::layout::{self, Fonts, Texts};
use super::richedit;
use super::{child, dpi, paint, wide, with, Popup};

const BODY_ID: i32 = 102;
// A caption and a close box, but no minimize or maximize, and no sizing
// border: an alert cannot be put out of sight without an answer.
const STYLE: WINDOW_STYLE = WS_POPUP | WS_CAPTION | WS_SYSMENU;
const EX_STYLE: WINDOW_EX_STYLE = WS_EX_TOPMOST | WS_EX_DLGMODALFRAME | WS_EX_CONTROLPARENT;

#[derive(Clone, Copy)]
pub struct Controls {
    pub title: HWND,
    pub body: HWND,
    pub from: HWND,
    pub valid: HWND,
    pub button: HWND,
    /// IDOK when the button reads, IDCANCEL when it only closes (a
    /// message shown again from the history).
    pub button_id: i32,
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
        let hwnd = CreateWindowExW(
            EX_STYLE,
            class.as_ptr(),
            name.as_ptr(),
            STYLE,
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
        // Shown again from the history, it only closes, and closing is
        // what it answers: nothing to acknowledge. Alt and the first
        // letter read, as the underline shows.
        let (label, button_id) = match &text.read_label {
            Some(read) => (format!("&{read}"), IDOK),
            None => (text.close_label.clone(), IDCANCEL),
        };
        let button = child(
            hwnd,
            "BUTTON",
            &label,
            WS_CHILD | WS_VISIBLE | WS_TABSTOP | BS_DEFPUSHBUTTON as u32,
            button_id,
        );
        let controls = Controls {
            title,
            body,
            from,
            valid,
            button,
            button_id,
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
            outcome: None.into(),
            orphaned: false.into(),
        })
    }
}

pub(super) fn set_fonts(c: &Controls, f: &Fonts) {
    for (control, font) in [
        (c.title, f.title),
        (c.from, f.meta),
        (c.valid, f.meta),
        (c.button, f.text),
    ] {
        // SAFETY: our controls and fonts.
        unsafe { SendMessageW(control, WM_SETFONT, font as WPARAM, 1) };
    }
}

/// Sizes and places the window, shows it and gives the button the focus.
pub fn fit_and_show(hwnd: HWND) {
    with(|p| {
        let (w, h) = relayout(p);
        let area = layout::work_area(hwnd);
        let (x, y) = layout::position(p.req.severity, &area, (w, h), p.dpi.get());
        // SAFETY: our window and button.
        unsafe {
            SetWindowPos(hwnd, std::ptr::null_mut(), x, y, w, h, SWP_NOZORDER);
            ShowWindow(hwnd, SW_SHOW);
            SetForegroundWindow(hwnd);
            SetFocus(p.controls.button);
        }
        if super::messages::debug() {
            report(p, &area);
        }
    });
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
    let chrome = frame(0, 0);
    let area = layout::work_area(p.hwnd);
    let texts = Texts {
        title: &p.text.title,
        from: &p.text.from_line,
        valid: &p.text.valid_line,
        button: p.text.read_label.as_deref().unwrap_or(&p.text.close_label),
    };
    let l = layout::compute(
        p.hwnd,
        &p.fonts.get(),
        &texts,
        dpi,
        p.wanted.get(),
        layout::max_client_height(&area, chrome.1),
    );
    for (control, r) in [
        (c.title, l.title),
        (c.body, l.body),
        (c.from, l.from),
        (c.valid, l.valid),
        (c.button, l.button),
    ] {
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
    frame(l.width, l.height)
}

/// The window's size for a client area of `w` by `h`.
fn frame(w: i32, h: i32) -> (i32, i32) {
    let mut r = RECT {
        left: 0,
        top: 0,
        right: w,
        bottom: h,
    };
    // SAFETY: a RECT on the stack.
    unsafe { AdjustWindowRectEx(&mut r, STYLE, 0, EX_STYLE) };
    (r.right - r.left, r.bottom - r.top)
}

/// For the tests (`HERALD_POPUP_DEBUG_LAYOUT=1`): what the window's
/// geometry cannot tell.
fn report(p: &Popup, area: &RECT) {
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
    // For a test that makes this popup the process another one watches.
    eprintln!("herald-popup: pid {}", std::process::id());
    // For the locale test: the button's words, read back from it.
    let mut label = [0u16; 128];
    // SAFETY: our control, and a buffer whose length is passed.
    let n = unsafe { GetWindowTextW(p.controls.button, label.as_mut_ptr(), label.len() as i32) };
    let n = usize::try_from(n).unwrap_or(0).min(label.len());
    eprintln!(
        "herald-popup: button {:?}",
        String::from_utf16_lossy(&label[..n])
    );
    // SAFETY: our control.
    unsafe { richedit::report(p.controls.body, &p.links) };
}
