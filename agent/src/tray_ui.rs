//! The tray icon on screen. On Linux it is a D-Bus StatusNotifierItem
//! (tray-icon's ksni backend): no GTK in the resident process. Menu clicks
//! arrive on a ksni thread and go to the main loop as commands.

use herald_agent::i18n::Texts;
use herald_agent::tray::TrayView;
use tokio::sync::mpsc;

use crate::listen::Command;

#[cfg(target_os = "linux")]
pub use linux::Tray;

#[cfg(target_os = "linux")]
mod linux {
    use anyhow::{Context as _, Result};
    use herald_agent::control::Request;
    use herald_agent::tray::{icon_rgba, TrayState, ICON_SIZE};
    use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
    use tray_icon::{Icon, MouseButton, TrayIcon, TrayIconBuilder, TrayIconEvent};

    use super::*;
    use crate::listen::Action;

    pub struct Tray {
        icon: TrayIcon,
        dnd: CheckMenuItem,
        shown: Option<(TrayView, bool)>,
    }

    fn action(id: &str) -> Option<Action> {
        Some(match id {
            "history" => Action::Request(Request::History),
            "check-now" => Action::Request(Request::CheckNow),
            "show-waiting" => Action::Request(Request::ShowWaiting),
            "dnd" => Action::ToggleDoNotDisturb,
            "quit" => Action::Quit,
            _ => return None,
        })
    }

    fn picture(state: TrayState) -> Result<Icon> {
        Icon::from_rgba(icon_rgba(state), ICON_SIZE, ICON_SIZE).context("cannot make the tray icon")
    }

    impl Tray {
        pub fn new(t: &Texts, tx: mpsc::Sender<Command>) -> Result<Tray> {
            let dnd = CheckMenuItem::with_id("dnd", t.menu_dnd, true, false, None);
            let menu = Menu::new();
            menu.append_items(&[
                &MenuItem::with_id("history", t.menu_history, true, None),
                &MenuItem::with_id("check-now", t.menu_check_now, true, None),
                &MenuItem::with_id("show-waiting", t.menu_show_waiting, true, None),
                &PredefinedMenuItem::separator(),
                &dnd,
                &PredefinedMenuItem::separator(),
                &MenuItem::with_id("quit", t.menu_quit, true, None),
            ])
            .context("cannot build the tray menu")?;
            // A left click on the icon opens the history, as in most trays.
            let clicks = tx.clone();
            TrayIconEvent::set_event_handler(Some(move |e: TrayIconEvent| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    ..
                } = e
                {
                    let _ = clicks.try_send(Command {
                        action: Action::Request(Request::History),
                        reply: None,
                    });
                }
            }));
            MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
                if let Some(action) = action(e.id.0.as_str()) {
                    tracing::info!(item = %e.id.0, "tray menu");
                    let _ = tx.try_send(Command {
                        action,
                        reply: None,
                    });
                }
            }));
            let icon = TrayIconBuilder::new()
                .with_id("herald")
                .with_title("Herald")
                .with_tooltip("Herald")
                .with_icon(picture(TrayState::Normal)?)
                .with_menu(Box::new(menu))
                .build()
                .context("cannot create the tray icon")?;
            Ok(Tray {
                icon,
                dnd,
                shown: None,
            })
        }

        /// Updates the icon, tooltip and check mark, if they changed.
        pub fn show(&mut self, view: &TrayView, dnd_on: bool) {
            let now = (view.clone(), dnd_on);
            if self.shown.as_ref() == Some(&now) {
                return;
            }
            if self.shown.as_ref().map(|(v, _)| v.state) != Some(view.state) {
                match picture(view.state) {
                    Ok(i) => {
                        if let Err(e) = self.icon.set_icon(Some(i)) {
                            tracing::warn!(error = %e, "cannot change the tray icon");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot draw the tray icon"),
                }
            }
            if let Err(e) = self.icon.set_tooltip(Some(&view.tooltip)) {
                tracing::warn!(error = %e, "cannot change the tray tooltip");
            }
            self.dnd.set_checked(dnd_on);
            self.shown = Some(now);
        }
    }
}

/// Elsewhere the agent runs without a tray for now.
#[cfg(not(target_os = "linux"))]
pub struct Tray;

#[cfg(not(target_os = "linux"))]
impl Tray {
    pub fn new(_t: &Texts, _tx: mpsc::Sender<Command>) -> anyhow::Result<Tray> {
        anyhow::bail!("no tray on this platform yet")
    }

    pub fn show(&mut self, _view: &TrayView, _dnd_on: bool) {}
}
