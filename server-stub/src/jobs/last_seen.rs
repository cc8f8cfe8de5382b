//! Writing the batch of last-seen times (`domain::directory::lastseen`).

use crate::domain::directory::lastseen;
use crate::state::app::AppState;

/// Writes the batch of last-seen times every few seconds.
pub async fn flush_last_seen(state: AppState) {
    let mut tick = tokio::time::interval(lastseen::FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.flush_last_seen().await {
            tracing::warn!(error = %e, "cannot write last-seen times; will retry");
        }
    }
}
