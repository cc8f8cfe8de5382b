//! Writing changes to the push streams: each notice (from this instance,
//! or announced by another through the database) is read from the database
//! once, serialised once, and queued on every stream it reaches (see
//! `state::hub`). Notices are handled one at a time, in order: each reads
//! the state after the previous one's, so an agent applying them in the
//! order it gets them ends at the latest.

use chrono::Utc;
use herald_protocol::{PushedChange, PushedStop, StopReason};

use crate::domain::directory::targets::fold;
use crate::domain::messages::audience::{self, For, Now};
use crate::error::Error;
use crate::state::app::AppState;
use crate::state::hub::{Notice, Reach};
use crate::store::db;
use crate::store::sql::Conn;

/// Tells the streams this instance holds of a change. Inside a tokio
/// runtime.
pub(crate) fn tell(st: &AppState, notice: Notice) {
    if !st.hub.enqueue(notice) {
        return;
    }
    let st = st.clone();
    tokio::spawn(async move {
        while let Some(notice) = st.hub.next_notice() {
            write_out(&st, notice).await;
        }
    });
}

async fn write_out(st: &AppState, notice: Notice) {
    let n = notice.clone();
    let built = st.read(move |c| build(c, &n)).await;
    match built {
        Ok(Some((reach, change))) => {
            let streams = st.hub.publish(reach, Some(&change));
            tracing::info!(?notice, streams, "pushed");
        }
        Ok(None) => {}
        Err(e) => {
            // The agents find it at their next poll.
            tracing::warn!(?notice, error = %e, "cannot push a change");
        }
    }
}

/// Whom a notice reaches, and the JSON of the change they are sent.
fn build(c: &Conn, notice: &Notice) -> Result<Option<(Reach, String)>, Error> {
    let seq = db::change_seq(c)?;
    let (reach, change) = match notice {
        Notice::Message(id) => match audience::now(c, id, Utc::now())? {
            Now::Show(m) => {
                let who = audience::audience(
                    c,
                    id,
                    For::Showing {
                        revision: m.revision,
                    },
                )?;
                let change = PushedChange {
                    seq,
                    message: Some(*m),
                    stopped: None,
                };
                (Reach::Audience(who), change)
            }
            Now::Withdrawn(revision) => {
                let who = audience::audience(c, id, For::Stopping)?;
                let stop = PushedStop {
                    id: id.clone(),
                    revision,
                    reason: StopReason::Withdrawn,
                };
                (Reach::Audience(who), stopped(seq, stop))
            }
            Now::Nothing => return Ok(None),
        },
        Notice::Read { id, revision, user } => {
            let stop = PushedStop {
                id: id.clone(),
                revision: *revision,
                reason: StopReason::ReadElsewhere,
            };
            (Reach::User(fold(user)), stopped(seq, stop))
        }
    };
    let json = serde_json::to_string(&change)
        .map_err(|e| Error::Internal(format!("cannot serialise a pushed change: {e}")))?;
    Ok(Some((reach, json)))
}

fn stopped(seq: i64, stop: PushedStop) -> PushedChange {
    PushedChange {
        seq,
        message: None,
        stopped: Some(stop),
    }
}
