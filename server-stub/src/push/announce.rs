//! Telling the agents a change concerns, by the server's push mode: the
//! push plan (whom, and which inbound listeners) read in the change's own
//! transaction, the `NOTIFY` to other instances on PostgreSQL, and the
//! hints or calls themselves.

use chrono::Utc;
use herald_protocol::PushMode;

use crate::config::AgentPolicy;
use crate::domain::directory::listeners::{self, Listener};
use crate::domain::directory::targets::Targets;
use crate::domain::messages;
use crate::error::Error;
use crate::push::{changes, inbound, notify};
use crate::state::app::AppState;
use crate::state::hub::Notice;
use crate::store::sql::Conn;

pub(crate) type PushPlan = Option<(Targets, Vec<Listener>)>;

/// Whom a change to message `id` concerns, read in the change's own
/// transaction, and whether the database announced it to every instance.
pub(crate) fn plan(c: &Conn, id: &str, policy: &AgentPolicy) -> Result<(PushPlan, bool), Error> {
    let plan = push_plan(c, id, policy)?;
    // On PostgreSQL other instances may hold the streams: every
    // instance hears of the change, this one included.
    let announced = plan.is_some()
        && policy.push == PushMode::Stream
        && c.is_postgres()
        && notify::publish(c, &Notice::Message(id.to_owned()))
            .map_err(|e| tracing::warn!(error = %e, "cannot announce a push hint"))
            .is_ok();
    Ok((plan, announced))
}

fn push_plan(c: &Conn, id: &str, policy: &AgentPolicy) -> Result<PushPlan, Error> {
    let Some(targets) = messages::push_targets(c, id)? else {
        return Ok(None);
    };
    let listeners = if policy.push == PushMode::Inbound {
        listeners::listeners(c, &targets, Utc::now(), policy.listener_max_age())?
    } else {
        Vec::new()
    };
    Ok(Some((targets, listeners)))
}

/// Announces to every instance that `user` read or answered these
/// revisions, in the receipts' own transaction; false when this instance
/// is to tell its own streams (`read_elsewhere`).
pub(crate) fn announce_read(
    c: &Conn,
    user: &str,
    acked: &[(String, u32)],
    policy: &AgentPolicy,
) -> bool {
    policy.push == PushMode::Stream
        && c.is_postgres()
        && acked.iter().all(|(id, revision)| {
            let n = Notice::Read {
                id: id.clone(),
                revision: *revision,
                user: user.to_owned(),
            };
            notify::publish(c, &n)
                .map_err(|e| tracing::warn!(error = %e, "cannot announce a read"))
                .is_ok()
        })
}

/// Tells the user's other agents, on this instance's streams, to stop
/// showing what was read, unless the database announced it.
pub(crate) fn read_elsewhere(
    st: &AppState,
    user: &str,
    acked: Vec<(String, u32)>,
    announced: bool,
) {
    if announced || st.policy().push != PushMode::Stream {
        return;
    }
    for (id, revision) in acked {
        let user = user.to_owned();
        changes::tell(st, Notice::Read { id, revision, user });
    }
}

/// Tells the agents of each message in `ids` that it changed: after an
/// exchange with the central server applied them here.
pub(crate) async fn announce(st: &AppState, ids: Vec<String>) {
    for id in ids {
        let policy = st.policy();
        let i = id.clone();
        let planned = st.write(move |c| plan(c, &i, &policy)).await;
        match planned {
            Ok((plan, announced)) => hint(st, &id, plan, announced),
            Err(e) => tracing::warn!(%id, error = %e, "cannot tell agents of a change"),
        }
    }
}

/// Tells the agents a change concerns, by the server's push mode, unless
/// the database announced it to every instance already.
pub(crate) fn hint(st: &AppState, id: &str, plan: PushPlan, announced: bool) {
    let Some((targets, listeners)) = plan else {
        return;
    };
    match st.policy().push {
        PushMode::Off => {}
        PushMode::Stream if announced => {}
        PushMode::Stream => {
            tracing::debug!(%id, users = ?targets, "push");
            changes::tell(st, Notice::Message(id.to_owned()));
        }
        PushMode::Inbound => {
            let Some(http) = st.caller.clone() else {
                return;
            };
            let id = id.to_owned();
            // The admin's request does not wait for desktops to answer.
            tokio::spawn(async move {
                let calls = listeners.len();
                let accepted = inbound::call_all(&http, listeners).await;
                tracing::info!(%id, calls, accepted, "inbound push calls");
            });
        }
    }
}
