//! The native dialog, for a Windows desktop without the WebView2 runtime:
//! plain Win32 controls, so an alert still reaches the user. It shows the
//! same facts as the page, as plain text, and has the same two outcomes.
//!
//! Keyboard: the read control has the focus and is the default (Enter or
//! Space), Tab moves between the controls, Escape and the close box cancel,
//! Alt+I reads.
// Win32 has no safe binding here: every call below is FFI on handles this
// module made itself, on its one thread, with UTF-16 strings it keeps alive
// for the duration of each call.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicU8, Ordering};

use anyhow::{bail, Result};
use herald_protocol::Severity;
use herald_views::popup::{NativeView, Outcome};
use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{
    CreateFontW, GetStockObject, GetSysColorBrush, SetBkMode, SetTextColor, COLOR_BTNFACE,
    DEFAULT_GUI_FONT, FW_BOLD, HDC, TRANSPARENT,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::SystemServices::{SS_LEFT, SS_NOPREFIX};
use windows_sys::Win32::UI::Input::KeyboardAndMouse::SetFocus;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DestroyWindow, DispatchMessageW, GetDlgItem, GetMessageW,
    IsDialogMessageW, LoadCursorW, PostQuitMessage, RegisterClassW, SendMessageW,
    SetForegroundWindow, ShowWindow, SystemParametersInfoW, TranslateMessage, BS_DEFPUSHBUTTON,
    BS_PUSHBUTTON, ES_AUTOVSCROLL, ES_MULTILINE, ES_READONLY, IDCANCEL, IDC_ARROW, IDOK, MSG,
    SPI_GETWORKAREA, SW_SHOW, WM_CLOSE, WM_COMMAND, WM_CTLCOLORSTATIC, WM_DESTROY, WM_SETFONT,
    WNDCLASSW, WS_BORDER, WS_CAPTION, WS_CHILD, WS_EX_CONTROLPARENT, WS_EX_DLGMODALFRAME,
    WS_EX_TOPMOST, WS_POPUP, WS_SYSMENU, WS_TABSTOP, WS_VISIBLE, WS_VSCROLL,
};

const WIDTH: i32 = 480;
const HEIGHT: i32 = 380;
const MARGIN: i32 = 24;
const BANNER_ID: i32 = 100;

// The window procedure has no context of its own; the dialog is the only
// window of the process, so these are its state. 0: no answer yet.
static OUTCOME: AtomicU8 = AtomicU8::new(0);
static BANNER: AtomicIsize = AtomicIsize::new(0);
static BANNER_COLOUR: AtomicU32 = AtomicU32::new(0);

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The banner's colour (0x00BBGGRR), the page's colours.
fn banner_colour(s: Severity) -> u32 {
    match s {
        Severity::Alert => 0x0020_00b0,
        Severity::Warning => 0x0000_5cb3,
        Severity::Info => 0x00a8_5f1f,
    }
}

/// Shows the dialog and waits for the user.
pub fn show(view: &NativeView, severity: Severity) -> Result<Outcome> {
    unsafe {
        let instance = GetModuleHandleW(std::ptr::null());
        let class = wide("HeraldNativePopup");
        let wc = WNDCLASSW {
            style: 0,
            lpfnWndProc: Some(window_proc),
            cbClsExtra: 0,
            cbWndExtra: 0,
            hInstance: instance,
            hIcon: std::ptr::null_mut(),
            hCursor: LoadCursorW(std::ptr::null_mut(), IDC_ARROW),
            hbrBackground: GetSysColorBrush(COLOR_BTNFACE),
            lpszMenuName: std::ptr::null(),
            lpszClassName: class.as_ptr(),
        };
        if RegisterClassW(&wc) == 0 {
            bail!("cannot register the dialog's window class");
        }
        let (x, y) = position(severity);
        let title = wide(&view.window_title);
        // A caption and a close box, but no minimize or maximize: an alert
        // cannot be put out of sight without an answer.
        let hwnd = CreateWindowExW(
            WS_EX_TOPMOST | WS_EX_DLGMODALFRAME | WS_EX_CONTROLPARENT,
            class.as_ptr(),
            title.as_ptr(),
            WS_POPUP | WS_CAPTION | WS_SYSMENU,
            x,
            y,
            WIDTH,
            HEIGHT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            instance,
            std::ptr::null(),
        );
        if hwnd.is_null() {
            bail!("cannot create the dialog window");
        }
        let font = GetStockObject(DEFAULT_GUI_FONT);
        let bold = CreateFontW(
            -18,
            0,
            0,
            0,
            FW_BOLD as i32,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            wide("Segoe UI").as_ptr(),
        );
        let w = WIDTH - 2 * 16 - 8;
        let statik = WS_CHILD | WS_VISIBLE | SS_LEFT;
        let banner = child(
            hwnd,
            "STATIC",
            &view.banner,
            statik | SS_NOPREFIX,
            (16, 12, w, 20),
            BANNER_ID,
        );
        BANNER.store(banner as isize, Ordering::Relaxed);
        BANNER_COLOUR.store(banner_colour(severity), Ordering::Relaxed);
        let heading = child(hwnd, "STATIC", &view.title, statik, (16, 36, w, 44), 101);
        let body = child(
            hwnd,
            "EDIT",
            &view.body,
            WS_CHILD
                | WS_VISIBLE
                | WS_BORDER
                | WS_VSCROLL
                | WS_TABSTOP
                | ES_MULTILINE as u32
                | ES_READONLY as u32
                | ES_AUTOVSCROLL as u32,
            (16, 84, w, 150),
            102,
        );
        let from = child(
            hwnd,
            "STATIC",
            &view.from_line,
            statik,
            (16, 242, w, 18),
            103,
        );
        let valid = child(
            hwnd,
            "STATIC",
            &view.valid_line,
            statik | SS_NOPREFIX,
            (16, 262, w, 18),
            104,
        );
        let button = WS_CHILD | WS_VISIBLE | WS_TABSTOP;
        let mut first = None;
        if let Some(label) = &view.read_label {
            first = Some(child(
                hwnd,
                "BUTTON",
                label,
                button | BS_DEFPUSHBUTTON as u32,
                (16, 292, 280, 32),
                IDOK,
            ));
        }
        let close_style = if first.is_some() {
            BS_PUSHBUTTON
        } else {
            BS_DEFPUSHBUTTON
        };
        let close = child(
            hwnd,
            "BUTTON",
            &view.close_label,
            button | close_style as u32,
            (w + 16 - 120, 292, 120, 32),
            IDCANCEL,
        );
        for c in [banner, body, from, valid, close].into_iter().chain(first) {
            SendMessageW(c, WM_SETFONT, font as WPARAM, 1);
        }
        SendMessageW(
            heading,
            WM_SETFONT,
            if bold.is_null() { font } else { bold } as WPARAM,
            1,
        );
        ShowWindow(hwnd, SW_SHOW);
        SetForegroundWindow(hwnd);
        SetFocus(first.unwrap_or(close));

        let mut msg: MSG = std::mem::zeroed();
        while GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
            // The dialog manager gives Tab, Enter, Space and Escape their
            // usual meaning among the controls.
            if IsDialogMessageW(hwnd, &msg) == 0 {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
        }
    }
    Ok(match OUTCOME.load(Ordering::Relaxed) {
        1 => Outcome::Read,
        _ => Outcome::Cancelled,
    })
}

/// Alerts in the middle of the work area; others in its bottom-right
/// corner, as the web popup does.
fn position(severity: Severity) -> (i32, i32) {
    let mut area = RECT {
        left: 0,
        top: 0,
        right: 1024,
        bottom: 768,
    };
    unsafe {
        SystemParametersInfoW(SPI_GETWORKAREA, 0, (&raw mut area).cast(), 0);
    }
    if severity == Severity::Alert {
        (
            area.left + (area.right - area.left - WIDTH) / 2,
            area.top + (area.bottom - area.top - HEIGHT) / 2,
        )
    } else {
        (area.right - WIDTH - MARGIN, area.bottom - HEIGHT - MARGIN)
    }
}

unsafe fn child(
    parent: HWND,
    class: &str,
    text: &str,
    style: u32,
    (x, y, w, h): (i32, i32, i32, i32),
    id: i32,
) -> HWND {
    let class = wide(class);
    let text = wide(text);
    CreateWindowExW(
        0,
        class.as_ptr(),
        text.as_ptr(),
        style,
        x,
        y,
        w,
        h,
        parent,
        id as isize as _,
        GetModuleHandleW(std::ptr::null()),
        std::ptr::null(),
    )
}

fn finish(hwnd: HWND, outcome: Outcome) {
    let code = match outcome {
        Outcome::Read => 1,
        Outcome::Cancelled => 2,
    };
    // The first answer stands: closing the window after a read is no cancel.
    let _ = OUTCOME.compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed);
    unsafe {
        DestroyWindow(hwnd);
    }
}

unsafe extern "system" fn window_proc(
    hwnd: HWND,
    msg: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> LRESULT {
    match msg {
        WM_COMMAND => {
            let id = (wparam & 0xffff) as i32;
            if id == IDOK && !GetDlgItem(hwnd, IDOK).is_null() {
                finish(hwnd, Outcome::Read);
            } else if id == IDCANCEL {
                finish(hwnd, Outcome::Cancelled);
            }
            0
        }
        WM_CTLCOLORSTATIC => {
            if lparam == BANNER.load(Ordering::Relaxed) {
                let hdc = wparam as HDC;
                SetTextColor(hdc, BANNER_COLOUR.load(Ordering::Relaxed));
                SetBkMode(hdc, TRANSPARENT as i32);
                return GetSysColorBrush(COLOR_BTNFACE) as LRESULT;
            }
            DefWindowProcW(hwnd, msg, wparam, lparam)
        }
        WM_CLOSE => {
            finish(hwnd, Outcome::Cancelled);
            0
        }
        WM_DESTROY => {
            PostQuitMessage(0);
            0
        }
        _ => DefWindowProcW(hwnd, msg, wparam, lparam),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_strings_end_with_nul() {
        assert_eq!(wide("é"), vec![0xe9, 0]);
    }
}
