//! Herald's icon for the task bar and the window switcher: the tray's
//! plain blue disc, drawn at each size a window manager may pick. The
//! window manager scales one bitmap to the size it shows, so a single
//! 32-pixel icon comes out blurred at 200 % and on large switchers.

use gtk::cairo::{Context, Format, ImageSurface};
use gtk::gdk;
use gtk::gdk_pixbuf::Pixbuf;

/// The sizes offered: the usual ones at scale 1 and at scale 2.
pub const SIZES: [i32; 5] = [16, 32, 48, 64, 128];

/// The tray's blue (`herald_views::tray`, normal state).
const BLUE: (f64, f64, f64) = (31.0 / 255.0, 95.0 / 255.0, 168.0 / 255.0);

pub fn icons() -> Vec<Pixbuf> {
    SIZES.iter().filter_map(|&n| icon(n)).collect()
}

/// One size; none if cairo cannot draw it (the window then has fewer).
fn icon(n: i32) -> Option<Pixbuf> {
    let surface = ImageSurface::create(Format::ARgb32, n, n).ok()?;
    {
        let cr = Context::new(&surface).ok()?;
        let side = f64::from(n);
        // A disc of radius 14.5 on the tray icon's 32-pixel grid.
        cr.arc(
            side / 2.0,
            side / 2.0,
            side * 14.5 / 32.0,
            0.0,
            std::f64::consts::TAU,
        );
        cr.set_source_rgb(BLUE.0, BLUE.1, BLUE.2);
        cr.fill().ok()?;
    }
    gdk::pixbuf_get_from_surface(&surface, 0, 0, n, n)
}
