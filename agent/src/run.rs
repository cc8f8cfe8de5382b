//! `herald-agent run`, headless for now: polls on the server's schedule,
//! retries with backoff, and wakes exactly when a message becomes due.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use herald_agent::schedule;
use herald_agent::store::Store;
use herald_agent::sync::{self, SyncClient};
use rand::Rng;

use crate::commands::{runtime, Context};

/// Until the server says otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

pub fn run(ctx: &Context) -> Result<()> {
    let mut store = ctx.open_store()?;
    let client = ctx.client()?;
    tracing::info!(server = %client.endpoint().server, host = %ctx.host, store = %store.path().display(), "agent started");
    runtime()?.block_on(async {
        tokio::select! {
            r = main_loop(&mut store, &client) => r,
            () = shutdown_signal() => {
                tracing::info!("agent stopping");
                Ok(())
            }
        }
    })
}

async fn main_loop(store: &mut Store, client: &SyncClient) -> Result<()> {
    let mut announced = HashSet::new();
    loop {
        match sync::sync_once(store, client).await {
            Ok(a) => tracing::info!(
                received = a.received,
                stopped = a.stopped,
                receipts = a.receipts_sent,
                "synced"
            ),
            Err(e) => tracing::warn!(error = %e, "sync failed"),
        }
        let next_poll = plan_next_poll(store);
        // Between polls, wake only when the queue changes by itself.
        loop {
            let wake = match announce_due(store, &mut announced) {
                Ok(Some(change)) => change.min(next_poll),
                Ok(None) => next_poll,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the store");
                    next_poll
                }
            };
            let now = Utc::now();
            if now >= next_poll {
                break;
            }
            let wait = (wake - now)
                .to_std()
                .unwrap_or_default()
                .max(Duration::from_millis(50));
            tokio::time::sleep(wait).await;
        }
    }
}

/// Decides and records when the next contact happens (local time).
fn plan_next_poll(store: &Store) -> DateTime<Utc> {
    let (interval, failures) = match store.sync_state() {
        Ok(st) => (
            st.poll_interval_secs
                .map_or(DEFAULT_INTERVAL, Duration::from_secs),
            st.failures,
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the sync state");
            (DEFAULT_INTERVAL, 1)
        }
    };
    let delay = schedule::poll_delay(interval, failures, rand::rng().random());
    let at = Utc::now()
        + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(300));
    if let Err(e) = store.set_next_poll(at) {
        tracing::warn!(error = %e, "cannot record the next poll time");
    }
    tracing::debug!(next_poll = %at, "next contact planned");
    at
}

/// Logs each message the first time it is due at a revision; returns when
/// (local time) the queue will next change by itself.
fn announce_due(
    store: &Store,
    announced: &mut HashSet<(String, u32)>,
) -> Result<Option<DateTime<Utc>>> {
    let st = store.sync_state()?;
    let now = st.server_now(Utc::now());
    let open = store.open_messages()?;
    for m in schedule::queue(&open, now) {
        if announced.insert((m.id.clone(), m.revision)) {
            tracing::info!(id = %m.id, revision = m.revision, severity = %m.severity, title = %m.title, "message due");
        }
    }
    let offset = chrono::Duration::milliseconds(st.clock_offset_ms);
    Ok(schedule::next_change(&open, now).map(|t| t - offset))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
