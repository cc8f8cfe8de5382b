//! The alert's sound: the freedesktop sound theme's `dialog-warning`,
//! played once when the window first appears, through libcanberra's GTK
//! binding as desktop applications play event sounds. It takes the sound
//! theme from the desktop's settings, stays silent when the user turned
//! event sounds off, and plays through PulseAudio (or PipeWire's pulse
//! server) where there is one, ALSA otherwise. A sound that cannot play is
//! said on standard error and changes nothing else.
// The one way to libcanberra is its C functions (no Rust binding is
// packaged); each call says why it is sound.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};

use gtk::glib;
use gtk::prelude::*;

#[link(name = "canberra-gtk3")]
#[link(name = "canberra")]
extern "C" {
    /// Plays the event described by the NULL-terminated list of property
    /// names and values, for the widget's window; returns at once.
    fn ca_gtk_play_for_widget(widget: *mut c_void, id: u32, ...) -> c_int;
    fn ca_strerror(code: c_int) -> *const c_char;
}

const EVENT: &CStr = c"dialog-warning";

/// Rings once, the first time `window` is mapped.
pub fn ring_when_mapped(window: &gtk::Window) {
    let pending = Cell::new(true);
    window.connect_map_event(move |w, _| {
        if pending.replace(false) {
            match play(w) {
                // The tests listen for it.
                Ok(()) => eprintln!("herald-popup: rang"),
                Err(e) => eprintln!("herald-popup: cannot play the alert sound: {e}"),
            }
        }
        glib::Propagation::Proceed
    });
}

fn play(window: &gtk::Window) -> Result<(), String> {
    let widget: &gtk::Widget = window.upcast_ref();
    // SAFETY: the widget pointer is a live GtkWidget borrowed for the
    // call, which copies what it needs (the context lives on the screen);
    // the variadic arguments are NUL-terminated strings that outlive the
    // call, in name/value pairs, ended by a null pointer as the function
    // requires.
    let code = unsafe {
        ca_gtk_play_for_widget(
            widget.as_ptr().cast(),
            0,
            c"event.id".as_ptr(),
            EVENT.as_ptr(),
            c"event.description".as_ptr(),
            c"Herald alert".as_ptr(),
            std::ptr::null::<c_char>(),
        )
    };
    if code == 0 {
        return Ok(());
    }
    // SAFETY: ca_strerror returns a static string, or null for a code it
    // does not know.
    let why = unsafe {
        let s = ca_strerror(code);
        (!s.is_null()).then(|| CStr::from_ptr(s).to_string_lossy().into_owned())
    };
    Err(format!("{} ({code})", why.as_deref().unwrap_or("error")))
}
