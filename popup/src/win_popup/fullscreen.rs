//! A fullscreen message: one frameless topmost window over the virtual
//! screen (every monitor at once), dark, with the message's card in the
//! middle of the primary monitor. It follows the monitors when they
//! change (WM_DISPLAYCHANGE).

use windows_sys::Win32::Foundation::{COLORREF, POINT, RECT};
use windows_sys::Win32::Graphics::Gdi::{
    GetMonitorInfoW, MonitorFromPoint, MONITORINFO, MONITOR_DEFAULTTOPRIMARY,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    GetSystemMetrics, SM_CXSCREEN, SM_CXVIRTUALSCREEN, SM_CYSCREEN, SM_CYVIRTUALSCREEN,
    SM_XVIRTUALSCREEN, SM_YVIRTUALSCREEN,
};

/// Behind the card, on every monitor.
pub const BACKDROP: COLORREF = 0x0020_1c1c;

/// The bounding rectangle of all monitors, in screen coordinates (the
/// primary monitor's top left is 0, 0; others may be left of or above it).
pub fn virtual_screen() -> RECT {
    // SAFETY: GetSystemMetrics only reads.
    let (x, y, w, h) = unsafe {
        (
            GetSystemMetrics(SM_XVIRTUALSCREEN),
            GetSystemMetrics(SM_YVIRTUALSCREEN),
            GetSystemMetrics(SM_CXVIRTUALSCREEN),
            GetSystemMetrics(SM_CYVIRTUALSCREEN),
        )
    };
    if w > 0 && h > 0 {
        return RECT {
            left: x,
            top: y,
            right: x + w,
            bottom: y + h,
        };
    }
    primary_monitor()
}

/// The primary monitor, where the card goes.
pub fn primary_monitor() -> RECT {
    // SAFETY: a zeroed MONITORINFO with its size set is a valid
    // out-parameter; the monitor handle needs no release.
    unsafe {
        let mut info: MONITORINFO = std::mem::zeroed();
        info.cbSize = size_of::<MONITORINFO>() as u32;
        let monitor = MonitorFromPoint(POINT { x: 0, y: 0 }, MONITOR_DEFAULTTOPRIMARY);
        if GetMonitorInfoW(monitor, &mut info) != 0 {
            return info.rcMonitor;
        }
        RECT {
            left: 0,
            top: 0,
            right: GetSystemMetrics(SM_CXSCREEN).max(640),
            bottom: GetSystemMetrics(SM_CYSCREEN).max(480),
        }
    }
}

/// Where a card of `size` goes in the client area of a window that covers
/// `screen`: centred on the primary monitor.
pub fn card_origin(screen: &RECT, primary: &RECT, (w, h): (i32, i32)) -> (i32, i32) {
    let x = primary.left + (primary.right - primary.left - w) / 2;
    let y = primary.top + (primary.bottom - primary.top - h) / 2;
    (
        (x - screen.left).max(primary.left - screen.left),
        (y - screen.top).max(primary.top - screen.top),
    )
}

/// "WxH+X+Y", as the tests read it.
pub fn geometry(r: &RECT) -> String {
    format!(
        "{}x{}+{}+{}",
        r.right - r.left,
        r.bottom - r.top,
        r.left,
        r.top
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_is_centred_on_the_primary_monitor() {
        let rect = |left, top, right, bottom| RECT {
            left,
            top,
            right,
            bottom,
        };
        // A second monitor left of the primary one: the window starts at
        // -1920, and the card is 1920 pixels further right in it.
        let screen = rect(-1920, 0, 1280, 1080);
        let primary = rect(0, 0, 1280, 800);
        assert_eq!(
            card_origin(&screen, &primary, (460, 300)),
            (1920 + 410, 250)
        );
        // Taller than the monitor: from its top.
        assert_eq!(card_origin(&screen, &primary, (460, 900)).1, 0);
    }
}
