//! The running agent's push stream: held open in a task of its own while
//! the server asks for it, reconnecting with backoff; its news reaches the
//! main loop as commands, which logs them and syncs at once on a hint.

use std::time::{Duration, Instant};

use chrono::{Local, Utc};
use herald_agent::push::{self, PushEvent};
use herald_protocol::PushMode;
use rand::Rng;

use super::Agent;
use crate::listen::{Action, Command};

/// A stream that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(30);

impl Agent {
    /// Starts or stops the stream to match what the server last said.
    pub(super) fn align_push(&mut self) {
        let mode = self
            .store
            .sync_state()
            .map_or(PushMode::Off, |st| st.push_mode);
        let running = self.push_task.as_ref().is_some_and(|t| !t.is_finished());
        match (mode, running) {
            (PushMode::Stream, false) => {
                tracing::info!("push stream: starting");
                self.push_task = Some(self.spawn_push());
            }
            (PushMode::Off, true) => {
                tracing::info!("push stream: the server turned push off");
                if let Some(t) = self.push_task.take() {
                    t.abort();
                }
                let _ = self.store.set_push_state(None);
            }
            _ => {}
        }
    }

    fn spawn_push(&self) -> tokio::task::JoinHandle<()> {
        let endpoint = self.client.endpoint().clone();
        let tx = self.sender.clone();
        tokio::spawn(async move {
            let http = match push::client() {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "push stream: no HTTP client");
                    return;
                }
            };
            let mut failures = 0u32;
            loop {
                let started = Instant::now();
                let reason = push::hold(&http, &endpoint, &mut |event| {
                    let _ = tx.try_send(Command {
                        action: Action::Push(event),
                        reply: None,
                    });
                })
                .await;
                if started.elapsed() >= STABLE {
                    failures = 0;
                }
                let delay = push::reconnect_delay(failures, rand::rng().random());
                failures = failures.saturating_add(1);
                let lost = PushEvent::Lost(format!(
                    "{reason}; reconnecting in {:.1} s",
                    delay.as_secs_f64()
                ));
                if tx
                    .send(Command {
                        action: Action::Push(lost),
                        reply: None,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        })
    }

    /// Logs what the stream said; a (re)connection or a hint means "sync
    /// now": hints sent while the stream was down are lost, not the news.
    pub(super) fn push_event(&mut self, event: PushEvent) {
        let server = self.client.endpoint().server.clone();
        let now = Utc::now();
        let (ok, what, state) = match &event {
            PushEvent::Connected => (
                true,
                "push stream connected".to_owned(),
                Some(format!(
                    "connected since {}",
                    now.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S")
                )),
            ),
            PushEvent::Hint => (true, "push hint: check now".to_owned(), None),
            PushEvent::Lost(why) => (
                false,
                format!("push stream lost: {why}"),
                Some(format!("disconnected: {why}")),
            ),
        };
        tracing::info!(%what, "push");
        if let Err(e) = self.store.log_push(now, &server, ok, &what) {
            tracing::warn!(error = %e, "cannot log the push event");
        }
        if let Some(s) = state {
            if let Err(e) = self.store.set_push_state(Some(&s)) {
                tracing::warn!(error = %e, "cannot record the push state");
            }
        }
        if matches!(event, PushEvent::Connected | PushEvent::Hint) {
            self.force_sync = true;
        }
    }
}
