//! The Herald server as a library: `serve` runs it on a listener the caller
//! bound, until the caller's shutdown future completes. The binary and the
//! tests both go through it.

pub mod access;
pub mod accounts;
pub mod accounts_api;
pub mod admin;
pub mod admission;
pub mod api;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod body_deadline;
pub mod bundle;
pub mod changes;
pub mod compose;
pub mod connections;
pub mod console_api;
pub mod console_ui;
pub mod db;
pub mod directory;
pub mod directory_api;
pub mod directory_sync;
pub mod enroll;
pub mod enroll_api;
pub mod error;
pub mod exchange;
pub mod exchange_api;
pub mod exchange_flow;
pub mod exchange_guard;
pub mod exchange_in;
pub mod exchange_keys;
pub mod exchange_log;
pub mod exchange_run;
#[cfg(test)]
mod exchange_tests;
pub mod fleet;
pub mod inbound;
pub mod kerberos_api;
pub mod lastseen;
pub mod ldap;
pub mod mail;
pub mod messages;
pub mod messages_api;
pub mod metrics;
pub mod migrate;
pub mod notify;
pub mod open_files;
pub mod openapi;
pub mod passwords;
pub mod poll;
pub mod pool;
pub mod prefs;
pub mod proxy;
pub mod push;
pub mod report;
pub mod seal;
pub mod sessions;
pub mod signing;
pub mod sites;
pub mod sql;
pub mod stream;
pub mod timespec;
pub mod tls;

use std::future::Future;

pub use api::AppState;
pub use error::Error;
pub use poll::AgentPolicy;

/// Serves the HTTP API on `listener` (over TLS when given an acceptor)
/// until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tls::Acceptor>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let flusher = tokio::spawn(flush_last_seen(state.clone()));
    connections::run(listener, tls, state.clone(), shutdown).await;
    flusher.abort();
    if let Err(e) = state.flush_last_seen().await {
        tracing::error!(error = %e, "cannot write the last-seen times at shutdown");
    }
    Ok(())
}

/// Writes the batch of last-seen times every few seconds.
async fn flush_last_seen(state: AppState) {
    let mut tick = tokio::time::interval(lastseen::FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = state.flush_last_seen().await {
            tracing::warn!(error = %e, "cannot write last-seen times; will retry");
        }
    }
}
