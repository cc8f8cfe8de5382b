//! The Herald server as a library: `serve` runs it on a listener the caller
//! bound, until the caller's shutdown future completes. The binary and the
//! tests both go through it.

pub mod api;
pub mod auth;
pub mod db;
pub mod directory;
pub mod error;
pub mod messages;
pub mod poll;
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
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
