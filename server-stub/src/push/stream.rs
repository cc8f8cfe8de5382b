//! The push stream's registration and its events, which both of its paths
//! share: a fresh connection served from its raw socket
//! (`net::bare_stream`), and a connection hyper already serves, through
//! the router's handler (`http::agent::push`).

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use herald_protocol::{PushMode, PUSH_HEARTBEAT_SECS};

use crate::domain::directory;
use crate::error::Error;
use crate::state::app::AppState;
use crate::state::hub::{Asker, Event, Registration};

/// A comment line: it proves the connection alive.
pub const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// What the agent asks of its stream, from the request.
pub(crate) struct Ask<'a> {
    pub host: Option<&'a str>,
    /// `?changes=1`: the changes themselves, not only hints.
    pub changes: bool,
    /// The `Last-Event-ID` header: where its previous stream stopped.
    pub last_event: Option<&'a str>,
}

impl Ask<'_> {
    /// Whether a query's `changes` value asks for them.
    pub fn wants_changes(value: Option<&str>) -> bool {
        matches!(value, Some("1" | "true"))
    }
}

/// Takes a push stream for the token's user at the asked host: the checks
/// and the registration both paths share.
pub(crate) async fn open(
    st: &AppState,
    token: Result<&str, Error>,
    ask: Ask<'_>,
) -> Result<Registration, Error> {
    let push = st.policy().push;
    if push != PushMode::Stream {
        return Err(Error::NotFound(format!(
            "this server does not offer push streams (push: {})",
            push.as_str()
        )));
    }
    let token = token?;
    let host = directory::normalize_host(
        ask.host
            .ok_or_else(|| Error::bad("give the host: ?host=NAME"))?,
    )?;
    let user = st.user_by_token(token, &host).await?;
    let last_event = ask.last_event.filter(|l| l.len() <= 64);
    let reg = st.hub.register(Asker {
        user: &user.name,
        host: &host,
        proven: user.host_proven,
        changes: ask.changes,
        last_event,
    });
    tracing::debug!(user = %user.name, %host, changes = ask.changes, resumed = reg.resumed,
        streams = st.hub.connected(), "push stream open");
    Ok(reg)
}

/// What a stream says: `ready`, then its changes and hints, and a
/// heartbeat when it has been quiet; it ends when its registration does.
/// Both paths send these bytes.
pub(crate) fn events(reg: Registration) -> impl Stream<Item = Bytes> + Send {
    let every = Duration::from_secs(PUSH_HEARTBEAT_SECS);
    let beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let ready = reg.ready.clone();
    let rest = futures_util::stream::unfold((reg, beat), |(mut reg, mut beat)| async move {
        let said = tokio::select! {
            event = reg.events.recv() => {
                // None: replaced by a newer stream of the same agent, fallen
                // behind, or shutdown.
                beat.reset();
                match event? {
                    Event::Check(bytes) => {
                        reg.check_taken();
                        bytes
                    }
                    Event::Change(bytes) => bytes,
                }
            }
            _ = beat.tick() => Bytes::from_static(HEARTBEAT),
        };
        Some((said, (reg, beat)))
    });
    futures_util::stream::once(async { ready }).chain(rest)
}
