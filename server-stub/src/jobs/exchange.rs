//! The exchange on a schedule, for a relay with `[relay] every_secs`.

use std::time::Duration;

use crate::exchange::run::run;
use crate::state::app::AppState;

/// Exchanges every `secs` seconds, from inside the server (`[relay]
/// every_secs`); a failed exchange is logged and tried again next time.
pub async fn every(st: AppState, secs: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(secs.max(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match run(&st).await {
            Ok(r) if r.ok => tracing::info!(lines = ?r.lines, "exchange"),
            Ok(r) => tracing::warn!(lines = ?r.lines, "exchange incomplete; next time again"),
            Err(e) => tracing::warn!(error = %e, "exchange failed; next time again"),
        }
    }
}
