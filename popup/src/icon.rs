//! Herald's icon on every window: the tray's picture, so that the task bar
//! and the window switcher show whose window it is, for tao windows: the
//! Windows `herald-popup` and `herald-history` (included by path). The
//! GTK popup makes its own from the same picture.

use herald_views::tray::{icon_rgba, TrayState, ICON_SIZE};

pub fn herald() -> Option<tao::window::Icon> {
    tao::window::Icon::from_rgba(icon_rgba(TrayState::Normal), ICON_SIZE, ICON_SIZE).ok()
}
