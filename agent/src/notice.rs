//! Desktop notifications: a message arrived while another is on screen.

use herald_agent::i18n::Texts;

/// Says how many messages wait behind the popup. Runs off the main loop:
/// a slow or absent notification service must not hold the agent up.
pub fn waiting(count: usize, t: &'static Texts) {
    tokio::task::spawn_blocking(move || {
        let summary = t.waiting_count(count);
        match notify_rust::Notification::new()
            .appname("Herald")
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
