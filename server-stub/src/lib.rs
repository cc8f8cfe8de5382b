//! The Herald server as a library: `serve` runs it on a listener the caller
//! bound, until the caller's shutdown future completes. The binary and the
//! tests both go through it.

pub mod admin;
pub mod api;
pub mod auth;
pub mod changes;
pub mod db;
pub mod directory;
pub mod error;
pub mod inbound;
pub mod lastseen;
pub mod messages;
pub mod openapi;
pub mod poll;
pub mod pool;
pub mod push;
pub mod timespec;

use std::future::Future;

pub use api::AppState;
pub use error::Error;
pub use poll::AgentPolicy;

/// Serves the HTTP API on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Keepalive probes are the agent's heartbeat as the server sees it: a
    // push stream to a vanished computer is closed within about a minute.
    let listener = listener.tap_io(|tcp| {
        let ka = socket2::TcpKeepalive::new()
            .with_time(std::time::Duration::from_secs(30))
            .with_interval(std::time::Duration::from_secs(10))
            .with_retries(3);
        if let Err(e) = socket2::SockRef::from(&*tcp).set_tcp_keepalive(&ka) {
            tracing::debug!(error = %e, "cannot set TCP keepalive");
        }
    });
    let flusher = tokio::spawn(flush_last_seen(state.clone()));
    // The peer address is where inbound push calls go back to.
    let app =
        api::router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    flusher.abort();
    if let Err(e) = state.flush_last_seen().await {
        tracing::error!(error = %e, "cannot write the last-seen times at shutdown");
    }
    served
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
