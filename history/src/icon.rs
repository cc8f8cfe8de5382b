//! Herald's icon on the history window: the tray's picture, so that the
//! task bar and the window switcher show whose window it is. The popups
//! make their own from the same picture (GTK, Win32).

use herald_views::tray::{icon_rgba, TrayState, ICON_SIZE};

pub fn herald() -> Option<tao::window::Icon> {
    tao::window::Icon::from_rgba(icon_rgba(TrayState::Normal), ICON_SIZE, ICON_SIZE).ok()
}
