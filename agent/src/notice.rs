//! Desktop notifications: a message arrived while another is on screen, or
//! no popup can be shown.

use herald_views::i18n::Texts;

/// The AppUserModelID of Herald's toasts on Windows; the MSI registers it
/// (HKLM\Software\Classes\AppUserModelId\Herald.Agent) so Windows shows
/// them as "Herald".
#[cfg(windows)]
pub const APP_ID: &str = "Herald.Agent";

fn notification() -> notify_rust::Notification {
    let mut n = notify_rust::Notification::new();
    n.appname("Herald");
    #[cfg(windows)]
    n.app_id(APP_ID);
    n
}

/// Says how many messages wait behind the popup. Runs off the main loop:
/// a slow or absent notification service must not hold the agent up.
pub fn waiting(count: usize, t: &'static Texts) {
    tokio::task::spawn_blocking(move || {
        let summary = t.waiting_count(count);
        match notification()
            .summary(&summary)
            .body(t.notice_body)
            .icon("dialog-information")
            .show()
        {
            Ok(_) => tracing::info!(count, "notification sent"),
            Err(e) => tracing::warn!(error = %e, "cannot send the notification"),
        }
    });
}

/// Says that messages wait because no popup can be shown, and why. Sent
/// once per streak of failures, not at every retry.
pub fn cannot_show(reason: &str, t: &'static Texts) {
    let body = reason.to_owned();
    tokio::task::spawn_blocking(move || {
        match notification()
            .summary(t.cannot_show)
            .body(&body)
            .icon("dialog-warning")
            .show()
        {
            Ok(_) => tracing::info!("notification sent: cannot show messages"),
            Err(e) => tracing::warn!(error = %e, "cannot send the notification"),
        }
    });
}
