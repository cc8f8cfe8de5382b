//! A popup the desktop may keep behind other windows. On Wayland an
//! ordinary window can neither stay on top nor take the focus; where the
//! compositor has no overlay layer (GNOME), the popup says so on standard
//! error (`placed: wayland-plain`), and the agent adds a critical
//! notification, which GNOME keeps on screen even in do-not-disturb. Its
//! "Open" button raises the popup: the notification server hands out an
//! xdg-activation token with the click (the `ActivationToken` signal,
//! before `ActionInvoked`), and the agent passes it to the popup on its
//! standard input (`activate TOKEN`), which presents its window with it.
//!
//! The popup's own report decides, not a guess from the environment: it
//! knows whether GDK opened a Wayland display and whether the layer
//! exists. notify-rust sees no `ActivationToken`: D-Bus directly.

use std::collections::HashMap;

use anyhow::{Context as _, Result};
use futures_lite::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use tokio::process::ChildStdin;
use tokio::sync::oneshot;
use zbus::zvariant::Value;

/// What the popup reports when its window may be behind others.
pub const PLAIN: &str = "wayland-plain";
/// The notification's actions: "default" is a click on its body, "open"
/// its button; both raise the popup.
const ACTIONS: [&str; 2] = ["default", "open"];

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications"
)]
trait Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    fn close_notification(&self, id: u32) -> zbus::Result<()>;
}

/// The words of the notification.
pub struct Notice {
    pub summary: String,
    pub body: String,
    pub open: String,
}

/// Runs beside a popup until it ends (`ended` fires or is dropped): once
/// the popup reports how it was placed, and only if it may be behind,
/// shows the notification and raises the popup at each click.
pub async fn stand_in(
    placed: oneshot::Receiver<String>,
    notice: Notice,
    popup_in: ChildStdin,
    mut ended: oneshot::Receiver<()>,
) {
    let placed = tokio::select! {
        p = placed => p.unwrap_or_default(),
        _ = &mut ended => return,
    };
    if placed != PLAIN {
        // On top by itself: nothing to add, and nothing more to tell it.
        return;
    }
    tracing::info!("the popup may be behind other windows: sending a notification to raise it");
    if let Err(e) = notify_and_raise(notice, popup_in, ended).await {
        tracing::warn!(error = %format!("{e:#}"), "cannot send the notification that raises the popup");
    }
}

async fn notify_and_raise(
    notice: Notice,
    mut popup_in: ChildStdin,
    mut ended: oneshot::Receiver<()>,
) -> Result<()> {
    let bus = zbus::Connection::session()
        .await
        .context("no session bus")?;
    let server = NotificationsProxy::new(&bus)
        .await
        .context("no notification service")?;
    // One stream for every signal, in the order sent: the token must be
    // seen before the action it comes with. Subscribed before the
    // notification exists, so that no early click is missed.
    let mut signals = server
        .inner()
        .receive_all_signals()
        .await
        .context("cannot listen to the notification service")?;
    let hints = HashMap::from([("urgency", Value::U8(2))]);
    let actions = [ACTIONS[0], &notice.open, ACTIONS[1], &notice.open];
    let id = server
        .notify(
            "Herald",
            0,
            "dialog-warning",
            &notice.summary,
            &notice.body,
            &actions,
            hints,
            0,
        )
        .await
        .context("the notification service refused the notification")?;
    tracing::info!(id, "notification sent: the popup may be behind");
    let mut token: Option<String> = None;
    loop {
        let signal = tokio::select! {
            s = signals.next() => s,
            _ = &mut ended => break,
        };
        let Some(signal) = signal else { break };
        let header = signal.header();
        let member = header.member().map(|m| m.as_str()).unwrap_or_default();
        match member {
            "ActivationToken" => {
                if let Ok((for_id, t)) = signal.body().deserialize::<(u32, String)>() {
                    if for_id == id {
                        token = Some(t);
                    }
                }
            }
            "ActionInvoked" => {
                let Ok((for_id, key)) = signal.body().deserialize::<(u32, String)>() else {
                    continue;
                };
                if for_id != id || !ACTIONS.contains(&key.as_str()) {
                    continue;
                }
                // A server that hands out no token gets a raise without
                // one: the compositor may then only mark the window.
                let line = match token.take() {
                    Some(t) if is_token(&t) => format!("activate {t}\n"),
                    _ => "activate\n".to_owned(),
                };
                tracing::info!(
                    id,
                    with_token = line.len() > 9,
                    "notification clicked: raising the popup"
                );
                if let Err(e) = popup_in.write_all(line.as_bytes()).await {
                    tracing::debug!(error = %e, "the popup is gone");
                    break;
                }
            }
            _ => {}
        }
    }
    // Answered or taken down: the notification must not outlive it. Gone
    // already after a click on most servers, which is fine.
    let _ = server.close_notification(id).await;
    Ok(())
}

/// A token goes on one line of the popup's input: one word of printable
/// ASCII, as every server makes them.
fn is_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= 256 && t.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_printable_word_is_passed_on() {
        assert!(is_token("0ef97b5147c66cdd71253aa6bcab3fcc"));
        assert!(is_token("gnome-shell/Herald/1234-5-host_TIME99"));
        assert!(!is_token(""));
        assert!(!is_token("a b"));
        assert!(!is_token("a\nactivate x"));
        assert!(!is_token(&"x".repeat(300)));
    }
}
