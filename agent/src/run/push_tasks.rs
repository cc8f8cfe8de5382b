//! The running agent's push, whichever way the server asks for it: a task
//! holds the stream or the inbound listener while the server wants it, and
//! its news reaches the main loop as commands, which logs them and syncs at
//! once when told to check.

use chrono::{Local, Utc};
use herald_core::push::inbound::Keys;
use herald_core::push::PushEvent;
use herald_protocol::PushMode;

use super::Agent;

impl Agent {
    /// Starts or stops push tasks to match what the server last said, and
    /// hands the listener the latest key and clock offset.
    pub(super) async fn align_push(&mut self) {
        let st = match self.store.read(|s| s.sync_state()).await {
            Ok(st) => st,
            Err(e) => {
                // Push stays as it is; the next contact tries again.
                tracing::error!(error = %e, "push: cannot read the sync state");
                return;
            }
        };
        self.keys.send_replace(Keys {
            secret: st.push_secret.clone(),
            clock_offset_ms: st.clock_offset_ms,
        });
        let wanted = match (st.push_mode, self.push_listen) {
            (PushMode::Inbound, None) => {
                let note = "the server asks for inbound push, but no push_listen address is \
                            configured: polling only";
                if st.push_state.as_deref() != Some(note) {
                    tracing::warn!("{note}");
                    self.store
                        .write_later("record the push state", |s| s.set_push_state(Some(note)));
                }
                PushMode::Off
            }
            (mode, _) => mode,
        };
        let running = match &self.push_task {
            Some((mode, task)) if !task.is_finished() => *mode,
            _ => PushMode::Off,
        };
        if running == wanted {
            return;
        }
        if let Some((mode, task)) = self.push_task.take() {
            tracing::info!(mode = mode.as_str(), "push: stopping");
            task.abort();
            self.client.set_push_port(None);
            if wanted == PushMode::Off && st.push_mode == PushMode::Off {
                self.store
                    .write_later("record the push state", |s| s.set_push_state(None));
            }
        }
        let task = match (wanted, self.push_listen) {
            (PushMode::Stream, _) => self.spawn_stream(),
            (PushMode::Inbound, Some(addr)) => self.spawn_listener(addr),
            _ => return,
        };
        tracing::info!(mode = wanted.as_str(), "push: starting");
        self.push_task = Some((wanted, task));
    }

    /// Applies the changes the stream brought, as a poll's answer is
    /// applied, in a task of its own; one that cannot be applied is polled
    /// for instead.
    pub(super) fn start_applying(&mut self) {
        let changes = std::mem::take(&mut self.pushed);
        let (store, client) = (self.store.clone(), self.client.clone());
        self.applying = Some(tokio::spawn(async move {
            let mut failed = false;
            for change in changes {
                let seq = change.seq;
                match herald_core::push::apply::apply(&store, &client, change).await {
                    Ok(a) => {
                        tracing::info!(
                            seq,
                            received = a.received,
                            stopped = a.stopped,
                            "pushed change applied"
                        );
                    }
                    Err(e) => {
                        tracing::warn!(seq, error = %e, "a pushed change was not applied: polling instead");
                        failed = true;
                    }
                }
            }
            failed
        }));
    }

    /// Stops push for good (the agent is quitting).
    pub(super) fn stop_push(&mut self) {
        if let Some((_, task)) = self.push_task.take() {
            task.abort();
        }
        self.store
            .write_later("record the push state", |s| s.set_push_state(None));
    }

    /// Logs what push said; a (re)connection, a hint or a verified call
    /// means "sync now": hints sent while push was down are lost, not the
    /// news, and a new listener must announce its port to get its key.
    pub(super) fn push_event(&mut self, event: PushEvent) {
        let server = self.client.endpoint().server.clone();
        let now = Utc::now();
        let since = || now.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
        let (ok, what, state) = match &event {
            PushEvent::Connected => (
                true,
                "push stream connected".to_owned(),
                Some(format!("connected since {}", since())),
            ),
            PushEvent::Resumed => (
                true,
                "push stream back, nothing missed".to_owned(),
                Some(format!("connected since {}", since())),
            ),
            PushEvent::Hint => (true, "push hint: check now".to_owned(), None),
            PushEvent::Change(change) => {
                self.pushed.push((**change).clone());
                (true, pushed_words(change), None)
            }
            PushEvent::Lost(why) => (
                false,
                format!("push stream lost: {why}"),
                Some(format!("disconnected: {why}")),
            ),
            PushEvent::Listening(addr) => {
                self.client.set_push_port(Some(addr.port()));
                (
                    true,
                    format!("inbound push: listening on {addr}"),
                    Some(format!("listening on {addr} since {}", since())),
                )
            }
            PushEvent::NotListening(why) => (
                false,
                format!("inbound push: {why}"),
                Some(format!("not listening: {why}")),
            ),
            PushEvent::Called(from) => (
                true,
                format!("inbound push call from {from}: check now"),
                None,
            ),
            PushEvent::Rejected { from, reason } => (
                false,
                format!("inbound push call from {from} rejected: {reason}"),
                None,
            ),
        };
        if ok {
            tracing::info!(%what, "push");
        } else {
            tracing::warn!(%what, "push");
        }
        self.store.write_later("log the push event", move |s| {
            s.log_push(now, &server, ok, &what)
        });
        if let Some(state) = state {
            self.store.write_later("record the push state", move |s| {
                s.set_push_state(Some(&state))
            });
        }
        if matches!(
            event,
            PushEvent::Connected | PushEvent::Hint | PushEvent::Listening(_) | PushEvent::Called(_)
        ) {
            self.force_sync = true;
        }
    }
}

/// A pushed change, in the push log's words.
fn pushed_words(change: &herald_protocol::PushedChange) -> String {
    match (&change.message, &change.stopped) {
        (Some(m), _) => format!("pushed: message {} revision {}", m.id, m.revision),
        (None, Some(s)) => format!(
            "pushed: message {} revision {} stopped ({})",
            s.id,
            s.revision,
            s.reason.as_str()
        ),
        (None, None) => "pushed: an empty change".to_owned(),
    }
}
