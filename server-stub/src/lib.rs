//! The Herald server as a library: `serve` runs it on a listener the caller
//! bound, until the caller's shutdown future completes. The binary and the
//! tests both go through it.

pub mod api;
pub mod auth;
pub mod db;
pub mod directory;
pub mod error;
pub mod inbound;
pub mod messages;
pub mod poll;
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
    // The peer address is where inbound push calls go back to.
    let app = api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
