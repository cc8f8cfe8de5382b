//! Per-monitor DPI: the process says it draws for each monitor's DPI
//! itself (per-monitor v2), so that Windows does not stretch a blurred
//! bitmap of it at 150 % or 200 %. The functions came with Windows 10
//! (1607, 1703) and are looked up, not linked, so that a system without
//! them still runs the popup, at the system DPI.

use std::ffi::CStr;

use windows_sys::Win32::Foundation::HWND;
use windows_sys::Win32::Graphics::Gdi::{GetDC, GetDeviceCaps, ReleaseDC, LOGPIXELSY};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
use windows_sys::Win32::UI::WindowsAndMessaging::SetProcessDPIAware;

use super::wide;

/// DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2, a pseudo-handle.
const PER_MONITOR_AWARE_V2: isize = -4;

/// The DPI at 100 %.
pub const BASE: u32 = 96;

type SetContext = unsafe extern "system" fn(isize) -> i32;
type ForWindow = unsafe extern "system" fn(HWND) -> u32;
type ForSystem = unsafe extern "system" fn() -> u32;

/// A function of user32.dll, if this Windows has it.
fn user32(name: &CStr) -> Option<unsafe extern "system" fn() -> isize> {
    // SAFETY: user32 is loaded in every process with a window; both
    // strings are NUL-terminated and outlive the calls.
    unsafe {
        let module = GetModuleHandleW(wide("user32.dll").as_ptr());
        if module.is_null() {
            return None;
        }
        GetProcAddress(module, name.as_ptr().cast())
    }
}

/// Declares per-monitor v2 awareness, or the older system awareness where
/// that is missing. Quietly: a manifest or a policy may have set it first,
/// and the popup works either way.
pub fn declare_aware() {
    if let Some(f) = user32(c"SetProcessDpiAwarenessContext") {
        // SAFETY: the function has this signature in user32 (Windows 10
        // 1703 and later); the pointer came from GetProcAddress for it.
        let set: SetContext = unsafe { std::mem::transmute(f) };
        // SAFETY: a documented pseudo-handle as the argument.
        if unsafe { set(PER_MONITOR_AWARE_V2) } != 0 {
            return;
        }
    }
    // SAFETY: no arguments; present since Vista.
    unsafe { SetProcessDPIAware() };
}

/// The DPI of the monitor the window is on.
pub fn for_window(hwnd: HWND) -> u32 {
    if let Some(f) = user32(c"GetDpiForWindow") {
        // SAFETY: as in `declare_aware`, for GetDpiForWindow (1607).
        let get: ForWindow = unsafe { std::mem::transmute(f) };
        // SAFETY: our window.
        let dpi = unsafe { get(hwnd) };
        if dpi > 0 {
            return dpi;
        }
    }
    for_system()
}

/// The system DPI: the one RichEdit draws its text for, and the one of
/// every monitor where per-monitor DPI is not known.
pub fn for_system() -> u32 {
    if let Some(f) = user32(c"GetDpiForSystem") {
        // SAFETY: as in `declare_aware`, for GetDpiForSystem (1607).
        let get: ForSystem = unsafe { std::mem::transmute(f) };
        // SAFETY: no arguments.
        let dpi = unsafe { get() };
        if dpi > 0 {
            return dpi;
        }
    }
    // SAFETY: the screen's device context, released at once.
    unsafe {
        let dc = GetDC(std::ptr::null_mut());
        let dpi = GetDeviceCaps(dc, LOGPIXELSY as i32);
        ReleaseDC(std::ptr::null_mut(), dc);
        u32::try_from(dpi).ok().filter(|d| *d > 0).unwrap_or(BASE)
    }
}

/// Logical pixels (at 100 %) to physical ones at `dpi`.
pub fn scale(px: i32, dpi: u32) -> i32 {
    (i64::from(px) * i64::from(dpi) / i64::from(BASE)) as i32
}
