//! The window's fonts, size and place: 460 logical pixels wide, as tall as
//! its text needs up to a share of the work area, the body scrolling
//! beyond; a long title wraps and never squeezes the body below a few
//! lines. Alerts in the middle of the work area, where they cannot be
//! missed, others in its bottom-right corner, where notifications appear.

use herald_protocol::Severity;
use windows_sys::Win32::Foundation::{HWND, RECT};
use windows_sys::Win32::Graphics::Gdi::{
    CreateFontIndirectW, DeleteObject, DrawTextW, GetDC, GetMonitorInfoW, GetTextMetricsW,
    MonitorFromWindow, ReleaseDC, SelectObject, DT_CALCRECT, DT_EDITCONTROL, DT_NOPREFIX,
    DT_SINGLELINE, DT_WORDBREAK, FW_BOLD, FW_NORMAL, HFONT, LOGFONTW, MONITORINFO,
    MONITOR_DEFAULTTOPRIMARY, TEXTMETRICW,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    SystemParametersInfoW, NONCLIENTMETRICSW, SPI_GETNONCLIENTMETRICS,
};

use super::buttons::MAX as MAX_BUTTONS;
use super::dpi::{self, scale};

/// The window's inside width in logical pixels, as the GTK popup has it.
pub const WIDTH: i32 = 460;
/// Space on the left and right of the text.
pub const SIDE: i32 = 17;
pub const BANNER: i32 = 38;
/// How tall the window may grow before its body scrolls, in per cent of
/// the work area's height.
const MAX_SHARE: i32 = 70;
/// The least height a body that scrolls gets, whatever is around it.
const MIN_BODY: i32 = 120;
/// Distance from the work area's edges for popups placed in a corner.
const MARGIN: i32 = 24;
/// A title longer than this many lines is cut: the server caps titles at
/// 200 characters, which fit, and the body keeps its room whatever comes
/// on standard input. The same for the sender's line.
const TITLE_LINES: i32 = 8;
const FROM_LINES: i32 = 3;

#[derive(Clone, Copy)]
pub struct Fonts {
    pub text: HFONT,
    pub title: HFONT,
    pub banner: HFONT,
    pub meta: HFONT,
}

impl Fonts {
    /// The system's message font (Segoe UI on Windows 10 and 11) at
    /// `dpi`, in the sizes the popup uses.
    pub fn new(dpi: u32) -> Fonts {
        let mut base: LOGFONTW = message_font();
        let mut font = |tenths_pt: i32, weight: i32| -> HFONT {
            base.lfHeight = -(tenths_pt * dpi as i32 / 720);
            base.lfWeight = weight;
            // SAFETY: a filled LOGFONTW that outlives the call.
            unsafe { CreateFontIndirectW(&base) }
        };
        Fonts {
            text: font(100, FW_NORMAL as i32),
            title: font(125, FW_BOLD as i32),
            banner: font(100, FW_BOLD as i32),
            meta: font(85, FW_NORMAL as i32),
        }
    }

    pub fn delete(self) {
        for f in [self.text, self.title, self.banner, self.meta] {
            // SAFETY: fonts this popup made and no control uses any more.
            unsafe { DeleteObject(f) };
        }
    }
}

fn message_font() -> LOGFONTW {
    // SAFETY: zeroed plain data is a valid NONCLIENTMETRICSW; the size is
    // set as the call requires.
    unsafe {
        let mut m: NONCLIENTMETRICSW = std::mem::zeroed();
        m.cbSize = size_of::<NONCLIENTMETRICSW>() as u32;
        if SystemParametersInfoW(SPI_GETNONCLIENTMETRICS, m.cbSize, (&raw mut m).cast(), 0) != 0 {
            return m.lfMessageFont;
        }
        let mut f: LOGFONTW = std::mem::zeroed();
        for (i, c) in "Segoe UI".encode_utf16().enumerate() {
            f.lfFaceName[i] = c;
        }
        f
    }
}

/// Where everything goes, in the window's client pixels.
#[derive(Clone, Copy, Default)]
pub struct Layout {
    /// The card: the whole window, or its middle when it is fullscreen.
    pub card: RECT,
    pub width: i32,
    pub height: i32,
    pub banner: i32,
    pub title: RECT,
    pub body: RECT,
    /// The line between the body and the footer.
    pub rule: i32,
    pub from: RECT,
    pub valid: RECT,
    /// The buttons', in order; those past the last button are empty.
    pub buttons: [RECT; MAX_BUTTONS],
}

impl Layout {
    /// The same layout with the card at (x, y).
    pub fn at(mut self, x: i32, y: i32) -> Layout {
        let shift = |r: &mut RECT| {
            r.left += x;
            r.right += x;
            r.top += y;
            r.bottom += y;
        };
        for r in [&mut self.card, &mut self.title, &mut self.body]
            .into_iter()
            .chain([&mut self.from, &mut self.valid])
            .chain(self.buttons.iter_mut())
        {
            shift(r);
        }
        self.rule += y;
        self
    }
}

/// What the layout needs to know of the texts around the body.
pub struct Texts<'a> {
    pub title: &'a str,
    pub from: &'a str,
    pub valid: &'a str,
    /// The buttons' labels as drawn (no accelerator marks).
    pub buttons: &'a [String],
}

/// Lays the window out at `dpi` for a body that wants `wanted` pixels and
/// a client area that may be `max_height` tall.
pub fn compute(
    hwnd: HWND,
    fonts: &Fonts,
    texts: &Texts,
    dpi: u32,
    wanted: i32,
    max_height: i32,
) -> Layout {
    let s = |px| scale(px, dpi);
    let width = s(WIDTH);
    let inner = width - 2 * s(SIDE);
    let m = Measure::new(hwnd);
    let banner = s(BANNER);
    let title_h = m.height(fonts.title, texts.title, inner, TITLE_LINES);
    let from_h = m.height(fonts.meta, texts.from, inner, FROM_LINES);
    let valid_h = m.height(fonts.meta, texts.valid, inner, 1);
    let mut sizes = [(0, 0); MAX_BUTTONS];
    let count = texts.buttons.len().min(MAX_BUTTONS);
    for (size, label) in sizes.iter_mut().zip(texts.buttons) {
        let (w, h) = m.line(fonts.text, label);
        *size = if w + s(32) <= inner {
            ((w + s(32)).max(s(120)), (h + s(14)).max(s(32)))
        } else {
            // Too long for one line: the whole width, wrapped.
            let h = m.height(fonts.text, label, inner - s(32), 4);
            (inner, (h + s(14)).max(s(32)))
        };
    }
    drop(m);
    let (mut buttons, buttons_h) = super::buttons::flow(&sizes[..count], inner, s(8));

    let title_top = banner + s(8);
    let body_top = title_top + title_h + s(8);
    // Below the body: a gap, the rule, the footer's lines and button.
    let footer = s(4) + 1 + s(8) + from_h + s(4) + valid_h + s(9) + buttons_h + s(14);
    let around = body_top + footer;
    let body_h = wanted.min((max_height - around).max(s(MIN_BODY)));

    let left = s(SIDE);
    let rect = |top: i32, w: i32, h: i32| RECT {
        left,
        top,
        right: left + w,
        bottom: top + h,
    };
    let rule = body_top + body_h + s(4);
    let from = rect(rule + 1 + s(8), inner, from_h);
    let valid = rect(from.bottom + s(4), inner, valid_h);
    let buttons_top = valid.bottom + s(9);
    for b in buttons.iter_mut().take(count) {
        b.left += left;
        b.right += left;
        b.top += buttons_top;
        b.bottom += buttons_top;
    }
    let height = buttons_top + buttons_h + s(14);
    Layout {
        card: RECT {
            left: 0,
            top: 0,
            right: width,
            bottom: height,
        },
        width,
        height,
        banner,
        title: rect(title_top, inner, title_h),
        body: rect(body_top, inner, body_h),
        rule,
        from,
        valid,
        buttons,
    }
}

/// Text measured as the controls will draw it.
struct Measure {
    hwnd: HWND,
    dc: windows_sys::Win32::Graphics::Gdi::HDC,
}

impl Measure {
    fn new(hwnd: HWND) -> Measure {
        // SAFETY: our window's device context, released on drop.
        let dc = unsafe { GetDC(hwnd) };
        Measure { hwnd, dc }
    }

    /// The height of `text` wrapped at `width`, at most `lines` lines.
    fn height(&self, font: HFONT, text: &str, width: i32, lines: i32) -> i32 {
        let w = super::wide(text);
        let mut r = RECT {
            left: 0,
            top: 0,
            right: width,
            bottom: 0,
        };
        // SAFETY: our DC, a font we made, a NUL-terminated string.
        unsafe {
            SelectObject(self.dc, font);
            let mut tm: TEXTMETRICW = std::mem::zeroed();
            GetTextMetricsW(self.dc, &mut tm);
            DrawTextW(
                self.dc,
                w.as_ptr(),
                -1,
                &mut r,
                DT_CALCRECT | DT_WORDBREAK | DT_EDITCONTROL | DT_NOPREFIX,
            );
            (r.bottom - r.top).clamp(tm.tmHeight, tm.tmHeight * lines)
        }
    }

    /// The size of one line of `text`.
    fn line(&self, font: HFONT, text: &str) -> (i32, i32) {
        let w = super::wide(text);
        let mut r = RECT::default();
        // SAFETY: as in `height`.
        unsafe {
            SelectObject(self.dc, font);
            DrawTextW(
                self.dc,
                w.as_ptr(),
                -1,
                &mut r,
                DT_CALCRECT | DT_SINGLELINE | DT_NOPREFIX,
            );
        }
        (r.right - r.left, r.bottom - r.top)
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        // SAFETY: the DC taken in `new`.
        unsafe { ReleaseDC(self.hwnd, self.dc) };
    }
}

/// The work area (the monitor without the task bar) of the monitor the
/// window is on.
pub fn work_area(hwnd: HWND) -> RECT {
    // SAFETY: a zeroed MONITORINFO with its size set is a valid
    // out-parameter; the monitor handle needs no release.
    unsafe {
        let mut info: MONITORINFO = std::mem::zeroed();
        info.cbSize = size_of::<MONITORINFO>() as u32;
        let monitor = MonitorFromWindow(hwnd, MONITOR_DEFAULTTOPRIMARY);
        if GetMonitorInfoW(monitor, &mut info) != 0 {
            return info.rcWork;
        }
    }
    RECT {
        left: 0,
        top: 0,
        right: 1024,
        bottom: 768,
    }
}

/// The tallest client area the window may have in `area`, given how much
/// its frame adds.
pub fn max_client_height(area: &RECT, frame: i32) -> i32 {
    (area.bottom - area.top) * MAX_SHARE / 100 - frame
}

/// Where a window of `size` (frame included) goes in `area`.
pub fn position(severity: Severity, area: &RECT, (w, h): (i32, i32), dpi: u32) -> (i32, i32) {
    let (x, y) = if severity == Severity::Alert {
        (
            area.left + (area.right - area.left - w) / 2,
            area.top + (area.bottom - area.top - h) / 2,
        )
    } else {
        let margin = dpi::scale(MARGIN, dpi);
        (area.right - w - margin, area.bottom - h - margin)
    };
    (x.max(area.left), y.max(area.top))
}
