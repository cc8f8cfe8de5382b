//! The banner's sign, drawn as the page's inline SVG icons are: a white
//! octagon, triangle or disc with the mark cut in the banner's colour. No
//! icon theme may lack it.

use gtk::cairo::Context;
use gtk::glib;
use gtk::prelude::*;
use herald_protocol::Severity;

/// The sign's side in logical pixels; the shapes are on a 24-unit grid.
const SIDE: i32 = 22;

/// The banner's colours, as the page has them.
fn colour(severity: Severity) -> (f64, f64, f64) {
    let rgb = |r: u8, g: u8, b: u8| {
        (
            f64::from(r) / 255.0,
            f64::from(g) / 255.0,
            f64::from(b) / 255.0,
        )
    };
    match severity {
        Severity::Alert => rgb(0xb0, 0x00, 0x20),
        Severity::Warning => rgb(0xb3, 0x5c, 0x00),
        Severity::Info => rgb(0x1f, 0x5f, 0xa8),
    }
}

pub fn new(severity: Severity) -> gtk::DrawingArea {
    let area = gtk::DrawingArea::new();
    area.set_size_request(SIDE, SIDE);
    area.set_valign(gtk::Align::Center);
    area.connect_draw(move |_, cr| {
        // A failed stroke leaves the sign out; the word says the same.
        let _ = draw(cr, severity);
        glib::Propagation::Stop
    });
    area
}

fn draw(cr: &Context, severity: Severity) -> Result<(), gtk::cairo::Error> {
    cr.scale(f64::from(SIDE) / 24.0, f64::from(SIDE) / 24.0);
    cr.set_source_rgb(1.0, 1.0, 1.0);
    // Two bars: the stem and the dot of "!" or "i", as (y, height).
    let marks = match severity {
        Severity::Alert => {
            let points = [
                (7.9, 2.0),
                (16.1, 2.0),
                (22.0, 7.9),
                (22.0, 16.1),
                (16.1, 22.0),
                (7.9, 22.0),
                (2.0, 16.1),
                (2.0, 7.9),
            ];
            polygon(cr, &points);
            [(6.0, 8.0), (16.0, 2.0)]
        }
        Severity::Warning => {
            polygon(cr, &[(12.0, 2.0), (23.0, 21.0), (1.0, 21.0)]);
            [(9.0, 6.0), (17.0, 2.0)]
        }
        Severity::Info => {
            cr.arc(12.0, 12.0, 10.0, 0.0, std::f64::consts::TAU);
            [(10.0, 8.0), (6.0, 2.0)]
        }
    };
    cr.fill()?;
    let (r, g, b) = colour(severity);
    cr.set_source_rgb(r, g, b);
    for (y, h) in marks {
        cr.rectangle(11.0, y, 2.0, h);
    }
    cr.fill()
}

fn polygon(cr: &Context, points: &[(f64, f64)]) {
    for &(x, y) in points {
        cr.line_to(x, y);
    }
    cr.close_path();
}
