//! The body: a read-only RichEdit control (MSFTEDIT.DLL, "RICHEDIT50W")
//! filled with the RTF of the message's block model. Its links are the
//! runs `to_rich_text` reports, marked CFE_LINK here, so that the control
//! shows the hand over them and reports a click with EN_LINK; the target
//! comes from the model, never from the control.
//!
//! windows-sys has no RichEdit bindings: the few messages and structures
//! below are richedit.h's, whose structures are packed to 4 bytes.

use herald_views::body::{parse, to_rich_text, RichLink};
use windows_sys::Win32::Foundation::{HWND, LPARAM, POINT, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::{ClientToScreen, HFONT};
use windows_sys::Win32::System::LibraryLoader::LoadLibraryW;
use windows_sys::Win32::UI::Controls::{EM_POSFROMCHAR, NMHDR};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    SendMessageW, ES_AUTOVSCROLL, ES_MULTILINE, ES_READONLY, WM_SETFONT, WM_USER, WS_CHILD,
    WS_TABSTOP, WS_VISIBLE, WS_VSCROLL,
};

use super::{child, wide};

const EM_EXGETSEL: u32 = WM_USER + 52;
const EM_EXSETSEL: u32 = WM_USER + 55;
const EM_GETCHARFORMAT: u32 = WM_USER + 58;
pub const EM_REQUESTRESIZE: u32 = WM_USER + 65;
const EM_SETCHARFORMAT: u32 = WM_USER + 68;
const EM_SETEVENTMASK: u32 = WM_USER + 69;
const EM_GETTEXTRANGE: u32 = WM_USER + 75;
const EM_GETTEXTLENGTHEX: u32 = WM_USER + 95;
const EM_SETTEXTEX: u32 = WM_USER + 97;
const EM_SETZOOM: u32 = WM_USER + 225;
pub const EN_REQUESTRESIZE: u32 = 0x0701;
pub const EN_LINK: u32 = 0x070b;
const ENM_REQUESTRESIZE: u32 = 0x0004_0000;
const ENM_LINK: u32 = 0x0400_0000;
const CFM_LINK: u32 = 0x20;
const CFE_LINK: u32 = 0x20;
const CFM_BOLD: u32 = 0x1;
const CFE_BOLD: u32 = 0x1;
const SCF_SELECTION: usize = 1;
const ST_DEFAULT: u32 = 0;
const CP_ACP: u32 = 0;
const GTL_PRECISE: u32 = 2;
const GTL_NUMCHARS: u32 = 8;

#[repr(C, packed(4))]
#[derive(Clone, Copy, Default)]
pub struct CharRange {
    pub min: i32,
    pub max: i32,
}

#[repr(C, packed(4))]
struct SetTextEx {
    flags: u32,
    codepage: u32,
}

#[repr(C, packed(4))]
struct GetTextLengthEx {
    flags: u32,
    codepage: u32,
}

#[repr(C, packed(4))]
struct TextRange {
    chrg: CharRange,
    text: *mut u16,
}

/// CHARFORMAT2W: only the mask and effects are used, the rest is zeros.
#[repr(C, packed(4))]
struct CharFormat2 {
    size: u32,
    mask: u32,
    effects: u32,
    rest: [u8; 104],
}

#[repr(C, packed(4))]
pub struct ReqResize {
    pub nmhdr: NMHDR,
    pub rc: RECT,
}

#[repr(C, packed(4))]
pub struct EnLink {
    pub nmhdr: NMHDR,
    pub msg: u32,
    pub wparam: WPARAM,
    pub lparam: LPARAM,
    pub chrg: CharRange,
}

/// Loads the control's library; false when it is missing.
pub fn load() -> bool {
    // SAFETY: a NUL-terminated name that outlives the call.
    unsafe { !LoadLibraryW(wide("msftedit.dll").as_ptr()).is_null() }
}

/// The control, filled with the body; returns it and its links.
///
/// # Safety
/// `parent` is this thread's live window.
pub unsafe fn create(parent: HWND, font: HFONT, markdown: &str, id: i32) -> (HWND, Vec<RichLink>) {
    let style = WS_CHILD
        | WS_VISIBLE
        | WS_TABSTOP
        | WS_VSCROLL
        | (ES_MULTILINE | ES_READONLY | ES_AUTOVSCROLL) as u32;
    let body = child(parent, "RICHEDIT50W", "", style, id);
    if body.is_null() {
        return (body, Vec::new());
    }
    // The default format, which the RTF only changes where it says so.
    SendMessageW(body, WM_SETFONT, font as WPARAM, 0);
    let rich = to_rich_text(&parse(markdown));
    // The document is ASCII (everything else is `\uN?`), so the code page
    // does not matter; the NUL ends it.
    let mut rtf = rich.rtf.into_bytes();
    rtf.push(0);
    let how = SetTextEx {
        flags: ST_DEFAULT,
        codepage: CP_ACP,
    };
    SendMessageW(
        body,
        EM_SETTEXTEX,
        &raw const how as WPARAM,
        rtf.as_ptr() as LPARAM,
    );
    for link in &rich.links {
        set_effect(body, range(link), CFM_LINK, CFE_LINK);
    }
    // The caret at the start, not after the last link marked.
    select(body, CharRange::default());
    SendMessageW(
        body,
        EM_SETEVENTMASK,
        0,
        (ENM_LINK | ENM_REQUESTRESIZE) as LPARAM,
    );
    (body, rich.links)
}

fn range(link: &RichLink) -> CharRange {
    let cp = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    CharRange {
        min: cp(link.start),
        max: cp(link.end),
    }
}

unsafe fn select(body: HWND, r: CharRange) {
    SendMessageW(body, EM_EXSETSEL, 0, &raw const r as LPARAM);
}

unsafe fn set_effect(body: HWND, r: CharRange, mask: u32, effects: u32) {
    select(body, r);
    let format = CharFormat2 {
        size: size_of::<CharFormat2>() as u32,
        mask,
        effects,
        rest: [0; 104],
    };
    SendMessageW(
        body,
        EM_SETCHARFORMAT,
        SCF_SELECTION,
        &raw const format as LPARAM,
    );
}

/// Whether every character of `r` has all of `effects` (for the test
/// report).
unsafe fn has_effect(body: HWND, r: CharRange, mask: u32, effects: u32) -> bool {
    select(body, r);
    let mut format = CharFormat2 {
        size: size_of::<CharFormat2>() as u32,
        mask: 0,
        effects: 0,
        rest: [0; 104],
    };
    SendMessageW(
        body,
        EM_GETCHARFORMAT,
        SCF_SELECTION,
        &raw mut format as LPARAM,
    );
    let (got_mask, got) = (format.mask, format.effects);
    got_mask & mask == mask && got & effects == effects
}

/// The text of a range of the control.
pub unsafe fn text(body: HWND, r: CharRange) -> String {
    let len = usize::try_from(r.max.saturating_sub(r.min)).unwrap_or(0);
    let mut buf = vec![0u16; len + 1];
    let mut tr = TextRange {
        chrg: r,
        text: buf.as_mut_ptr(),
    };
    let n = SendMessageW(body, EM_GETTEXTRANGE, 0, &raw mut tr as LPARAM);
    let n = usize::try_from(n).unwrap_or(0).min(len);
    String::from_utf16_lossy(&buf[..n])
}

/// The link at a character position: where EN_LINK says the user
/// clicked, or the caret when Enter is pressed in the body.
pub fn link_at(links: &[RichLink], cp: i32) -> Option<&RichLink> {
    let cp = usize::try_from(cp).ok()?;
    links.iter().find(|l| l.start <= cp && cp < l.end)
}

pub unsafe fn caret(body: HWND) -> i32 {
    let mut r = CharRange::default();
    SendMessageW(body, EM_EXGETSEL, 0, &raw mut r as LPARAM);
    r.min
}

/// Scales the text for a monitor whose DPI is not the one RichEdit draws
/// at: it takes the system DPI from its device context.
pub unsafe fn zoom(body: HWND, dpi: u32, system_dpi: u32) {
    let (num, den) = if dpi == system_dpi {
        (0, 0)
    } else {
        (dpi as usize, system_dpi as isize)
    };
    SendMessageW(body, EM_SETZOOM, num, den);
}

/// How many characters the control holds.
unsafe fn length(body: HWND) -> i32 {
    let how = GetTextLengthEx {
        flags: GTL_PRECISE | GTL_NUMCHARS,
        codepage: 1200,
    };
    let n = SendMessageW(body, EM_GETTEXTLENGTHEX, &raw const how as WPARAM, 0);
    i32::try_from(n).unwrap_or(0)
}

/// For the tests (`HERALD_POPUP_DEBUG_LAYOUT=1`): each link as the control
/// has it, read back (its text, whether it is marked, its target), and
/// the runs of bold text among the first characters.
pub unsafe fn report(body: HWND, links: &[RichLink]) {
    for link in links {
        let r = range(link);
        // RichEdit 2.0 and later: the point is written to wParam.
        let mut at = POINT::default();
        SendMessageW(body, EM_POSFROMCHAR, &raw mut at as WPARAM, r.min as LPARAM);
        ClientToScreen(body, &mut at);
        eprintln!(
            "herald-popup: link {:?} marked {} at {},{} -> {}",
            text(body, r),
            has_effect(body, r, CFM_LINK, CFE_LINK),
            at.x,
            at.y,
            link.target
        );
    }
    let end = length(body).min(2000);
    let mut run: Option<i32> = None;
    for cp in 0..=end {
        let bold = cp < end
            && has_effect(
                body,
                CharRange {
                    min: cp,
                    max: cp + 1,
                },
                CFM_BOLD,
                CFE_BOLD,
            );
        match (bold, run) {
            (true, None) => run = Some(cp),
            (false, Some(start)) => {
                let r = CharRange {
                    min: start,
                    max: cp,
                };
                eprintln!("herald-popup: bold {:?}", text(body, r));
                run = None;
            }
            _ => {}
        }
    }
    select(body, CharRange::default());
}
