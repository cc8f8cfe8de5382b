//! The directory sync loop, for `serve` with `[directory]` settings: a
//! sync now, then every interval.

use chrono::Utc;

use crate::config::LdapSettings;
use crate::domain::directory::sync as directory_sync;
use crate::outbound::ldap;
use crate::state::app::AppState;

/// `serve` with directory settings: a sync now, then every interval. A
/// failed read changes nothing and is logged and kept for `directory status`.
pub async fn sync_forever(st: AppState, settings: LdapSettings) {
    loop {
        match ldap::fetch(&settings).await {
            Ok(snap) => {
                let applied = st
                    .write(move |c| directory_sync::apply(c, &snap, false, Utc::now()))
                    .await;
                match applied {
                    Ok(diff) => {
                        tracing::info!(summary = %directory_sync::summary(&diff), "directory synced");
                    }
                    Err(e) => tracing::error!(error = %e, "cannot apply the directory"),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "directory sync failed; nothing changed");
                let summary = e.to_string();
                let kept = st
                    .write(move |c| directory_sync::record_outcome(c, false, &summary, Utc::now()))
                    .await;
                if let Err(e) = kept {
                    tracing::error!(error = %e, "cannot record the failed directory sync");
                }
            }
        }
        tokio::time::sleep(settings.interval()).await;
    }
}
