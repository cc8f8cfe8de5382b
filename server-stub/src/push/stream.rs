//! The push stream's registration and its events, which both of its paths
//! share: a fresh connection served from its raw socket
//! (`net::bare_stream`), and a connection hyper already serves, through
//! the router's handler (`http::agent::push`).

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use herald_protocol::{PushMode, PUSH_HEARTBEAT_SECS};

use crate::domain::directory;
use crate::error::Error;
use crate::state::app::AppState;
use crate::state::hub::Registration;

/// The events, as the agent's parser and any SSE client read them.
pub const READY: &[u8] = b"event: ready\ndata: \n\n";
pub const CHECK: &[u8] = b"event: check\ndata: \n\n";
pub const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// Takes a push stream for the token's user at `host`: the checks and the
/// registration both paths share.
pub(crate) async fn open(
    st: &AppState,
    token: Result<&str, Error>,
    host: Option<&str>,
) -> Result<Registration, Error> {
    let push = st.policy().push;
    if push != PushMode::Stream {
        return Err(Error::NotFound(format!(
            "this server does not offer push streams (push: {})",
            push.as_str()
        )));
    }
    let token = token?;
    let host =
        directory::normalize_host(host.ok_or_else(|| Error::bad("give the host: ?host=NAME"))?)?;
    let user = st.user_by_token(token, &host).await?;
    let reg = st.hub.register(&user.name, &host);
    tracing::debug!(user = %user.name, %host, streams = st.hub.connected(), "push stream open");
    Ok(reg)
}

/// What a stream says: `ready`, then a `check` for each hint and a
/// heartbeat when it has been quiet; it ends when its registration does.
/// Both paths send these bytes.
pub(crate) fn events(reg: Registration) -> impl Stream<Item = &'static [u8]> + Send {
    let every = Duration::from_secs(PUSH_HEARTBEAT_SECS);
    let beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let rest = futures_util::stream::unfold((reg, beat), |(mut reg, mut beat)| async move {
        let said = tokio::select! {
            hint = reg.hints.recv() => {
                // None: replaced by a newer stream of the same agent, or
                // shutdown.
                hint?;
                beat.reset();
                CHECK
            }
            _ = beat.tick() => HEARTBEAT,
        };
        Some((said, (reg, beat)))
    });
    futures_util::stream::once(async { READY }).chain(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_data_so_that_any_sse_client_dispatches_them() {
        // An event without a data line is dropped by EventSource.
        let check = format!("event: {}\ndata: \n\n", herald_protocol::PUSH_EVENT_CHECK);
        assert_eq!(CHECK, check.as_bytes());
    }
}
