//! What the window draws itself: the severity banner (its colour, a white
//! octagon, triangle or disc with the mark cut in the banner's colour, and
//! the word), the line above the footer, the dark backdrop around the card
//! of a fullscreen message, and Herald's icon.

use herald_protocol::Severity;
use herald_views::tray::{icon_rgba, TrayState, ICON_SIZE};
use windows_sys::Win32::Foundation::{COLORREF, POINT, RECT};
use windows_sys::Win32::Graphics::Gdi::{
    BeginPaint, CreatePen, CreateSolidBrush, DeleteObject, DrawTextW, Ellipse, EndPaint,
    ExcludeClipRect, FillRect, GetSysColor, Polygon, RestoreDC, SaveDC, SelectObject, SetBkMode,
    SetTextColor, COLOR_WINDOW, DT_NOPREFIX, DT_SINGLELINE, DT_VCENTER, HDC, PAINTSTRUCT, PS_SOLID,
    TRANSPARENT,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::UI::WindowsAndMessaging::{CreateIcon, GetClientRect, HICON};

use super::dpi::scale;
use super::Popup;

/// The banner's colours (0x00BBGGRR), as the page and the GTK popup have
/// them.
pub fn colour(s: Severity) -> COLORREF {
    match s {
        Severity::Alert => 0x0020_00b0,
        Severity::Warning => 0x0000_5cb3,
        Severity::Info => 0x00a8_5f1f,
    }
}

pub const WHITE: COLORREF = 0x00ff_ffff;
pub const META: COLORREF = 0x0055_5555;
const RULE: COLORREF = 0x00e4_e4e4;
/// The sign's side in logical pixels; the shapes are on a 24-unit grid.
const SIGN: i32 = 22;

pub fn paint(p: &Popup) {
    let dpi = p.dpi.get();
    let l = p.layout.get();
    // SAFETY: BeginPaint and EndPaint pair on our window; every GDI object
    // made here is deselected before it is deleted.
    unsafe {
        let mut ps: PAINTSTRUCT = std::mem::zeroed();
        let dc = BeginPaint(p.hwnd, &mut ps);
        let (cx, cy) = (l.card.left, l.card.top);
        if p.req.fullscreen {
            // The window has no background of its own (WM_ERASEBKGND):
            // the backdrop around the card, then the card, without a
            // flash of white over every monitor.
            let mut all = RECT::default();
            GetClientRect(p.hwnd, &mut all);
            fill(dc, l.card, GetSysColor(COLOR_WINDOW));
            let saved = SaveDC(dc);
            ExcludeClipRect(dc, l.card.left, l.card.top, l.card.right, l.card.bottom);
            fill(dc, all, super::fullscreen::BACKDROP);
            RestoreDC(dc, saved);
        }
        let banner_colour = colour(p.req.severity);
        fill(
            dc,
            RECT {
                left: cx,
                top: cy,
                right: cx + l.width,
                bottom: cy + l.banner,
            },
            banner_colour,
        );
        let x = cx + scale(14, dpi);
        let side = scale(SIGN, dpi);
        sign(dc, p.req.severity, x, cy + (l.banner - side) / 2, side);
        let word = super::wide(&p.text.banner());
        let mut r = RECT {
            left: x + side + scale(7, dpi),
            top: cy,
            right: cx + l.width,
            bottom: cy + l.banner,
        };
        let old = SelectObject(dc, p.fonts.get().banner);
        SetBkMode(dc, TRANSPARENT as i32);
        SetTextColor(dc, WHITE);
        DrawTextW(
            dc,
            word.as_ptr(),
            -1,
            &mut r,
            DT_SINGLELINE | DT_VCENTER | DT_NOPREFIX,
        );
        SelectObject(dc, old);
        fill(
            dc,
            RECT {
                left: cx,
                top: l.rule,
                right: cx + l.width,
                bottom: l.rule + 1,
            },
            RULE,
        );
        EndPaint(p.hwnd, &ps);
    }
}

unsafe fn fill(dc: HDC, r: RECT, c: COLORREF) {
    let brush = CreateSolidBrush(c);
    FillRect(dc, &r, brush);
    DeleteObject(brush);
}

/// The sign at (x, y), `side` pixels square.
unsafe fn sign(dc: HDC, severity: Severity, x: i32, y: i32, side: i32) {
    let at = |(u, v): (i32, i32)| POINT {
        x: x + u * side / 24,
        y: y + v * side / 24,
    };
    let brush = CreateSolidBrush(WHITE);
    let pen = CreatePen(PS_SOLID, 1, WHITE);
    let (old_brush, old_pen) = (SelectObject(dc, brush), SelectObject(dc, pen));
    // Two bars: the stem and the dot of "!" or "i", as (y, height).
    let marks = match severity {
        Severity::Alert => {
            let points = [
                (8, 2),
                (16, 2),
                (22, 8),
                (22, 16),
                (16, 22),
                (8, 22),
                (2, 16),
                (2, 8),
            ]
            .map(at);
            Polygon(dc, points.as_ptr(), points.len() as i32);
            [(6, 8), (16, 2)]
        }
        Severity::Warning => {
            let points = [(12, 2), (23, 21), (1, 21)].map(at);
            Polygon(dc, points.as_ptr(), points.len() as i32);
            [(9, 6), (17, 2)]
        }
        Severity::Info => {
            let (a, b) = (at((2, 2)), at((22, 22)));
            Ellipse(dc, a.x, a.y, b.x, b.y);
            [(10, 8), (6, 2)]
        }
    };
    SelectObject(dc, old_brush);
    SelectObject(dc, old_pen);
    DeleteObject(brush);
    DeleteObject(pen);
    for (top, height) in marks {
        let (a, b) = (at((11, top)), at((13, top + height)));
        fill(
            dc,
            RECT {
                left: a.x,
                top: a.y,
                right: b.x.max(a.x + 1),
                bottom: b.y,
            },
            colour(severity),
        );
    }
}

/// Herald's icon (the tray's picture), for the task bar and Alt+Tab.
pub fn icon() -> HICON {
    let n = ICON_SIZE as usize;
    // 32-bit colour is BGRA; the AND mask is all zeros, the alpha decides.
    let bgra: Vec<u8> = icon_rgba(TrayState::Normal)
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0], p[3]])
        .collect();
    let mask = vec![0u8; n * n / 8];
    // SAFETY: both buffers have the sizes a 32x32, 32-bit icon needs and
    // outlive the call.
    unsafe {
        CreateIcon(
            GetModuleHandleW(std::ptr::null()),
            n as i32,
            n as i32,
            1,
            32,
            mask.as_ptr(),
            bgra.as_ptr(),
        )
    }
}
