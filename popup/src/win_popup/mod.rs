//! The popup on Windows: a native Win32 window, no web engine. A severity
//! banner, the title, the body in a read-only RichEdit control (the
//! message's block model as RTF: headings, bold, lists, quotes, links that
//! open outside), the sender and validity, and the read button or one
//! button per answer. The window fits its text up to a share of the work
//! area, then the body scrolls; it follows the DPI of the monitor it is
//! on. A fullscreen message covers every monitor (`fullscreen`); an alert
//! may ring once as it appears.
//!
//! Keyboard: the first button has the focus and is the default (Enter or
//! Space), Alt and an underlined letter press that button, Tab moves
//! among the buttons and the body, Enter presses the focused button or
//! opens the link under the caret in the body, Escape and the close box
//! cancel (unless a fullscreen message waits for an answer), Page Up and
//! Page Down scroll the body wherever the focus is.
// Win32 has no safe binding: every call in these modules is FFI on
// windows this module made itself, on its one thread, with UTF-16
// strings and structures it keeps alive for the duration of each call.
#![allow(unsafe_code)]

mod buttons;
mod dpi;
mod fullscreen;
mod layout;
mod messages;
mod paint;
mod report;
mod richedit;
mod window;

use std::cell::Cell;

use anyhow::{bail, Result};
use herald_views::body::RichLink;
use herald_views::popup::{Outcome, PopupRequest, PopupText};
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, HWND};
use windows_sys::Win32::System::Diagnostics::Debug::MessageBeep;
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::Threading::{
    OpenProcess, WaitForSingleObject, INFINITE, PROCESS_SYNCHRONIZE,
};
use windows_sys::Win32::UI::Input::KeyboardAndMouse::{
    GetFocus, GetKeyState, VK_DOWN, VK_END, VK_ESCAPE, VK_HOME, VK_NEXT, VK_PRIOR, VK_RETURN,
    VK_SHIFT, VK_TAB, VK_UP,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DestroyWindow, DispatchMessageW, GetMessageW, GetNextDlgTabItem,
    IsDialogMessageW, PostMessageW, SendMessageW, TranslateMessage, MB_ICONEXCLAMATION, MSG,
    SB_BOTTOM, SB_LINEDOWN, SB_LINEUP, SB_PAGEDOWN, SB_PAGEUP, SB_TOP, WINDOW_STYLE, WM_APP,
    WM_KEYDOWN, WM_VSCROLL,
};

/// Posted by the thread that watches the agent, when it is gone.
const WM_ORPHANED: u32 = WM_APP + 1;

/// The popup's state. The window procedure has no context of its own and
/// the popup is the process's one window: it lives in a thread-local, and
/// changes only through cells, so that a message sent while another is
/// handled finds it as it is.
pub struct Popup {
    pub hwnd: HWND,
    pub req: PopupRequest,
    pub text: PopupText,
    pub controls: window::Controls,
    pub links: Vec<RichLink>,
    pub dpi: Cell<u32>,
    pub fonts: Cell<layout::Fonts>,
    pub layout: Cell<layout::Layout>,
    /// The body's height for all its text, from EN_REQUESTRESIZE.
    pub wanted: Cell<i32>,
    /// The button Enter presses when the focus is on none (DM_GETDEFID).
    pub default_id: Cell<i32>,
    outcome: Cell<Option<Outcome>>,
    orphaned: Cell<bool>,
}

// The initializer is const already; Debian's clippy 1.96 flags the
// macro's expansion under -Z build-std all the same.
#[allow(clippy::missing_const_for_thread_local)]
mod state {
    thread_local! {
        pub static POPUP: std::cell::OnceCell<super::Popup> = const { std::cell::OnceCell::new() };
    }
}
use state::POPUP;

/// Runs `f` on the popup once it exists.
pub fn with<R>(f: impl FnOnce(&Popup) -> R) -> Option<R> {
    POPUP.with(|p| p.get().map(f))
}

impl Popup {
    /// The first answer stands: closing the window after a read is no
    /// cancel.
    pub fn finish(&self, outcome: Outcome) {
        if self.outcome.get().is_none() && !self.orphaned.get() {
            self.outcome.set(Some(outcome));
            // SAFETY: our window; destroying it ends the message loop.
            unsafe { DestroyWindow(self.hwnd) };
        }
    }

    fn orphan(&self) {
        if self.outcome.get().is_none() && !self.orphaned.get() {
            // Nobody would hear the answer, and the agent that restarts
            // shows the message again: a second window of the same
            // message must not be left behind.
            eprintln!("herald-popup: the agent is gone; closing");
            self.orphaned.set(true);
            // SAFETY: as in `finish`.
            unsafe { DestroyWindow(self.hwnd) };
        }
    }
}

/// Shows the message and waits for the user; the outcome goes to standard
/// output. An error means no window could be opened.
pub fn show(req: &PopupRequest) -> Result<()> {
    dpi::declare_aware();
    if !richedit::load() {
        bail!("cannot load the RichEdit control (msftedit.dll)");
    }
    let popup = window::build(req)?;
    let hwnd = popup.hwnd;
    if !POPUP.with(|p| p.set(popup).is_ok()) {
        bail!("a second popup in one process");
    }
    window::fit_and_show(hwnd);
    watch_agent(hwnd);
    // SAFETY: a zeroed MSG is a valid out-parameter; the loop runs on the
    // thread that made the window.
    unsafe {
        let mut msg: MSG = std::mem::zeroed();
        while GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) > 0 {
            if msg.message == WM_KEYDOWN && key(hwnd, msg.wParam as u16) {
                continue;
            }
            // The dialog manager gives Tab, Enter, Space, Alt+letter and
            // the arrows their usual meaning among the controls.
            if IsDialogMessageW(hwnd, &msg) == 0 {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
        }
    }
    let (outcome, orphaned) = with(|p| (p.outcome.get(), p.orphaned.get())).unwrap_or_default();
    if orphaned {
        std::process::exit(3);
    }
    crate::answer(outcome.unwrap_or(Outcome::Cancelled));
    Ok(())
}

/// The keys the popup handles itself, wherever the focus is; true when
/// the key was used.
fn key(hwnd: HWND, vk: u16) -> bool {
    with(|p| {
        let body = p.controls.body;
        // SAFETY: reading the focus and the Shift key's state.
        let (focus, shift) = unsafe { (GetFocus(), GetKeyState(i32::from(VK_SHIFT)) < 0) };
        let in_body = focus == body;
        let scroll = |how: u32| {
            // SAFETY: our control.
            unsafe { SendMessageW(body, WM_VSCROLL, how as usize, 0) };
            true
        };
        match vk {
            VK_ESCAPE => {
                if p.req.cancellable() {
                    p.finish(Outcome::Cancelled);
                }
                true
            }
            // Enter presses the button that has the focus, the one the
            // user moved to with Tab, not only the default.
            VK_RETURN if !in_body => {
                let focused = p.controls.buttons.iter().find(|b| b.hwnd == focus);
                match focused {
                    Some(b) => {
                        p.finish(b.outcome);
                        true
                    }
                    None => false,
                }
            }
            VK_PRIOR => scroll(SB_PAGEUP as u32),
            VK_NEXT => scroll(SB_PAGEDOWN as u32),
            // In the body these move its caret, as usual.
            VK_UP if !in_body => scroll(SB_LINEUP as u32),
            VK_DOWN if !in_body => scroll(SB_LINEDOWN as u32),
            VK_HOME if !in_body => scroll(SB_TOP as u32),
            VK_END if !in_body => scroll(SB_BOTTOM as u32),
            // A multi-line control keeps Tab for itself: it must not trap
            // the keyboard.
            VK_TAB if in_body => {
                // SAFETY: our window and control.
                unsafe {
                    let next = GetNextDlgTabItem(hwnd, body, i32::from(shift));
                    windows_sys::Win32::UI::Input::KeyboardAndMouse::SetFocus(next);
                }
                true
            }
            VK_RETURN if in_body => {
                // SAFETY: our control.
                let cp = unsafe { richedit::caret(body) };
                if let Some(link) = richedit::link_at(&p.links, cp) {
                    crate::links::open_outside(&link.target);
                }
                true
            }
            _ => false,
        }
    })
    .unwrap_or(false)
}

/// The system's exclamation sound, once, as the window appears. It plays
/// on its own: a failure leaves the popup as it is.
fn ring() {
    // SAFETY: no pointers; the sound is queued and the call returns.
    if unsafe { MessageBeep(MB_ICONEXCLAMATION) } != 0 {
        eprintln!("herald-popup: rang");
    } else {
        eprintln!(
            "herald-popup: cannot ring: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Ends the popup when the agent that started it is gone: it names itself
/// in HERALD_AGENT_PID. A popup started by hand has no agent to watch.
fn watch_agent(hwnd: HWND) {
    let Some(pid) = std::env::var("HERALD_AGENT_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    else {
        return;
    };
    // SAFETY: a handle we own, closed by the thread that waits on it.
    let process = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
    // The window handle crosses threads as a number: PostMessageW may be
    // called from any thread.
    let hwnd = hwnd as isize;
    if process.is_null() {
        // Gone already (or never ours to watch): as good as orphaned.
        // SAFETY: posting to our own window.
        unsafe { PostMessageW(hwnd as HWND, WM_ORPHANED, 0, 0) };
        return;
    }
    let process = process as isize;
    std::thread::spawn(move || {
        let process = process as HANDLE;
        // SAFETY: the handle is open until CloseHandle below; a window
        // that is gone makes PostMessageW fail, which is fine.
        unsafe {
            WaitForSingleObject(process, INFINITE);
            CloseHandle(process);
            PostMessageW(hwnd as HWND, WM_ORPHANED, 0, 0);
        }
    });
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// A child control, placed later by the layout.
///
/// # Safety
/// `parent` is this thread's live window.
unsafe fn child(parent: HWND, class: &str, text: &str, style: WINDOW_STYLE, id: i32) -> HWND {
    let class = wide(class);
    let text = wide(text);
    CreateWindowExW(
        0,
        class.as_ptr(),
        text.as_ptr(),
        style,
        0,
        0,
        0,
        0,
        parent,
        id as isize as _,
        GetModuleHandleW(std::ptr::null()),
        std::ptr::null(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_strings_end_with_nul() {
        assert_eq!(wide("é"), vec![0xe9, 0]);
    }

    #[test]
    fn a_position_finds_its_link() {
        let link = |start, end, t: &str| RichLink {
            start,
            end,
            target: t.into(),
        };
        let links = [link(3, 6, "https://a.example/"), link(6, 9, "mailto:b@x")];
        let at = |cp| richedit::link_at(&links, cp).map(|l| l.target.as_str());
        assert_eq!(at(2), None);
        assert_eq!(at(3), Some("https://a.example/"));
        assert_eq!(at(6), Some("mailto:b@x"));
        assert_eq!(at(9), None);
        assert_eq!(at(-1), None);
    }
}
