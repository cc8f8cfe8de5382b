//! The tray icon on screen, through tray-icon. On Linux it is a D-Bus
//! StatusNotifierItem (the ksni backend): no GTK in the resident process.
//! On Windows it is the native notification-area icon, which lives on a
//! thread of its own running a Win32 message loop. Both have the same
//! states, tooltip and menu; menu clicks go to the main loop as commands.

#[cfg(any(target_os = "linux", windows))]
mod shown {
    use anyhow::{Context as _, Result};
    use herald_core::control::Request;
    use herald_views::i18n::Texts;
    use herald_views::tray::{icon_rgba, TrayState, TrayView, ICON_SIZE};
    use tokio::sync::mpsc;
    use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
    use tray_icon::{Icon, MouseButton, TrayIcon, TrayIconBuilder, TrayIconEvent};

    use crate::input::{Action, Command};

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

    /// The icon with its menu; handlers forward clicks to the main loop.
    pub(super) struct Shown {
        icon: TrayIcon,
        dnd: CheckMenuItem,
        last: Option<(TrayView, bool)>,
    }

    impl Shown {
        pub(super) fn build(t: &Texts, tx: mpsc::Sender<Command>) -> Result<Shown> {
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
            Ok(Shown {
                icon,
                dnd,
                last: None,
            })
        }

        /// Updates the icon, tooltip and check mark, if they changed.
        pub(super) fn show(&mut self, view: &TrayView, dnd_on: bool) {
            let now = (view.clone(), dnd_on);
            if self.last.as_ref() == Some(&now) {
                return;
            }
            if self.last.as_ref().map(|(v, _)| v.state) != Some(view.state) {
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
            self.last = Some(now);
        }
    }
}

use anyhow::Result;
use herald_views::i18n::Texts;
use herald_views::tray::TrayView;
use tokio::sync::mpsc;

use crate::input::Command;
#[cfg(any(target_os = "linux", windows))]
use shown::Shown;

/// ksni talks D-Bus from its own thread, so the icon can live here.
#[cfg(target_os = "linux")]
pub struct Tray(Shown);

#[cfg(target_os = "linux")]
impl Tray {
    pub fn new(t: &'static Texts, tx: mpsc::Sender<Command>) -> Result<Tray> {
        Shown::build(t, tx).map(Tray)
    }

    pub fn show(&mut self, view: &TrayView, dnd_on: bool) {
        self.0.show(view, dnd_on);
    }
}

#[cfg(windows)]
pub use windows::Tray;

#[cfg(windows)]
mod windows {
    // The tray's thread runs a plain Win32 message loop: the icon's hidden
    // window and its menu need one, and tray-icon does not bring its own.
    // The calls are FFI on a MSG this thread owns and on its own thread id.
    #![allow(unsafe_code)]

    use std::sync::mpsc as std_mpsc;

    use anyhow::Context as _;
    use windows_sys::Win32::System::Threading::GetCurrentThreadId;
    use windows_sys::Win32::UI::WindowsAndMessaging::{
        DispatchMessageW, GetMessageW, PostThreadMessageW, TranslateMessage, MSG, WM_APP,
    };

    use super::*;

    /// Wakes the tray thread: updates wait in the channel.
    const WM_TRAY_UPDATE: u32 = WM_APP + 1;

    pub struct Tray {
        updates: std_mpsc::Sender<(TrayView, bool)>,
        thread_id: u32,
        last: Option<(TrayView, bool)>,
    }

    impl Tray {
        pub fn new(t: &'static Texts, tx: mpsc::Sender<Command>) -> Result<Tray> {
            let (ready_tx, ready_rx) = std_mpsc::channel::<Result<u32, String>>();
            let (updates, incoming) = std_mpsc::channel::<(TrayView, bool)>();
            std::thread::Builder::new()
                .name("tray".into())
                .spawn(move || {
                    let mut shown = match Shown::build(t, tx) {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("{e:#}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(unsafe { GetCurrentThreadId() }));
                    let mut msg: MSG = unsafe { std::mem::zeroed() };
                    while unsafe { GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) } > 0 {
                        if msg.hwnd.is_null() && msg.message == WM_TRAY_UPDATE {
                            while let Ok((view, dnd_on)) = incoming.try_recv() {
                                shown.show(&view, dnd_on);
                            }
                            continue;
                        }
                        unsafe {
                            TranslateMessage(&msg);
                            DispatchMessageW(&msg);
                        }
                    }
                })
                .context("cannot start the tray thread")?;
            let thread_id = ready_rx
                .recv()
                .context("the tray thread ended at once")?
                .map_err(anyhow::Error::msg)?;
            tracing::info!("tray icon created");
            Ok(Tray {
                updates,
                thread_id,
                last: None,
            })
        }

        pub fn show(&mut self, view: &TrayView, dnd_on: bool) {
            let now = (view.clone(), dnd_on);
            if self.last.as_ref() == Some(&now) {
                return;
            }
            if self.updates.send(now.clone()).is_ok() {
                // A wake-up lost in a menu's modal loop only delays the
                // update to the next one: the channel keeps them all.
                unsafe {
                    PostThreadMessageW(self.thread_id, WM_TRAY_UPDATE, 0, 0);
                }
            }
            self.last = Some(now);
        }
    }
}

/// macOS needs the icon on the main thread's run loop, which the agent
/// does not run: no tray there yet.
#[cfg(not(any(target_os = "linux", windows)))]
pub struct Tray;

#[cfg(not(any(target_os = "linux", windows)))]
impl Tray {
    pub fn new(_t: &'static Texts, _tx: mpsc::Sender<Command>) -> Result<Tray> {
        anyhow::bail!("no tray on this platform yet")
    }

    pub fn show(&mut self, _view: &TrayView, _dnd_on: bool) {}
}
